//! How long the provider's public documents are kept, and how each read meets the browser's HTTP
//! cache. Discovery and the JWKS are public documents the provider marks cacheable (Entra answers
//! both with `Cache-Control: max-age=86400, private`): they are read through the HTTP cache (so a
//! sign-in callback or a renewal after a reload sends its token request alone) and kept in the
//! worker for the lifetime the provider gives them, or a day when it gives none (MSAL.js keeps
//! authority metadata a day too; the worker kept them for its whole life before). Keys read again
//! because an ID token names a key the set does not have are revalidated with the provider (a
//! rotated key is found at once), and the token endpoint is never cached.

use web_sys::RequestCache;

/// One kind of request to the identity provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// The discovery document.
    Discovery,
    /// The JWKS, to validate an ID token.
    Keys,
    /// The JWKS again: an ID token names a key the set in hand does not have.
    KeysAfterUnknownKid,
    /// The token endpoint (a code or a refresh token redeemed).
    Token,
}

impl Read {
    /// The `fetch` cache mode: the provider's lifetime for the public documents, a revalidation
    /// after an unknown `kid`, never the cache for tokens.
    pub fn cache_mode(self) -> RequestCache {
        match self {
            Read::Discovery | Read::Keys => RequestCache::Default,
            Read::KeysAfterUnknownKid => RequestCache::NoCache,
            Read::Token => RequestCache::NoStore,
        }
    }
}

/// How long the worker keeps a document whose answer gave no lifetime.
pub const DEFAULT_LIFETIME_SECONDS: u64 = 86_400;

/// How long the worker keeps a discovery document or a JWKS answered with `cache_control`: the
/// provider's `max-age` when it gives one, else [`DEFAULT_LIFETIME_SECONDS`] (no header, an
/// unreadable or zero `max-age`, or `no-store`/`no-cache`, which govern the HTTP cache's copy
/// between reloads, not the worker's copy of a document it has just read).
pub fn lifetime_seconds(cache_control: Option<&str>) -> u64 {
    explicit_max_age(cache_control)
        .filter(|&seconds| seconds > 0)
        .unwrap_or(DEFAULT_LIFETIME_SECONDS)
}

/// The `max-age` of a `Cache-Control` header that lets the response be reused.
fn explicit_max_age(cache_control: Option<&str>) -> Option<u64> {
    let header = cache_control?;
    let mut max_age = None;
    for directive in header.split(',') {
        let directive = directive.trim();
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return None;
        }
        if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
            max_age = Some(value.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0));
        }
    }
    max_age
}

/// A document kept until the end of its lifetime.
#[derive(Clone, Debug)]
pub struct Kept<T> {
    pub value: T,
    /// Milliseconds since the epoch: when it was read, and after when it is read again.
    read_at_ms: f64,
    until_ms: f64,
}

impl<T> Kept<T> {
    /// `value` read at `now_ms` with `cache_control` as its header.
    pub fn new(value: T, cache_control: Option<&str>, now_ms: f64) -> Kept<T> {
        Kept {
            value,
            read_at_ms: now_ms,
            until_ms: now_ms + lifetime_seconds(cache_control) as f64 * 1000.0,
        }
    }

    /// Still within its lifetime at `now_ms`; a clock set back does not stretch a lifetime: it
    /// ends it.
    pub fn is_fresh(&self, now_ms: f64) -> bool {
        now_ms >= self.read_at_ms && now_ms < self.until_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifetime_is_the_providers_max_age_else_a_day() {
        const DAY: u64 = DEFAULT_LIFETIME_SECONDS;
        let table = [
            // Entra's discovery and keys.
            (Some("max-age=86400, private"), 86_400),
            (Some("private, max-age=3600"), 3_600),
            (Some("public,max-age=60"), 60),
            (Some("Max-Age=\"120\""), 120),
            (Some("max-age=10, max-age=99999"), 10),
            // No lifetime given: a day, as MSAL.js keeps authority metadata.
            (Some("max-age=86400, no-cache"), DAY),
            (Some("no-store"), DAY),
            (Some("no-cache, max-age=600"), DAY),
            (Some("private"), DAY),
            (Some("max-age=soon"), DAY),
            (Some("max-age=-5"), DAY),
            (Some("max-age=0"), DAY),
            (Some(""), DAY),
            (None, DAY),
        ];
        for (header, seconds) in table {
            assert_eq!(lifetime_seconds(header), seconds, "{header:?}");
        }
    }

    #[test]
    fn a_document_is_kept_for_its_lifetime_only() {
        let read_at = 1_000_000.0;
        let keys = Kept::new("jwks", Some("max-age=86400, private"), read_at);
        assert!(keys.is_fresh(read_at));
        assert!(keys.is_fresh(read_at + 86_399_999.0));
        assert!(!keys.is_fresh(read_at + 86_400_000.0), "a day on");
        assert!(!keys.is_fresh(read_at - 1.0), "the clock went back");
        let short = Kept::new("doc", Some("max-age=60"), read_at);
        assert!(short.is_fresh(read_at + 59_999.0));
        assert!(
            !short.is_fresh(read_at + 60_000.0),
            "read again after its minute"
        );
        let silent = Kept::new("doc", None, read_at);
        assert!(silent.is_fresh(read_at + 86_399_999.0));
        assert!(!silent.is_fresh(read_at + 86_400_000.0));
    }

    #[test]
    fn public_documents_go_through_the_http_cache_and_tokens_never_do() {
        assert_eq!(Read::Discovery.cache_mode(), RequestCache::Default);
        assert_eq!(Read::Keys.cache_mode(), RequestCache::Default);
        assert_eq!(
            Read::KeysAfterUnknownKid.cache_mode(),
            RequestCache::NoCache,
            "a rotated key is asked of the provider, not of the cache"
        );
        assert_eq!(Read::Token.cache_mode(), RequestCache::NoStore);
    }
}
