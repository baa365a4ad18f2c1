//! Following a submitted write from its flow: submit through the write service, keep its id at
//! the feature's root (a panel may be re-created, the write goes on), show where it stands while
//! the panel is open, and show the note of the last finished write. The write itself never
//! depends on any of these views staying open. Whether a write may be submitted at all is the
//! write service's answer (its target held by another write, in flight or in doubt, or by a
//! job, from this page or any other), not this page's memory.

use leptos::prelude::*;
use portal_core::graph::write::{Confirmed, Write};

use super::Finished;
use crate::components::error_view::CallErrorView;
use crate::components::outbox::{state_text_key, HeldNotice};
use crate::i18n::use_i18n;
use crate::write_service::{use_write_service, HeldBy, WriteService, WriteState};

/// The id of the write submitted from the feature's open flow, at the feature's root.
#[derive(Clone, Copy)]
struct PendingWrite(RwSignal<Option<u32>>);

/// Provides the feature's [`PendingWrite`] slot (call once, at the feature's root).
pub fn provide_pending_write() -> RwSignal<Option<u32>> {
    let slot = RwSignal::new(None);
    provide_context(PendingWrite(slot));
    slot
}

/// A flow's handle on its write: `submit` it once, then `state` follows it.
#[derive(Clone, Copy)]
pub struct FlowWrite {
    ticket: RwSignal<Option<u32>>,
    writes: WriteService,
}

impl FlowWrite {
    /// The write's state, once submitted (tracked).
    pub fn state(&self) -> Option<WriteState> {
        self.ticket.get().and_then(|id| self.writes.state(id))
    }

    /// Whether it is submitted and not settled (tracked).
    pub fn in_flight(&self) -> bool {
        self.state().is_some_and(|s| !s.is_settled())
    }

    /// What holds the target of `write` (tracked), other than this flow's own write in flight
    /// (which [`FlowWriteStatus`] follows): a write submitted from another visit of a page, or
    /// the outbox's write in doubt (this flow's own too, once it ended unsettled), or the job
    /// this tab runs. A write to it is not sent.
    pub fn held(&self, write: &Write) -> Option<HeldBy> {
        let target = self.writes.target_of(write);
        let mine = self.ticket.get();
        let in_flight = self.in_flight();
        self.writes
            .holder(&target)
            .filter(|held| !(in_flight && matches!(held, HeldBy::Write(id) if Some(*id) == mine)))
    }

    /// Whether the flow may not submit `write` now: its own write in flight, or its target held.
    pub fn blocked(&self, write: &Write) -> bool {
        self.in_flight() || self.held(write).is_some()
    }

    /// Submits `write` ("label" while running, "done message" when done).
    pub fn submit(&self, write: Write, label: String, done_message: String) {
        self.ticket
            .set(Some(self.writes.submit(write, label, done_message)));
    }
}

/// The handle on the feature's pending write.
pub fn use_flow_write() -> FlowWrite {
    FlowWrite {
        ticket: expect_context::<PendingWrite>().0,
        writes: use_write_service(),
    }
}

/// Where the flow's write stands, under its submit button.
#[component]
pub fn FlowWriteStatus(write: FlowWrite) -> impl IntoView {
    let i18n = use_i18n();
    move || match write.state() {
        None | Some(WriteState::Done { .. }) => ().into_any(),
        Some(WriteState::Failed { error, .. }) => {
            view! { <CallErrorView error=error /> }.into_any()
        }
        Some(WriteState::NotSent { held_by }) => {
            view! { <HeldNotice held_by=held_by /> }.into_any()
        }
        Some(state) => {
            let key = state_text_key(&state);
            view! {
                <p class="muted" data-testid="write-progress">{i18n.t(key)}</p>
                <p class="muted">{i18n.t("flow.sent_elsewhere")}</p>
            }
            .into_any()
        }
    }
}

/// Why the flow's write cannot be submitted now, when its target is held (else nothing).
#[component]
pub fn HeldStatus(write: FlowWrite, #[prop(into)] of: Signal<Option<Write>>) -> impl IntoView {
    move || {
        of.get()
            .and_then(|w| write.held(&w))
            .map(|held_by| view! { <HeldNotice held_by=held_by /> })
    }
}

/// The note of the last finished write: what was done, what it took, and how it was confirmed.
#[component]
pub fn FinishedNote(finished: Finished) -> impl IntoView {
    let i18n = use_i18n();
    let WriteState::Done {
        confirmed,
        request_id,
        sends,
        retried,
    } = finished.state
    else {
        return ().into_any();
    };
    let retried = retried
        .iter()
        .map(|s| {
            if *s == 0 {
                "—".to_string()
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let attempts = sends.to_string();
    let confirmation = match confirmed {
        Confirmed::Answered => None,
        Confirmed::ReadBack => Some("outcome.reconciled"),
        Confirmed::Conflict => Some("outcome.conflict"),
    };
    view! {
        <div class="outcome success" data-testid="outcome">
            <p><strong data-testid="outcome-message">{finished.message}</strong></p>
            {(sends > 1).then(|| view! {
                <p class="muted" data-testid="outcome-attempts">{move || i18n.tf("outcome.attempts", &[("attempts", &attempts), ("statuses", &retried)])}</p>
            })}
            {confirmation.map(|key| view! { <p class="muted" data-testid="outcome-reconciled">{i18n.text(key)}</p> })}
            {request_id.map(|id| view! { <p class="muted">{i18n.text("error.request_id")} " " <code>{id.clone()}</code></p> })}
        </div>
    }
    .into_any()
}
