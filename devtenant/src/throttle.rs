//! Throttling as Teams applies it: a token bucket per tenant and calling app for each call
//! category (requests per second from the Teams service limits table); an empty bucket answers
//! 429 with `Retry-After` in whole seconds.

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
        let bucket = self
            .buckets
            .entry((tenant.to_string(), app.to_string(), category))
            .or_insert(Bucket {
                tokens: capacity,
                updated: now,
            });
        bucket.tokens = (bucket.tokens + (now - bucket.updated) * rate).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            Err(wait.ceil().max(1.0) as u64)
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
    fn published_limits_are_the_default() {
        let limits = Limits::default();
        assert_eq!(limits.delete_installed_apps, 15.0);
        assert_eq!(limits.post_installed_apps, 30.0);
    }
}
