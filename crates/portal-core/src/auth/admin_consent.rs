//! Tenant-wide admin consent: the link an administrator follows
//! (`{authority}/{tenant}/v2.0/adminconsent?client_id&scope={graph}/.default&redirect_uri&state`)
//! and what the portal reads when Entra sends them back (`admin_consent=True`, or an `error`).
//! The return carries no code: it is handled on its own path, never as a sign-in callback.

use crate::web_url::WebUrl;

use crate::config::RuntimeConfig;

/// The `state` of every admin-consent link. The link may be handed to an administrator in
/// another browser, so it cannot name a pending request of this tab; it only marks the return.
pub const ADMIN_CONSENT_STATE: &str = "admin-consent";

/// The admin-consent link for the configured client, tenant and cloud.
pub fn admin_consent_url(config: &RuntimeConfig) -> String {
    let base = format!(
        "{}/{}/v2.0/adminconsent",
        config.authority_origin(),
        config.tenant.as_path_segment()
    );
    let Some(url) = WebUrl::parse(&base) else {
        return base;
    };
    url.with_query_pairs(&[
        ("client_id", &config.client_id),
        (
            "scope",
            &format!("https://{}/.default", config.cloud.graph_host()),
        ),
        ("redirect_uri", config.redirect_uri.as_str()),
        ("state", ADMIN_CONSENT_STATE),
    ])
}

/// What the administrator's return says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminConsentReturn {
    /// `admin_consent=True`: the tenant consented (to `scope`, when Entra lists it).
    Granted {
        tenant: Option<String>,
        scope: Option<String>,
    },
    /// Entra sent an error (for example `access_denied`, AADSTS90094 when the user is no
    /// administrator), or `admin_consent` was not `True`.
    Refused { error: String, description: String },
}

/// Reads an admin-consent return from the query parameters of the address; `None` when the
/// address is not one (no `admin_consent` parameter and not the admin-consent state).
pub fn admin_consent_return(params: &[(String, String)]) -> Option<AdminConsentReturn> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let flag = get("admin_consent");
    if flag.is_none() && get("state").as_deref() != Some(ADMIN_CONSENT_STATE) {
        return None;
    }
    if let Some(error) = get("error") {
        return Some(AdminConsentReturn::Refused {
            error,
            description: get("error_description").unwrap_or_default(),
        });
    }
    match flag {
        Some(flag) if flag.eq_ignore_ascii_case("true") => Some(AdminConsentReturn::Granted {
            tenant: get("tenant"),
            scope: get("scope"),
        }),
        _ => Some(AdminConsentReturn::Refused {
            error: String::new(),
            description: String::new(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> RuntimeConfig {
        RuntimeConfig::parse(json).unwrap()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_link_names_client_tenant_cloud_and_return() {
        let global = config(
            r#"{"clientId":"6731de76-14a6-49ae-97bc-6eba6914391e","tenant":"contoso.onmicrosoft.com","redirectUri":"https://portal.contoso.com/"}"#,
        );
        assert_eq!(
            admin_consent_url(&global),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/adminconsent\
             ?client_id=6731de76-14a6-49ae-97bc-6eba6914391e\
             &scope=https%3A%2F%2Fgraph.microsoft.com%2F.default\
             &redirect_uri=https%3A%2F%2Fportal.contoso.com%2F\
             &state=admin-consent"
        );
        let dod = config(
            r#"{"clientId":"6731de76-14a6-49ae-97bc-6eba6914391e","tenant":"organizations","cloud":"usgov-l5","redirectUri":"https://portal.contoso.com/"}"#,
        );
        let url = admin_consent_url(&dod);
        assert!(
            url.starts_with("https://login.microsoftonline.us/organizations/v2.0/adminconsent?"),
            "{url}"
        );
        assert!(
            url.contains("scope=https%3A%2F%2Fdod-graph.microsoft.us%2F.default"),
            "{url}"
        );
        let dev = config(
            r#"{"clientId":"6731de76-14a6-49ae-97bc-6eba6914391e","tenant":"contoso.onmicrosoft.com","redirectUri":"http://127.0.0.1:8080/","authority":"http://127.0.0.1:9001"}"#,
        );
        assert!(admin_consent_url(&dev)
            .starts_with("http://127.0.0.1:9001/contoso.onmicrosoft.com/v2.0/adminconsent?"));
    }

    #[test]
    fn returns_are_told_apart() {
        type Case = (Vec<(String, String)>, Option<AdminConsentReturn>);
        let table: Vec<Case> = vec![
            (
                pairs(&[
                    ("admin_consent", "True"),
                    ("tenant", "t1"),
                    ("state", "admin-consent"),
                    ("scope", "https://graph.microsoft.com/User.Read"),
                ]),
                Some(AdminConsentReturn::Granted {
                    tenant: Some("t1".into()),
                    scope: Some("https://graph.microsoft.com/User.Read".into()),
                }),
            ),
            (
                pairs(&[
                    ("error", "access_denied"),
                    ("error_description", "AADSTS90094: admin only"),
                    ("state", "admin-consent"),
                ]),
                Some(AdminConsentReturn::Refused {
                    error: "access_denied".into(),
                    description: "AADSTS90094: admin only".into(),
                }),
            ),
            (
                pairs(&[("admin_consent", "False")]),
                Some(AdminConsentReturn::Refused {
                    error: String::new(),
                    description: String::new(),
                }),
            ),
            // A sign-in callback is not an admin-consent return.
            (pairs(&[("code", "c"), ("state", "s1")]), None),
            (pairs(&[("error", "access_denied"), ("state", "s1")]), None),
            (pairs(&[]), None),
        ];
        for (params, expected) in table {
            assert_eq!(admin_consent_return(&params), expected, "{params:?}");
        }
    }
}
