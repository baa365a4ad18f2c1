//! Throttling as Teams applies it: a token bucket per tenant and calling app for each call
//! category (requests per second from the Teams service limits table); an empty bucket answers
//! 429 with `Retry-After` in whole seconds: the time until a token. With a fixed
//! [`Limits::retry_after_s`], every 429 says that many seconds and binds: the category refuses
//! everything (429 again) until it has run out, as Graph may.

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
}

/// The buckets.
pub struct Throttle {
    pub limits: Limits,
    buckets: HashMap<(String, String, Category), Bucket>,
}

impl Throttle {
    pub fn new(limits: Limits) -> Throttle {
        Throttle {
            limits,
            buckets: HashMap::new(),
        }
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
        let bucket = self
            .buckets
            .entry((tenant.to_string(), app.to_string(), category))
            .or_insert(Bucket {
                tokens: capacity,
                updated: now,
                closed_until: f64::MIN,
            });
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
    fn published_limits_are_the_default() {
        let limits = Limits::default();
        assert_eq!(limits.delete_installed_apps, 15.0);
        assert_eq!(limits.post_installed_apps, 30.0);
    }
}
