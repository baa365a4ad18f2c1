//! The session handed from the first load to the full bundle (issue #10). Access tokens live in
//! memory, so a page that leaves the first load for the full bundle (`full.html`, a new
//! document) would otherwise make the full bundle renew at once: one more token request per
//! switch, and none at all possible where no refresh token is kept. The first load writes its
//! fresh access tokens and its ID token to sessionStorage just before it leaves; the full bundle
//! reads the entry and removes it at once. Nothing is held there longer than the switch takes,
//! an entry older than [`MAX_AGE_SECONDS`] is ignored, and the refresh token that sits beside it
//! for the whole session is worth more than the access tokens it carries.

use serde::{Deserialize, Serialize};

use super::renewal::CachedAccessToken;

/// An entry older than this (a switch that never completed) is ignored.
pub const MAX_AGE_SECONDS: i64 = 60;

/// What the first load hands to the full bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionHandOver {
    /// Unix seconds when it was written.
    pub written_at: i64,
    pub tokens: Vec<CachedAccessToken>,
    /// The raw ID token (the `id_token_hint` of sign-out).
    pub id_token: Option<String>,
}

impl SessionHandOver {
    /// The entry for `tokens` (only the fresh ones: an expiring token is renewed, not handed
    /// over), `None` when there is nothing worth handing over.
    pub fn new(
        tokens: &[CachedAccessToken],
        id_token: Option<String>,
        now: i64,
    ) -> Option<SessionHandOver> {
        let tokens: Vec<CachedAccessToken> =
            tokens.iter().filter(|t| t.is_fresh(now)).cloned().collect();
        (!tokens.is_empty()).then_some(SessionHandOver {
            written_at: now,
            tokens,
            id_token,
        })
    }

    /// Reads an entry: `None` when it does not parse, is older than [`MAX_AGE_SECONDS`], comes
    /// from the future, or holds no fresh token any more.
    pub fn read(json: &str, now: i64) -> Option<SessionHandOver> {
        let mut entry: SessionHandOver = serde_json::from_str(json).ok()?;
        if !(0..=MAX_AGE_SECONDS).contains(&(now - entry.written_at)) {
            return None;
        }
        entry.tokens.retain(|t| t.is_fresh(now));
        (!entry.tokens.is_empty()).then_some(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(permission: &str, issued_at: i64, lifetime: i64) -> CachedAccessToken {
        CachedAccessToken {
            secret: format!("secret-{permission}"),
            permissions: vec![permission.to_string()].into(),
            issued_at,
            expires_at: issued_at + lifetime,
        }
    }

    #[test]
    fn fresh_tokens_and_the_id_token_go_across() {
        let tokens = [
            token("User.Read", 1_000, 3_600),
            token("User.ReadBasic.All", 1_000, 3_600),
        ];
        let entry = SessionHandOver::new(&tokens, Some("id.token.raw".into()), 1_100).unwrap();
        let json = serde_json::to_string(&entry).unwrap();
        let read = SessionHandOver::read(&json, 1_102).unwrap();
        assert_eq!(read.tokens, tokens);
        assert_eq!(read.id_token.as_deref(), Some("id.token.raw"));
    }

    #[test]
    fn a_token_due_for_renewal_is_not_handed_over() {
        // Renewed 5 minutes before expiry: at 4,400 the first is due, the second is not.
        let tokens = [
            token("User.Read", 1_000, 3_600),
            token("User.ReadBasic.All", 2_000, 3_600),
        ];
        let entry = SessionHandOver::new(&tokens, None, 4_400).unwrap();
        assert_eq!(entry.tokens, [tokens[1].clone()]);
        assert!(SessionHandOver::new(&tokens[..1], None, 4_400).is_none());
    }

    #[test]
    fn a_stale_or_future_or_broken_entry_is_ignored() {
        let tokens = [token("User.Read", 1_000, 3_600)];
        let json =
            serde_json::to_string(&SessionHandOver::new(&tokens, None, 1_100).unwrap()).unwrap();
        assert!(SessionHandOver::read(&json, 1_100 + MAX_AGE_SECONDS).is_some());
        assert!(SessionHandOver::read(&json, 1_101 + MAX_AGE_SECONDS).is_none());
        assert!(SessionHandOver::read(&json, 1_099).is_none());
        assert!(SessionHandOver::read("{\"written_at\": 1", 1_100).is_none());
        assert!(SessionHandOver::read("null", 1_100).is_none());
    }

    #[test]
    fn a_token_that_became_due_on_the_way_is_dropped() {
        let tokens = [token("User.Read", 1_000, 3_600)];
        let json =
            serde_json::to_string(&SessionHandOver::new(&tokens, None, 4_290).unwrap()).unwrap();
        // Due at 4,300 (5 minutes before 4,600).
        assert!(SessionHandOver::read(&json, 4_299).is_some());
        assert!(SessionHandOver::read(&json, 4_300).is_none());
    }
}
