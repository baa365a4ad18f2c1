//! How long the provider's public documents are kept, and how each read meets the browser's HTTP
//! cache. Discovery and the JWKS are public documents the provider marks cacheable (Entra answers
//! both with `Cache-Control: max-age=86400, private`): they are read through the HTTP cache and
//! kept in the worker for the lifetime the provider gives them, so a sign-in callback or a
//! renewal after a reload sends its token request alone. Keys read again because an ID token
//! names a key the set does not have are revalidated with the provider (a rotated key is found
//! at once), and the token endpoint is never cached.

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

/// The lifetime in seconds a `Cache-Control` header gives a response kept by this client (a
/// private cache): `max-age`, or 0 when absent, unreadable, or when `no-store` or `no-cache`
/// forbid reusing it without asking the provider.
pub fn lifetime_seconds(cache_control: Option<&str>) -> u64 {
    let Some(header) = cache_control else {
        return 0;
    };
    let mut max_age = None;
    for directive in header.split(',') {
        let directive = directive.trim();
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return 0;
        }
        if name.eq_ignore_ascii_case("max-age") && max_age.is_none() {
            max_age = Some(value.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0));
        }
    }
    max_age.unwrap_or(0)
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

    /// Still within its lifetime at `now_ms`. A document without one serves the call that read
    /// it only; a clock set back does not stretch a lifetime: it ends it.
    pub fn is_fresh(&self, now_ms: f64) -> bool {
        now_ms >= self.read_at_ms && now_ms < self.until_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lifetime_is_the_providers_max_age_unless_it_forbids_reuse() {
        let table = [
            // Entra's discovery and keys.
            (Some("max-age=86400, private"), 86_400),
            (Some("private, max-age=3600"), 3_600),
            (Some("public,max-age=60"), 60),
            (Some("Max-Age=\"120\""), 120),
            (Some("max-age=86400, no-cache"), 0),
            (Some("no-store"), 0),
            (Some("no-cache, max-age=600"), 0),
            (Some("private"), 0),
            (Some("max-age=soon"), 0),
            (Some("max-age=-5"), 0),
            (Some("max-age=10, max-age=99999"), 10),
            (Some(""), 0),
            (None, 0),
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
        let uncached = Kept::new("doc", Some("no-store"), read_at);
        assert!(!uncached.is_fresh(read_at), "read again next time");
        let silent = Kept::new("doc", None, read_at);
        assert!(!silent.is_fresh(read_at + 1.0));
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
