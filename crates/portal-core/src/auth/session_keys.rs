//! Names of the session's sessionStorage entries, bound to the client id, the authority and the
//! tenant: a refresh token (or account) stored for one app registration, identity provider or
//! directory is never offered to another, even when `config.json` changes under an open tab.
//! Every name starts with `tap.auth.` so sign-out can sweep them all.

use crate::config::RuntimeConfig;

/// The prefix of every auth entry in sessionStorage.
pub const PREFIX: &str = "tap.auth.";

/// The keys of one (client, authority, tenant) binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionKeys {
    binding: String,
}

/// Lowercased, with the separator and `%` escaped so that no two bindings can collide.
fn part(text: &str) -> String {
    text.trim()
        .trim_end_matches('/')
        .to_ascii_lowercase()
        .replace('%', "%25")
        .replace('|', "%7C")
}

impl SessionKeys {
    /// Binds keys to a client id, an authority origin (`https://login.microsoftonline.com`) and
    /// a tenant path segment (a GUID, a domain or `organizations`).
    pub fn new(client_id: &str, authority: &str, tenant: &str) -> SessionKeys {
        SessionKeys {
            binding: format!("{}|{}|{}", part(client_id), part(authority), part(tenant)),
        }
    }

    /// The keys of a runtime configuration.
    pub fn for_config(config: &RuntimeConfig) -> SessionKeys {
        SessionKeys::new(
            &config.client_id,
            &config.authority_origin(),
            config.tenant.as_path_segment(),
        )
    }

    /// What the keys are bound to (`client|authority|tenant`).
    pub fn binding(&self) -> &str {
        &self.binding
    }

    fn key(&self, name: &str) -> String {
        format!("{PREFIX}{name}.{}", self.binding)
    }

    /// The refresh token.
    pub fn refresh_token(&self) -> String {
        self.key("refresh_token")
    }

    /// The signed-in account (ids, names, roles: no token).
    pub fn account(&self) -> String {
        self.key("account")
    }

    /// The Graph permissions granted so far (to ask for them again together).
    pub fn granted(&self) -> String {
        self.key("granted")
    }

    /// The last interactive fallback (so that it is not repeated in a loop).
    pub fn fallback(&self) -> String {
        self.key("fallback")
    }

    /// The access tokens and ID token of the account signed in (`renewal::StoredTokens`), so
    /// that a reload with a fresh one needs no renewal.
    pub fn tokens(&self) -> String {
        self.key("tokens")
    }

    /// The keys of every binding that holds a refresh token among `keys` (sessionStorage's
    /// names), found before `config.json` is read (to start the sign-in worker early only when
    /// the session will renew at start-up).
    pub fn with_refresh_token<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<SessionKeys> {
        let prefix = format!("{PREFIX}refresh_token.");
        keys.into_iter()
            .filter_map(|k| k.strip_prefix(prefix.as_str()))
            .filter(|binding| !binding.is_empty())
            .map(|binding| SessionKeys {
                binding: binding.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
    const AUTHORITY: &str = "https://login.microsoftonline.com";
    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

    #[test]
    fn the_refresh_token_key_names_client_authority_and_tenant() {
        assert_eq!(
            SessionKeys::new(CLIENT, AUTHORITY, TENANT).refresh_token(),
            "tap.auth.refresh_token.6731de76-14a6-49ae-97bc-6eba6914391e|https://login.microsoftonline.com|72f988bf-86f1-41af-91ab-2d7cd011db47"
        );
    }

    #[test]
    fn each_binding_has_its_own_keys() {
        let base = SessionKeys::new(CLIENT, AUTHORITY, TENANT);
        let others = [
            SessionKeys::new("00000000-0000-0000-0000-000000000001", AUTHORITY, TENANT),
            SessionKeys::new(CLIENT, "https://login.microsoftonline.us", TENANT),
            SessionKeys::new(CLIENT, "http://127.0.0.1:9001", TENANT),
            SessionKeys::new(CLIENT, AUTHORITY, "organizations"),
            SessionKeys::new(CLIENT, AUTHORITY, "contoso.onmicrosoft.com"),
        ];
        for other in &others {
            assert_ne!(base.refresh_token(), other.refresh_token(), "{other:?}");
            assert_ne!(base.account(), other.account());
            assert_ne!(base.granted(), other.granted());
        }
        for (i, a) in others.iter().enumerate() {
            for b in &others[i + 1..] {
                assert_ne!(a.refresh_token(), b.refresh_token());
            }
        }
    }

    #[test]
    fn spelling_differences_do_not_split_a_binding() {
        assert_eq!(
            SessionKeys::new(CLIENT, AUTHORITY, TENANT),
            SessionKeys::new(
                &CLIENT.to_uppercase(),
                "https://LOGIN.microsoftonline.com/",
                &TENANT.to_uppercase()
            )
        );
    }

    #[test]
    fn separators_inside_a_part_cannot_forge_another_binding() {
        assert_ne!(
            SessionKeys::new("a|b", "c", "d").refresh_token(),
            SessionKeys::new("a", "b|c", "d").refresh_token()
        );
        assert_ne!(
            SessionKeys::new("a%7Cb", "c", "d").refresh_token(),
            SessionKeys::new("a|b", "c", "d").refresh_token()
        );
    }

    #[test]
    fn keys_share_the_sign_out_prefix_and_differ_by_purpose() {
        let keys = SessionKeys::new(CLIENT, AUTHORITY, TENANT);
        let all = [
            keys.refresh_token(),
            keys.account(),
            keys.granted(),
            keys.fallback(),
            keys.tokens(),
        ];
        assert!(all.iter().all(|k| k.starts_with(PREFIX)));
        let distinct: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), all.len());
        assert!(keys.refresh_token().starts_with("tap.auth.refresh_token."));
        assert_ne!(all[0], all[1]);
        assert_ne!(all[1], all[2]);
    }

    #[test]
    fn the_bindings_holding_a_refresh_token_are_found_from_the_key_names() {
        let one = SessionKeys::new(CLIENT, AUTHORITY, TENANT);
        let two = SessionKeys::new(CLIENT, "http://127.0.0.1:9001", "organizations");
        let names = [
            one.refresh_token(),
            one.tokens(),
            one.account(),
            two.account(),
            two.refresh_token(),
            "tap.auth.refresh_token.".to_string(),
            "tap.auth.pending.abc".to_string(),
            "other.refresh_token.x".to_string(),
        ];
        let found = SessionKeys::with_refresh_token(names.iter().map(String::as_str));
        assert_eq!(found, vec![one.clone(), two]);
        assert_eq!(found[0].tokens(), one.tokens(), "the same names follow");
    }

    #[test]
    fn a_config_binds_its_authority_origin_and_tenant_segment() {
        let config = RuntimeConfig::parse(
            r#"{"clientId":"6731DE76-14A6-49AE-97BC-6EBA6914391E","tenant":"Contoso.onmicrosoft.com","redirectUri":"https://portal.contoso.com/"}"#,
        )
        .unwrap();
        assert_eq!(
            SessionKeys::for_config(&config),
            SessionKeys::new(CLIENT, AUTHORITY, "contoso.onmicrosoft.com")
        );
    }
}
