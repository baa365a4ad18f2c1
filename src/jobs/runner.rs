//! Drives a job engine (`portal_core::jobs::engine::Executor`) in the browser: sends the
//! batches it hands out (at most its limit in flight), sleeps when it says to wait, feeds every
//! answer back, and stores the tasks it changed, before a batch goes out (write-ahead) and after
//! its answer is applied. The engine decides everything; this only does the I/O. A renewal it
//! asks for carries the claims challenge it names; a transient failure to get a token (network,
//! the token endpoint's 5xx or 429) is tried again with backoff
//! (`portal_core::graph::retry::token_retry_ms`) before the job pauses.

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::{select, Either, LocalBoxFuture};
use futures::stream::{FuturesUnordered, StreamExt};
use portal_core::auth::challenge::ClaimsChallenge;
use portal_core::auth::scopes::Operation;
use portal_core::graph::retry::token_retry_ms;
use portal_core::jobs::engine::{
    BatchOutcome, Executor, ExecutorConfig, PauseReason, Poll, ReadTask, Task,
};
use portal_core::Lang;

use crate::auth::AuthError;
use crate::graph_client::{send_batch, Graph};

/// Where the changed tasks go (`Ok` once stored), and who hears of progress.
pub trait Sink<T: Task> {
    /// Stores tasks `dirty` of `executor`.
    fn save(
        &self,
        executor: &Executor<T>,
        dirty: Vec<usize>,
    ) -> LocalBoxFuture<'static, Result<(), String>>;
    /// Something changed (a batch answered).
    fn changed(&self);
}

/// No storage: the dry run and the audit are reads, run again rather than resumed.
pub struct Unsaved<F: Fn()>(pub F);

impl<T: Task, F: Fn()> Sink<T> for Unsaved<F> {
    fn save(&self, _: &Executor<T>, _: Vec<usize>) -> LocalBoxFuture<'static, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn changed(&self) {
        (self.0)()
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum RunEnd {
    /// Every task finished (or the job was cancelled and settled).
    Finished,
    /// Stopped with tasks left, for a reason the user must act on (sign in again, storage
    /// refused); resuming picks it up where it stopped.
    Paused(String),
}

pub fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

async fn sleep(ms: u64) {
    gloo_timers::future::TimeoutFuture::new(ms.clamp(1, 60_000) as u32).await;
}

/// A token renewal to make with the next batch, with the claims of a challenge if any.
type Renewal = Option<ClaimsChallenge>;

type InFlight = LocalBoxFuture<'static, (u64, Option<Renewal>, Result<BatchOutcome, AuthError>)>;

/// The language messages are written in here (the runner has no reactive owner to ask): the
/// one chosen, when its catalogue is at hand, else English.
fn lang() -> Lang {
    let lang = crate::i18n::initial_lang();
    if lang.is_loaded() {
        lang
    } else {
        Lang::En
    }
}

/// Why the engine paused the job, for the user: what happened, Graph's code and request id,
/// and what to do next.
pub fn pause_text(reason: &PauseReason) -> String {
    let (key, error, minutes) = match reason {
        PauseReason::Unauthorized { error } => ("jobs.paused.unauthorized", error, 0),
        PauseReason::Throttled { waited_ms, error } => {
            ("jobs.paused.throttled", error, waited_ms.div_ceil(60_000))
        }
    };
    lang().tf(
        key,
        &[
            ("code", &error.code),
            ("request_id", error.request_id.as_deref().unwrap_or("–")),
            ("minutes", &minutes.to_string()),
        ],
    )
}

/// Why no token could be had after `tries` tries of a transient failure.
fn token_text(error: &AuthError, tries: u32) -> String {
    if !error.is_transient() {
        return error.to_string();
    }
    lang().tf(
        "jobs.paused.token_unavailable",
        &[
            ("tries", &tries.to_string()),
            ("reason", &error.to_string()),
        ],
    )
}

/// Runs `executor` to its end (or a pause) against `graph` with its session's tokens for
/// `operations`.
pub async fn drive<T: Task + 'static>(
    executor: Rc<RefCell<Executor<T>>>,
    graph: Graph,
    operations: Vec<Operation>,
    sink: impl Sink<T>,
) -> RunEnd {
    let mut in_flight: FuturesUnordered<InFlight> = FuturesUnordered::new();
    let mut renew: Option<Renewal> = None;
    let mut paused: Option<String> = None;
    // Transient failures to get a token in a row, and when to try again.
    let mut token_failures: u32 = 0;
    let mut token_retry_at: Option<u64> = None;
    loop {
        // Hand out batches while the engine has some and nothing stops us.
        let wait = if paused.is_some() {
            if in_flight.is_empty() {
                break;
            }
            None
        } else if let Some(at) = token_retry_at.filter(|at| *at > now_ms()) {
            // No token for now: nothing is sent before the next try.
            Some(at - now_ms())
        } else {
            let poll = executor.borrow_mut().next(now_ms());
            match poll {
                Poll::Send(batch) => {
                    // Write-ahead: the tasks are stored as sent before the batch goes.
                    let dirty = executor.borrow_mut().take_dirty();
                    // The save owns what it stores: no borrow is held while it runs.
                    let save = sink.save(&executor.borrow(), dirty);
                    let saved = save.await;
                    if let Err(reason) = saved {
                        executor.borrow_mut().withdraw(batch.id, now_ms());
                        paused = Some(reason);
                        continue;
                    }
                    let base = graph.base.clone();
                    let session = graph.session;
                    let ops = operations.clone();
                    let renewal = renew.take();
                    in_flight.push(Box::pin(async move {
                        let outcome = send_batch(
                            session,
                            &base,
                            &batch.requests,
                            &ops,
                            renewal.is_some(),
                            renewal.as_ref().and_then(Option::as_ref),
                        )
                        .await;
                        (batch.id, renewal, outcome)
                    }));
                    continue;
                }
                Poll::RenewToken(challenge) => {
                    // The next batch renews first, with the challenge's claims.
                    renew = Some(challenge);
                    executor.borrow_mut().token_renewed();
                    continue;
                }
                Poll::Paused(reason) => {
                    paused = Some(pause_text(&reason));
                    continue;
                }
                Poll::Wait(ms) => Some(ms),
                Poll::Busy => None,
                Poll::Finished => return RunEnd::Finished,
            }
        };
        // Wait for an answer, or for the time the engine named.
        let arrived = match (wait, in_flight.is_empty()) {
            (Some(ms), true) => {
                sleep(ms).await;
                None
            }
            (Some(ms), false) => match select(in_flight.next(), Box::pin(sleep(ms))).await {
                Either::Left((answer, _)) => answer,
                Either::Right(_) => None,
            },
            (None, false) => in_flight.next().await,
            (None, true) => {
                // Busy with nothing in flight cannot happen; do not spin.
                sleep(100).await;
                None
            }
        };
        let Some((id, renewal, outcome)) = arrived else {
            continue;
        };
        match outcome {
            Ok(outcome) => {
                token_failures = 0;
                executor
                    .borrow_mut()
                    .on_batch(id, outcome, now_ms(), js_sys::Math::random());
            }
            Err(error) => {
                // No token: nothing was sent. The batch goes again as it was (renewing first
                // if it was to).
                let now = now_ms();
                executor.borrow_mut().withdraw(id, now);
                if let Some(renewal) = renewal {
                    renew.get_or_insert(renewal);
                }
                // Batches failing together count as one try.
                if token_retry_at.is_none_or(|at| at <= now) {
                    token_failures += 1;
                    match token_retry_ms(error.kind(), token_failures, js_sys::Math::random()) {
                        // A transient failure: try again after a while.
                        Some(wait) => token_retry_at = Some(now.saturating_add(wait)),
                        // The user must act (sign in, consent), or the tries are used up.
                        None => paused = Some(token_text(&error, token_failures)),
                    }
                }
            }
        }
        let dirty = executor.borrow_mut().take_dirty();
        let save = sink.save(&executor.borrow(), dirty);
        if let Err(reason) = save.await {
            paused.get_or_insert(reason);
        }
        sink.changed();
    }
    // Store what the last answers changed; the tasks left are resumed later.
    let dirty = executor.borrow_mut().take_dirty();
    let save = sink.save(&executor.borrow(), dirty);
    let _ = save.await;
    RunEnd::Paused(paused.unwrap_or_default())
}

/// Runs read tasks (a dry run's, an audit's) through the engine at the default pace, reporting
/// `(done, total)` after each batch: the tasks as they ended, and why the run stopped early if
/// it did (a sign-in failure). Reads are run again rather than resumed, so nothing is stored.
pub async fn read_all(
    tasks: Vec<ReadTask>,
    graph: &Graph,
    operations: Vec<Operation>,
    progress: impl Fn(usize, usize) + 'static,
) -> (Vec<ReadTask>, Option<String>) {
    let total = tasks.len();
    progress(0, total);
    let config = ExecutorConfig {
        graph_host: graph.host.to_string(),
        ..ExecutorConfig::default()
    };
    let executor = Rc::new(RefCell::new(Executor::new(tasks, config, now_ms())));
    let watched = executor.clone();
    let sink = Unsaved(move || {
        let done = watched
            .borrow()
            .tasks()
            .iter()
            .filter(|t| t.is_done())
            .count();
        progress(done, total);
    });
    let end = drive(executor.clone(), graph.clone(), operations, sink).await;
    let tasks = executor.borrow().tasks().to_vec();
    let stopped = match end {
        RunEnd::Finished => None,
        RunEnd::Paused(reason) => Some(reason),
    };
    (tasks, stopped)
}
