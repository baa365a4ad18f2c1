//! The write service: every write (install, upgrade, uninstall) of every page and job runs here,
//! at the level of the shell, not of the page that asked for it. Closing a panel, pressing Esc,
//! navigating away or a change of sign-in status never drops a write: it is driven to its end
//! by the write model (`portal_core::graph::write`), reading back before anything is resent,
//! and its outcome is shown wherever the user is (the outbox). While a write is in flight,
//! leaving the page asks for confirmation and a sign-in redirect waits for it to settle.

use leptos::prelude::*;
use portal_core::auth::challenge::ClaimsChallenge;
use portal_core::graph::models::Installation;
use portal_core::graph::retry::GiveUp;
use portal_core::graph::write::{
    Confirmed, Event, Failure, ReadBackResult, SendResult, Step, Write, WritePolicy, WriteRun,
};
use portal_core::RuntimeConfig;

use crate::auth::redirect_gate;
use crate::graph_client::{attempt, unabortable_graph, Attempt, CallError};

/// Where a write stands.
#[derive(Clone, Debug)]
pub enum WriteState {
    /// Being sent.
    Sending,
    /// In doubt (no answer, or a server error): reading the user's apps back.
    Checking,
    /// Waiting before sending again (throttled, or not applied after a doubt).
    Waiting,
    Done {
        confirmed: Confirmed,
        request_id: Option<String>,
        sends: u32,
        /// Statuses of the sends that did not go through (0: no answer), in order.
        retried: Vec<u16>,
    },
    Failed {
        failure: Failure,
        error: CallError,
        sends: u32,
    },
}

impl WriteState {
    pub fn is_settled(&self) -> bool {
        matches!(self, WriteState::Done { .. } | WriteState::Failed { .. })
    }
}

/// One write in the outbox.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub id: u32,
    /// What the write does, in words ("Install Polls for Adele Vance").
    pub label: String,
    /// What to say when it is done ("Polls installed for Adele Vance").
    pub done_message: String,
    pub write: Write,
    pub state: WriteState,
    /// The user hid it from the outbox.
    pub dismissed: bool,
}

/// The service, in context (provided once by the shell).
#[derive(Clone, Copy)]
pub struct WriteService {
    entries: RwSignal<Vec<OutboxEntry>>,
    next_id: StoredValue<u32>,
    config: StoredValue<RuntimeConfig>,
}

/// Provides the service and the `beforeunload` guard (call once, in the shell).
pub fn provide_write_service(config: RuntimeConfig) -> WriteService {
    let service = WriteService {
        entries: RwSignal::new(Vec::new()),
        next_id: StoredValue::new(1),
        config: StoredValue::new(config),
    };
    provide_context(service);
    // While a write is in flight, leaving or reloading the page asks first.
    let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
        if service.in_flight_untracked() > 0 {
            ev.prevent_default();
            ev.set_return_value("A change is still being sent to Microsoft Graph.");
        }
    });
    on_cleanup(move || handle.remove());
    service
}

/// The write service from context.
pub fn use_write_service() -> WriteService {
    expect_context::<WriteService>()
}

impl WriteService {
    /// Starts `write`; returns its id in the outbox. It runs to its end whatever the page does.
    pub fn submit(&self, write: Write, label: String, done_message: String) -> u32 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.entries.update(|entries| {
            entries.push(OutboxEntry {
                id,
                label,
                done_message,
                write: write.clone(),
                state: WriteState::Sending,
                dismissed: false,
            })
        });
        let service = *self;
        let config = self.config.get_value();
        leptos::task::spawn_local(async move {
            // A sign-in redirect waits while this guard lives.
            let _hold = redirect_gate::hold();
            let start = {
                let run = WriteRun::new(write.kind(), WritePolicy::default());
                let step = run.start();
                (run, step)
            };
            let final_state =
                drive(&config, &write, start, move |state| service.set_state(id, state)).await;
            service.set_state(id, final_state);
        });
        id
    }

    fn set_state(&self, id: u32, state: WriteState) {
        self.entries.update(|entries| {
            if let Some(entry) = entries.iter_mut().find(|e| e.id == id) {
                entry.state = state;
            }
        });
    }

    /// The state of write `id` (tracked).
    pub fn state(&self, id: u32) -> Option<WriteState> {
        self.entries
            .with(|entries| entries.iter().find(|e| e.id == id).map(|e| e.state.clone()))
    }

    /// Every entry (tracked).
    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.entries.get()
    }

    /// How many writes are not settled yet (tracked).
    pub fn in_flight(&self) -> usize {
        self.entries
            .with(|entries| entries.iter().filter(|e| !e.state.is_settled()).count())
    }

    fn in_flight_untracked(&self) -> usize {
        self.entries
            .with_untracked(|entries| entries.iter().filter(|e| !e.state.is_settled()).count())
    }

    /// How many writes have settled so far (tracked): pages reload their data when it moves.
    pub fn settled_count(&self) -> usize {
        self.entries
            .with(|entries| entries.iter().filter(|e| e.state.is_settled()).count())
    }

    /// Hides a settled entry from the outbox.
    pub fn dismiss(&self, id: u32) {
        self.entries.update(|entries| {
            if let Some(entry) = entries.iter_mut().find(|e| e.id == id) {
                entry.dismissed = true;
            }
        });
    }
}

/// Where [`drive`] starts: the write model's run and its first step.
type Start = (WriteRun, Step);

async fn sleep(ms: u64) {
    if ms > 0 {
        gloo_timers::future::TimeoutFuture::new(ms.min(u32::MAX as u64) as u32).await;
    }
}

/// Runs `write` to its end with the write model from `start` (a new run and its first step, or
/// a restored one: see [`Start`]), reporting each intermediate state. The elapsed time counts
/// from this call: a restored write gets a fresh window.
async fn drive(
    config: &RuntimeConfig,
    write: &Write,
    start: Start,
    report: impl Fn(WriteState),
) -> WriteState {
    let graph = unabortable_graph(config);
    let request = write.request(graph.host);
    let operation = write.operation();
    let (mut run, mut step) = start;
    let started = js_sys::Date::now();
    let elapsed = move || (js_sys::Date::now() - started).max(0.0) as u64;
    let mut last_error: Option<CallError> = None;
    let mut last_request_id: Option<String> = None;
    let mut challenge: Option<ClaimsChallenge> = None;
    let mut retried: Vec<u16> = Vec::new();
    // Transient failures to get a token in a row (nothing was sent).
    let mut token_failures: u32 = 0;
    loop {
        match step {
            Step::Send {
                after_ms,
                renew_token,
            } => {
                if after_ms > 0 {
                    report(WriteState::Waiting);
                    sleep(after_ms).await;
                }
                report(WriteState::Sending);
                let claims = challenge.take();
                let result = attempt(
                    &graph.base,
                    &request,
                    operation,
                    renew_token,
                    claims.as_ref(),
                )
                .await;
                if !matches!(result, Attempt::Auth(_)) {
                    token_failures = 0;
                }
                let event = match result {
                    Attempt::Answered {
                        request_id,
                        error: None,
                        ..
                    } => {
                        last_request_id = request_id;
                        Event::Sent(SendResult::Applied)
                    }
                    Attempt::Answered {
                        error: Some(error), ..
                    } => {
                        if error.status == 401 {
                            challenge = error.claims_challenge.clone();
                        }
                        let result = SendResult::of_error(&error);
                        retried.push(error.status);
                        last_request_id = error.request_id.clone();
                        last_error = Some(CallError::Graph {
                            error,
                            attempts: run.sends() + 1,
                            gave_up: None,
                        });
                        Event::Sent(result)
                    }
                    Attempt::Lost(detail) => {
                        retried.push(0);
                        last_error = Some(CallError::AnswerLost {
                            maybe_applied: true,
                            detail,
                        });
                        Event::Sent(SendResult::Lost)
                    }
                    // No token, nothing sent. A transient failure (network, the token
                    // endpoint's 5xx or 429) is tried again with backoff; otherwise the write
                    // ends "not sent" (never "refused by Graph": Graph saw nothing), unless an
                    // earlier send left a doubt, which stays unsettled.
                    Attempt::Auth(error) => {
                        token_failures += 1;
                        if let Some(wait) = portal_core::graph::retry::token_retry_ms(
                            error.kind(),
                            token_failures,
                            js_sys::Math::random(),
                        ) {
                            report(WriteState::Waiting);
                            sleep(wait).await;
                            challenge = claims;
                            step = Step::Send {
                                after_ms: 0,
                                renew_token,
                            };
                            continue;
                        }
                        let failure = if run.in_doubt() {
                            Failure::Unsettled
                        } else {
                            Failure::NotSent
                        };
                        return WriteState::Failed {
                            failure,
                            error: CallError::Auth(error),
                            sends: run.sends(),
                        };
                    }
                };
                step = run.on(event, elapsed(), js_sys::Math::random());
            }
            Step::ReadBack { after_ms } => {
                report(WriteState::Checking);
                sleep(after_ms).await;
                let read = graph
                    .get_all::<Installation>(
                        &write.read_back(),
                        portal_core::auth::scopes::Operation::ReadInstallations,
                    )
                    .await;
                let result = match read {
                    // Installations lacking what the comparison needs cannot tell (read again,
                    // never "applied").
                    Ok(installations) => match write.read_back_result(&installations) {
                        ReadBackResult::CannotTell => {
                            let reason = portal_core::jobs::engine::ErrorSummary::cannot_tell();
                            last_error = Some(CallError::Decode(reason.message));
                            ReadBackResult::CannotTell
                        }
                        result => result,
                    },
                    Err(CallError::Graph { error, .. }) => ReadBackResult::Failed {
                        status: Some(error.status),
                        retry_after_s: error.retry_after,
                    },
                    Err(_) => ReadBackResult::Failed {
                        status: None,
                        retry_after_s: None,
                    },
                };
                step = run.on(Event::ReadBack(result), elapsed(), js_sys::Math::random());
            }
            Step::Done(confirmed) => {
                return WriteState::Done {
                    confirmed,
                    request_id: last_request_id,
                    sends: run.sends(),
                    retried,
                }
            }
            Step::Fail(failure) => {
                let mut error = last_error.unwrap_or(CallError::Decode("no answer".into()));
                // Say so when Graph asked for a wait longer than the time left.
                if let CallError::Graph {
                    error: graph_error,
                    gave_up,
                    ..
                } = &mut error
                {
                    if let Some(seconds) = graph_error.retry_after {
                        *gave_up = Some(GiveUp::OutOfTime {
                            elapsed_ms: elapsed(),
                            next_wait_ms: seconds.saturating_mul(1000),
                        });
                    } else if run.sends() > 1 {
                        *gave_up = Some(GiveUp::AttemptsExhausted {
                            attempts: run.sends(),
                        });
                    }
                }
                return WriteState::Failed {
                    failure,
                    error,
                    sends: run.sends(),
                };
            }
        }
    }
}
