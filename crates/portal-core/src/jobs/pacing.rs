//! Pacing by token buckets, one per Teams call class, at the per-tenant limits Graph publishes
//! (`shared/design/facts.md`): reads of installed apps and of the catalog 30 a second, installs
//! 30, uninstalls 15, any other Teams call (upgrade among them) 30. A job asks before each
//! request; the answer is "now" or "in N ms", so 429s stay rare. Clock-free: the caller passes
//! the time in milliseconds.
//!
//! The budget is shared. Graph's limits are per app per tenant (and 300/150 per app across
//! tenants): other tabs, other administrators and other tools using the same app registration
//! spend the same budget, and nothing tells the job how much of it they take. So each class's
//! rate **adapts**, additive increase, multiplicative decrease (AIMD, as TCP shares a link):
//! it starts at the job's share of the limit (`Pacer::new`), is cut by [`DECREASE`] on a 429
//! (once per congestion event: the 429s of requests sent before the last cut are that same
//! event, [`Pacer::slow_down`]), never below [`FLOOR_SHARE`] of the limit, and grows back by
//! [`INCREASE_PER_S`] requests a second for every second requests of the class go through
//! ([`Pacer::went_through`]), up to the share again. The constants, and why:
//! - [`DECREASE`] = 0.5: one cut takes the job from a little above what is left to well
//!   below it, so the requests already queued at Graph drain and the 429s stop at once. A
//!   gentler cut (0.7, 0.8) needs two or three 429 events to get under a neighbour taking half
//!   the limit, each costing a batch's worth of refused requests.
//! - [`INCREASE_PER_S`] = 0.3 requests a second, per second: about a hundredth of the limit.
//!   Slow, so the overshoot when the job passes what is left grows slowly too: Graph's bucket
//!   (a second of the limit) absorbs it for several seconds, and the first refusal of the
//!   next cycle costs a request or two of a batch, not a whole batch. Fast enough that from a
//!   cut to half of 15 a second the job is back at 15 in about 25 s. With a neighbour taking
//!   half the install limit, a 1,000-user job finishes in about 1.1× the floor of what is left
//!   (1,000 / 15 s), with 429s under 1 % of its requests (the engine's simulation,
//!   `engine_tests.rs`, and the bench against the dev tenant's `--background-load`,
//!   `e2e/bench/jobs.mjs`).
//! - [`FLOOR_SHARE`] = 5 % of the limit: a job never stops altogether (a 429 holds a class for
//!   its `Retry-After` anyway); below that, a neighbour is taking everything and the job's
//!   own wait on 429s pauses it (`engine::MAX_THROTTLED_WAIT_MS`).
//! - A gap between answers counts for at most [`GROWTH_WINDOW_MS`]: a class idle for minutes
//!   does not come back at once at its share.

use crate::graph::request::{GraphRequest, Method};

/// A Teams call class, as Graph throttles them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallClass {
    GetInstalledApps,
    GetAppCatalogs,
    PostInstalledApps,
    DeleteInstalledApps,
    OtherTeams,
}

impl CallClass {
    /// Every class.
    pub const ALL: [CallClass; 5] = [
        CallClass::GetInstalledApps,
        CallClass::GetAppCatalogs,
        CallClass::PostInstalledApps,
        CallClass::DeleteInstalledApps,
        CallClass::OtherTeams,
    ];

    /// The class of a request.
    pub fn of(request: &GraphRequest) -> CallClass {
        let path = request.path.to_ascii_lowercase();
        let installed_apps = path.contains("/teamwork/installedapps");
        match request.method {
            Method::Get if installed_apps => CallClass::GetInstalledApps,
            Method::Get if path.starts_with("/appcatalogs") => CallClass::GetAppCatalogs,
            Method::Post if installed_apps && path.ends_with("/installedapps") => {
                CallClass::PostInstalledApps
            }
            Method::Delete if installed_apps => CallClass::DeleteInstalledApps,
            _ => CallClass::OtherTeams,
        }
    }

    /// Requests a second per tenant (Graph's published Teams limits).
    pub fn per_second(self) -> f64 {
        match self {
            CallClass::DeleteInstalledApps => 15.0,
            _ => 30.0,
        }
    }
}

/// One token bucket: `rate` tokens a second, at most `capacity` saved up.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenBucket {
    pub rate: f64,
    pub capacity: f64,
    tokens: f64,
    last_ms: u64,
}

impl TokenBucket {
    /// A full bucket at time `now_ms`.
    pub fn new(rate: f64, capacity: f64, now_ms: u64) -> TokenBucket {
        TokenBucket {
            rate,
            capacity,
            tokens: capacity,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.last_ms) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last_ms = self.last_ms.max(now_ms);
    }

    /// Takes a token now (`Ok`), or says in how many milliseconds one will be there.
    pub fn take(&mut self, now_ms: u64) -> Result<(), u64> {
        // Paused by Graph until a time still ahead.
        if now_ms < self.last_ms {
            let token = (((1.0 - self.tokens).max(0.0) / self.rate) * 1000.0).ceil() as u64;
            return Err(self.last_ms - now_ms + token);
        }
        self.refill(now_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((((1.0 - self.tokens) / self.rate) * 1000.0).ceil() as u64)
        }
    }

    /// Whole tokens that could be taken at `now_ms` (nothing is taken), and the most the bucket
    /// ever holds.
    pub fn available(&self, now_ms: u64) -> (u64, u64) {
        let capacity = self.capacity.floor().max(1.0) as u64;
        if now_ms < self.last_ms {
            return (0, capacity);
        }
        let elapsed = (now_ms - self.last_ms) as f64 / 1000.0;
        let tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        (tokens.max(0.0).floor() as u64, capacity)
    }

    /// Milliseconds until `n` tokens (at most the capacity) can be taken.
    pub fn wait_for(&self, n: u64, now_ms: u64) -> u64 {
        let (available, capacity) = self.available(now_ms);
        let n = n.min(capacity);
        if available >= n {
            return 0;
        }
        let paused = self.last_ms.saturating_sub(now_ms);
        let tokens = if paused > 0 {
            self.tokens
        } else {
            let elapsed = (now_ms - self.last_ms) as f64 / 1000.0;
            (self.tokens + elapsed * self.rate).min(self.capacity)
        };
        paused + (((n as f64 - tokens).max(0.0) / self.rate) * 1000.0).ceil() as u64
    }

    /// A new rate (and a second of it as the capacity) from `now_ms`: the tokens saved up at
    /// the old rate are kept, up to the new capacity.
    pub fn set_rate(&mut self, rate: f64, now_ms: u64) {
        self.refill(now_ms);
        self.rate = rate.max(f64::MIN_POSITIVE);
        self.capacity = rate.max(1.0);
        self.tokens = self.tokens.min(self.capacity);
    }

    /// Graph said to wait: nothing is taken before `until_ms`.
    pub fn pause_until(&mut self, until_ms: u64) {
        self.refill(until_ms.min(self.last_ms));
        self.tokens = self.tokens.min(0.0);
        self.last_ms = self.last_ms.max(until_ms);
    }
}

/// The cut of a class's rate on a 429 (see the module documentation).
pub const DECREASE: f64 = 0.5;

/// Requests a second a class's rate gains for every second its requests go through.
pub const INCREASE_PER_S: f64 = 0.3;

/// The lowest rate, as a share of the class's limit.
pub const FLOOR_SHARE: f64 = 0.05;

/// The most one gap between answers counts for the increase, in ms.
pub const GROWTH_WINDOW_MS: u64 = 2_000;

/// One class's bucket and its adaptive rate.
#[derive(Clone, Debug, PartialEq)]
struct Lane {
    class: CallClass,
    bucket: TokenBucket,
    /// The job's share of the limit: where the rate starts and the most it grows to.
    ceiling: f64,
    /// The least it is cut to.
    floor: f64,
    /// The last time the rate grew (or was cut).
    grown_ms: u64,
    /// The pacer's generation right after this class's last cut: a 429 to a request sent in
    /// an earlier generation belongs to that same congestion event.
    cut_generation: u64,
}

/// The buckets of a job, one per call class, each at an adaptive rate (see the module
/// documentation). A second's worth of burst at most.
#[derive(Clone, Debug, PartialEq)]
pub struct Pacer {
    lanes: Vec<Lane>,
    /// Grows by one at every cut of any class.
    generation: u64,
}

impl Pacer {
    /// Buckets at Graph's limits scaled by `share` (0..=1: the share of the tenant's limit this
    /// job may use, leaving room for everything else calling Graph): where each rate starts, and
    /// the most it grows back to after a cut.
    pub fn new(share: f64, now_ms: u64) -> Pacer {
        let share = share.clamp(FLOOR_SHARE, 1.0);
        Pacer {
            lanes: CallClass::ALL
                .into_iter()
                .map(|class| {
                    let ceiling = class.per_second() * share;
                    Lane {
                        class,
                        bucket: TokenBucket::new(ceiling, ceiling.max(1.0), now_ms),
                        ceiling,
                        floor: (class.per_second() * FLOOR_SHARE).min(ceiling),
                        grown_ms: now_ms,
                        cut_generation: 0,
                    }
                })
                .collect(),
            generation: 0,
        }
    }

    fn lane(&mut self, class: CallClass) -> &mut Lane {
        let index = self
            .lanes
            .iter()
            .position(|l| l.class == class)
            .unwrap_or(0);
        &mut self.lanes[index]
    }

    fn bucket(&mut self, class: CallClass) -> &mut TokenBucket {
        &mut self.lane(class).bucket
    }

    /// Whole tokens of `class` that could be taken now, and the bucket's capacity.
    pub fn available(&self, class: CallClass, now_ms: u64) -> (u64, u64) {
        self.lanes
            .iter()
            .find(|l| l.class == class)
            .map_or((0, 1), |l| l.bucket.available(now_ms))
    }

    /// Milliseconds until `n` tokens of `class` can be taken.
    pub fn wait_for(&self, class: CallClass, n: u64, now_ms: u64) -> u64 {
        self.lanes
            .iter()
            .find(|l| l.class == class)
            .map_or(0, |l| l.bucket.wait_for(n, now_ms))
    }

    /// Takes a token for `request`'s class now, or says in how many milliseconds.
    pub fn take(&mut self, request: &GraphRequest, now_ms: u64) -> Result<(), u64> {
        self.bucket(CallClass::of(request)).take(now_ms)
    }

    /// The rate of `class` now, in requests a second.
    pub fn rate(&self, class: CallClass) -> f64 {
        self.lanes
            .iter()
            .find(|l| l.class == class)
            .map_or(0.0, |l| l.bucket.rate)
    }

    /// The pacer's generation: store it with what is sent now, and give it back to
    /// [`Pacer::slow_down`] with a 429 to it.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A 429 came back for a request of `class` sent in generation `sent_in`: the rate is cut
    /// by [`DECREASE`] (not below the floor), unless the request was sent before the class's
    /// last cut (the same congestion event, already answered). Returns whether it was cut.
    pub fn slow_down(&mut self, class: CallClass, sent_in: u64, now_ms: u64) -> bool {
        if sent_in < self.lane(class).cut_generation {
            return false;
        }
        self.generation += 1;
        let generation = self.generation;
        let lane = self.lane(class);
        let rate = (lane.bucket.rate * DECREASE).max(lane.floor);
        lane.bucket.set_rate(rate, now_ms);
        lane.grown_ms = now_ms;
        lane.cut_generation = generation;
        true
    }

    /// A request of `class` went through Graph's throttling (any answer but a 429) at
    /// `now_ms`: the rate grows by [`INCREASE_PER_S`] for each second since it last grew (at
    /// most [`GROWTH_WINDOW_MS`] of them), up to the share.
    pub fn went_through(&mut self, class: CallClass, now_ms: u64) {
        let lane = self.lane(class);
        let elapsed = now_ms.saturating_sub(lane.grown_ms).min(GROWTH_WINDOW_MS);
        lane.grown_ms = lane.grown_ms.max(now_ms);
        if elapsed == 0 || lane.bucket.rate >= lane.ceiling {
            return;
        }
        let rate = (lane.bucket.rate + INCREASE_PER_S * elapsed as f64 / 1000.0).min(lane.ceiling);
        lane.bucket.set_rate(rate, now_ms);
    }

    /// A 429 told the job to wait `retry_after_s` for `class`.
    pub fn throttled(&mut self, class: CallClass, now_ms: u64, retry_after_s: u64) {
        self.hold(
            class,
            now_ms.saturating_add(retry_after_s.saturating_mul(1000)),
        );
    }

    /// Nothing of `class` before `until_ms` (a `Retry-After` stored before a reload).
    pub fn hold(&mut self, class: CallClass, until_ms: u64) {
        self.bucket(class).pause_until(until_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::encode::UserRef;
    use crate::graph::ids::{CatalogAppId, InstallationId};
    use crate::graph::request;
    use crate::graph::write::Write;

    fn user() -> UserRef {
        UserRef::ObjectId("u".into())
    }

    #[test]
    fn requests_fall_into_graphs_call_classes() {
        let app = CatalogAppId::new("a");
        let inst = InstallationId::new("i");
        let host = "graph.microsoft.com";
        let cases = [
            (
                request::list_installations(&user(), None),
                CallClass::GetInstalledApps,
            ),
            (request::organization_catalog(), CallClass::GetAppCatalogs),
            (
                Write::install(user(), app.clone(), None).request(host),
                CallClass::PostInstalledApps,
            ),
            (
                Write::uninstall(user(), app.clone(), inst.clone()).request(host),
                CallClass::DeleteInstalledApps,
            ),
            (
                Write::upgrade(user(), app, inst, "2", None).request(host),
                CallClass::OtherTeams,
            ),
            (request::tenant_settings(), CallClass::OtherTeams),
        ];
        for (request, class) in cases {
            assert_eq!(CallClass::of(&request), class, "{}", request.path);
        }
    }

    /// A simulated second: how many takes succeed at each millisecond step.
    #[test]
    fn a_bucket_lets_its_rate_through_and_says_how_long_to_wait() {
        let mut bucket = TokenBucket::new(30.0, 30.0, 0);
        let burst = (0..40).filter(|_| bucket.take(0).is_ok()).count();
        assert_eq!(burst, 30);
        assert_eq!(bucket.take(0), Err(34));
        // Over the next second, 30 more, no more.
        let mut clock = 0;
        let mut granted = 0;
        while clock <= 1000 {
            match bucket.take(clock) {
                Ok(()) => granted += 1,
                Err(wait) => clock += wait,
            }
        }
        assert!((29..=31).contains(&granted), "{granted}");
    }

    #[test]
    fn deletes_go_at_half_the_rate_and_a_retry_after_pauses_the_class() {
        let mut pacer = Pacer::new(1.0, 0);
        let host = "graph.microsoft.com";
        let delete = Write::uninstall(user(), CatalogAppId::new("a"), InstallationId::new("i"))
            .request(host);
        let install = Write::install(user(), CatalogAppId::new("a"), None).request(host);
        let deletes = (0..40).filter(|_| pacer.take(&delete, 0).is_ok()).count();
        assert_eq!(deletes, 15);
        // Installs have their own bucket.
        assert!(pacer.take(&install, 0).is_ok());
        pacer.throttled(CallClass::PostInstalledApps, 0, 5);
        let wait = pacer.take(&install, 100).unwrap_err();
        assert!(wait >= 4900, "{wait}");
        assert!(pacer.take(&install, 5_100).is_ok());
        // A stored Retry-After holds a fresh pacer's class (after a reload) until it runs out.
        let mut reloaded = Pacer::new(1.0, 10_000);
        reloaded.hold(CallClass::PostInstalledApps, 12_300);
        assert!(reloaded.take(&install, 10_000).is_err());
        assert!(reloaded.take(&install, 12_299).is_err());
        assert!(reloaded.take(&delete, 10_000).is_ok());
        assert!(reloaded.take(&install, 12_340).is_ok());
        // A share of the limit.
        let mut half = Pacer::new(0.5, 0);
        assert_eq!(
            (0..40).filter(|_| half.take(&install, 0).is_ok()).count(),
            15
        );
    }

    #[test]
    fn a_429_halves_the_rate_once_per_congestion_event_down_to_the_floor() {
        let mut pacer = Pacer::new(0.9, 0);
        let class = CallClass::PostInstalledApps;
        assert_eq!(pacer.rate(class), 27.0);
        // Three 429s to one batch, sent in generation 0: one cut.
        let sent = pacer.generation();
        assert!(pacer.slow_down(class, sent, 1_000));
        assert!(!pacer.slow_down(class, sent, 1_000));
        assert!(!pacer.slow_down(class, sent, 1_100));
        assert_eq!(pacer.rate(class), 13.5);
        // Other classes keep their rate.
        assert_eq!(pacer.rate(CallClass::GetInstalledApps), 27.0);
        assert_eq!(pacer.rate(CallClass::DeleteInstalledApps), 13.5);
        // A 429 to a request sent after the cut is a new event.
        let after = pacer.generation();
        assert!(pacer.slow_down(class, after, 2_000));
        assert_eq!(pacer.rate(class), 6.75);
        // Never below 5 % of the limit.
        for _ in 0..10 {
            let now = pacer.generation();
            pacer.slow_down(class, now, 3_000);
        }
        assert_eq!(pacer.rate(class), 30.0 * FLOOR_SHARE);
        // The bucket follows the rate: a second of it at most.
        let install =
            Write::install(user(), CatalogAppId::new("a"), None).request("graph.microsoft.com");
        let burst = (0..40)
            .filter(|_| pacer.take(&install, 60_000).is_ok())
            .count();
        assert_eq!(burst, 1);
    }

    #[test]
    fn the_rate_grows_back_slowly_while_requests_go_through_up_to_the_share() {
        let class = CallClass::PostInstalledApps;
        let mut pacer = Pacer::new(0.5, 0);
        assert!(pacer.slow_down(class, 0, 0));
        assert_eq!(pacer.rate(class), 7.5);
        // An answer a second for ten seconds: three requests a second more.
        for second in 1..=10 {
            pacer.went_through(class, second * 1000);
        }
        assert!(
            (pacer.rate(class) - 10.5).abs() < 1e-9,
            "{}",
            pacer.rate(class)
        );
        // A long silence counts for two seconds at most.
        pacer.went_through(class, 600_000);
        assert!(
            (pacer.rate(class) - 11.1).abs() < 1e-9,
            "{}",
            pacer.rate(class)
        );
        // Never above the share (half of 30).
        for second in 601..=700 {
            pacer.went_through(class, second * 1000);
        }
        assert_eq!(pacer.rate(class), 15.0);
        // Answers at the same time add nothing.
        let mut other = Pacer::new(0.9, 0);
        other.slow_down(class, 0, 5_000);
        other.went_through(class, 5_000);
        other.went_through(class, 5_000);
        assert_eq!(other.rate(class), 13.5);
    }
}
