//! Entra's multi-tenant discovery documents publish the literal issuer
//! `https://login.microsoftonline.com/{tenantid}/v2.0`; an ID token's `iss` is checked against it
//! with the token's own `tid` filled in (a strict generic OIDC client would refuse it).

/// The placeholder Entra writes in multi-tenant issuers.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Whether `actual` (the token's `iss`) is the issuer `expected` names, with `{tenantid}` standing
/// for the token's `tid`. Trailing slashes are not ignored: issuers compare exactly.
pub fn issuer_matches(expected: &str, actual: &str, tid: &str) -> bool {
    if expected.contains(TENANT_PLACEHOLDER) {
        !tid.is_empty() && !tid.contains('/') && expected.replace(TENANT_PLACEHOLDER, tid) == actual
    } else {
        expected == actual
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn template_is_filled_with_the_tokens_tenant() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(issuer_matches(
            template,
            &format!("https://login.microsoftonline.com/{TID}/v2.0"),
            TID
        ));
        assert!(!issuer_matches(
            template,
            &format!("https://login.microsoftonline.com/{TID}/v2.0"),
            "other"
        ));
        assert!(!issuer_matches(
            template,
            "https://evil.example/72f988bf/v2.0",
            "72f988bf"
        ));
        assert!(!issuer_matches(
            template,
            "https://login.microsoftonline.com//v2.0",
            ""
        ));
        assert!(!issuer_matches(
            template,
            "https://login.microsoftonline.com/a/b/v2.0",
            "a/b"
        ));
    }

    #[test]
    fn specific_issuers_compare_exactly() {
        let issuer = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert!(issuer_matches(&issuer, &issuer, TID));
        assert!(!issuer_matches(&issuer, &format!("{issuer}/"), TID));
        assert!(!issuer_matches(
            &issuer,
            "https://login.microsoftonline.us/x/v2.0",
            TID
        ));
    }
}
