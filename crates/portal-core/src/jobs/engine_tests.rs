//! The engine against a simulated Graph on a simulated clock: Teams throttling per call class
//! (inner 429s with their own `Retry-After`), inner and outer 5xx (some applied first), dropped
//! answers, read-after-write lag, a token that expires mid-job, cancel, and a crash resumed
//! from the persisted tasks. Every run ends with each user in the expected state, outcomes that
//! agree with Graph's state, and never two successful install POSTs for one user.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::*;
use crate::auth::challenge::ClaimsChallenge;
use crate::graph::encode::UserRef;
use crate::graph::ids::{CatalogAppId, InstallationId};
use crate::graph::request::Method;
use crate::jobs::batch::InnerAnswer;
use crate::jobs::plan::{self, JobAction, PlannedAction, SkipReason};

const APP: &str = "app-1";
const LATEST: &str = "2.0.0";
const BASE: &str = "https://graph.microsoft.com/v1.0";

fn rate_of(class: CallClass) -> f64 {
    class.per_second()
}

/// A small deterministic random source.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next() < p
    }
}

#[derive(Default, Clone)]
struct Faults {
    /// Inner requests answered 503 (with `Retry-After`) without effect.
    inner_503: f64,
    /// Inner writes applied, then answered 503.
    apply_then_503: f64,
    /// Whole batches answered 503 without effect.
    outer_503: f64,
    /// Batches executed whose answer is lost.
    drop: f64,
    /// Reads see a write this long after it was applied.
    lag_ms: u64,
    /// The token expires at this time (once).
    token_expires_ms: Option<u64>,
    /// The tenant's limits, as a share of Graph's published ones (1.0: as published).
    limit_share: f64,
    /// Installs a second, whatever the share (a tenant throttled harder on installs).
    install_rps: Option<f64>,
    /// Every 429's `Retry-After` in seconds (else 1 to 3, at random).
    retry_after_s: Option<u64>,
    /// Every batch is answered 401 (a token Graph keeps refusing), with a claims challenge.
    always_401: bool,
    /// Another client of the same app registration in the tenant (another tab, another
    /// administrator, another tool) has this many requests a second of every class to send,
    /// each taking a token of the same bucket; one that finds none waits for the next (up to a
    /// second's worth), served before the job's next request: the dev tenant's
    /// `--background-load`. With it, a 429's `Retry-After` is the time until a token (at least
    /// 1 s), as the dev tenant answers.
    background_rps: f64,
}

/// One user's installation of the app, as Graph holds it.
#[derive(Clone, Debug, PartialEq)]
struct Held {
    id: String,
    version: String,
}

struct Sim {
    now: u64,
    latency: u64,
    rng: Rng,
    faults: Faults,
    /// Per user: (applied at, state after) in order.
    history: HashMap<String, Vec<(u64, Option<Held>)>>,
    buckets: BTreeMap<CallClass, (f64, u64)>,
    /// Per class: (when the client learns of a 429, until when its `Retry-After` runs).
    not_before: BTreeMap<CallClass, Vec<(u64, u64)>>,
    retry_after_violations: u32,
    token_generation: u32,
    token_expired: bool,
    /// Per user: install POSTs answered (or applied) with success.
    installs_applied: HashMap<String, u32>,
    throttled: u32,
    next_installation: u32,
    writes_after_cancel: u32,
    cancelled_at: Option<u64>,
    /// Per class: when the background client sends next (ms), and its requests waiting.
    background_next: BTreeMap<CallClass, (f64, f64)>,
    /// The background client's requests served and refused.
    background_served: u64,
    background_refused: u64,
}

impl Sim {
    fn new(users: usize, latency: u64, faults: Faults, seed: u64) -> Sim {
        let mut history = HashMap::new();
        for i in 0..users {
            history.insert(user_id(i), vec![(0, None)]);
        }
        let share = if faults.limit_share > 0.0 {
            faults.limit_share
        } else {
            1.0
        };
        Sim {
            now: 0,
            latency,
            rng: Rng(seed.max(1)),
            buckets: CallClass::ALL
                .into_iter()
                .map(|c| {
                    let rate = match (c, faults.install_rps) {
                        (CallClass::PostInstalledApps, Some(rps)) => rps,
                        _ => rate_of(c) * share,
                    };
                    (c, (rate, 0))
                })
                .collect(),
            faults: Faults {
                limit_share: share,
                ..faults
            },
            history,
            not_before: BTreeMap::new(),
            retry_after_violations: 0,
            token_generation: 0,
            token_expired: false,
            installs_applied: HashMap::new(),
            throttled: 0,
            next_installation: 0,
            writes_after_cancel: 0,
            cancelled_at: None,
            background_next: BTreeMap::new(),
            background_served: 0,
            background_refused: 0,
        }
    }

    fn set(&mut self, user: &str, held: Option<Held>) {
        let now = self.now;
        self.history
            .entry(user.to_string())
            .or_default()
            .push((now, held));
    }

    fn current(&self, user: &str) -> Option<Held> {
        self.history
            .get(user)
            .and_then(|h| h.last())
            .and_then(|(_, s)| s.clone())
    }

    /// What a read sees: the last state applied at least `lag_ms` ago.
    fn visible(&self, user: &str) -> Option<Held> {
        let history = self.history.get(user)?;
        history
            .iter()
            .rev()
            .find(|(at, _)| at + self.faults.lag_ms <= self.now)
            .or(history.first())
            .and_then(|(_, s)| s.clone())
    }

    fn rate(&self, class: CallClass) -> f64 {
        match (class, self.faults.install_rps) {
            (CallClass::PostInstalledApps, Some(rps)) => rps,
            _ => rate_of(class) * self.faults.limit_share,
        }
    }

    fn take_token(&mut self, class: CallClass) -> Result<(), u64> {
        let rate = self.rate(class);
        let fixed = self.faults.retry_after_s;
        let background = self.faults.background_rps;
        let now = self.now;
        let (tokens, last) = self.buckets.entry(class).or_insert((rate, now));
        // The other client's requests since the last look, each at its own time.
        if background > 0.0 {
            let (next, waiting) = self.background_next.entry(class).or_insert((0.0, 0.0));
            let mut serve = |tokens: &mut f64, last: &mut u64, waiting: &mut f64, at: u64| {
                *tokens = (*tokens + (at - *last) as f64 / 1000.0 * rate).min(rate);
                *last = at;
                let n = tokens.floor().min(*waiting).max(0.0);
                *tokens -= n;
                *waiting -= n;
                self.background_served += n as u64;
            };
            while *next <= now as f64 {
                let at = (*next as u64).max(*last);
                if *waiting + 1.0 > background.max(1.0) {
                    self.background_refused += 1;
                } else {
                    *waiting += 1.0;
                }
                serve(tokens, last, waiting, at);
                *next += 1000.0 / background;
            }
            serve(tokens, last, waiting, now);
        }
        *tokens = (*tokens + (now - *last) as f64 / 1000.0 * rate).min(rate);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else if background > 0.0 {
            // The time until a token, at least a second (the dev tenant's answer).
            Err(fixed.unwrap_or(((1.0 - *tokens) / rate).ceil().max(1.0) as u64))
        } else {
            // Graph's Retry-After varies; 1 to 3 seconds.
            Err(fixed.unwrap_or_else(|| 1 + (self.rng.next() * 3.0) as u64))
        }
    }

    fn answer(
        status: u16,
        body: Option<Value>,
        retry_after_s: Option<u64>,
    ) -> (u16, Option<Value>, Option<u64>) {
        (status, body, retry_after_s)
    }

    fn error(status: u16, code: &str) -> Option<Value> {
        Some(json!({"error": {"code": code, "message": code, "innerError": {"request-id": "r"}}}))
            .filter(|_| status >= 400)
    }

    /// Executes one inner request at `now`.
    fn inner(&mut self, request: &GraphRequest) -> (u16, Option<Value>, Option<u64>) {
        let class = CallClass::of(request);
        // A request sent once the client knew of a 429 must wait for its Retry-After (those
        // already on their way could not know).
        let now = self.now;
        if self
            .not_before
            .get(&class)
            .is_some_and(|l| l.iter().any(|&(known, until)| now >= known && now < until))
        {
            self.retry_after_violations += 1;
        }
        if let Err(retry_after) = self.take_token(class) {
            self.throttled += 1;
            let until = self.now + retry_after * 1000;
            let known = self.now + self.latency;
            self.not_before
                .entry(class)
                .or_default()
                .push((known, until));
            return Sim::answer(429, Sim::error(429, "TooManyRequests"), Some(retry_after));
        }
        if self.rng.chance(self.faults.inner_503) {
            return Sim::answer(503, Sim::error(503, "serviceUnavailable"), Some(1));
        }
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        let user = segments.get(1).copied().unwrap_or_default().to_string();
        if !self.history.contains_key(&user) {
            return Sim::answer(404, Sim::error(404, "NotFound"), None);
        }
        let write = request.method != Method::Get;
        if write && self.cancelled_at.is_some() {
            self.writes_after_cancel += 1;
        }
        let (status, body) = match (request.method, &segments[2..]) {
            (Method::Get, ["teamwork", "installedApps"]) => {
                let value: Vec<Value> = self
                    .visible(&user)
                    .into_iter()
                    .map(|h| {
                        json!({"id": h.id, "teamsApp": {"id": APP},
                               "teamsAppDefinition": {"id": format!("d{}", h.version), "version": h.version}})
                    })
                    .collect();
                (200, Some(json!({ "value": value })))
            }
            (Method::Post, ["teamwork", "installedApps"]) => {
                if self.current(&user).is_some() {
                    (409, Sim::error(409, "Conflict"))
                } else {
                    self.next_installation += 1;
                    let id = format!("inst-{}", self.next_installation);
                    self.set(
                        &user,
                        Some(Held {
                            id: id.clone(),
                            version: LATEST.into(),
                        }),
                    );
                    *self.installs_applied.entry(user.clone()).or_insert(0) += 1;
                    (201, Some(json!({"id": id})))
                }
            }
            (Method::Post, ["teamwork", "installedApps", id, "upgrade"]) => {
                match self.current(&user) {
                    Some(h) if h.id == *id => {
                        self.set(
                            &user,
                            Some(Held {
                                id: h.id,
                                version: LATEST.into(),
                            }),
                        );
                        (204, None)
                    }
                    _ => (404, Sim::error(404, "NotFound")),
                }
            }
            (Method::Delete, ["teamwork", "installedApps", id]) => match self.current(&user) {
                Some(h) if h.id == *id => {
                    self.set(&user, None);
                    (204, None)
                }
                _ => (404, Sim::error(404, "NotFound")),
            },
            _ => (400, Sim::error(400, "BadRequest")),
        };
        if write && status < 300 && self.rng.chance(self.faults.apply_then_503) {
            return Sim::answer(503, Sim::error(503, "serviceUnavailable"), None);
        }
        Sim::answer(status, body, None)
    }

    /// Executes a batch sent with token `generation` at `now`; the answer arrives later.
    fn batch(&mut self, batch: &Batch, generation: u32) -> BatchOutcome {
        assert!(batch.requests.len() <= MAX_BATCH);
        if let Some(expires) = self.faults.token_expires_ms {
            if self.now >= expires && !self.token_expired {
                self.token_expired = true;
                self.token_generation += 1;
            }
        }
        if self.faults.always_401 || generation < self.token_generation {
            return BatchOutcome::Refused {
                status: 401,
                retry_after_s: None,
                body: Sim::error(401, "InvalidAuthenticationToken"),
                challenge: self.faults.always_401.then(|| ClaimsChallenge {
                    claims: r#"{"access_token":{"nbf":{"essential":true}}}"#.into(),
                }),
            };
        }
        if self.rng.chance(self.faults.outer_503) {
            return BatchOutcome::Refused {
                status: 503,
                retry_after_s: Some(2),
                body: Sim::error(503, "serviceUnavailable"),
                challenge: None,
            };
        }
        let mut answers: Vec<InnerAnswer> = batch
            .requests
            .iter()
            .map(|(id, request)| {
                let (status, body, retry_after_s) = self.inner(request);
                InnerAnswer {
                    id: id.clone(),
                    status,
                    retry_after_s,
                    body,
                    challenge: None,
                }
            })
            .collect();
        // Graph answers in any order.
        answers.reverse();
        if self.rng.chance(self.faults.drop) {
            return BatchOutcome::Lost;
        }
        BatchOutcome::Answered(answers)
    }
}

fn user_id(i: usize) -> String {
    format!("u{i:05}")
}

fn install_tasks(users: usize) -> Vec<WriteTask> {
    (0..users)
        .map(|i| {
            WriteTask::new(
                Write::install(UserRef::ObjectId(user_id(i)), CatalogAppId::new(APP), None),
                job_write_policy(),
            )
        })
        .collect()
}

/// The persisted copy of the tasks, as the browser keeps it (a record's JSON per task; the
/// writes come from the plan, here `install_tasks`).
struct Store(Vec<String>);

impl Store {
    fn save(&mut self, executor: &mut Executor<WriteTask>) {
        for i in executor.take_dirty() {
            self.0[i] =
                serde_json::to_string(&executor.tasks()[i].record()).expect("a task serialises");
        }
    }

    fn load(&self) -> Vec<WriteTask> {
        install_tasks(self.0.len())
            .into_iter()
            .zip(&self.0)
            .map(|(planned, json)| {
                let record = serde_json::from_str(json).expect("a task deserialises");
                WriteTask::restore(planned.write, job_write_policy(), record)
            })
            .collect()
    }
}

struct Run {
    renewals: u32,
    batches: u32,
    /// The claims challenge each renewal was asked to carry.
    challenges: Vec<Option<ClaimsChallenge>>,
    /// Why the job paused, if it did.
    paused: Option<PauseReason>,
}

/// Drives `executor` against `sim` until it finishes, or until `stop_after` batches were
/// answered (a crash: answers still in flight are lost). `cancel_at`: cancel at that time.
fn drive(
    sim: &mut Sim,
    executor: &mut Executor<WriteTask>,
    store: &mut Store,
    stop_after: Option<u32>,
    cancel_at: Option<u64>,
) -> Run {
    let mut in_flight: Vec<(u64, u64, BatchOutcome)> = Vec::new();
    let mut generation = sim.token_generation;
    let mut run = Run {
        renewals: 0,
        batches: 0,
        challenges: Vec::new(),
        paused: None,
    };
    let mut jitter = Rng(7);
    for _ in 0..2_000_000 {
        if let Some(at) = cancel_at {
            if sim.now >= at && !executor.is_cancelled() {
                executor.cancel();
                sim.cancelled_at = Some(sim.now);
                store.save(executor);
            }
        }
        let wait = match executor.next(sim.now) {
            Poll::Send(batch) => {
                // Write-ahead: the tasks are recorded in flight before the batch goes out.
                store.save(executor);
                let outcome = sim.batch(&batch, generation);
                in_flight.push((sim.now + sim.latency, batch.id, outcome));
                // A crash just after a batch went: Graph ran it, its answer is never read.
                if stop_after.is_some_and(|n| run.batches >= n) {
                    return run;
                }
                continue;
            }
            Poll::RenewToken(challenge) => {
                generation = sim.token_generation;
                run.renewals += 1;
                run.challenges.push(challenge);
                executor.token_renewed();
                continue;
            }
            Poll::Wait(ms) => Some(ms),
            Poll::Busy => None,
            Poll::Finished => return run,
            Poll::Paused(reason) => {
                assert!(in_flight.is_empty(), "paused with batches in flight");
                run.paused = Some(reason);
                return run;
            }
        };
        let arrival = in_flight.iter().map(|(at, _, _)| *at).min();
        let until = match (wait, arrival) {
            (Some(w), Some(a)) => (sim.now + w).min(a),
            (Some(w), None) => sim.now + w,
            (None, Some(a)) => a,
            (None, None) => panic!("the executor waits on nothing"),
        };
        sim.now = until.max(sim.now);
        let (due, rest): (Vec<_>, Vec<_>) =
            in_flight.into_iter().partition(|(at, _, _)| *at <= sim.now);
        in_flight = rest;
        for (_, id, outcome) in due {
            executor.on_batch(id, outcome, sim.now, jitter.next());
            store.save(executor);
            run.batches += 1;
        }
    }
    panic!("the job did not finish");
}

fn start(users: usize, sim: &Sim) -> (Executor<WriteTask>, Store) {
    let tasks = install_tasks(users);
    let store = Store(
        tasks
            .iter()
            .map(|t| serde_json::to_string(&t.record()).expect("serialises"))
            .collect(),
    );
    (
        Executor::new(tasks, ExecutorConfig::default(), sim.now),
        store,
    )
}

/// Every user installed once, every task applied, no user with two applied install POSTs.
fn assert_all_installed_once(sim: &Sim, executor: &Executor<WriteTask>, users: usize) {
    for i in 0..users {
        let user = user_id(i);
        assert!(
            sim.current(&user).is_some(),
            "{user} is not installed: {:?} ({:?})",
            executor.tasks()[i].outcome,
            executor.tasks()[i].last_error
        );
        assert_eq!(
            sim.installs_applied.get(&user).copied().unwrap_or(0),
            1,
            "{user} got a second install"
        );
        let task = &executor.tasks()[i];
        assert!(
            task.outcome.is_some_and(Outcome::is_success),
            "{user} ended {:?} ({:?})",
            task.outcome,
            task.last_error
        );
    }
}

#[test]
fn a_clean_job_runs_at_the_throttle_floor_without_429s() {
    let users = 1000;
    let mut sim = Sim::new(users, 100, Faults::default(), 1);
    let (mut executor, mut store) = start(users, &sim);
    drive(&mut sim, &mut executor, &mut store, None, None);
    assert_all_installed_once(&sim, &executor, users);
    assert_eq!(sim.throttled, 0, "the pacer keeps under Graph's limit");
    // 1,000 installs at 90 % of 30 a second: about 37 s of simulated time, never faster
    // than Graph's floor of 33.3 s.
    assert!(
        sim.now >= 33_300,
        "faster than Graph allows: {} ms",
        sim.now
    );
    assert!(
        sim.now < 45_000,
        "far from the throttle floor: {} ms",
        sim.now
    );
    assert_eq!(executor.requests_sent, 1000);
    // Full batches, not one request per token as it drips in.
    assert!(
        (50..=70).contains(&executor.batches_sent),
        "{} batches",
        executor.batches_sent
    );
}

#[test]
fn inner_429s_are_retried_after_the_longest_retry_after_only() {
    let users = 300;
    // The tenant allows only half of what Graph publishes (other apps use the rest).
    let faults = Faults {
        limit_share: 0.5,
        ..Faults::default()
    };
    let mut sim = Sim::new(users, 100, faults, 2);
    let (mut executor, mut store) = start(users, &sim);
    drive(&mut sim, &mut executor, &mut store, None, None);
    assert_all_installed_once(&sim, &executor, users);
    assert!(sim.throttled > 0, "the scenario must throttle");
    assert_eq!(
        sim.retry_after_violations, 0,
        "a request came before a Retry-After had passed"
    );
    assert!(executor.throttled > 0);
}

#[test]
fn server_errors_dropped_answers_and_lag_never_install_twice() {
    let users = 400;
    let faults = Faults {
        inner_503: 0.05,
        apply_then_503: 0.03,
        outer_503: 0.02,
        drop: 0.05,
        lag_ms: 3000,
        ..Faults::default()
    };
    for seed in [3, 4, 5] {
        let mut sim = Sim::new(users, 100, faults.clone(), seed);
        let (mut executor, mut store) = start(users, &sim);
        drive(&mut sim, &mut executor, &mut store, None, None);
        assert_all_installed_once(&sim, &executor, users);
        let read_back = executor
            .tasks()
            .iter()
            .filter(|t| t.outcome == Some(Outcome::Applied(Confirmed::ReadBack)))
            .count();
        assert!(read_back > 0, "some writes were settled by reading back");
    }
}

#[test]
fn lag_beyond_the_read_back_window_ends_in_a_conflict_not_a_second_install() {
    let users = 100;
    let faults = Faults {
        drop: 0.15,
        lag_ms: 9000,
        ..Faults::default()
    };
    let mut sim = Sim::new(users, 100, faults, 6);
    let (mut executor, mut store) = start(users, &sim);
    drive(&mut sim, &mut executor, &mut store, None, None);
    assert_all_installed_once(&sim, &executor, users);
    assert!(executor
        .tasks()
        .iter()
        .any(|t| t.outcome == Some(Outcome::Applied(Confirmed::Conflict))));
}

#[test]
fn a_token_expiring_mid_job_is_renewed_once_and_nothing_is_lost() {
    let users = 300;
    let faults = Faults {
        token_expires_ms: Some(4000),
        ..Faults::default()
    };
    let mut sim = Sim::new(users, 100, faults, 8);
    let (mut executor, mut store) = start(users, &sim);
    let run = drive(&mut sim, &mut executor, &mut store, None, None);
    assert_eq!(run.renewals, 1);
    assert_all_installed_once(&sim, &executor, users);
}

#[test]
fn cancel_stops_new_writes_and_every_outcome_agrees_with_graph() {
    let users = 500;
    let faults = Faults {
        drop: 0.05,
        lag_ms: 2000,
        ..Faults::default()
    };
    let mut sim = Sim::new(users, 100, faults, 9);
    let (mut executor, mut store) = start(users, &sim);
    drive(&mut sim, &mut executor, &mut store, None, Some(5000));
    let mut cancelled = 0;
    for (i, task) in executor.tasks().iter().enumerate() {
        let user = user_id(i);
        let installed = sim.current(&user).is_some();
        match task.outcome {
            Some(o) if o.is_success() => assert!(installed, "{user}: applied but not there"),
            Some(Outcome::Cancelled) => {
                cancelled += 1;
                assert!(!installed, "{user}: cancelled but installed");
            }
            other => panic!("{user} ended {other:?}"),
        }
        assert!(sim.installs_applied.get(&user).copied().unwrap_or(0) <= 1);
    }
    assert!(cancelled > 0 && cancelled < users);
    // Only writes already in flight at the cancel may reach Graph after it: a batch's worth
    // for each batch in flight.
    assert!(
        sim.writes_after_cancel == 0,
        "a write was sent after the cancel"
    );
}

#[test]
fn a_crash_mid_job_resumes_from_the_persisted_tasks_without_duplicates() {
    let users = 600;
    let faults = Faults {
        drop: 0.05,
        inner_503: 0.03,
        lag_ms: 2000,
        ..Faults::default()
    };
    let mut sim = Sim::new(users, 100, faults, 10);
    let (mut executor, mut store) = start(users, &sim);
    // Crash twice, with batches in flight whose effects happened but whose answers are lost.
    for crash_after in [12, 9] {
        drive(&mut sim, &mut executor, &mut store, Some(crash_after), None);
        sim.now += 1500;
        let in_flight = store.load().iter().filter(|t| t.in_flight).count();
        assert!(in_flight > 0, "the crash must leave tasks in flight");
        executor = Executor::resume(store.load(), ExecutorConfig::default(), sim.now);
        store.save(&mut executor);
    }
    drive(&mut sim, &mut executor, &mut store, None, None);
    assert_all_installed_once(&sim, &executor, users);
    // And the persisted copy agrees with the executor's.
    assert_eq!(store.load(), executor.tasks().to_vec());
}

#[test]
fn upgrades_and_uninstalls_run_through_the_same_engine() {
    let users = 120;
    let faults = Faults {
        drop: 0.1,
        lag_ms: 1500,
        ..Faults::default()
    };
    let mut sim = Sim::new(users, 100, faults, 11);
    for i in 0..users {
        let held = Held {
            id: format!("old-{i}"),
            version: "1.0.0".into(),
        };
        sim.set(&user_id(i), Some(held));
    }
    sim.now = 20_000;
    let tasks: Vec<WriteTask> = (0..users)
        .map(|i| {
            let user = UserRef::ObjectId(user_id(i));
            let installation = InstallationId::new(format!("old-{i}"));
            let write = if i % 2 == 0 {
                Write::upgrade(user, CatalogAppId::new(APP), installation, LATEST, None)
            } else {
                Write::uninstall(user, CatalogAppId::new(APP), installation)
            };
            WriteTask::new(write, job_write_policy())
        })
        .collect();
    let mut store = Store(vec![String::new(); users]);
    let mut executor = Executor::new(tasks, ExecutorConfig::default(), sim.now);
    drive(&mut sim, &mut executor, &mut store, None, None);
    for i in 0..users {
        let user = user_id(i);
        let task = &executor.tasks()[i];
        assert!(
            task.outcome.is_some_and(Outcome::is_success),
            "{user}: {:?}",
            task.outcome
        );
        match sim.current(&user) {
            Some(h) if i % 2 == 0 => assert_eq!(h.version, LATEST),
            None if i % 2 == 1 => {}
            other => panic!("{user} holds {other:?}"),
        }
    }
    assert_eq!(sim.installs_applied.len(), 0);
}

#[test]
fn an_install_meeting_an_app_already_there_is_verified_and_counted_as_already_installed() {
    let users = 10;
    let mut sim = Sim::new(users, 100, Faults::default(), 12);
    sim.set(
        &user_id(3),
        Some(Held {
            id: "theirs".into(),
            version: "1.0.0".into(),
        }),
    );
    let (mut executor, mut store) = start(users, &sim);
    drive(&mut sim, &mut executor, &mut store, None, None);
    assert_eq!(executor.tasks()[3].outcome, Some(Outcome::AlreadyInstalled));
    assert_eq!(
        executor.tasks()[4].outcome,
        Some(Outcome::Applied(Confirmed::Answered))
    );
    let progress = progress(executor.tasks(), 0, sim.now.max(1));
    assert_eq!(progress.done, users);
    assert_eq!(progress.by_outcome.get("already_installed"), Some(&1));
    assert_eq!(progress.by_outcome.get("applied"), Some(&9));
}

#[test]
fn one_at_a_time_is_latency_bound_while_batches_reach_the_floor() {
    let users = 200;
    let mut sim = Sim::new(users, 100, Faults::default(), 13);
    let tasks = install_tasks(users);
    let mut store = Store(vec![String::new(); users]);
    let config = ExecutorConfig {
        max_in_flight: 1,
        batch_size: 1,
        ..ExecutorConfig::default()
    };
    let mut executor = Executor::new(tasks, config, 0);
    drive(&mut sim, &mut executor, &mut store, None, None);
    // 200 round trips of 100 ms.
    assert!(sim.now >= 20_000);
    assert_all_installed_once(&sim, &executor, users);
}

// ------------------------------------------------------------------------ edges (issue #22)

/// An inner answer of `status` to every request of `batch` (`value` for reads).
fn answer_all(batch: &Batch, status: u16, value: Value) -> BatchOutcome {
    BatchOutcome::Answered(
        batch
            .requests
            .iter()
            .map(|(id, _)| InnerAnswer {
                id: id.clone(),
                status,
                retry_after_s: None,
                body: Some(json!({ "value": value.clone() })),
                challenge: None,
            })
            .collect(),
    )
}

fn methods(batch: &Batch) -> Vec<Method> {
    batch.requests.iter().map(|(_, r)| r.method).collect()
}

#[test]
fn a_task_resumed_long_after_a_crash_reads_back_and_resends_instead_of_ending_unsettled() {
    // Three installs whose batch answer was lost (Graph never ran it); their read-back is in
    // flight when the tab crashes. The tab comes back ten minutes later: far past the job's
    // 300 s budget measured from the first send.
    let users = 3;
    let mut sim = Sim::new(users, 100, Faults::default(), 21);
    let (mut executor, mut store) = start(users, &sim);
    let Poll::Send(batch) = executor.next(0) else {
        panic!("the first batch goes at once")
    };
    store.save(&mut executor);
    executor.on_batch(batch.id, BatchOutcome::Lost, 100, 0.5);
    store.save(&mut executor);
    let Poll::Send(read_back) = executor.next(100) else {
        panic!("a lost answer is read back at once")
    };
    assert!(methods(&read_back).iter().all(|m| *m == Method::Get));
    store.save(&mut executor);
    // The crash: the read-back's answer is never read.
    sim.now = 600_000;
    executor = Executor::resume(store.load(), ExecutorConfig::default(), sim.now);
    store.save(&mut executor);
    drive(&mut sim, &mut executor, &mut store, None, None);
    assert_all_installed_once(&sim, &executor, users);
}

#[test]
fn a_resumed_task_in_doubt_reads_back_before_anything_is_resent() {
    // A lost answer, then a whole read-back window that found nothing: the task is about to
    // send again. After a crash and a resume, it reads back first (time has passed; the first
    // attempt may have shown up since).
    let users = 2;
    let sim = Sim::new(users, 100, Faults::default(), 22);
    let (mut executor, mut store) = start(users, &sim);
    let mut now = 0;
    let Poll::Send(batch) = executor.next(now) else {
        panic!("the first batch goes at once")
    };
    store.save(&mut executor);
    now += 100;
    executor.on_batch(batch.id, BatchOutcome::Lost, now, 0.5);
    store.save(&mut executor);
    // Read back until every task wants to send again.
    for _ in 0..100 {
        if executor
            .tasks()
            .iter()
            .all(|t| t.phase == Phase::Send && t.run.in_doubt())
        {
            break;
        }
        match executor.next(now) {
            Poll::Send(batch) => {
                assert!(methods(&batch).iter().all(|m| *m == Method::Get));
                store.save(&mut executor);
                now += 100;
                executor.on_batch(batch.id, answer_all(&batch, 200, json!([])), now, 0.5);
                store.save(&mut executor);
            }
            Poll::Wait(ms) => now += ms,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(executor.tasks().iter().all(|t| t.phase == Phase::Send));
    // The crash, and a resume much later.
    now += 3_600_000;
    let mut executor = Executor::resume(store.load(), ExecutorConfig::default(), now);
    let Poll::Send(first) = executor.next(now) else {
        panic!("a resumed job sends at once")
    };
    assert_eq!(
        methods(&first),
        vec![Method::Get; users],
        "a resumed task in doubt was resent without a read-back"
    );
}

#[test]
fn a_batch_answered_401_is_renewed_twice_then_the_job_pauses_without_failing_anyone() {
    let users = 5;
    let faults = Faults {
        always_401: true,
        ..Faults::default()
    };
    let mut sim = Sim::new(users, 100, faults, 23);
    let (mut executor, mut store) = start(users, &sim);
    let run = drive(&mut sim, &mut executor, &mut store, None, None);
    assert_eq!(run.renewals, 2, "renewed at most twice");
    // Each renewal carries the claims challenge of the 401.
    assert!(run
        .challenges
        .iter()
        .all(|c| c.as_ref().is_some_and(|c| c.claims.contains("essential"))));
    match run.paused {
        Some(PauseReason::Unauthorized { error }) => {
            assert_eq!(error.status, Some(401));
            assert_eq!(error.code, "InvalidAuthenticationToken");
            assert_eq!(error.request_id.as_deref(), Some("r"));
        }
        other => panic!("not paused for the 401: {other:?}"),
    }
    assert!(executor.tasks().iter().all(|t| t.outcome.is_none()));
    assert_eq!(sim.installs_applied.len(), 0);
    // Resumed (signed in again), it goes on where it stopped.
    sim.faults.always_401 = false;
    executor = Executor::resume(store.load(), ExecutorConfig::default(), sim.now);
    let run = drive(&mut sim, &mut executor, &mut store, None, None);
    assert_eq!(run.paused, None);
    assert_all_installed_once(&sim, &executor, users);
}

#[test]
fn an_inner_401_with_a_claims_challenge_renews_with_those_claims_and_resends() {
    let sim = Sim::new(2, 100, Faults::default(), 25);
    let (mut executor, _store) = start(2, &sim);
    let Poll::Send(batch) = executor.next(0) else {
        panic!("the first batch goes at once")
    };
    let challenge = ClaimsChallenge {
        claims: r#"{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}"#.into(),
    };
    let answers = batch
        .requests
        .iter()
        .map(|(id, _)| InnerAnswer {
            id: id.clone(),
            status: 401,
            retry_after_s: None,
            body: Sim::error(401, "InvalidAuthenticationToken"),
            challenge: Some(challenge.clone()),
        })
        .collect();
    executor.on_batch(batch.id, BatchOutcome::Answered(answers), 100, 0.5);
    // Surely not applied: the renewal comes first, with the inner answer's claims.
    match executor.next(100) {
        Poll::RenewToken(Some(given)) => assert_eq!(given, challenge),
        other => panic!("not a renewal with the claims: {other:?}"),
    }
    executor.token_renewed();
    let Poll::Send(again) = executor.next(100) else {
        panic!("sent again at once after the renewal")
    };
    assert_eq!(
        methods(&again),
        vec![Method::Post; 2],
        "sent again as it was"
    );
    assert!(executor.tasks().iter().all(|t| t.outcome.is_none()));
}

#[test]
fn a_batch_answered_with_a_2xx_other_than_200_is_not_taken_as_applied() {
    for status in [201, 202, 204] {
        let sim = Sim::new(2, 100, Faults::default(), 24);
        let (mut executor, _store) = start(2, &sim);
        let Poll::Send(batch) = executor.next(0) else {
            panic!("the first batch goes at once")
        };
        executor.on_batch(
            batch.id,
            BatchOutcome::Refused {
                status,
                retry_after_s: None,
                body: None,
                challenge: None,
            },
            100,
            0.5,
        );
        for task in executor.tasks() {
            assert_eq!(task.outcome, None, "{status}: taken as {:?}", task.outcome);
            assert_eq!(task.phase, Phase::ReadBack, "{status}: not read back");
        }
    }
}

#[test]
fn a_read_back_missing_the_fields_it_needs_is_never_applied() {
    let user = || UserRef::ObjectId(user_id(0));
    let app = || CatalogAppId::new(APP);
    let installation = || InstallationId::new("inst-1");
    let cases = [
        // An uninstall whose read-back holds an installation without `teamsApp`: it could be
        // the one to remove.
        (
            Write::uninstall(user(), app(), installation()),
            json!([{"id": "inst-9"}]),
        ),
        // An upgrade with no target version: nothing to compare against.
        (
            Write::upgrade(user(), app(), installation(), "", None),
            json!([{"id": "inst-1", "teamsApp": {"id": APP}, "teamsAppDefinition": {"id": "d", "version": "1.0.0"}}]),
        ),
        // An upgrade whose installation has no definition version.
        (
            Write::upgrade(user(), app(), installation(), LATEST, None),
            json!([{"id": "inst-1", "teamsApp": {"id": APP}, "teamsAppDefinition": {"id": "d"}}]),
        ),
    ];
    for (write, value) in cases {
        let mut task = WriteTask::new(write.clone(), job_write_policy());
        assert!(matches!(
            task.on_answer(Answer::Lost, 0, 0.5),
            Next::After(_)
        ));
        assert_eq!(task.phase, Phase::ReadBack);
        let mut now = 0;
        for _ in 0..40 {
            let answer = Answer::Status {
                status: 200,
                retry_after_s: None,
                body: Some(json!({ "value": value.clone() })),
            };
            match task.on_answer(answer, now, 0.5) {
                Next::Done => break,
                Next::After(ms) => now += ms.max(1),
                Next::RenewToken => panic!("no renewal expected"),
            }
            assert_eq!(task.phase, Phase::ReadBack, "{:?}: resent", write.kind());
        }
        assert!(
            !task.outcome.is_some_and(Outcome::is_success),
            "{:?} read back as {:?} from {value}",
            write.kind(),
            task.outcome
        );
    }
}

/// A tenant throttled to one install a second, each 429 with `Retry-After: 1`.
fn one_install_a_second(retry_after_s: u64) -> Faults {
    Faults {
        install_rps: Some(1.0),
        retry_after_s: Some(retry_after_s),
        ..Faults::default()
    }
}

#[test]
fn a_job_throttled_to_one_install_a_second_installs_everyone_and_refuses_no_one() {
    let users = 10;
    let mut sim = Sim::new(users, 100, one_install_a_second(1), 25);
    let (mut executor, mut store) = start(users, &sim);
    drive(&mut sim, &mut executor, &mut store, None, None);
    assert!(sim.throttled >= 9, "the scenario must throttle");
    assert_all_installed_once(&sim, &executor, users);
    assert_eq!(sim.retry_after_violations, 0);
}

#[test]
fn a_reload_inside_a_retry_after_sends_nothing_of_that_class_before_it_runs_out() {
    let users = 10;
    let mut sim = Sim::new(users, 100, one_install_a_second(3), 26);
    let (mut executor, mut store) = start(users, &sim);
    // The first batch: one install goes through, nine are told to wait 3 s.
    let Poll::Send(batch) = executor.next(sim.now) else {
        panic!("the first batch goes at once")
    };
    store.save(&mut executor);
    let outcome = sim.batch(&batch, 0);
    sim.now += sim.latency;
    executor.on_batch(batch.id, outcome, sim.now, 0.5);
    store.save(&mut executor);
    assert_eq!(sim.throttled, 9, "the first batch must be throttled");
    // Reload 0.7 s into the Retry-After (after the 429s arrived).
    sim.now += 700;
    executor = Executor::resume(store.load(), ExecutorConfig::default(), sim.now);
    store.save(&mut executor);
    drive(&mut sim, &mut executor, &mut store, None, None);
    assert_eq!(
        sim.retry_after_violations, 0,
        "an install went before the Retry-After ran out"
    );
    assert_all_installed_once(&sim, &executor, users);
}

#[test]
fn a_job_throttled_past_the_wait_allowed_pauses_with_the_reason_and_resumes() {
    let users = 30;
    // Graph lets no install through for a long while, each 429 saying 30 s.
    let faults = Faults {
        install_rps: Some(0.0),
        retry_after_s: Some(30),
        ..Faults::default()
    };
    let mut sim = Sim::new(users, 100, faults, 27);
    let (executor, mut store) = start(users, &sim);
    let mut executor = executor.with_max_throttled_wait(120_000);
    let run = drive(&mut sim, &mut executor, &mut store, None, None);
    match run.paused {
        Some(PauseReason::Throttled { waited_ms, error }) => {
            assert!(waited_ms > 120_000, "{waited_ms}");
            assert_eq!(error.status, Some(429));
            assert_eq!(error.code, "TooManyRequests");
        }
        other => panic!("not paused for throttling: {other:?}"),
    }
    // Nobody was marked refused (nor anything else): every task waits to be sent.
    assert!(executor.tasks().iter().all(|t| t.outcome.is_none()));
    assert!(sim.throttled > 0);
    // Resumed later, once Graph lets installs through again.
    sim.faults.install_rps = Some(30.0);
    sim.buckets
        .insert(CallClass::PostInstalledApps, (30.0, sim.now));
    sim.now += 60_000;
    executor = Executor::resume(store.load(), ExecutorConfig::default(), sim.now);
    let run = drive(&mut sim, &mut executor, &mut store, None, None);
    assert_eq!(run.paused, None);
    assert_all_installed_once(&sim, &executor, users);
    assert_eq!(sim.retry_after_violations, 0);
}

/// The budget is shared: another client of the same app registration spends half of the
/// tenant's install limit (15 of 30 a second) all along. The job, starting at its share (90 %
/// of 30), finds what is left by its 429s and keeps under it: 429s stay under 2 % of its
/// requests, it finishes within 1.3× the remaining floor (1,000 / (30 − 15) s = 66.7 s), and
/// the other client keeps its share. In simulated time.
#[test]
fn a_job_sharing_the_budget_with_another_client_adapts_and_keeps_429s_rare() {
    let users = 1000;
    let faults = Faults {
        background_rps: 15.0,
        ..Faults::default()
    };
    let mut sim = Sim::new(users, 100, faults, 31);
    let (mut executor, mut store) = start(users, &sim);
    drive(&mut sim, &mut executor, &mut store, None, None);
    assert_all_installed_once(&sim, &executor, users);
    assert_eq!(sim.retry_after_violations, 0);
    let floor_ms = users as f64 / (30.0 - 15.0) * 1000.0;
    let share_429 = sim.throttled as f64 / executor.requests_sent as f64;
    assert!(sim.throttled > 0, "the scenario must throttle");
    assert!(
        share_429 < 0.02,
        "{} 429s of {} requests ({:.1} %)",
        sim.throttled,
        executor.requests_sent,
        share_429 * 100.0
    );
    assert!(
        (sim.now as f64) <= 1.3 * floor_ms,
        "{} ms, {:.2}× the remaining floor of {floor_ms:.0} ms",
        sim.now,
        sim.now as f64 / floor_ms
    );
    // Never faster than what is left allows (Graph's bucket starts with a second of the limit
    // saved up): the other client really took its share.
    assert!(
        (sim.now as f64) >= (users as f64 - 30.0) / 15.0 * 1000.0,
        "{} ms",
        sim.now
    );
    // The other client got its 15 a second all along.
    assert_eq!(sim.background_refused, 0);
    assert!(
        sim.background_served as f64 >= 15.0 * sim.now as f64 / 1000.0 - 2.0,
        "{} served in {} ms",
        sim.background_served,
        sim.now
    );
    // The job ends below its share of the install limit, near what is left.
    let rate = executor.pacer().rate(CallClass::PostInstalledApps);
    assert!(rate < 27.0, "{rate}");
}

/// The same job, the other client stopping half-way: the job's rate grows back and it
/// finishes sooner than with the other client there all along.
#[test]
fn a_job_grows_back_once_the_other_client_stops() {
    let users = 1000;
    let run = |stop_at: Option<u64>| {
        let faults = Faults {
            background_rps: 15.0,
            ..Faults::default()
        };
        let mut sim = Sim::new(users, 100, faults, 32);
        let (mut executor, mut store) = start(users, &sim);
        if let Some(stop_at) = stop_at {
            // Up to `stop_at` with the other client, then without.
            let mut stopped = false;
            let mut in_flight: Vec<(u64, u64, BatchOutcome)> = Vec::new();
            loop {
                if !stopped && sim.now >= stop_at {
                    sim.faults.background_rps = 0.0;
                    stopped = true;
                }
                let wait = match executor.next(sim.now) {
                    Poll::Send(batch) => {
                        store.save(&mut executor);
                        let outcome = sim.batch(&batch, 0);
                        in_flight.push((sim.now + sim.latency, batch.id, outcome));
                        continue;
                    }
                    Poll::Wait(ms) => Some(ms),
                    Poll::Busy => None,
                    Poll::Finished => break,
                    other => panic!("{other:?}"),
                };
                let arrival = in_flight.iter().map(|(at, _, _)| *at).min();
                let mut until = match (wait, arrival) {
                    (Some(w), Some(a)) => (sim.now + w).min(a),
                    (Some(w), None) => sim.now + w,
                    (None, Some(a)) => a,
                    (None, None) => panic!("the executor waits on nothing"),
                };
                if !stopped {
                    until = until.min(stop_at.max(sim.now));
                }
                sim.now = until.max(sim.now);
                let (due, rest): (Vec<_>, Vec<_>) =
                    in_flight.into_iter().partition(|(at, _, _)| *at <= sim.now);
                in_flight = rest;
                for (_, id, outcome) in due {
                    executor.on_batch(id, outcome, sim.now, 0.5);
                    store.save(&mut executor);
                }
            }
        } else {
            drive(&mut sim, &mut executor, &mut store, None, None);
        }
        assert_all_installed_once(&sim, &executor, users);
        (sim.now, executor.pacer().rate(CallClass::PostInstalledApps))
    };
    let (all_along, _) = run(None);
    let (half_way, rate) = run(Some(30_000));
    assert!(
        half_way + 5_000 < all_along,
        "{half_way} ms with the other client gone after 30 s, {all_along} ms with it there"
    );
    assert!(rate > 20.0, "the rate grew back to {rate}");
}

#[test]
fn a_stored_task_record_without_a_retry_after_still_reads() {
    // Records stored before `not_before_ms` existed.
    let old = r#"{"run":{"kind":"Install","sends":1,"in_doubt":false,"token_renewed":false,"transient_retried":false,"round_read_backs":0,"failed_read_backs":0,"round_may_resend":false,"resend_floor_ms":0},"phase":"Send","first_sent_ms":5}"#;
    let record: TaskRecord = serde_json::from_str(old).expect("an old record reads");
    assert_eq!(record.not_before_ms, None);
    assert_eq!(record.first_sent_ms, Some(5));
    let task = WriteTask::restore(install_tasks(1).remove(0).write, job_write_policy(), record);
    assert_eq!(task.run.sends(), 1);
    // And one that holds it keeps it.
    let mut held = task.clone();
    held.hold_until(9_000);
    let json = serde_json::to_string(&held.record()).expect("serialises");
    let back: TaskRecord = serde_json::from_str(&json).expect("reads");
    assert_eq!(back.not_before_ms, Some(9_000));
}

// ------------------------------------------------------------------------------ reads and plan

fn read_answer(status: u16, body: Value) -> Answer {
    Answer::Status {
        status,
        retry_after_s: None,
        body: Some(body),
    }
}

#[test]
fn a_read_task_follows_pages_retries_transient_failures_and_stops_at_a_404() {
    let app = CatalogAppId::new(APP);
    let mut task = plan::dry_run_task("adele@contoso.com", &app, BASE);
    assert_eq!(task.request("h").path, "/users/adele%40contoso.com");
    let user =
        json!({"id": "u1", "userPrincipalName": "adele@contoso.com", "accountEnabled": true});
    assert!(matches!(task.on_answer(Answer::Lost, 0, 0.0), Next::After(ms) if ms > 0));
    assert!(matches!(
        task.on_answer(
            Answer::Status {
                status: 429,
                retry_after_s: Some(7),
                body: None
            },
            0,
            0.0
        ),
        Next::After(7000)
    ));
    assert_eq!(
        task.on_answer(read_answer(200, user), 0, 0.0),
        Next::After(0)
    );
    assert!(task.request("h").path.ends_with("/teamwork/installedApps"));
    let page1 = json!({"value": [], "@odata.nextLink": format!("{BASE}/users/u1/teamwork/installedApps?$skiptoken=abc")});
    assert_eq!(
        task.on_answer(read_answer(200, page1), 0, 0.0),
        Next::After(0)
    );
    let next = task.request("h");
    // Relative to the version inside a batch, the skiptoken untouched.
    assert_eq!(
        next.url(""),
        "/users/u1/teamwork/installedApps?$skiptoken=abc"
    );
    let page2 = json!({"value": [{"id": "i1", "teamsApp": {"id": APP}, "teamsAppDefinition": {"id": "d", "version": "1.0.0"}}]});
    assert_eq!(task.on_answer(read_answer(200, page2), 0, 0.0), Next::Done);
    let row = plan::plan_row(
        JobAction::EnsureLatest,
        &app,
        LATEST,
        "adele@contoso.com",
        &task,
    );
    assert_eq!(
        row.action,
        PlannedAction::Upgrade {
            installation: InstallationId::new("i1")
        }
    );
    assert_eq!(row.current_version.as_deref(), Some("1.0.0"));

    let mut unknown = plan::dry_run_task("nobody@contoso.com", &app, BASE);
    let not_found = json!({"error": {"code": "Request_ResourceNotFound", "message": "no", "innerError": {"request-id": "rid-1"}}});
    assert_eq!(
        unknown.on_answer(read_answer(404, not_found), 0, 0.0),
        Next::Done
    );
    let row = plan::plan_row(
        JobAction::Install,
        &app,
        LATEST,
        "nobody@contoso.com",
        &unknown,
    );
    assert_eq!(row.action, PlannedAction::Skip(SkipReason::UnknownUser));
    assert_eq!(
        row.error.and_then(|e| e.request_id).as_deref(),
        Some("rid-1")
    );
}

fn planned(action: JobAction, enabled: bool, installed: Option<&str>) -> PlannedAction {
    let app = CatalogAppId::new(APP);
    let mut task = plan::dry_run_task("u1", &app, BASE);
    let user = json!({"id": "u1", "accountEnabled": enabled});
    task.on_answer(read_answer(200, user), 0, 0.0);
    let value: Vec<Value> = installed
        .map(|v| json!({"id": "i1", "teamsApp": {"id": APP.to_uppercase()}, "teamsAppDefinition": {"id": "d", "version": v}}))
        .into_iter()
        .collect();
    task.on_answer(read_answer(200, json!({ "value": value })), 0, 0.0);
    plan::plan_row(action, &app, LATEST, "u1", &task).action
}

#[test]
fn each_action_plans_what_each_user_needs() {
    use JobAction::*;
    use PlannedAction as P;
    let upgrade = P::Upgrade {
        installation: InstallationId::new("i1"),
    };
    let uninstall = P::Uninstall {
        installation: InstallationId::new("i1"),
    };
    let cases = [
        (Install, true, None, P::Install),
        (
            Install,
            true,
            Some("1.0.0"),
            P::Skip(SkipReason::AlreadyInstalled),
        ),
        (Install, false, None, P::Skip(SkipReason::DisabledUser)),
        (Upgrade, true, Some("1.0.0"), upgrade.clone()),
        (
            Upgrade,
            true,
            Some(LATEST),
            P::Skip(SkipReason::AlreadyLatest),
        ),
        (Upgrade, true, None, P::Skip(SkipReason::NotInstalled)),
        (Uninstall, true, Some("1.0.0"), uninstall),
        (Uninstall, true, None, P::Skip(SkipReason::NotInstalled)),
        (EnsureLatest, true, None, P::Install),
        (EnsureLatest, true, Some("1.9.9"), upgrade),
        (
            EnsureLatest,
            true,
            Some("2.0"),
            P::Skip(SkipReason::AlreadyLatest),
        ),
    ];
    for (action, enabled, installed, expected) in cases {
        assert_eq!(
            planned(action, enabled, installed),
            expected,
            "{action:?} enabled={enabled} installed={installed:?}"
        );
    }
}

#[test]
fn a_plans_writes_address_users_by_object_id_and_carry_the_consent() {
    use crate::graph::models::{PermissionType, ResourceSpecificPermission};
    let consent = vec![ResourceSpecificPermission {
        permission_value: "TeamsActivity.Send.User".into(),
        permission_type: PermissionType::Application,
    }];
    let row = |key: &str, id: Option<&str>, action: PlannedAction| plan::PlanRow {
        key: key.into(),
        user_id: id.map(str::to_string),
        upn: None,
        display_name: None,
        current_version: None,
        action,
        error: None,
    };
    let plan = plan::JobPlan {
        id: "job-1".into(),
        action: JobAction::EnsureLatest,
        app: CatalogAppId::new(APP),
        app_name: "App".into(),
        latest_version: LATEST.into(),
        consent: Some(consent.clone()),
        rows: vec![
            row("a@x.com", Some("u1"), PlannedAction::Install),
            row(
                "nobody@x.com",
                None,
                PlannedAction::Skip(SkipReason::UnknownUser),
            ),
            row(
                "u3",
                Some("u3"),
                PlannedAction::Upgrade {
                    installation: InstallationId::new("i3"),
                },
            ),
        ],
        created_ms: 0,
        pacing: plan::Pacing::default(),
        required: None,
    };
    let tasks = plan.tasks(&job_write_policy());
    assert_eq!(
        tasks.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
        vec![0, 2]
    );
    assert_eq!(tasks[0].1.write.user, UserRef::ObjectId("u1".into()));
    assert_eq!(tasks[0].1.write.consent(), Some(consent.as_slice()));
    assert_eq!(tasks[1].1.write.kind(), WriteKind::Upgrade);
    let counts = plan.counts();
    assert_eq!(counts.get("install"), Some(&1));
    assert_eq!(counts.get("skip_unknown_user"), Some(&1));
    // The plan survives persistence.
    let json = serde_json::to_string(&plan).expect("serialises");
    assert_eq!(
        serde_json::from_str::<plan::JobPlan>(&json).expect("parses"),
        plan
    );
}

#[test]
fn a_persisted_task_is_small() {
    // The figure the README gives for a job's state: one task as stored.
    let task = &install_tasks(1)[0];
    let json = serde_json::to_string(&task.record()).expect("serialises");
    println!("one install task as stored: {} bytes: {json}", json.len());
    assert!(json.len() < 300, "{json}");
}

#[test]
fn reads_of_two_classes_go_side_by_side_not_one_class_after_the_other() {
    // A dry run: each user's read (an "other" call) then their installations (another class).
    let users = 540;
    let app = CatalogAppId::new(APP);
    let tasks: Vec<ReadTask> = (0..users)
        .map(|i| plan::dry_run_task(&user_id(i), &app, BASE))
        .collect();
    let mut executor = Executor::new(tasks, ExecutorConfig::default(), 0);
    let mut now = 0u64;
    let mut in_flight: Vec<(u64, u64, BatchOutcome)> = Vec::new();
    let mut buckets: BTreeMap<CallClass, (f64, u64)> = BTreeMap::new();
    loop {
        match executor.next(now) {
            Poll::Send(batch) => {
                let answers = batch
                    .requests
                    .iter()
                    .map(|(id, request)| {
                        // Graph's own buckets at the published limits: no 429 expected.
                        let class = CallClass::of(request);
                        let (tokens, last) = buckets.entry(class).or_insert((30.0, 0));
                        *tokens = (*tokens + (now - *last) as f64 * 0.03).min(30.0);
                        *last = now;
                        let status = if *tokens >= 1.0 {
                            *tokens -= 1.0;
                            200
                        } else {
                            429
                        };
                        InnerAnswer {
                            id: id.clone(),
                            status,
                            retry_after_s: (status == 429).then_some(1),
                            body: Some(json!({"id": "x", "value": []})),
                            challenge: None,
                        }
                    })
                    .collect();
                in_flight.push((now + 100, batch.id, BatchOutcome::Answered(answers)));
                continue;
            }
            Poll::Finished => break,
            Poll::RenewToken(_) => executor.token_renewed(),
            poll => {
                let arrival = in_flight.iter().map(|(at, _, _)| *at).min();
                now = match (poll, arrival) {
                    (Poll::Wait(ms), Some(a)) => (now + ms).min(a),
                    (Poll::Wait(ms), None) => now + ms,
                    (_, Some(a)) => a,
                    _ => panic!("waiting on nothing"),
                };
                let (due, rest): (Vec<_>, Vec<_>) =
                    in_flight.into_iter().partition(|(at, _, _)| *at <= now);
                in_flight = rest;
                for (_, id, outcome) in due {
                    executor.on_batch(id, outcome, now, 0.5);
                }
            }
        }
        assert!(now < 600_000, "the reads did not finish");
    }
    assert!(executor.tasks().iter().all(|t| t.error.is_none()));
    assert_eq!(executor.throttled, 0);
    // 540 users at 27 a second per class: 20 s side by side (40 s one class after the other).
    assert!(
        now < 28_000,
        "{now} ms: the classes went one after the other"
    );
}
