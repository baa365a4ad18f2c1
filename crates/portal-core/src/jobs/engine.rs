//! The job engine: many tasks (one per user) sent to Graph in `$batch`es of up to 20, paced by
//! the token buckets of [`Pacer`] so 429s stay rare (their rates adapt: cut on a 429, grown
//! back slowly while requests go through, for the budget is shared with whatever else uses the
//! app registration), with a bounded number of batches in flight, cancellable at any time and resumable from what was persisted. Clock-free and
//! browser-free: the caller asks [`Executor::next`] what to do at time `now_ms`, sends the
//! batch it gets, and feeds the answer back with [`Executor::on_batch`].
//!
//! Two kinds of task use it: a [`ReadTask`] (the dry run's and the audit's reads, safe to
//! resend) and a [`WriteTask`], whose every decision is the write model's ([`WriteRun`]): a
//! lost answer, a 5xx to the batch or to the inner write, means "maybe applied" and is read
//! back before anything is resent, so no user ever gets a second install.
//!
//! Persistence is write-ahead: [`Executor::take_dirty`] names the tasks changed since the last
//! call, once a batch is handed out (its tasks are marked in flight) and again once its answer
//! is applied. A task found in flight on [`Executor::resume`] may have been applied, and is
//! handled as a lost answer. A resumed task gets a fresh read-back window (its clock starts
//! again; a task in doubt reads back before anything is resent), and the time before which
//! Graph said not to send it (a `Retry-After`) is stored with it ([`TaskRecord::not_before_ms`])
//! and holds its call class again after a reload.
//!
//! A 429 never ends a task: it waits as told, however often. A job throttled for longer than
//! [`MAX_THROTTLED_WAIT_MS`] with nothing going through, or whose batches Graph answers 401
//! again after two token renewals, pauses ([`Poll::Paused`]) with the reason; nobody is marked
//! refused, and resuming picks it up where it stopped.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::batch::BatchOutcome;
use super::batch::{longest_retry_after, MAX_BATCH};
use super::pacing::{CallClass, Pacer};
use crate::auth::challenge::ClaimsChallenge;
use crate::graph::error::{parse_error, GraphError};
use crate::graph::models::{Collection, Installation};
use crate::graph::request::{next_page, GraphRequest};
use crate::graph::retry::RetryPolicy;
use crate::graph::write::{
    Confirmed, Event, Failure, ReadBackResult, SendResult, Step, Write, WriteKind, WritePolicy,
    WriteRun,
};

/// What a user needs to see of a failed answer: status, Graph's code, message and request id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSummary {
    /// `None`: no answer arrived.
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl ErrorSummary {
    pub fn of(error: &GraphError) -> ErrorSummary {
        ErrorSummary {
            status: Some(error.status),
            code: error.code.clone(),
            message: error.message.clone(),
            request_id: error.request_id.clone(),
        }
    }

    /// The four CSV columns of an error (status, code, message, request id), empty without one:
    /// every export that lists Graph's answers writes them the same way.
    pub fn csv_columns(error: Option<&ErrorSummary>) -> [String; 4] {
        [
            error
                .and_then(|e| e.status)
                .map(|s| s.to_string())
                .unwrap_or_default(),
            error.map(|e| e.code.clone()).unwrap_or_default(),
            error.map(|e| e.message.clone()).unwrap_or_default(),
            error.and_then(|e| e.request_id.clone()).unwrap_or_default(),
        ]
    }

    /// No answer arrived (the connection broke, the tab closed).
    pub fn lost() -> ErrorSummary {
        ErrorSummary {
            status: None,
            code: "noAnswer".into(),
            message: "No answer arrived; the request may have been applied.".into(),
            request_id: None,
        }
    }

    /// A read-back answered without what is needed to tell whether the write was applied.
    pub fn cannot_tell() -> ErrorSummary {
        ErrorSummary {
            status: Some(200),
            code: "incompleteReadBack".into(),
            message: "The installations read back lack what is needed to tell whether the \
                      change was applied (an installation without teamsApp, or without its \
                      definition's version)."
                .into(),
            request_id: None,
        }
    }
}

/// An inner (or outer) error answer as Graph's error.
fn graph_error(status: u16, retry_after_s: Option<u64>, body: Option<&Value>) -> GraphError {
    let headers: Vec<(String, String)> = retry_after_s
        .map(|s| vec![("Retry-After".to_string(), s.to_string())])
        .unwrap_or_default();
    let body = body.map(Value::to_string).unwrap_or_default();
    parse_error(status, &headers, body.as_bytes())
}

/// What came back for one task's request.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// An answer, inner or the batch's own error.
    Status {
        status: u16,
        retry_after_s: Option<u64>,
        body: Option<Value>,
    },
    /// No answer: it may have been applied.
    Lost,
    /// Surely not executed (the batch was refused with 401 or 429): send again as it was.
    NotSent,
}

/// What a task wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Its next request, after a wait.
    After(u64),
    /// Its next request, with a renewed token.
    RenewToken,
    Done,
}

/// One user's work in a job.
pub trait Task {
    /// The request to send now.
    fn request(&self, graph_host: &str) -> GraphRequest;
    /// Takes the answer to that request.
    fn on_answer(&mut self, answer: Answer, now_ms: u64, jitter: f64) -> Next;
    /// The job was cancelled: `true` when the task stopped (nothing more to send), `false`
    /// when it must still settle a doubt (read back) first.
    fn cancel(&mut self) -> bool;
    fn is_done(&self) -> bool;
    fn in_flight(&self) -> bool;
    fn set_in_flight(&mut self, in_flight: bool);
    /// Graph said not to send this task's next request before `until_ms` (a `Retry-After`):
    /// a task that is stored keeps it, so a reload honours it.
    fn hold_until(&mut self, _until_ms: u64) {}
    /// The time before which the task may not be sent, if one is stored.
    fn not_before(&self) -> Option<u64> {
        None
    }
    /// The task is picked up again after a reload or a crash at `now_ms`: a request found in
    /// flight may have run, so it takes a lost answer. Returns whether its state changed (to
    /// store).
    fn resume(&mut self, now_ms: u64) -> bool {
        if !self.in_flight() {
            return false;
        }
        self.set_in_flight(false);
        self.on_answer(Answer::Lost, now_ms, 0.5);
        true
    }
}

/// The engine's limits.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutorConfig {
    /// Batches in flight at once.
    pub max_in_flight: usize,
    /// Requests per batch (at most [`MAX_BATCH`]).
    pub batch_size: usize,
    /// The share of the tenant's Teams limits the job may use (see `Pacer::new`).
    pub share: f64,
    /// The cloud's Graph host, for `teamsApp@odata.bind`.
    pub graph_host: String,
}

impl Default for ExecutorConfig {
    fn default() -> ExecutorConfig {
        ExecutorConfig {
            max_in_flight: 4,
            batch_size: MAX_BATCH,
            share: 0.9,
            graph_host: "graph.microsoft.com".into(),
        }
    }
}

/// A batch to send: inner ids are the task indexes.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub id: u64,
    pub requests: Vec<(String, GraphRequest)>,
}

/// Why a job stopped with work left, for the user to read (with Graph's code and request id)
/// and act on; resuming picks it up where it stopped.
#[derive(Clone, Debug, PartialEq)]
pub enum PauseReason {
    /// Graph refused the batches' access token (401) again after it was renewed twice.
    Unauthorized { error: ErrorSummary },
    /// Graph throttled the job for `waited_ms` in all (more than [`MAX_THROTTLED_WAIT_MS`])
    /// with nothing going through; `error` is its last 429.
    Throttled { waited_ms: u64, error: ErrorSummary },
}

/// Token renewals after batches answered 401 before the job pauses.
pub const MAX_BATCH_RENEWALS: u32 = 2;

/// How long a job waits on 429s, with nothing going through, before it pauses.
pub const MAX_THROTTLED_WAIT_MS: u64 = 600_000;

/// What the caller does now.
#[derive(Clone, Debug, PartialEq)]
pub enum Poll {
    Send(Batch),
    /// Renew the access token (with the claims of a challenge when there is one: pass them to
    /// the renewal), then call [`Executor::token_renewed`].
    RenewToken(Option<ClaimsChallenge>),
    /// Stop: nothing more is sent in this run, for the reason given (no batch is in flight).
    /// The tasks are as stored; [`Executor::resume`] picks them up again.
    Paused(PauseReason),
    /// Nothing to send before this many milliseconds (or before an answer arrives).
    Wait(u64),
    /// Batches are in flight and nothing else may go: wait for an answer.
    Busy,
    Finished,
}

/// The engine over `tasks`.
#[derive(Debug)]
pub struct Executor<T: Task> {
    tasks: Vec<T>,
    config: ExecutorConfig,
    pacer: Pacer,
    /// Waiting tasks by due time, one queue per call class of their next request (so a
    /// class whose bucket is empty never holds back another's: a dry run's user reads and
    /// installation reads go side by side).
    queues: BTreeMap<CallClass, BTreeSet<(u64, usize)>>,
    in_flight: BTreeMap<u64, Vec<usize>>,
    /// The pacer's generation when each batch in flight was sent (a 429 to a batch sent before
    /// a class's last cut does not cut it again: see `Pacer::slow_down`).
    sent_in: BTreeMap<u64, u64>,
    next_batch: u64,
    dirty: BTreeSet<usize>,
    cancelled: bool,
    renew_token: bool,
    /// The claims challenge of the last batch answered 401, for the renewal.
    challenge: Option<ClaimsChallenge>,
    /// Batches answered 401 since one was last answered.
    unauthorized: u32,
    /// Why the job stops, once it must.
    paused: Option<PauseReason>,
    /// Time waited on 429s since a request last went through, and until when the latest
    /// `Retry-After` runs.
    throttled_streak_ms: u64,
    throttled_through_ms: u64,
    /// The wait on 429s, with nothing going through, after which the job pauses.
    max_throttled_wait_ms: u64,
    /// 429s seen (inner and outer), for the figures.
    pub throttled: u64,
    /// Requests sent, batches sent.
    pub requests_sent: u64,
    pub batches_sent: u64,
}

impl<T: Task> Executor<T> {
    /// A new job: every task not done is due now.
    pub fn new(tasks: Vec<T>, config: ExecutorConfig, now_ms: u64) -> Executor<T> {
        let waiting: Vec<usize> = (0..tasks.len()).filter(|&i| !tasks[i].is_done()).collect();
        let mut executor = Executor {
            pacer: Pacer::new(config.share, now_ms),
            tasks,
            config,
            queues: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            sent_in: BTreeMap::new(),
            next_batch: 1,
            dirty: BTreeSet::new(),
            cancelled: false,
            renew_token: false,
            challenge: None,
            unauthorized: 0,
            paused: None,
            throttled_streak_ms: 0,
            throttled_through_ms: now_ms,
            max_throttled_wait_ms: MAX_THROTTLED_WAIT_MS,
            throttled: 0,
            requests_sent: 0,
            batches_sent: 0,
        };
        for i in waiting {
            // A stored `Retry-After` still running holds the task and its class until then.
            let due = match executor.tasks[i].not_before() {
                Some(until) if until > now_ms => {
                    let class = executor.class_of(i);
                    executor.pacer.hold(class, until);
                    until
                }
                _ => now_ms,
            };
            executor.enqueue(due, i);
        }
        executor
    }

    /// The wait on 429s, with nothing going through, after which the job pauses (default
    /// [`MAX_THROTTLED_WAIT_MS`]).
    pub fn with_max_throttled_wait(mut self, ms: u64) -> Executor<T> {
        self.max_throttled_wait_ms = ms;
        self
    }

    fn class_of(&self, i: usize) -> CallClass {
        CallClass::of(&self.tasks[i].request(&self.config.graph_host))
    }

    /// Task `i` is due at `due`, in the queue of its next request's class.
    fn enqueue(&mut self, due: u64, i: usize) {
        let class = self.class_of(i);
        self.queues.entry(class).or_default().insert((due, i));
    }

    fn queued(&self) -> bool {
        self.queues.values().any(|q| !q.is_empty())
    }

    /// A job picked up again from persisted tasks: a task found in flight may have been
    /// applied, so it takes a lost answer (a write reads back before anything is resent).
    /// Every task left gets a fresh window however long ago it stopped (a write in doubt reads
    /// back first), and a stored `Retry-After` still running holds it and its call class.
    pub fn resume(mut tasks: Vec<T>, config: ExecutorConfig, now_ms: u64) -> Executor<T> {
        let mut dirty = BTreeSet::new();
        for (i, task) in tasks.iter_mut().enumerate() {
            if task.resume(now_ms) {
                dirty.insert(i);
            }
        }
        let mut executor = Executor::new(tasks, config, now_ms);
        executor.dirty = dirty;
        executor
    }

    pub fn tasks(&self) -> &[T] {
        &self.tasks
    }

    /// The pacer, whose rates show how much of the budget the job finds left.
    pub fn pacer(&self) -> &Pacer {
        &self.pacer
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// Tasks changed since the last call (to persist), in index order.
    pub fn take_dirty(&mut self) -> Vec<usize> {
        std::mem::take(&mut self.dirty).into_iter().collect()
    }

    /// Stops the job: nothing new is sent; a write in doubt is still read back to settle it.
    pub fn cancel(&mut self) {
        self.cancelled = true;
        let queued: Vec<(CallClass, u64, usize)> = self
            .queues
            .iter()
            .flat_map(|(c, q)| q.iter().map(move |&(due, i)| (*c, due, i)))
            .collect();
        for (class, due, i) in queued {
            if self.tasks[i].cancel() {
                if let Some(queue) = self.queues.get_mut(&class) {
                    queue.remove(&(due, i));
                }
                self.dirty.insert(i);
            }
        }
    }

    /// The access token was renewed (the renewal took the challenge [`Poll::RenewToken`] gave).
    pub fn token_renewed(&mut self) {
        self.renew_token = false;
        self.challenge = None;
    }

    /// Why the job must stop, once it must.
    pub fn paused(&self) -> Option<&PauseReason> {
        self.paused.as_ref()
    }

    /// What to do at `now_ms`.
    pub fn next(&mut self, now_ms: u64) -> Poll {
        if !self.queued() && self.in_flight.is_empty() {
            return Poll::Finished;
        }
        if let Some(reason) = &self.paused {
            return if self.in_flight.is_empty() {
                Poll::Paused(reason.clone())
            } else {
                Poll::Busy
            };
        }
        if self.renew_token {
            return if self.in_flight.is_empty() {
                Poll::RenewToken(self.challenge.clone())
            } else {
                Poll::Busy
            };
        }
        if self.in_flight.len() >= self.config.max_in_flight.max(1) {
            return Poll::Busy;
        }
        let size = self.config.batch_size.clamp(1, MAX_BATCH);
        // Full batches: a batch goes once the buckets can fill it (or hold no more), rather
        // than one request at a time as each token drips in. Same pace (the tokens accrue
        // meanwhile), a twentieth of the round trips.
        if let Some(wait) = self.wait_for_full_batch(now_ms, size) {
            return Poll::Wait(wait);
        }
        let mut chosen: Vec<(CallClass, u64, usize, GraphRequest)> = Vec::new();
        let mut pacing_wait: Option<u64> = None;
        let mut next_due: Option<u64> = None;
        for (class, queue) in &self.queues {
            for &(due, i) in queue.iter() {
                if due > now_ms {
                    next_due = Some(next_due.map_or(due, |d: u64| d.min(due)));
                    break;
                }
                if chosen.len() >= size {
                    break;
                }
                let request = self.tasks[i].request(&self.config.graph_host);
                match self.pacer.take(&request, now_ms) {
                    Ok(()) => chosen.push((*class, due, i, request)),
                    Err(wait) => {
                        pacing_wait = Some(pacing_wait.map_or(wait, |w: u64| w.min(wait)));
                        break;
                    }
                }
            }
        }
        if chosen.is_empty() {
            let due_wait = next_due.map(|d| d - now_ms);
            return match (pacing_wait, due_wait) {
                (Some(p), Some(d)) => Poll::Wait(p.min(d).max(1)),
                (Some(w), None) | (None, Some(w)) => Poll::Wait(w.max(1)),
                (None, None) => Poll::Busy,
            };
        }
        let id = self.next_batch;
        self.next_batch += 1;
        let mut members = Vec::with_capacity(chosen.len());
        let mut requests = Vec::with_capacity(chosen.len());
        for (class, due, i, request) in chosen {
            if let Some(queue) = self.queues.get_mut(&class) {
                queue.remove(&(due, i));
            }
            self.tasks[i].set_in_flight(true);
            self.dirty.insert(i);
            members.push(i);
            requests.push((i.to_string(), request));
        }
        self.in_flight.insert(id, members);
        self.sent_in.insert(id, self.pacer.generation());
        self.batches_sent += 1;
        self.requests_sent += requests.len() as u64;
        Poll::Send(Batch { id, requests })
    }

    /// Batch `id` was not sent after all (no token, the write-ahead could not be stored): its
    /// tasks are due again as they were.
    pub fn withdraw(&mut self, id: u64, now_ms: u64) {
        self.sent_in.remove(&id);
        for i in self.in_flight.remove(&id).unwrap_or_default() {
            self.tasks[i].set_in_flight(false);
            self.dirty.insert(i);
            self.enqueue(now_ms, i);
        }
    }

    /// Batches in flight.
    pub fn batches_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// How long until the due tasks' buckets can fill a batch (`None`: it can go now). Looks at
    /// the first due tasks only, by class.
    fn wait_for_full_batch(&self, now_ms: u64, size: usize) -> Option<u64> {
        let due: BTreeMap<CallClass, u64> = self
            .queues
            .iter()
            .map(|(class, queue)| {
                let n = queue
                    .iter()
                    .take(size)
                    .take_while(|(at, _)| *at <= now_ms)
                    .count() as u64;
                (*class, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        let total: u64 = due.values().sum();
        if total == 0 {
            return None;
        }
        let wanted = total.min(size as u64);
        let takeable: u64 = due
            .iter()
            .map(|(class, n)| (*n).min(self.pacer.available(*class, now_ms).0))
            .sum();
        if takeable >= wanted {
            return None;
        }
        // The soonest time the busiest class can give what it needs (at most a bucketful).
        let wait = due
            .iter()
            .map(|(class, n)| self.pacer.wait_for(*class, (*n).min(size as u64), now_ms))
            .min()
            .unwrap_or(0);
        (wait > 0).then_some(wait)
    }

    /// Takes the answer to batch `id`; `jitter` in [0, 1).
    pub fn on_batch(&mut self, id: u64, outcome: BatchOutcome, now_ms: u64, jitter: f64) {
        let Some(members) = self.in_flight.remove(&id) else {
            return;
        };
        let sent_in = self.sent_in.remove(&id).unwrap_or(0);
        let mut answers: BTreeMap<usize, Answer> = BTreeMap::new();
        // Tasks Graph said not to send before a time.
        let mut held: Vec<(usize, u64)> = Vec::new();
        match outcome {
            BatchOutcome::Answered(inner) => {
                self.unauthorized = 0;
                // Throttled inner requests are all retried after the longest `Retry-After`.
                let longest = longest_retry_after(&inner);
                if inner.iter().any(|a| a.status != 429) {
                    // Something went through: the job is not stuck on throttling.
                    self.throttled_streak_ms = 0;
                }
                for answer in inner {
                    let Ok(i) = answer.id.parse::<usize>() else {
                        continue;
                    };
                    if !members.contains(&i) {
                        continue;
                    }
                    if answer.status == 401 && answer.challenge.is_some() {
                        // A claims challenge (CAE) on an inner 401: the renewal takes it.
                        self.challenge = answer.challenge.clone();
                    }
                    let mut retry_after_s = answer.retry_after_s;
                    let class = self.class_of(i);
                    if answer.status != 429 {
                        // Through Graph's throttling: the class's rate may grow back.
                        self.pacer.went_through(class, now_ms);
                    } else {
                        self.throttled += 1;
                        retry_after_s = longest.or(retry_after_s);
                        let seconds = retry_after_s.unwrap_or(1);
                        // Someone else may be spending the budget: slow the class down.
                        self.pacer.slow_down(class, sent_in, now_ms);
                        self.pacer.throttled(class, now_ms, seconds);
                        let until = now_ms.saturating_add(seconds.saturating_mul(1000));
                        held.push((i, until));
                        let error = graph_error(429, retry_after_s, answer.body.as_ref());
                        self.note_throttle(now_ms, until, ErrorSummary::of(&error));
                    }
                    answers.insert(
                        i,
                        Answer::Status {
                            status: answer.status,
                            retry_after_s,
                            body: answer.body,
                        },
                    );
                }
            }
            BatchOutcome::Refused {
                status,
                retry_after_s,
                body,
                challenge,
            } => {
                let answer = match status {
                    // No batch answer (only a 200 is one): whether the inner requests ran
                    // cannot be told. Never taken as applied; read back.
                    0..=399 => Answer::Lost,
                    // Not executed: send again as it was, with a token renewed (with the
                    // challenge's claims), at most twice in a row; then the job pauses.
                    401 => {
                        self.unauthorized += 1;
                        if self.unauthorized > MAX_BATCH_RENEWALS {
                            let error = graph_error(status, retry_after_s, body.as_ref());
                            self.paused.get_or_insert(PauseReason::Unauthorized {
                                error: ErrorSummary::of(&error),
                            });
                        } else {
                            self.renew_token = true;
                            self.challenge = challenge;
                        }
                        Answer::NotSent
                    }
                    // Not executed: every class waits as told, then it goes again as it was.
                    429 => {
                        self.throttled += 1;
                        let seconds = retry_after_s.unwrap_or(1);
                        for class in CallClass::ALL {
                            self.pacer.throttled(class, now_ms, seconds);
                        }
                        let classes: BTreeSet<CallClass> =
                            members.iter().map(|&i| self.class_of(i)).collect();
                        for class in classes {
                            self.pacer.slow_down(class, sent_in, now_ms);
                        }
                        let until = now_ms.saturating_add(seconds.saturating_mul(1000));
                        held.extend(members.iter().map(|&i| (i, until)));
                        let error = graph_error(status, retry_after_s, body.as_ref());
                        self.note_throttle(now_ms, until, ErrorSummary::of(&error));
                        Answer::NotSent
                    }
                    // Maybe executed: as if every inner answer was lost.
                    500..=599 => {
                        if let Some(s) = retry_after_s {
                            for class in CallClass::ALL {
                                self.pacer.throttled(class, now_ms, s);
                            }
                        }
                        Answer::Lost
                    }
                    _ => Answer::Status {
                        status,
                        retry_after_s,
                        body,
                    },
                };
                for &i in &members {
                    answers.insert(i, answer.clone());
                }
            }
            BatchOutcome::Lost => {}
        }
        for (i, until) in held {
            self.tasks[i].hold_until(until);
        }
        for i in members {
            let answer = answers.remove(&i).unwrap_or(Answer::Lost);
            let task = &mut self.tasks[i];
            task.set_in_flight(false);
            let next = task.on_answer(answer, now_ms, jitter);
            self.dirty.insert(i);
            let next = if self.cancelled && next != Next::Done && task.cancel() {
                Next::Done
            } else {
                next
            };
            match next {
                Next::Done => {}
                // A refused batch's tasks wait on the paused buckets, not here.
                Next::After(ms) => self.enqueue(now_ms.saturating_add(ms), i),
                Next::RenewToken => {
                    self.renew_token = true;
                    self.enqueue(now_ms, i);
                }
            }
        }
    }

    /// Graph said to wait until `until` at `now_ms`: the job's wait on throttling grows by the
    /// part not already covered, and past the wait allowed the job pauses.
    fn note_throttle(&mut self, now_ms: u64, until: u64, error: ErrorSummary) {
        let from = now_ms.max(self.throttled_through_ms);
        if until > from {
            self.throttled_streak_ms = self.throttled_streak_ms.saturating_add(until - from);
            self.throttled_through_ms = until;
        }
        if self.throttled_streak_ms > self.max_throttled_wait_ms {
            self.paused.get_or_insert(PauseReason::Throttled {
                waited_ms: self.throttled_streak_ms,
                error,
            });
        }
    }
}

// ------------------------------------------------------------------------------------- writes

/// What the next request of a write task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Send,
    ReadBack,
    /// A first 409 to an install: read back to verify the app is there.
    Verify,
}

/// How a user's write ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Applied, and how that is known.
    Applied(Confirmed),
    /// A first 409 to an install, and a read-back shows the app installed: already there.
    AlreadyInstalled,
    Failed(Failure),
    /// Cancelled before it was applied (known not applied).
    Cancelled,
}

impl Outcome {
    /// The i18n key (and CSV value) of the outcome.
    pub fn key(self) -> &'static str {
        match self {
            Outcome::Applied(_) => "applied",
            Outcome::AlreadyInstalled => "already_installed",
            Outcome::Failed(Failure::Refused) => "refused",
            Outcome::Failed(Failure::NotApplied) => "not_applied",
            Outcome::Failed(Failure::Unsettled) => "unsettled",
            Outcome::Failed(Failure::NotSent) => "not_sent",
            Outcome::Cancelled => "cancelled",
        }
    }

    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Applied(_) | Outcome::AlreadyInstalled)
    }
}

/// One user's write in a job: the write, its run, where it stands, and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteTask {
    pub write: Write,
    pub run: WriteRun,
    pub phase: Phase,
    pub in_flight: bool,
    /// When the first send went out (the write's elapsed time counts from it).
    pub first_sent_ms: Option<u64>,
    pub outcome: Option<Outcome>,
    pub last_error: Option<ErrorSummary>,
    /// Read-back failures while verifying a first 409.
    verify_failures: u32,
    /// Not to be sent before this time (ms since the epoch): a `Retry-After` from Graph.
    pub not_before_ms: Option<u64>,
}

/// What is stored of a task after each batch: its state, not its write (the write is made
/// again from the plan's row, so the app id and the consent are stored once, in the plan).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub run: WriteRun,
    pub phase: Phase,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub in_flight: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_sent_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<ErrorSummary>,
    #[serde(default)]
    pub verify_failures: u32,
    /// The time (ms since the epoch) before which the task may not be sent: Graph's
    /// `Retry-After` to it (or to its batch). A resumed job holds the task and its call class
    /// until then. Absent in records stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before_ms: Option<u64>,
}

impl WriteTask {
    /// The task's state, to store.
    pub fn record(&self) -> TaskRecord {
        TaskRecord {
            run: self.run.clone(),
            phase: self.phase,
            in_flight: self.in_flight,
            first_sent_ms: self.first_sent_ms,
            outcome: self.outcome,
            last_error: self.last_error.clone(),
            verify_failures: self.verify_failures,
            not_before_ms: self.not_before_ms,
        }
    }

    /// The task of `write` in the state `record` stored, under `policy`.
    pub fn restore(write: Write, policy: WritePolicy, record: TaskRecord) -> WriteTask {
        WriteTask {
            write,
            run: record.run.with_policy(policy),
            phase: record.phase,
            in_flight: record.in_flight,
            first_sent_ms: record.first_sent_ms,
            outcome: record.outcome,
            last_error: record.last_error,
            verify_failures: record.verify_failures,
            not_before_ms: record.not_before_ms,
        }
    }

    pub fn new(write: Write, policy: WritePolicy) -> WriteTask {
        WriteTask {
            run: WriteRun::new(write.kind(), policy),
            write,
            phase: Phase::Send,
            in_flight: false,
            first_sent_ms: None,
            outcome: None,
            last_error: None,
            verify_failures: 0,
            not_before_ms: None,
        }
    }

    fn finish(&mut self, outcome: Outcome) -> Next {
        self.outcome = Some(outcome);
        self.phase = Phase::Send;
        Next::Done
    }

    fn read_back_result(&mut self, answer: Answer) -> ReadBackResult {
        match answer {
            Answer::Status {
                status: 200..=299,
                body,
                ..
            } => {
                let installations = body
                    .and_then(|b| serde_json::from_value::<Collection<Installation>>(b).ok())
                    .map(|c| c.value);
                let result = match installations {
                    Some(list) => self.write.read_back_result(&list),
                    None => ReadBackResult::CannotTell,
                };
                if result == ReadBackResult::CannotTell {
                    self.last_error = Some(ErrorSummary::cannot_tell());
                }
                result
            }
            Answer::Status {
                status,
                retry_after_s,
                body,
            } => {
                self.last_error = Some(ErrorSummary::of(&graph_error(
                    status,
                    retry_after_s,
                    body.as_ref(),
                )));
                ReadBackResult::Failed {
                    status: Some(status),
                    retry_after_s,
                }
            }
            Answer::Lost | Answer::NotSent => ReadBackResult::Failed {
                status: None,
                retry_after_s: None,
            },
        }
    }

    fn follow(&mut self, step: Step) -> Next {
        match step {
            Step::Send {
                after_ms,
                renew_token,
            } => {
                self.phase = Phase::Send;
                if renew_token {
                    Next::RenewToken
                } else {
                    Next::After(after_ms)
                }
            }
            Step::ReadBack { after_ms } => {
                self.phase = Phase::ReadBack;
                Next::After(after_ms)
            }
            Step::Done(confirmed) => self.finish(Outcome::Applied(confirmed)),
            Step::Fail(Failure::Refused)
                if self.write.kind() == WriteKind::Install
                    && self.last_error.as_ref().and_then(|e| e.status) == Some(409) =>
            {
                // Installed already (by someone else, or before this job): verify, then
                // count it as already installed.
                self.phase = Phase::Verify;
                Next::After(0)
            }
            Step::Fail(failure) => self.finish(Outcome::Failed(failure)),
        }
    }
}

impl Task for WriteTask {
    fn request(&self, graph_host: &str) -> GraphRequest {
        match self.phase {
            Phase::Send => self.write.request(graph_host),
            Phase::ReadBack | Phase::Verify => self.write.read_back(),
        }
    }

    fn on_answer(&mut self, answer: Answer, now_ms: u64, jitter: f64) -> Next {
        if self.outcome.is_some() {
            return Next::Done;
        }
        if answer == Answer::NotSent {
            return Next::After(0);
        }
        let elapsed = now_ms.saturating_sub(*self.first_sent_ms.get_or_insert(now_ms));
        match self.phase {
            Phase::Send => {
                let result = match answer {
                    Answer::Status {
                        status: 200..=299, ..
                    } => SendResult::Applied,
                    Answer::Status {
                        status,
                        retry_after_s,
                        body,
                    } => {
                        let error = graph_error(status, retry_after_s, body.as_ref());
                        self.last_error = Some(ErrorSummary::of(&error));
                        self.write.send_result(&error)
                    }
                    Answer::Lost | Answer::NotSent => {
                        self.last_error = Some(ErrorSummary::lost());
                        SendResult::Lost
                    }
                };
                let step = self.run.on(Event::Sent(result), elapsed, jitter);
                self.follow(step)
            }
            Phase::ReadBack => {
                let result = self.read_back_result(answer);
                let step = self.run.on(Event::ReadBack(result), elapsed, jitter);
                self.follow(step)
            }
            Phase::Verify => match self.read_back_result(answer) {
                ReadBackResult::Applied => self.finish(Outcome::AlreadyInstalled),
                ReadBackResult::NotApplied => self.finish(Outcome::Failed(Failure::Refused)),
                // Throttled: wait as told, it is no failure.
                ReadBackResult::Failed {
                    status: Some(429),
                    retry_after_s,
                } => Next::After(retry_after_s.map_or(1000, |s| s.saturating_mul(1000))),
                ReadBackResult::CannotTell => {
                    self.verify_failures += 1;
                    if self.verify_failures > 4 {
                        self.finish(Outcome::Failed(Failure::Unsettled))
                    } else {
                        Next::After(1000)
                    }
                }
                ReadBackResult::Failed { retry_after_s, .. } => {
                    self.verify_failures += 1;
                    if self.verify_failures > 4 {
                        self.finish(Outcome::Failed(Failure::Refused))
                    } else {
                        Next::After(retry_after_s.map_or(1000, |s| s.saturating_mul(1000)))
                    }
                }
            },
        }
    }

    fn cancel(&mut self) -> bool {
        if self.outcome.is_some() {
            return true;
        }
        match self.phase {
            // Not sent yet, or known not applied (a read-back round said so, a 401, a 429).
            Phase::Send => {
                self.outcome = Some(Outcome::Cancelled);
                true
            }
            // Settle the doubt first; a verify is harmless too.
            Phase::ReadBack | Phase::Verify => false,
        }
    }

    fn is_done(&self) -> bool {
        self.outcome.is_some()
    }

    fn in_flight(&self) -> bool {
        self.in_flight
    }

    fn set_in_flight(&mut self, in_flight: bool) {
        self.in_flight = in_flight;
    }

    fn hold_until(&mut self, until_ms: u64) {
        self.not_before_ms = Some(self.not_before_ms.map_or(until_ms, |t| t.max(until_ms)));
    }

    fn not_before(&self) -> Option<u64> {
        self.not_before_ms
    }

    /// A fresh window, however long ago the task stopped: its clock starts again now; a send
    /// found in flight takes a lost answer (a read found in flight is simply read again); then
    /// a write in doubt reads back (a round in progress starts over) before anything is resent.
    fn resume(&mut self, now_ms: u64) -> bool {
        if self.outcome.is_some() {
            return false;
        }
        let before = self.record();
        if self.first_sent_ms.is_some() {
            self.first_sent_ms = Some(now_ms);
        }
        if std::mem::take(&mut self.in_flight) && self.phase == Phase::Send {
            self.on_answer(Answer::Lost, now_ms, 0.5);
        }
        if self.outcome.is_none() {
            self.verify_failures = 0;
            if let Some(step) = self.run.resume(self.phase == Phase::ReadBack) {
                self.follow(step);
            }
        }
        self.record() != before
    }
}

/// The write policy of a job: a job is paced and may wait longer than a page would. Its writes
/// wait on 429s however long: the engine pauses the whole job instead (see
/// [`MAX_THROTTLED_WAIT_MS`]).
pub fn job_write_policy() -> WritePolicy {
    WritePolicy {
        retry: RetryPolicy {
            max_elapsed_ms: 300_000,
            ..RetryPolicy::default()
        },
        max_sends: 6,
        max_failed_read_backs: 12,
        max_throttled_wait_ms: None,
        ..WritePolicy::default()
    }
}

// -------------------------------------------------------------------------------------- reads

/// One user's reads (the dry run's, the audit's): each request in turn, pages followed,
/// resent after a 429, a 5xx or a lost answer (reads are safe to resend).
#[derive(Clone, Debug, PartialEq)]
pub struct ReadTask {
    /// Reads still to make, each with its label (what the caller calls it).
    reads: VecDeque<(u8, GraphRequest)>,
    /// Answers of successful reads, by label, pages in order.
    pub answers: Vec<(u8, Value)>,
    /// Why the task stopped early (404 to a read: `status` 404).
    pub error: Option<ErrorSummary>,
    graph_base: String,
    failures: u32,
    in_flight: bool,
    done: bool,
}

/// Transient failures a read is resent after, at most.
const MAX_READ_FAILURES: u32 = 8;

impl ReadTask {
    /// `reads` in order; `graph_base` (`https://graph.microsoft.com/v1.0`) to follow pages.
    pub fn new(reads: Vec<(u8, GraphRequest)>, graph_base: &str) -> ReadTask {
        ReadTask {
            done: reads.is_empty(),
            reads: reads.into(),
            answers: Vec::new(),
            error: None,
            graph_base: graph_base.trim_end_matches('/').to_string(),
            failures: 0,
            in_flight: false,
        }
    }

    /// The values of the collections read under `label`, all pages.
    pub fn collection(&self, label: u8) -> Vec<Value> {
        self.answers
            .iter()
            .filter(|(l, _)| *l == label)
            .flat_map(|(_, body)| {
                body.get("value")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The single object read under `label`.
    pub fn object(&self, label: u8) -> Option<&Value> {
        self.answers
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, body)| body)
    }

    fn stop(&mut self, error: Option<ErrorSummary>) -> Next {
        self.error = error;
        self.reads.clear();
        self.done = true;
        Next::Done
    }
}

impl Task for ReadTask {
    fn request(&self, _graph_host: &str) -> GraphRequest {
        self.reads
            .front()
            .map(|(_, r)| r.clone())
            // A finished task is never asked; any harmless read stands in.
            .unwrap_or_else(crate::graph::request::tenant_settings)
    }

    fn on_answer(&mut self, answer: Answer, _now_ms: u64, jitter: f64) -> Next {
        if self.done {
            return Next::Done;
        }
        let retry = |failures: u32, retry_after_s: Option<u64>| {
            retry_after_s.map_or_else(
                || RetryPolicy::default().backoff_ms(failures, jitter),
                |s| s.saturating_mul(1000),
            )
        };
        match answer {
            Answer::NotSent => Next::After(0),
            Answer::Status {
                status: 200..=299,
                body,
                ..
            } => {
                self.failures = 0;
                let Some((label, first)) = self.reads.pop_front() else {
                    return self.stop(None);
                };
                let body = body.unwrap_or(Value::Null);
                let next_link = body
                    .get("@odata.nextLink")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                self.answers.push((label, body));
                if let Some(link) = next_link {
                    match next_page(&first, &self.graph_base, &link) {
                        Some(mut page) => {
                            // In a batch the URL is relative to the version.
                            page.exact_url =
                                link.strip_prefix(&self.graph_base).map(str::to_string);
                            self.reads.push_front((label, page));
                        }
                        None => {
                            return self.stop(Some(ErrorSummary {
                                status: Some(200),
                                code: "foreignNextLink".into(),
                                message: format!("A next page outside Graph was refused: {link}"),
                                request_id: None,
                            }))
                        }
                    }
                }
                if self.reads.is_empty() {
                    self.done = true;
                    Next::Done
                } else {
                    Next::After(0)
                }
            }
            // Throttled: wait as told, however often (no failure).
            Answer::Status {
                status: 429,
                retry_after_s,
                ..
            } => Next::After(retry(self.failures + 1, retry_after_s)),
            Answer::Status {
                status: status @ 500..=599,
                retry_after_s,
                body,
            } => {
                self.failures += 1;
                if self.failures > MAX_READ_FAILURES {
                    return self.stop(Some(ErrorSummary::of(&graph_error(
                        status,
                        retry_after_s,
                        body.as_ref(),
                    ))));
                }
                Next::After(retry(self.failures, retry_after_s))
            }
            Answer::Status {
                status,
                retry_after_s,
                body,
            } => self.stop(Some(ErrorSummary::of(&graph_error(
                status,
                retry_after_s,
                body.as_ref(),
            )))),
            Answer::Lost => {
                self.failures += 1;
                if self.failures > MAX_READ_FAILURES {
                    return self.stop(Some(ErrorSummary::lost()));
                }
                Next::After(retry(self.failures, None))
            }
        }
    }

    fn cancel(&mut self) -> bool {
        if !self.done {
            self.stop(Some(ErrorSummary {
                status: None,
                code: "cancelled".into(),
                message: "Cancelled before it was read.".into(),
                request_id: None,
            }));
        }
        true
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn in_flight(&self) -> bool {
        self.in_flight
    }

    fn set_in_flight(&mut self, in_flight: bool) {
        self.in_flight = in_flight;
    }
}

/// Counts, rate and time left of a job.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub total: usize,
    pub done: usize,
    /// Outcome key → count.
    pub by_outcome: BTreeMap<&'static str, usize>,
    /// Tasks finished a second since the job started.
    pub rate_per_s: f64,
    /// Time left at that rate.
    pub eta_ms: Option<u64>,
}

/// The progress of write tasks, `elapsed_ms` since the job (re)started and `done_then` the
/// tasks already done at that start (so a resumed job's rate is its own).
pub fn progress(tasks: &[WriteTask], done_then: usize, elapsed_ms: u64) -> Progress {
    let mut by_outcome = BTreeMap::new();
    let mut done: usize = 0;
    for task in tasks {
        if let Some(outcome) = task.outcome {
            done += 1;
            *by_outcome.entry(outcome.key()).or_insert(0) += 1;
        }
    }
    let fresh = done.saturating_sub(done_then);
    let rate_per_s = if elapsed_ms > 0 {
        fresh as f64 * 1000.0 / elapsed_ms as f64
    } else {
        0.0
    };
    let left = tasks.len() - done;
    let eta_ms = (rate_per_s > 0.0).then(|| (left as f64 / rate_per_s * 1000.0) as u64);
    Progress {
        total: tasks.len(),
        done,
        by_outcome,
        rate_per_s,
        eta_ms,
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
