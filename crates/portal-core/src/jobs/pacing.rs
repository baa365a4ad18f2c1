//! Pacing by token buckets, one per Teams call class, at the per-tenant limits Graph publishes
//! (`shared/design/facts.md`): reads of installed apps and of the catalog 30 a second, installs
//! 30, uninstalls 15, any other Teams call (upgrade among them) 30. A job asks before each
//! request; the answer is "now" or "in N ms", so 429s stay rare. Clock-free: the caller passes
//! the time in milliseconds.

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

    /// Graph said to wait: nothing is taken before `until_ms`.
    pub fn pause_until(&mut self, until_ms: u64) {
        self.refill(until_ms.min(self.last_ms));
        self.tokens = self.tokens.min(0.0);
        self.last_ms = self.last_ms.max(until_ms);
    }
}

/// The buckets of a job, one per call class. A second's worth of burst at most.
#[derive(Clone, Debug, PartialEq)]
pub struct Pacer {
    buckets: Vec<(CallClass, TokenBucket)>,
}

impl Pacer {
    /// Buckets at Graph's limits scaled by `share` (0..=1: the share of the tenant's limit this
    /// job may use, leaving room for everything else calling Graph).
    pub fn new(share: f64, now_ms: u64) -> Pacer {
        let share = share.clamp(0.05, 1.0);
        Pacer {
            buckets: CallClass::ALL
                .into_iter()
                .map(|c| {
                    let rate = c.per_second() * share;
                    (c, TokenBucket::new(rate, rate.max(1.0), now_ms))
                })
                .collect(),
        }
    }

    fn bucket(&mut self, class: CallClass) -> &mut TokenBucket {
        let index = self
            .buckets
            .iter()
            .position(|(c, _)| *c == class)
            .unwrap_or(0);
        &mut self.buckets[index].1
    }

    /// Whole tokens of `class` that could be taken now, and the bucket's capacity.
    pub fn available(&self, class: CallClass, now_ms: u64) -> (u64, u64) {
        self.buckets
            .iter()
            .find(|(c, _)| *c == class)
            .map_or((0, 1), |(_, b)| b.available(now_ms))
    }

    /// Milliseconds until `n` tokens of `class` can be taken.
    pub fn wait_for(&self, class: CallClass, n: u64, now_ms: u64) -> u64 {
        self.buckets
            .iter()
            .find(|(c, _)| *c == class)
            .map_or(0, |(_, b)| b.wait_for(n, now_ms))
    }

    /// Takes a token for `request`'s class now, or says in how many milliseconds.
    pub fn take(&mut self, request: &GraphRequest, now_ms: u64) -> Result<(), u64> {
        self.bucket(CallClass::of(request)).take(now_ms)
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
}
