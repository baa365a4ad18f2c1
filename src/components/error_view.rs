//! A failed Graph call shown the way facts.md describes: what happened in plain words, what to
//! do next (ask for a permission, get an administrator's consent, upgrade, refresh, wait), what
//! was tried, and always the Graph error code and the request id, copyable.

use leptos::prelude::*;
use portal_core::auth::scopes::Operation;
use portal_core::graph::error::ErrorKind;
use portal_core::graph::retry::GiveUp;

use crate::auth::{use_session, AuthStatus};
use crate::components::copy_button::CopyButton;
use crate::graph_client::CallError;
use crate::i18n::use_i18n;

/// Errors shown under it come from requests on another user's personal scope (not `/me`):
/// a 403 there is about the signed-in user's role or Graph's reach, not a tenant setting.
#[derive(Clone, Copy)]
pub struct OtherUserScope(pub bool);

/// The kind name, title key and advice key for an error; `other_user` and `is_admin` refine a
/// plain 403 on another user's scope.
pub fn error_keys(
    error: &CallError,
    other_user: bool,
    is_admin: bool,
) -> (&'static str, &'static str, &'static str) {
    if other_user && matches!(error.kind(), Some(ErrorKind::Forbidden)) {
        return if is_admin {
            (
                "forbidden-other-user",
                "error.title.forbidden_other_user",
                "error.next.forbidden_other_user_admin",
            )
        } else {
            (
                "forbidden-role",
                "error.title.forbidden_other_user",
                "error.next.forbidden_other_user_member",
            )
        };
    }
    keys(error)
}

/// The title and advice keys for an error.
fn keys(error: &CallError) -> (&'static str, &'static str, &'static str) {
    match error {
        CallError::Graph { error, .. } => match error.kind() {
            ErrorKind::AlreadyInstalled => (
                "already-installed",
                "error.title.already_installed",
                "error.next.already_installed",
            ),
            ErrorKind::NotFound => ("not-found", "error.title.not_found", "error.next.not_found"),
            ErrorKind::BlockedByPolicy => (
                "blocked-by-policy",
                "error.title.blocked",
                "error.next.blocked",
            ),
            ErrorKind::MissingScope { .. } => (
                "missing-scope",
                "error.title.missing_scope",
                "error.next.missing_scope",
            ),
            ErrorKind::Forbidden => ("forbidden", "error.title.forbidden", "error.next.forbidden"),
            ErrorKind::Unauthorized => (
                "unauthorized",
                "error.title.unauthorized",
                "error.next.unauthorized",
            ),
            ErrorKind::Throttled => ("throttled", "error.title.throttled", "error.next.throttled"),
            ErrorKind::Unavailable => (
                "unavailable",
                "error.title.unavailable",
                "error.next.unavailable",
            ),
            ErrorKind::BadRequest => (
                "bad-request",
                "error.title.bad_request",
                "error.next.bad_request",
            ),
            ErrorKind::ServerError => ("server-error", "error.title.server", "error.next.server"),
            ErrorKind::Other => ("other", "error.title.other", "error.next.other"),
        },
        CallError::Auth(_) => ("auth", "error.title.auth", "error.next.auth"),
        CallError::AnswerLost { .. } => (
            "answer-lost",
            "error.title.answer_lost",
            "error.next.answer_lost",
        ),
        CallError::Decode(_) => ("decode", "error.title.decode", "error.next.decode"),
        CallError::Aborted => ("aborted", "error.title.other", "error.next.other"),
    }
}

/// Shows `error`. `other_user`: the request addressed another user's personal scope (also
/// taken from an [`OtherUserScope`] in context).
#[component]
pub fn CallErrorView(error: CallError, #[prop(optional)] other_user: bool) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let other_user = other_user || use_context::<OtherUserScope>().is_some_and(|scope| scope.0);
    let admin_now =
        matches!(session.status.get_untracked(), AuthStatus::SignedIn(a) if a.is_admin());
    let (kind, title_key, next_key) = error_keys(&error, other_user, admin_now);
    let graph_error = error.graph_error().cloned();
    let accepted: Vec<String> = match error.kind() {
        Some(ErrorKind::MissingScope { accepted }) => accepted,
        _ => Vec::new(),
    };
    let scopes_text = accepted.join(", ");
    let detail = match &error {
        CallError::Auth(e) => e.to_string(),
        CallError::Decode(d) => d.clone(),
        CallError::AnswerLost { detail, .. } => detail.clone(),
        _ => String::new(),
    };
    let advice = move || {
        i18n.tf(
            next_key,
            &[
                ("scopes", scopes_text.as_str()),
                ("detail", detail.as_str()),
            ],
        )
    };
    let tried = match &error {
        CallError::Graph {
            attempts,
            gave_up: Some(GiveUp::AttemptsExhausted { .. }),
            ..
        } => Some((
            "error.gave_up.attempts",
            attempts.to_string(),
            String::new(),
        )),
        CallError::Graph {
            gave_up:
                Some(GiveUp::OutOfTime {
                    elapsed_ms,
                    next_wait_ms,
                }),
            ..
        } => Some((
            "error.gave_up.time",
            (elapsed_ms / 1000).to_string(),
            (next_wait_ms / 1000).to_string(),
        )),
        CallError::Graph { attempts, .. } if *attempts > 1 => Some((
            "error.gave_up.attempts",
            attempts.to_string(),
            String::new(),
        )),
        _ => None,
    };
    // The consent action: the least privileged operation the portal knows among those Graph
    // would accept.
    let operation = accepted
        .iter()
        .filter_map(|p| Operation::from_permission(p))
        .min();
    let is_admin = move || matches!(session.status.get(), AuthStatus::SignedIn(a) if a.is_admin());
    let consent_action = operation.map(|op| {
        view! {
            <p class="error-actions">
                {move || {
                    if is_admin() || !op.needs_admin_consent() {
                        view! {
                            <button type="button" data-testid="ask-permission" on:click=move |_| session.request_consent(vec![op])>
                                {i18n.tf("error.ask_again", &[("permission", op.permission())])}
                            </button>
                        }
                        .into_any()
                    } else {
                        view! {
                            <a data-testid="admin-consent-link" href=session.admin_consent_link().unwrap_or_default()>
                                {i18n.t("error.admin_consent")}
                            </a>
                        }
                        .into_any()
                    }
                }}
            </p>
        }
    });
    let facts = graph_error.map(|e| {
        let request_id = e.request_id.clone().unwrap_or_default();
        let copy_label = Signal::derive(i18n.text("error.copy_request_id"));
        view! {
            <p class="graph-message">{e.message.clone()}</p>
            <dl class="error-facts">
                <div><dt>{i18n.text("error.status")}</dt><dd>{e.status}</dd></div>
                <div><dt>{i18n.text("error.code")}</dt><dd><code data-testid="error-code">{e.code.clone()}</code></dd></div>
                <div>
                    <dt>{i18n.text("error.request_id")}</dt>
                    <dd>
                        <code data-testid="error-request-id">{request_id.clone()}</code>
                        " "
                        <CopyButton text=request_id.clone() label=copy_label />
                    </dd>
                </div>
                {e.date.clone().map(|date| view! { <div><dt>{i18n.text("error.date")}</dt><dd>{date}</dd></div> })}
            </dl>
        }
    });
    view! {
        <div class="call-error" role="alert" data-testid="call-error" data-error-kind=kind>
            <p class="call-error-title"><strong>{i18n.text(title_key)}</strong></p>
            {facts}
            <p class="call-error-next">{advice}</p>
            {tried.map(|(key, a, b)| view! {
                <p class="muted" data-testid="error-tried">{move || i18n.tf(key, &[("attempts", a.as_str()), ("seconds", a.as_str()), ("wait", b.as_str())])}</p>
            })}
            {consent_action}
        </div>
    }
}

/// The fallback of a page's `ErrorBoundary`: each error, as a [`CallErrorView`] when it is one.
pub fn boundary_fallback(errors: ArcRwSignal<leptos::error::Errors>) -> impl IntoView {
    view! {
        <div class="boundary-errors">
            {move || {
                errors
                    .get()
                    .into_iter()
                    .map(|(_, e)| match e.downcast_ref::<CallError>() {
                        Some(CallError::Aborted) => ().into_any(),
                        Some(call) => view! { <CallErrorView error=call.clone() /> }.into_any(),
                        None => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    })
                    .collect_view()
            }}
        </div>
    }
}
