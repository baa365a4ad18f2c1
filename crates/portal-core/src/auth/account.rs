//! The signed-in account as the portal keeps it between reloads (ids, names and roles from the
//! validated ID token; never a token), and the end-session request of sign-out: `id_token_hint`
//! (or `client_id` when there is no ID token), `logout_hint` and `post_logout_redirect_uri`, so
//! the provider signs the right account out and sends the user back to the portal.

use crate::web_url::WebUrl;
use serde::{Deserialize, Serialize};

use super::id_token::AccountIds;
use super::roles;

/// What the portal remembers of the signed-in account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredAccount {
    pub name: String,
    /// `preferred_username` (a UPN or mail address).
    pub username: String,
    pub oid: String,
    pub tid: String,
    /// Role template ids (a UI hint).
    #[serde(default)]
    pub wids: Vec<String>,
    /// The ID token's `login_hint` claim, when the provider sends one (Entra does when the
    /// `login_hint` optional claim is configured): the best hint for re-authentication and
    /// sign-out.
    #[serde(default)]
    pub login_hint: Option<String>,
}

impl StoredAccount {
    /// Reads the claims of a validated ID token.
    pub fn from_claims(claims: &serde_json::Value) -> StoredAccount {
        let text = |name: &str| claims[name].as_str().unwrap_or_default().to_string();
        StoredAccount {
            name: text("name"),
            username: text("preferred_username"),
            oid: text("oid"),
            tid: text("tid"),
            wids: claims["wids"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            login_hint: claims["login_hint"]
                .as_str()
                .filter(|h| !h.is_empty())
                .map(str::to_string),
        }
    }

    /// Its `oid` and `tid`.
    pub fn ids(&self) -> AccountIds {
        AccountIds {
            oid: self.oid.clone(),
            tid: self.tid.clone(),
        }
    }

    /// Teams Administrator or Global Administrator per `wids` (a UI hint only).
    pub fn is_admin(&self) -> bool {
        roles::is_admin(&self.wids)
    }

    /// The hint for sign-in again and sign-out: the `login_hint` claim, else the username.
    pub fn hint(&self) -> Option<&str> {
        self.login_hint
            .as_deref()
            .or(Some(self.username.as_str()))
            .filter(|h| !h.is_empty())
    }
}

/// The end-session (sign-out) address: `post_logout_redirect_uri`, then `id_token_hint` when an
/// ID token is at hand or else `client_id` (OpenID RP-Initiated Logout requires one of them with
/// a redirect), then `logout_hint` when known.
pub fn end_session_url(
    end_session_endpoint: &str,
    post_logout_redirect_uri: &str,
    id_token_hint: Option<&str>,
    client_id: &str,
    logout_hint: Option<&str>,
) -> Option<String> {
    let url = WebUrl::parse(end_session_endpoint)?;
    let hint = match id_token_hint.filter(|t| !t.is_empty()) {
        Some(token) => ("id_token_hint", token),
        None => ("client_id", client_id),
    };
    let mut pairs = vec![("post_logout_redirect_uri", post_logout_redirect_uri), hint];
    if let Some(hint) = logout_hint.filter(|h| !h.is_empty()) {
        pairs.push(("logout_hint", hint));
    }
    Some(url.with_query_pairs(&pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_account_is_read_from_claims_and_hints_prefer_login_hint() {
        let with_hint = StoredAccount::from_claims(&json!({
            "name": "Megan Bowen", "preferred_username": "megan@contoso.com",
            "oid": "o1", "tid": "t1", "wids": ["62e90394-69f5-4237-9190-012177145e10"],
            "login_hint": "O.CiQ..."
        }));
        assert_eq!(with_hint.hint(), Some("O.CiQ..."));
        assert!(with_hint.is_admin());
        assert_eq!(
            with_hint.ids(),
            AccountIds {
                oid: "o1".into(),
                tid: "t1".into()
            }
        );
        let without = StoredAccount::from_claims(&json!({
            "name": "Zoë", "preferred_username": "zoe@contoso.com", "oid": "o2", "tid": "t1"
        }));
        assert_eq!(without.hint(), Some("zoe@contoso.com"));
        assert!(!without.is_admin());
        assert_eq!(StoredAccount::default().hint(), None);
        // It survives a round trip through storage, and old entries without the new fields load.
        let text = serde_json::to_string(&with_hint).unwrap();
        assert_eq!(
            serde_json::from_str::<StoredAccount>(&text).unwrap(),
            with_hint
        );
        let old: StoredAccount =
            serde_json::from_str(r#"{"name":"a","username":"b","oid":"c","tid":"d"}"#).unwrap();
        assert_eq!(old.login_hint, None);
    }

    #[test]
    fn sign_out_names_the_session_and_the_way_back() {
        let end = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/logout";
        let back = "https://portal.contoso.com/";
        let table: &[(Option<&str>, Option<&str>, &str)] = &[
            (
                Some("eyJ.id.token"),
                Some("megan@contoso.com"),
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/logout\
                 ?post_logout_redirect_uri=https%3A%2F%2Fportal.contoso.com%2F\
                 &id_token_hint=eyJ.id.token&logout_hint=megan%40contoso.com",
            ),
            (
                None,
                Some("megan@contoso.com"),
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/logout\
                 ?post_logout_redirect_uri=https%3A%2F%2Fportal.contoso.com%2F\
                 &client_id=6731de76&logout_hint=megan%40contoso.com",
            ),
            (
                Some(""),
                None,
                "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/logout\
                 ?post_logout_redirect_uri=https%3A%2F%2Fportal.contoso.com%2F&client_id=6731de76",
            ),
        ];
        for (id_token, hint, expected) in table {
            assert_eq!(
                end_session_url(end, back, *id_token, "6731de76", *hint).as_deref(),
                Some(*expected)
            );
        }
        // An endpoint that already has a query keeps it.
        let with_query =
            end_session_url("https://op.example/session/end?x=1", back, None, "c", None).unwrap();
        assert!(
            with_query.starts_with("https://op.example/session/end?x=1&post_logout_redirect_uri=")
        );
        assert_eq!(end_session_url("not a url", back, None, "c", None), None);
    }
}
