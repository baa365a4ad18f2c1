//! When to renew an access token (the smaller of 5 minutes, MSAL's window, and half the token's
//! lifetime), the token cache keyed by scope set that decides whether a cached token still
//! serves a request, which stored tokens a reload may use without renewing, and what a
//! background renewal does when it fails: a transient failure keeps the session and retries
//! with backoff; only a failure that needs the user ends it.

use super::id_token::{AccountIds, CLOCK_SKEW_SECONDS};
use super::oauth_error::OAuthErrorKind;
use super::permission_set::PermissionSet;

/// Renew at most this many seconds before expiry.
pub const RENEWAL_WINDOW_SECONDS: i64 = 300;

/// How long before expiry a token of `lifetime_seconds` is renewed: the smaller of
/// [`RENEWAL_WINDOW_SECONDS`] and half its lifetime (a 4-minute token is renewed after 2).
pub fn renewal_window(lifetime_seconds: i64) -> i64 {
    RENEWAL_WINDOW_SECONDS.min(lifetime_seconds.max(0) / 2)
}

/// An access token and what it is good for.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedAccessToken {
    pub secret: String,
    /// Graph permission names the token carries.
    pub permissions: PermissionSet,
    /// Unix seconds when it was received.
    pub issued_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

impl CachedAccessToken {
    /// When to start renewing it.
    pub fn renew_at(&self) -> i64 {
        self.expires_at - renewal_window(self.expires_at - self.issued_at)
    }

    /// Usable now without renewal.
    pub fn is_fresh(&self, now: i64) -> bool {
        now < self.renew_at()
    }

    /// Carries every permission in `needed`.
    pub fn covers(&self, needed: &PermissionSet) -> bool {
        needed.is_subset(&self.permissions)
    }
}

/// Access tokens in memory, one per scope set (kept across reloads, with `tokenCache: session`,
/// as [`StoredTokens`]).
#[derive(Default, Debug)]
pub struct AccessTokenCache {
    tokens: Vec<CachedAccessToken>,
}

impl AccessTokenCache {
    /// A fresh token covering `needed`, if any.
    pub fn find(&self, needed: &PermissionSet, now: i64) -> Option<&CachedAccessToken> {
        self.tokens
            .iter()
            .filter(|t| t.is_fresh(now) && t.covers(needed))
            .max_by_key(|t| t.expires_at)
    }

    /// Stores a token, dropping expired ones and those it supersedes (any whose permissions it
    /// also carries), so an older token never keeps the renewal timer due.
    pub fn insert(&mut self, token: CachedAccessToken, now: i64) {
        self.tokens
            .retain(|t| t.expires_at > now && !t.permissions.is_subset(&token.permissions));
        self.tokens.push(token);
    }

    /// All permissions ever granted in this session (to ask for them again together).
    pub fn known_permissions(&self) -> PermissionSet {
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

    /// The tokens held, fresh or not.
    pub fn tokens(&self) -> &[CachedAccessToken] {
        &self.tokens
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// The session's access tokens as a tab keeps them in sessionStorage between reloads (with
/// `tokenCache: session`, beside the refresh token, which is the stronger credential), with the
/// account they were issued to and its raw ID token (sign-out's `id_token_hint`). A reload that
/// finds a token still fresh for the same account starts without renewing: no sign-in worker,
/// no discovery, keys or token request before its first Graph call (issue #24). Never in
/// localStorage; gone at sign-out with every other `tap.auth.` entry.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredTokens {
    /// The account the tokens were issued to.
    pub owner: AccountIds,
    pub tokens: Vec<CachedAccessToken>,
    /// The ID token that came with them (memory only in the tab until written here).
    #[serde(default)]
    pub id_token: Option<String>,
}

impl StoredTokens {
    /// The tokens of `cache` for `owner`; `None` when there is none to keep.
    pub fn of(
        owner: AccountIds,
        cache: &AccessTokenCache,
        id_token: Option<String>,
    ) -> Option<StoredTokens> {
        (!cache.is_empty()).then(|| StoredTokens {
            owner,
            tokens: cache.tokens().to_vec(),
            id_token,
        })
    }

    /// What a reload at `now` takes from a stored entry (`json`) for the signed-in `account`:
    /// the tokens issued to that account that are still fresh (before their renewal window, see
    /// [`CachedAccessToken::is_fresh`]) and not issued later than `now` plus the clock skew (a
    /// clock set back since leaves their expiry unknowable). `None` when the entry does not
    /// parse, names another account or keeps no such token: the reload renews as before.
    pub fn for_reload(json: &str, account: &AccountIds, now: i64) -> Option<StoredTokens> {
        let stored: StoredTokens = serde_json::from_str(json).ok()?;
        let same = |a: &str, b: &str| !a.is_empty() && a.eq_ignore_ascii_case(b);
        if !same(&stored.owner.oid, &account.oid) || !same(&stored.owner.tid, &account.tid) {
            return None;
        }
        let tokens: Vec<CachedAccessToken> = stored
            .tokens
            .into_iter()
            .filter(|t| t.is_fresh(now) && t.issued_at <= now + CLOCK_SKEW_SECONDS)
            .collect();
        (!tokens.is_empty()).then_some(StoredTokens {
            owner: stored.owner,
            tokens,
            id_token: stored.id_token,
        })
    }
}

/// First wait before retrying a background renewal that failed for a transient reason.
pub const RETRY_BASE_MS: u64 = 2_000;
/// Longest wait between two retries.
pub const RETRY_MAX_MS: u64 = 120_000;

/// The wait before retry number `attempt` (1 for the first retry): [`RETRY_BASE_MS`] doubled
/// on each attempt up to [`RETRY_MAX_MS`], spread by `jitter` (0..1, drawn by the caller) over
/// 80 % to 120 % so that tabs do not retry in step.
pub fn retry_delay_ms(attempt: u32, jitter: f64) -> u64 {
    let exponent = attempt.saturating_sub(1).min(16);
    let delay = RETRY_BASE_MS
        .saturating_mul(1 << exponent)
        .min(RETRY_MAX_MS);
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    (delay as f64 * spread).round() as u64
}

/// What to do after a background renewal failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterRenewalFailure {
    /// Keep the session (the tokens in hand stay usable until they expire) and try again.
    RetryIn { millis: u64 },
    /// Only the user can fix it (sign in again, consent, MFA): the session ends.
    EndSession,
    /// Neither retrying nor signing in fixes it (a misconfigured client): report it and stop.
    Report,
}

/// Decides after failed background renewal number `attempt` (1 for the first failure).
pub fn after_background_failure(
    kind: OAuthErrorKind,
    attempt: u32,
    jitter: f64,
) -> AfterRenewalFailure {
    if kind.is_transient() {
        AfterRenewalFailure::RetryIn {
            millis: retry_delay_ms(attempt, jitter),
        }
    } else if kind.needs_user() {
        AfterRenewalFailure::EndSession
    } else {
        AfterRenewalFailure::Report
    }
}

/// An interactive fallback for the same permissions is not repeated within this many seconds:
/// when the provider keeps refusing them after the user came back, the error is shown instead
/// of sending the user round again.
pub const FALLBACK_QUIET_SECONDS: i64 = 120;

/// The last interactive fallback (kept in sessionStorage across the redirect).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FallbackMark {
    /// The permissions it asked for, sorted, space-separated.
    pub permissions: String,
    /// Unix seconds.
    pub at: i64,
}

impl FallbackMark {
    /// A mark for `permissions` (sorted and deduplicated here) at `now`.
    pub fn new<S: AsRef<str>>(permissions: &[S], now: i64) -> FallbackMark {
        let set: PermissionSet = permissions.iter().map(|p| p.as_ref().to_string()).collect();
        FallbackMark {
            permissions: set.joined(),
            at: now,
        }
    }
}

/// Whether to fall back to an interactive authorization for `asking`, given the `last` one.
pub fn may_fall_back(last: Option<&FallbackMark>, asking: &FallbackMark) -> bool {
    match last {
        Some(last) => {
            last.permissions != asking.permissions
                || asking.at - last.at >= FALLBACK_QUIET_SECONDS
                || asking.at < last.at
        }
        None => true,
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

    fn perms(list: &[&str]) -> PermissionSet {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn token(list: &[&str], expires_at: i64) -> CachedAccessToken {
        CachedAccessToken {
            secret: format!("t{expires_at}"),
            permissions: perms(list),
            issued_at: expires_at - 3600,
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
    fn the_window_is_five_minutes_or_half_the_lifetime() {
        for (lifetime, window) in [
            (3600, 300),
            (600, 300),
            (599, 299),
            (302, 151),
            (240, 120),
            (6, 3),
            (1, 0),
            (0, 0),
            (-5, 0),
        ] {
            assert_eq!(renewal_window(lifetime), window, "lifetime {lifetime}");
        }
        let short = CachedAccessToken {
            secret: "s".into(),
            permissions: perms(&["User.Read"]),
            issued_at: 1_000,
            expires_at: 1_240,
        };
        assert_eq!(
            short.renew_at(),
            1_120,
            "a 4-minute token is renewed after 2"
        );
        assert!(short.is_fresh(1_119));
        assert!(!short.is_fresh(1_120));
    }

    #[test]
    fn a_new_token_supersedes_those_it_covers() {
        let mut cache = AccessTokenCache::default();
        cache.insert(token(&["User.Read"], 3600), 0);
        cache.insert(token(&["User.Read", "AppCatalog.Read.All"], 3700), 0);
        cache.insert(token(&["TeamsAppInstallation.ReadWriteForUser"], 3800), 0);
        assert_eq!(
            cache.tokens.len(),
            2,
            "the User.Read-only token is superseded"
        );
        // A renewal of the sign-in scopes leaves the write token alone.
        cache.insert(token(&["User.Read", "AppCatalog.Read.All"], 7200), 100);
        assert_eq!(cache.tokens.len(), 2);
        assert_eq!(cache.next_renewal_in(100), Some(3800 - 300 - 100));
    }

    fn megan() -> AccountIds {
        AccountIds {
            oid: "5f9b8c54-2a70-4c77-9ad1-0d0b1d9b7b11".into(),
            tid: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
        }
    }

    /// The stored entry of `tokens` for `owner`, as the tab writes it.
    fn stored(owner: AccountIds, tokens: Vec<CachedAccessToken>) -> String {
        let mut cache = AccessTokenCache::default();
        for t in tokens {
            cache.insert(t, 0);
        }
        serde_json::to_string(
            &StoredTokens::of(owner, &cache, Some("eyJ.id.token".into())).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_reload_skips_the_renewal_only_with_a_fresh_token_of_the_same_account() {
        // A token of an hour issued at 10 000: renewal due at 13 300, expiry at 13 600.
        let hour = |issued_at: i64| CachedAccessToken {
            secret: format!("t{issued_at}"),
            permissions: perms(&["User.Read", "TeamsAppInstallation.ReadForUser"]),
            issued_at,
            expires_at: issued_at + 3600,
        };
        let other_user = AccountIds {
            oid: "0c4b1e9a-0000-4000-8000-000000000001".into(),
            ..megan()
        };
        let other_tenant = AccountIds {
            tid: "00000000-0000-4000-8000-0000000000aa".into(),
            ..megan()
        };
        let shouting = AccountIds {
            oid: megan().oid.to_uppercase(),
            tid: megan().tid.to_uppercase(),
        };
        // (what is stored, who reloads, when, skips the renewal)
        let table = [
            (stored(megan(), vec![hour(10_000)]), megan(), 10_060, true),
            (stored(megan(), vec![hour(10_000)]), megan(), 13_299, true),
            (stored(megan(), vec![hour(10_000)]), megan(), 13_300, false),
            (stored(megan(), vec![hour(10_000)]), megan(), 20_000, false),
            (
                stored(megan(), vec![hour(10_000)]),
                shouting.clone(),
                10_060,
                true,
            ),
            (
                stored(megan(), vec![hour(10_000)]),
                other_user,
                10_060,
                false,
            ),
            (
                stored(megan(), vec![hour(10_000)]),
                other_tenant,
                10_060,
                false,
            ),
            // Issued "later" than now: within the skew the clocks just differ; beyond it the
            // clock was set back and the expiry means nothing.
            (
                stored(megan(), vec![hour(10_000)]),
                megan(),
                10_000 - 300,
                true,
            ),
            (
                stored(megan(), vec![hour(10_000)]),
                megan(),
                10_000 - 301,
                false,
            ),
            (
                serde_json::to_string(&StoredTokens {
                    owner: megan(),
                    tokens: Vec::new(),
                    id_token: None,
                })
                .unwrap(),
                megan(),
                10_060,
                false,
            ),
            ("{not json".to_string(), megan(), 10_060, false),
            (String::new(), megan(), 10_060, false),
            (
                stored(
                    AccountIds {
                        oid: String::new(),
                        tid: String::new(),
                    },
                    vec![hour(10_000)],
                ),
                AccountIds {
                    oid: String::new(),
                    tid: String::new(),
                },
                10_060,
                false,
            ),
        ];
        for (json, account, now, skips) in table {
            assert_eq!(
                StoredTokens::for_reload(&json, &account, now).is_some(),
                skips,
                "{json} for {account:?} at {now}"
            );
        }
    }

    #[test]
    fn a_reload_keeps_the_fresh_tokens_and_the_id_token_only() {
        let read = CachedAccessToken {
            secret: "read".into(),
            permissions: perms(&["User.Read"]),
            issued_at: 0,
            expires_at: 3_600,
        };
        let write = CachedAccessToken {
            secret: "write".into(),
            permissions: perms(&["TeamsAppInstallation.ReadWriteForUser"]),
            issued_at: 3_000,
            expires_at: 6_600,
        };
        let json = stored(megan(), vec![read, write.clone()]);
        let reloaded = StoredTokens::for_reload(&json, &megan(), 3_400).unwrap();
        assert_eq!(
            reloaded.tokens,
            vec![write],
            "the read token is due for renewal"
        );
        assert_eq!(reloaded.id_token.as_deref(), Some("eyJ.id.token"));
        assert_eq!(reloaded.owner, megan());
        assert!(
            StoredTokens::of(megan(), &AccessTokenCache::default(), None).is_none(),
            "an empty cache stores nothing"
        );
    }

    #[test]
    fn transient_failures_retry_with_growing_waits() {
        // (attempt, jitter, wait in ms)
        let table = [
            (1, 0.5, 2_000),
            (2, 0.5, 4_000),
            (3, 0.5, 8_000),
            (4, 0.5, 16_000),
            (6, 0.5, 64_000),
            (7, 0.5, 120_000),
            (40, 0.5, 120_000),
            (1, 0.0, 1_600),
            (1, 1.0, 2_400),
            (1, 7.0, 2_400),
            (0, 0.5, 2_000),
        ];
        for (attempt, jitter, wait) in table {
            assert_eq!(
                retry_delay_ms(attempt, jitter),
                wait,
                "attempt {attempt}, jitter {jitter}"
            );
        }
    }

    #[test]
    fn only_failures_that_need_the_user_end_the_session() {
        use crate::auth::oauth_error::TransientCause;
        use AfterRenewalFailure::*;
        let table = [
            (
                OAuthErrorKind::Transient(TransientCause::Status(503)),
                RetryIn { millis: 2_000 },
            ),
            (
                OAuthErrorKind::Transient(TransientCause::Network),
                RetryIn { millis: 2_000 },
            ),
            (
                OAuthErrorKind::Transient(TransientCause::Timeout),
                RetryIn { millis: 2_000 },
            ),
            (
                OAuthErrorKind::Transient(TransientCause::Provider),
                RetryIn { millis: 2_000 },
            ),
            (OAuthErrorKind::InvalidGrant, EndSession),
            (OAuthErrorKind::InteractionRequired, EndSession),
            (OAuthErrorKind::LoginRequired, EndSession),
            (OAuthErrorKind::ConsentRequired, EndSession),
            (OAuthErrorKind::InvalidScope, EndSession),
            (OAuthErrorKind::Other, Report),
        ];
        for (kind, expected) in table {
            assert_eq!(after_background_failure(kind, 1, 0.5), expected, "{kind:?}");
        }
        assert_eq!(
            after_background_failure(OAuthErrorKind::Transient(TransientCause::Network), 3, 0.5),
            RetryIn { millis: 8_000 }
        );
    }

    #[test]
    fn an_interactive_fallback_is_not_repeated_at_once() {
        let write = FallbackMark::new(
            &["User.Read", "TeamsAppInstallation.ReadWriteForUser"],
            1_000,
        );
        assert_eq!(
            write,
            FallbackMark::new(
                &[
                    "TeamsAppInstallation.ReadWriteForUser",
                    "User.Read",
                    "User.Read"
                ],
                1_000
            ),
            "order and repeats do not matter"
        );
        let table = [
            (None, FallbackMark::new(&["User.Read"], 1_000), true),
            (
                Some(write.clone()),
                FallbackMark {
                    at: 1_030,
                    ..write.clone()
                },
                false,
            ),
            (
                Some(write.clone()),
                FallbackMark {
                    at: 1_119,
                    ..write.clone()
                },
                false,
            ),
            (
                Some(write.clone()),
                FallbackMark {
                    at: 1_120,
                    ..write.clone()
                },
                true,
            ),
            (
                Some(write.clone()),
                FallbackMark::new(&["User.Read"], 1_030),
                true,
            ),
            (
                Some(write.clone()),
                FallbackMark {
                    at: 900,
                    ..write.clone()
                },
                true,
            ),
        ];
        for (last, asking, expected) in table {
            assert_eq!(
                may_fall_back(last.as_ref(), &asking),
                expected,
                "{last:?} {asking:?}"
            );
        }
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
