//! The time and account checks of an ID token, over its claims and the clock: `exp`, `nbf` and
//! `iat` with five minutes of clock skew allowed, and, on renewal, the same account (`oid`) in
//! the same directory (`tid`) as the one signed in. The signature, `iss`, `aud` and `nonce` are
//! checked by the browser side (WebCrypto and openidconnect) before these.

use serde_json::Value;
use thiserror::Error;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const CLOCK_SKEW_SECONDS: i64 = 300;

/// Why an ID token's claims are refused (the sentence is shown to the user).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum IdTokenProblem {
    #[error("the ID token has no expiry time (exp)")]
    MissingExpiry,
    #[error("the ID token has no issue time (iat)")]
    MissingIssueTime,
    #[error("the ID token expired {ago} seconds ago (5 minutes of clock difference are allowed)")]
    Expired { ago: i64 },
    #[error("the ID token is not valid for another {wait} seconds (nbf; 5 minutes of clock difference are allowed)")]
    NotYetValid { wait: i64 },
    #[error("the ID token was issued {ahead} seconds in the future (iat; 5 minutes of clock difference are allowed)")]
    IssuedInFuture { ahead: i64 },
    #[error("the ID token names no account (oid) or directory (tid)")]
    MissingAccount,
    #[error(
        "the renewed ID token is for another account ({found}) than the one signed in ({expected})"
    )]
    AnotherAccount { expected: String, found: String },
    #[error("the renewed ID token is for another directory ({found}) than the one signed in ({expected})")]
    AnotherTenant { expected: String, found: String },
}

/// The account an ID token names.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountIds {
    /// Object id of the user.
    pub oid: String,
    /// Directory (tenant) id.
    pub tid: String,
}

/// A NumericDate claim (seconds, integer or not).
fn seconds(claims: &Value, name: &str) -> Option<i64> {
    let value = &claims[name];
    value
        .as_i64()
        .or_else(|| value.as_f64().map(|f| f.floor() as i64))
}

/// `exp` (required), `nbf` (when present) and `iat` (required) against `now`, each with
/// [`CLOCK_SKEW_SECONDS`] of tolerance.
pub fn check_times(claims: &Value, now: i64) -> Result<(), IdTokenProblem> {
    let exp = seconds(claims, "exp").ok_or(IdTokenProblem::MissingExpiry)?;
    let iat = seconds(claims, "iat").ok_or(IdTokenProblem::MissingIssueTime)?;
    if now >= exp + CLOCK_SKEW_SECONDS {
        return Err(IdTokenProblem::Expired { ago: now - exp });
    }
    if let Some(nbf) = seconds(claims, "nbf") {
        if nbf > now + CLOCK_SKEW_SECONDS {
            return Err(IdTokenProblem::NotYetValid { wait: nbf - now });
        }
    }
    if iat > now + CLOCK_SKEW_SECONDS {
        return Err(IdTokenProblem::IssuedInFuture { ahead: iat - now });
    }
    Ok(())
}

/// The `oid` and `tid` of the claims.
pub fn account_ids(claims: &Value) -> Result<AccountIds, IdTokenProblem> {
    let oid = claims["oid"].as_str().unwrap_or_default().trim();
    let tid = claims["tid"].as_str().unwrap_or_default().trim();
    if oid.is_empty() || tid.is_empty() {
        return Err(IdTokenProblem::MissingAccount);
    }
    Ok(AccountIds {
        oid: oid.to_string(),
        tid: tid.to_string(),
    })
}

/// A renewed ID token must name the account signed in, in the same directory.
pub fn check_same_account(
    signed_in: &AccountIds,
    renewed: &AccountIds,
) -> Result<(), IdTokenProblem> {
    if !signed_in.tid.eq_ignore_ascii_case(&renewed.tid) {
        return Err(IdTokenProblem::AnotherTenant {
            expected: signed_in.tid.clone(),
            found: renewed.tid.clone(),
        });
    }
    if !signed_in.oid.eq_ignore_ascii_case(&renewed.oid) {
        return Err(IdTokenProblem::AnotherAccount {
            expected: signed_in.oid.clone(),
            found: renewed.oid.clone(),
        });
    }
    Ok(())
}

/// Every check of this module: the times, then (on renewal, when an account is signed in) the
/// same account.
pub fn check_claims(
    claims: &Value,
    now: i64,
    signed_in: Option<&AccountIds>,
) -> Result<(), IdTokenProblem> {
    check_times(claims, now)?;
    if let Some(signed_in) = signed_in {
        check_same_account(signed_in, &account_ids(claims)?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const OID: &str = "00000000-0000-0000-0000-0000000000a1";
    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    fn ids(oid: &str, tid: &str) -> AccountIds {
        AccountIds {
            oid: oid.into(),
            tid: tid.into(),
        }
    }

    #[test]
    fn times_allow_five_minutes_of_skew() {
        use IdTokenProblem::*;
        let table: Vec<(Value, Result<(), IdTokenProblem>)> = vec![
            (json!({"exp": NOW + 3600, "iat": NOW, "nbf": NOW}), Ok(())),
            (json!({"exp": NOW + 3600, "iat": NOW}), Ok(())),
            // exp: just past, within the skew; at the skew's end; long past.
            (json!({"exp": NOW - 299, "iat": NOW - 3600}), Ok(())),
            (
                json!({"exp": NOW - 300, "iat": NOW - 3600}),
                Err(Expired { ago: 300 }),
            ),
            (
                json!({"exp": NOW - 3600, "iat": NOW - 7200}),
                Err(Expired { ago: 3600 }),
            ),
            // nbf: a clock a little behind is fine, far behind is not.
            (
                json!({"exp": NOW + 3600, "iat": NOW, "nbf": NOW + 300}),
                Ok(()),
            ),
            (
                json!({"exp": NOW + 3600, "iat": NOW, "nbf": NOW + 301}),
                Err(NotYetValid { wait: 301 }),
            ),
            // iat likewise.
            (json!({"exp": NOW + 3600, "iat": NOW + 300}), Ok(())),
            (
                json!({"exp": NOW + 7200, "iat": NOW + 900}),
                Err(IssuedInFuture { ahead: 900 }),
            ),
            // NumericDate may be fractional.
            (
                json!({"exp": (NOW + 60) as f64 + 0.5, "iat": NOW as f64 - 0.25}),
                Ok(()),
            ),
            (json!({"iat": NOW}), Err(MissingExpiry)),
            (json!({"exp": NOW + 60}), Err(MissingIssueTime)),
            (json!({"exp": "soon", "iat": NOW}), Err(MissingExpiry)),
        ];
        for (claims, expected) in table {
            assert_eq!(check_times(&claims, NOW), expected, "{claims}");
        }
    }

    #[test]
    fn a_renewed_token_must_name_the_same_account_and_directory() {
        let signed_in = ids(OID, TID);
        let table: Vec<(AccountIds, bool)> = vec![
            (ids(OID, TID), true),
            (ids(&OID.to_uppercase(), &TID.to_uppercase()), true),
            (ids("00000000-0000-0000-0000-0000000000b2", TID), false),
            (ids(OID, "00000000-0000-0000-0000-00000000ffff"), false),
        ];
        for (renewed, ok) in table {
            assert_eq!(
                check_same_account(&signed_in, &renewed).is_ok(),
                ok,
                "{renewed:?}"
            );
        }
    }

    #[test]
    fn check_claims_runs_every_check() {
        let good = json!({"exp": NOW + 3600, "iat": NOW, "oid": OID, "tid": TID});
        assert_eq!(check_claims(&good, NOW, None), Ok(()));
        assert_eq!(check_claims(&good, NOW, Some(&ids(OID, TID))), Ok(()));
        let other = json!({"exp": NOW + 3600, "iat": NOW, "oid": "someone-else", "tid": TID});
        assert!(matches!(
            check_claims(&other, NOW, Some(&ids(OID, TID))),
            Err(IdTokenProblem::AnotherAccount { .. })
        ));
        let anonymous = json!({"exp": NOW + 3600, "iat": NOW});
        assert_eq!(
            check_claims(&anonymous, NOW, Some(&ids(OID, TID))),
            Err(IdTokenProblem::MissingAccount)
        );
        assert_eq!(
            check_claims(&anonymous, NOW, None),
            Ok(()),
            "sign-in: no account to compare"
        );
    }

    #[test]
    fn problems_read_as_sentences_without_rust_names() {
        let text = IdTokenProblem::Expired { ago: 3600 }.to_string();
        assert!(text.contains("expired"), "{text}");
        assert!(!text.contains("Expired {"), "{text}");
        assert!(IdTokenProblem::AnotherAccount {
            expected: "a".into(),
            found: "b".into()
        }
        .to_string()
        .contains("another account"));
    }
}
