//! The outbox: every write the write service runs, shown wherever the user is, in flight and
//! settled, with its outcome, the request id (copyable) and what to do next on failure. A
//! column of its own beside the page (never over it), empty and zero-wide when there is none.
//! A write picked up again after a reload says so; one the browser keeps until it settles
//! offers "Check again" and "Forget"; one not sent says what holds its target, with a link.

use leptos::prelude::*;
use portal_core::graph::write::{Confirmed, Failure};

use crate::auth::{use_session, AuthStatus};
use crate::components::copy_button::CopyButton;
use crate::components::error_view::error_keys;
use crate::graph_client::CallError;
use crate::i18n::use_i18n;
use crate::routes::Route;
use crate::write_service::{use_write_service, HeldBy, Kept, OutboxEntry, WriteState};
use portal_core::graph::encode::UserRef;

/// The outbox region (a polite live region: screen readers hear each outcome).
#[component]
pub fn Outbox() -> impl IntoView {
    let i18n = use_i18n();
    let writes = use_write_service();
    let visible = move || {
        writes
            .entries()
            .into_iter()
            .filter(|e| !e.dismissed)
            .collect::<Vec<_>>()
    };
    view! {
        <aside class=move || if visible().is_empty() { "outbox empty" } else { "outbox" }
            aria-label=i18n.text("outbox.label") data-testid="outbox"
            data-in-flight=move || writes.in_flight().to_string()>
            <div role="status" aria-live="polite">
                <ul>
                    <For each=visible key=|e| (e.id, state_key(&e.state), e.kept.clone()) let:entry>
                        <OutboxItem entry=entry />
                    </For>
                </ul>
            </div>
        </aside>
    }
}

fn state_key(state: &WriteState) -> &'static str {
    match state {
        WriteState::Sending => "sending",
        WriteState::Checking => "checking",
        WriteState::Waiting => "waiting",
        WriteState::Done { .. } => "done",
        WriteState::Failed { .. } => "failed",
        WriteState::NotSent { .. } => "not-sent",
    }
}

/// The anchor of outbox entry `id` (what a "not sent" message links to).
pub fn entry_anchor(id: u32) -> String {
    format!("outbox-{id}")
}

/// The words for a settled or running write.
pub fn state_text_key(state: &WriteState) -> &'static str {
    match state {
        WriteState::Sending => "outbox.sending",
        WriteState::Checking => "outbox.checking",
        WriteState::Waiting => "outbox.waiting",
        WriteState::Done {
            confirmed: Confirmed::Answered,
            ..
        } => "outbox.done",
        WriteState::Done {
            confirmed: Confirmed::ReadBack,
            ..
        } => "outcome.reconciled",
        WriteState::Done {
            confirmed: Confirmed::Conflict,
            ..
        } => "outcome.conflict",
        WriteState::Failed {
            failure: Failure::Refused,
            ..
        } => "outbox.failed",
        WriteState::Failed {
            failure: Failure::NotApplied,
            ..
        } => "outbox.not_applied",
        WriteState::Failed {
            failure: Failure::Unsettled,
            ..
        } => "outbox.unsettled",
        WriteState::Failed {
            failure: Failure::NotSent,
            ..
        } => "outbox.failed_not_sent",
        WriteState::NotSent { .. } => "outbox.not_sent",
    }
}

/// Why a write was not sent (what holds its target), with a link to it.
#[component]
pub fn HeldNotice(held_by: HeldBy) -> impl IntoView {
    let i18n = use_i18n();
    let writes = use_write_service();
    let (text, link, link_key) = match &held_by {
        HeldBy::Write(id) => {
            let label = writes
                .entries()
                .into_iter()
                .find(|e| e.id == *id)
                .map(|e| e.label)
                .unwrap_or_default();
            (
                i18n.tf("outbox.held_by_write", &[("label", &label)]),
                Some(format!("#{}", entry_anchor(*id))),
                "outbox.see_entry",
            )
        }
        HeldBy::Job(_) => (
            i18n.t("outbox.held_by_job"),
            Some(Route::Jobs.href()),
            "outbox.open_jobs",
        ),
        HeldBy::OtherTab => (i18n.t("outbox.held_by_tab"), None, ""),
    };
    view! {
        <p class="notice" role="status" data-testid="write-held" data-held-by=match held_by {
            HeldBy::Write(_) => "write",
            HeldBy::Job(_) => "job",
            HeldBy::OtherTab => "tab",
        }>
            {text}
            {link.map(|href| view! { " " <a href=href data-testid="write-held-link">{i18n.t(link_key)}</a> })}
        </p>
    }
}

#[component]
fn OutboxItem(entry: OutboxEntry) -> impl IntoView {
    let i18n = use_i18n();
    let writes = use_write_service();
    let id = entry.id;
    let kind = state_key(&entry.state);
    let text_key = state_text_key(&entry.state);
    let settled = entry.state.is_settled();
    let heading = if matches!(entry.state, WriteState::Done { .. }) {
        entry.done_message.clone()
    } else {
        entry.label.clone()
    };
    let request_id = match &entry.state {
        WriteState::Done { request_id, .. } => request_id.clone(),
        _ => None,
    };
    let error = match &entry.state {
        WriteState::Failed { error, .. } => Some(error.clone()),
        _ => None,
    };
    let held_by = match &entry.state {
        WriteState::NotSent { held_by } => Some(held_by.clone()),
        _ => None,
    };
    let kept_unsettled = entry.holds_target() && settled;
    let may_send_again = entry.state.changed_nothing();
    let kept = match &entry.kept {
        Kept::Stored(_) => "stored",
        Kept::Refused(_) => "refused",
        Kept::No => "no",
    };
    let not_kept = match &entry.kept {
        Kept::Refused(reason) if !settled => Some(reason.clone()),
        _ => None,
    };
    view! {
        <li class=format!("outbox-item {kind}") id=entry_anchor(id) data-testid="outbox-item" data-state=kind
            data-write=entry.write.kind().as_str() data-kept=kept data-restored=entry.restored.to_string()>
            <p><strong>{heading}</strong></p>
            {entry.restored.then(|| view! { <p class="muted" data-testid="outbox-restored">{i18n.text("outbox.restored")}</p> })}
            <p class="muted" data-testid="outbox-state">{i18n.text(text_key)}</p>
            {held_by.map(|held_by| view! { <HeldNotice held_by=held_by /> })}
            {not_kept.map(|reason| view! {
                <p class="notice" data-testid="outbox-not-kept">{move || i18n.tf("outbox.not_kept", &[("reason", &reason)])}</p>
            })}
            {request_id.map(|rid| {
                let label = Signal::derive(i18n.text("error.copy_request_id"));
                view! {
                    <p class="muted">{i18n.text("error.request_id")} " "
                        <code data-testid="outbox-request-id">{rid.clone()}</code> " "
                        <CopyButton text=rid label=label />
                    </p>
                }
            })}
            {error.map(|error| view! { <OutboxError error=error other_user=entry.write.user != UserRef::Me /> })}
            {kept_unsettled.then(|| view! {
                <p class="muted" data-testid="outbox-kept">{i18n.text("outbox.kept")}</p>
                <p>
                    <button type="button" data-testid="outbox-check-again" on:click=move |_| writes.check_again(id)>
                        {i18n.text("outbox.check_again")}
                    </button>
                    " "
                    <button type="button" class="secondary" data-testid="outbox-forget" on:click=move |_| writes.forget(id)>
                        {i18n.text("outbox.forget")}
                    </button>
                </p>
            })}
            {may_send_again.then(|| view! {
                <button type="button" data-testid="outbox-send-again" on:click=move |_| { writes.send_again(id); }>
                    {i18n.text("outbox.send_again")}
                </button>
                " "
            })}
            {(settled && !kept_unsettled).then(|| view! {
                <button type="button" class="secondary" data-testid="outbox-dismiss" on:click=move |_| writes.dismiss(id)>
                    {i18n.text("outbox.dismiss")}
                </button>
            })}
        </li>
    }
}

/// A failed write, compact: what happened, what to do, Graph's code and the request id. (The
/// flow that started it, if still open, shows the full error view.)
#[component]
fn OutboxError(error: CallError, other_user: bool) -> impl IntoView {
    let i18n = use_i18n();
    let admin =
        matches!(use_session().status.get_untracked(), AuthStatus::SignedIn(a) if a.is_admin());
    let (kind, title_key, next_key) = error_keys(&error, other_user, admin);
    let graph_error = error.graph_error().cloned();
    let detail = error.to_string();
    view! {
        <div class="outbox-error" data-testid="outbox-error" data-error-kind=kind>
            <p><strong>{i18n.text(title_key)}</strong></p>
            <p>{move || i18n.tf(next_key, &[("scopes", ""), ("detail", detail.as_str())])}</p>
            {graph_error.map(|e| {
                let request_id = e.request_id.clone().unwrap_or_default();
                let label = Signal::derive(i18n.text("error.copy_request_id"));
                view! {
                    <p class="muted">
                        {e.status} " " <code data-testid="outbox-error-code">{e.code.clone()}</code> " · "
                        {i18n.text("error.request_id")} " " <code>{request_id.clone()}</code> " "
                        <CopyButton text=request_id.clone() label=label />
                    </p>
                }
            })}
        </div>
    }
}
