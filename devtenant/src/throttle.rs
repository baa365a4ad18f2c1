//! Throttling as Teams applies it: a token bucket per tenant and calling app for each call
//! category (requests per second from the Teams service limits table); an empty bucket answers
//! 429 with `Retry-After` in whole seconds: the time until a token. With a fixed
//! [`Limits::retry_after_s`], every 429 says that many seconds and binds: the category refuses
//! everything (429 again) until it has run out, as Graph may.
//!
//! The budget is shared: Graph's limits are per app per tenant, so other tabs, administrators
//! and tools using the same registration spend the same tokens. [`Throttle::with_background`]
//! (`--background-load RPS`) plays such a client: it has RPS requests a second of every category
//! to send, evenly spaced, each taking a token of the same bucket; one that finds none waits
//! for the next token, as a client honouring `Retry-After` would (up to a second's worth of
//! them; beyond, they are dropped and counted refused), and is served before the portal's next
//! request. So it gets its RPS whenever the limit allows, and the portal what is left. A
//! category whose limit is at or below RPS (deletes, 15 a second) is left nothing.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Call categories of the Teams limits table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Category {
    GetInstalledApps,
    GetAppCatalogs,
    PostInstalledApps,
    DeleteInstalledApps,
    OtherTeams,
}

/// Requests per second per tenant per app, per category.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub get_installed_apps: f64,
    pub get_app_catalogs: f64,
    pub post_installed_apps: f64,
    pub delete_installed_apps: f64,
    pub other_teams: f64,
    /// Every 429 says `Retry-After: N` (seconds) instead of the time until a token, and the
    /// category takes nothing before those N seconds have passed (a request inside them is
    /// refused, and told N seconds again). `None`: the time until a token (at least 1 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

impl Default for Limits {
    /// The published per-tenant limits.
    fn default() -> Limits {
        Limits {
            get_installed_apps: 30.0,
            get_app_catalogs: 30.0,
            post_installed_apps: 30.0,
            delete_installed_apps: 15.0,
            other_teams: 30.0,
            retry_after_s: None,
        }
    }
}

impl Limits {
    /// Every category at `rate` (tests use small ones).
    pub fn uniform(rate: f64) -> Limits {
        Limits {
            get_installed_apps: rate,
            get_app_catalogs: rate,
            post_installed_apps: rate,
            delete_installed_apps: rate,
            other_teams: rate,
            retry_after_s: None,
        }
    }

    /// The published limits with installs at `rate` a second (the others as published).
    pub fn installs_at(rate: f64) -> Limits {
        Limits {
            post_installed_apps: rate,
            ..Limits::default()
        }
    }

    fn rate(&self, category: Category) -> f64 {
        match category {
            Category::GetInstalledApps => self.get_installed_apps,
            Category::GetAppCatalogs => self.get_app_catalogs,
            Category::PostInstalledApps => self.post_installed_apps,
            Category::DeleteInstalledApps => self.delete_installed_apps,
            Category::OtherTeams => self.other_teams,
        }
    }
}

struct Bucket {
    tokens: f64,
    updated: f64,
    /// No token before this time (seconds): the end of the last `Retry-After` given.
    closed_until: f64,
    /// When the background client sends its next request of this bucket (seconds).
    background_next: f64,
    /// Its requests waiting for a token.
    background_waiting: f64,
}

/// The most of a silence the background client is played back for, in seconds (it only
/// matters what the bucket holds when the portal next asks: a full bucket, or an empty one).
const BACKGROUND_REPLAY_S: f64 = 10.0;

/// The buckets.
pub struct Throttle {
    pub limits: Limits,
    buckets: HashMap<(String, String, Category), Bucket>,
    /// Requests a second of each category another client of the same app registration sends.
    background_rps: f64,
    /// The background client's requests that took a token, and those refused.
    pub background_served: u64,
    pub background_refused: u64,
}

impl Throttle {
    pub fn new(limits: Limits) -> Throttle {
        Throttle {
            limits,
            buckets: HashMap::new(),
            background_rps: 0.0,
            background_served: 0,
            background_refused: 0,
        }
    }

    /// With another client of the same registration sending `rps` requests a second of every
    /// category (`--background-load`; 0: none). It stays through [`Throttle::reset`].
    pub fn with_background(mut self, rps: f64) -> Throttle {
        self.background_rps = rps.max(0.0);
        self
    }

    /// The background client's requests a second.
    pub fn background_rps(&self) -> f64 {
        self.background_rps
    }

    /// Takes a token at time `now` (seconds); `Err(retry_after_seconds)` when the bucket is empty.
    pub fn take(
        &mut self,
        tenant: &str,
        app: &str,
        category: Category,
        now: f64,
    ) -> Result<(), u64> {
        let rate = self.limits.rate(category);
        if rate <= 0.0 {
            return Ok(());
        }
        let capacity = rate.max(1.0);
        let fixed = self.limits.retry_after_s;
        let background = self.background_rps;
        let bucket = self
            .buckets
            .entry((tenant.to_string(), app.to_string(), category))
            .or_insert(Bucket {
                tokens: capacity,
                updated: now,
                closed_until: f64::MIN,
                background_next: now,
                background_waiting: 0.0,
            });
        // The other client's requests since the last look, each at its own time, then those
        // still waiting take the tokens there are before the portal's request.
        if background > 0.0 {
            if bucket.background_next < now - BACKGROUND_REPLAY_S {
                bucket.background_next = now - BACKGROUND_REPLAY_S;
            }
            let most_waiting = background.max(1.0);
            let mut serve = |bucket: &mut Bucket, at: f64| {
                bucket.tokens = (bucket.tokens + (at - bucket.updated) * rate).min(capacity);
                bucket.updated = at;
                // With a fixed Retry-After, the category takes nothing until it has run out.
                if fixed.is_some() && at < bucket.closed_until {
                    return;
                }
                let n = bucket
                    .tokens
                    .floor()
                    .min(bucket.background_waiting)
                    .max(0.0);
                bucket.tokens -= n;
                bucket.background_waiting -= n;
                self.background_served += n as u64;
            };
            while bucket.background_next <= now {
                let at = bucket.background_next.max(bucket.updated);
                if bucket.background_waiting + 1.0 > most_waiting {
                    self.background_refused += 1;
                } else {
                    bucket.background_waiting += 1.0;
                }
                serve(bucket, at);
                bucket.background_next += 1.0 / background;
            }
            serve(bucket, now);
        }
        bucket.tokens = (bucket.tokens + (now - bucket.updated) * rate).min(capacity);
        bucket.updated = now;
        let refuse = |bucket: &mut Bucket, seconds: u64| {
            bucket.closed_until = bucket.closed_until.max(now + seconds as f64);
            Err(seconds)
        };
        if let Some(seconds) = fixed {
            if now < bucket.closed_until {
                // Asked again before the Retry-After it was given ran out.
                return refuse(bucket, seconds);
            }
        }
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64;
            refuse(bucket, fixed.unwrap_or(wait))
        }
    }

    /// Forgets every bucket (after a limits change).
    pub fn reset(&mut self, limits: Limits) {
        self.limits = limits;
        self.buckets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_rate_is_refused_then_refills() {
        let mut throttle = Throttle::new(Limits::uniform(2.0));
        let t = "tenant";
        assert!(throttle
            .take(t, "app", Category::PostInstalledApps, 0.0)
            .is_ok());
        assert!(throttle
            .take(t, "app", Category::PostInstalledApps, 0.0)
            .is_ok());
        assert_eq!(
            throttle.take(t, "app", Category::PostInstalledApps, 0.0),
            Err(1)
        );
        // Another app and another category have their own buckets.
        assert!(throttle
            .take(t, "other-app", Category::PostInstalledApps, 0.0)
            .is_ok());
        assert!(throttle
            .take(t, "app", Category::GetInstalledApps, 0.0)
            .is_ok());
        assert!(throttle
            .take(t, "app", Category::PostInstalledApps, 0.6)
            .is_ok());
    }

    #[test]
    fn one_install_a_second_with_a_fixed_retry_after_that_binds() {
        let mut throttle = Throttle::new(Limits {
            retry_after_s: Some(3),
            ..Limits::installs_at(1.0)
        });
        let (t, a, c) = ("tenant", "app", Category::PostInstalledApps);
        // One a second: the first goes, the second is told to wait 3 s.
        assert!(throttle.take(t, a, c, 0.0).is_ok());
        assert_eq!(throttle.take(t, a, c, 0.1), Err(3));
        // The bucket has a token again at 1.1 s, but the Retry-After given still runs: refused,
        // and told 3 s again.
        assert_eq!(throttle.take(t, a, c, 1.2), Err(3));
        assert_eq!(throttle.take(t, a, c, 4.0), Err(3));
        // Once it has run out, a request goes.
        assert!(throttle.take(t, a, c, 7.3).is_ok());
        // Other categories keep the published limits, unthrottled.
        for _ in 0..30 {
            assert!(throttle.take(t, a, Category::GetInstalledApps, 7.3).is_ok());
        }
        // Without a fixed Retry-After: the time until a token, at least 1 s, and a token is
        // a token.
        let mut plain = Throttle::new(Limits::installs_at(1.0));
        assert!(plain.take(t, a, c, 0.0).is_ok());
        assert_eq!(plain.take(t, a, c, 0.5), Err(1));
        assert!(plain.take(t, a, c, 1.2).is_ok());
    }

    #[test]
    fn the_admin_endpoint_takes_a_retry_after_or_leaves_it_out() {
        let limits: Limits = serde_json::from_value(serde_json::json!({
            "getInstalledApps": 30, "getAppCatalogs": 30, "postInstalledApps": 1,
            "deleteInstalledApps": 15, "otherTeams": 30, "retryAfterS": 3
        }))
        .expect("limits with a Retry-After");
        assert_eq!(limits.retry_after_s, Some(3));
        let without: Limits = serde_json::from_value(serde_json::json!({
            "getInstalledApps": 30, "getAppCatalogs": 30, "postInstalledApps": 1,
            "deleteInstalledApps": 15, "otherTeams": 30
        }))
        .expect("limits as before");
        assert_eq!(without.retry_after_s, None);
        assert!(serde_json::to_value(&without)
            .expect("serialises")
            .get("retryAfterS")
            .is_none());
    }

    #[test]
    fn a_background_client_spends_the_same_budget() {
        let (t, a, c) = ("tenant", "app", Category::PostInstalledApps);
        // The portal asks 20 times a second; counted from 8 s on, once any saved-up tokens
        // are spent. Alone, every request goes (30 a second allowed).
        let count = |throttle: &mut Throttle| {
            let mut taken = 0;
            for ms in (0..18_000).step_by(50) {
                if throttle.take(t, a, c, ms as f64 / 1000.0).is_ok() && ms >= 8000 {
                    taken += 1;
                }
            }
            taken
        };
        let mut alone = Throttle::new(Limits::default());
        assert_eq!(count(&mut alone), 200);
        // With another client at 15 a second: 15 a second are left, and the other client
        // gets its 15 all along.
        let mut shared = Throttle::new(Limits::default()).with_background(15.0);
        let taken = count(&mut shared);
        assert!((145..=155).contains(&taken), "{taken}");
        assert!(
            shared.background_served >= 18 * 15 - 2 && shared.background_refused == 0,
            "{} served, {} refused",
            shared.background_served,
            shared.background_refused
        );
        // It spends every category's bucket, and a category at or below its rate is left
        // nothing once the first second's burst is gone.
        let mut deletes = Throttle::new(Limits::default()).with_background(15.0);
        let d = Category::DeleteInstalledApps;
        let mut taken = 0;
        for ms in (0..5_000).step_by(10) {
            if deletes.take(t, a, d, ms as f64 / 1000.0).is_ok() && ms >= 2000 {
                taken += 1;
            }
        }
        assert!(taken <= 1, "{taken}");
        // A reset of the limits keeps it; a long silence is not replayed in full.
        shared.reset(Limits::default());
        assert_eq!(shared.background_rps(), 15.0);
        let before = shared.background_served + shared.background_refused;
        assert!(shared.take(t, a, c, 100_000.0).is_ok());
        assert!(shared.take(t, a, c, 3_600_000.0).is_ok());
        let after = shared.background_served + shared.background_refused;
        assert!(after - before <= 2 * (15 * 10 + 2), "{}", after - before);
    }

    #[test]
    fn published_limits_are_the_default() {
        let limits = Limits::default();
        assert_eq!(limits.delete_installed_apps, 15.0);
        assert_eq!(limits.post_installed_apps, 30.0);
    }
}
