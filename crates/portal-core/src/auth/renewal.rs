//! When to renew an access token: 5 minutes before it expires (MSAL's window), and the token
//! cache keyed by scope set that decides whether a cached token still serves a request.

use std::collections::BTreeSet;

/// Renew this many seconds before expiry.
pub const RENEWAL_WINDOW_SECONDS: i64 = 300;

/// An access token and what it is good for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedAccessToken {
    pub secret: String,
    /// Graph permission names the token carries.
    pub permissions: BTreeSet<String>,
    /// Unix seconds.
    pub expires_at: i64,
}

impl CachedAccessToken {
    /// When to start renewing it.
    pub fn renew_at(&self) -> i64 {
        self.expires_at - RENEWAL_WINDOW_SECONDS
    }

    /// Usable now without renewal.
    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.renew_at()
    }

    /// Carries every permission in `needed`.
    pub fn covers(&self, needed: &BTreeSet<String>) -> bool {
        needed.is_subset(&self.permissions)
    }
}

/// Access tokens in memory, one per scope set; never persisted.
#[derive(Default, Debug)]
pub struct AccessTokenCache {
    tokens: Vec<CachedAccessToken>,
}

impl AccessTokenCache {
    /// A fresh token covering `needed`, if any.
    pub fn find(&self, needed: &BTreeSet<String>, now: i64) -> Option<&CachedAccessToken> {
        self.tokens
            .iter()
            .filter(|t| t.is_fresh(now) && t.covers(needed))
            .max_by_key(|t| t.expires_at)
    }

    /// Stores a token, dropping expired ones and any with the same permission set.
    pub fn insert(&mut self, token: CachedAccessToken, now: i64) {
        self.tokens
            .retain(|t| t.expires_at > now && t.permissions != token.permissions);
        self.tokens.push(token);
    }

    /// All permissions ever granted in this session (to ask for them again together).
    pub fn known_permissions(&self) -> BTreeSet<String> {
        self.tokens
            .iter()
            .flat_map(|t| t.permissions.iter().cloned())
            .collect()
    }

    /// Seconds until the earliest renewal is due (for a timer), `None` when empty.
    pub fn next_renewal_in(&self, now: i64) -> Option<i64> {
        self.tokens
            .iter()
            .map(|t| (t.renew_at() - now).max(0))
            .min()
    }

    pub fn clear(&mut self) {
        self.tokens.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// Coalesces concurrent renewals: the first caller renews, the others wait for its result.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RenewalGate {
    in_flight: Option<u64>,
    next_ticket: u64,
}

/// What a caller should do.
#[derive(Debug, PartialEq, Eq)]
pub enum RenewalTurn {
    /// Renew, then call [`RenewalGate::finish`] with this ticket.
    Renew(u64),
    /// Another renewal (this ticket) is under way: wait for it.
    Wait(u64),
}

impl RenewalGate {
    pub fn begin(&mut self) -> RenewalTurn {
        match self.in_flight {
            Some(ticket) => RenewalTurn::Wait(ticket),
            None => {
                self.next_ticket += 1;
                self.in_flight = Some(self.next_ticket);
                RenewalTurn::Renew(self.next_ticket)
            }
        }
    }

    pub fn finish(&mut self, ticket: u64) {
        if self.in_flight == Some(ticket) {
            self.in_flight = None;
        }
    }

    pub fn in_flight(&self) -> Option<u64> {
        self.in_flight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn token(list: &[&str], expires_at: i64) -> CachedAccessToken {
        CachedAccessToken {
            secret: format!("t{expires_at}"),
            permissions: perms(list),
            expires_at,
        }
    }

    /// A fake clock: the tests move time by hand.
    struct Clock(i64);

    #[test]
    fn renewal_starts_five_minutes_before_expiry() {
        let mut clock = Clock(1_000);
        let t = token(&["User.Read"], clock.0 + 3600);
        assert!(t.is_fresh(clock.0));
        clock.0 += 3600 - 301;
        assert!(t.is_fresh(clock.0));
        clock.0 += 1;
        assert!(!t.is_fresh(clock.0), "inside the 5-minute window");
    }

    #[test]
    fn cache_serves_by_scope_set_and_drops_expired() {
        let clock = Clock(0);
        let mut cache = AccessTokenCache::default();
        cache.insert(token(&["User.Read", "AppCatalog.Read.All"], 3600), clock.0);
        cache.insert(
            token(&["TeamsAppInstallation.ReadWriteForUser"], 7200),
            clock.0,
        );
        assert_eq!(
            cache
                .find(&perms(&["AppCatalog.Read.All"]), clock.0)
                .unwrap()
                .expires_at,
            3600
        );
        assert_eq!(
            cache
                .find(&perms(&["TeamsAppInstallation.ReadWriteForUser"]), clock.0)
                .unwrap()
                .expires_at,
            7200
        );
        assert!(cache
            .find(
                &perms(&["User.Read", "TeamsAppInstallation.ReadWriteForUser"]),
                clock.0
            )
            .is_none());
        assert_eq!(cache.next_renewal_in(clock.0), Some(3300));
        let later = Clock(3400);
        assert!(
            cache.find(&perms(&["User.Read"]), later.0).is_none(),
            "due for renewal"
        );
        cache.insert(token(&["User.Read", "AppCatalog.Read.All"], 7000), later.0);
        assert_eq!(
            cache
                .find(&perms(&["User.Read"]), later.0)
                .unwrap()
                .expires_at,
            7000
        );
        assert_eq!(cache.known_permissions().len(), 3);
    }

    #[test]
    fn concurrent_callers_share_one_renewal() {
        let mut gate = RenewalGate::default();
        let first = gate.begin();
        assert_eq!(first, RenewalTurn::Renew(1));
        assert_eq!(gate.begin(), RenewalTurn::Wait(1));
        assert_eq!(gate.begin(), RenewalTurn::Wait(1));
        gate.finish(1);
        assert_eq!(gate.begin(), RenewalTurn::Renew(2));
        gate.finish(1);
        assert_eq!(
            gate.in_flight(),
            Some(2),
            "a stale ticket does not end the newer renewal"
        );
    }
}
