//! Graph requests built as data (method, path, query, headers, body) by pure functions, so the
//! exact request is testable natively, shown to the user ("Show request"), and sent as built.

use serde_json::{json, Value};

use super::consent::consent_body;
use super::encode::{odata_string, path_segment, query_value, search_clause, user_path, UserRef};
use super::ids::{CatalogAppId, InstallationId};
use super::models::ResourceSpecificPermission;

/// HTTP methods the portal uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// One request to Graph v1.0.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphRequest {
    pub method: Method,
    /// Path below `/v1.0`, already encoded.
    pub path: String,
    /// Query parameters (names raw, values encoded when the URL is built).
    pub query: Vec<(String, String)>,
    /// Extra headers (`Authorization` and `client-request-id` are added when sending).
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    /// An absolute URL to send exactly as it is (an `@odata.nextLink`), instead of
    /// `path` + `query`.
    pub exact_url: Option<String>,
}

impl GraphRequest {
    fn new(method: Method, path: String) -> GraphRequest {
        GraphRequest {
            method,
            path,
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            exact_url: None,
        }
    }

    fn query(mut self, name: &str, value: impl Into<String>) -> GraphRequest {
        self.query.push((name.to_string(), value.into()));
        self
    }

    fn header(mut self, name: &str, value: &str) -> GraphRequest {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    fn json(mut self, body: Value) -> GraphRequest {
        self.body = Some(body);
        self.header("Content-Type", "application/json")
    }

    /// The full URL against a Graph base such as `https://graph.microsoft.com/v1.0`.
    pub fn url(&self, graph_base: &str) -> String {
        if let Some(exact) = &self.exact_url {
            return exact.clone();
        }
        let mut url = format!("{}{}", graph_base.trim_end_matches('/'), self.path);
        for (i, (name, value)) in self.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            url.push_str(&query_value(value));
        }
        url
    }
}

/// `POST {user}/teamwork/installedApps`: `graph_host` is the cloud's (`graph.microsoft.com`).
pub fn install(
    graph_host: &str,
    user: &UserRef,
    catalog_app_id: &CatalogAppId,
    consent: Option<&[ResourceSpecificPermission]>,
) -> GraphRequest {
    let mut body = json!({
        "teamsApp@odata.bind": format!("https://{graph_host}/v1.0/appCatalogs/teamsApps/{}", path_segment(catalog_app_id.as_str())),
    });
    if let Some(consent) = consent {
        body["consentedPermissionSet"] = consent_body(consent);
    }
    GraphRequest::new(
        Method::Post,
        format!("{}/teamwork/installedApps", user_path(user)),
    )
    .json(body)
}

/// `POST {user}/teamwork/installedApps/{id}/upgrade`, with the new definition's consent if any.
pub fn upgrade(
    user: &UserRef,
    installation_id: &InstallationId,
    consent: Option<&[ResourceSpecificPermission]>,
) -> GraphRequest {
    let request = GraphRequest::new(
        Method::Post,
        format!(
            "{}/teamwork/installedApps/{}/upgrade",
            user_path(user),
            path_segment(installation_id.as_str())
        ),
    );
    match consent {
        Some(consent) => request.json(json!({ "consentedPermissionSet": consent_body(consent) })),
        None => request,
    }
}

/// `DELETE {user}/teamwork/installedApps/{id}` (no body).
pub fn uninstall(user: &UserRef, installation_id: &InstallationId) -> GraphRequest {
    GraphRequest::new(
        Method::Delete,
        format!(
            "{}/teamwork/installedApps/{}",
            user_path(user),
            path_segment(installation_id.as_str())
        ),
    )
}

/// `GET {user}/teamwork/installedApps?$expand=teamsApp,teamsAppDefinition`, optionally for one app.
pub fn list_installations(user: &UserRef, catalog_app_id: Option<&CatalogAppId>) -> GraphRequest {
    let request = GraphRequest::new(
        Method::Get,
        format!("{}/teamwork/installedApps", user_path(user)),
    )
    .query("$expand", "teamsApp,teamsAppDefinition");
    match catalog_app_id {
        Some(id) => request.query(
            "$filter",
            format!("teamsApp/id eq {}", odata_string(id.as_str())),
        ),
        None => request,
    }
}

/// `GET /appCatalogs/teamsApps?$filter=distributionMethod eq 'organization'&$expand=appDefinitions`.
pub fn organization_catalog() -> GraphRequest {
    GraphRequest::new(Method::Get, "/appCatalogs/teamsApps".into())
        .query("$filter", "distributionMethod eq 'organization'")
        .query("$expand", "appDefinitions")
}

/// One catalog app with its definitions and their bots:
/// `GET /appCatalogs/teamsApps?$filter=id eq '{id}'&$expand=appDefinitions($expand=bot)`.
pub fn catalog_app(app: &CatalogAppId) -> GraphRequest {
    GraphRequest::new(Method::Get, "/appCatalogs/teamsApps".into())
        .query("$filter", format!("id eq {}", odata_string(app.as_str())))
        .query("$expand", "appDefinitions($expand=bot)")
}

/// Users whose name, UPN or mail match `term` (`$search`, which needs `ConsistencyLevel`).
pub fn search_users(term: &str, top: u32) -> GraphRequest {
    let clauses = ["displayName", "userPrincipalName", "mail"]
        .iter()
        .map(|p| search_clause(p, term))
        .collect::<Vec<_>>()
        .join(" OR ");
    GraphRequest::new(Method::Get, "/users".into())
        .query("$search", clauses)
        .query(
            "$select",
            "id,displayName,userPrincipalName,mail,userType,jobTitle",
        )
        .query("$top", top.to_string())
        .query("$count", "true")
        .header("ConsistencyLevel", "eventual")
}

/// `GET /users/{id}` (pre-flight: the install call may not 404 for an unknown user).
pub fn get_user(user: &UserRef) -> GraphRequest {
    GraphRequest::new(Method::Get, user_path(user))
        .query("$select", "id,displayName,userPrincipalName,mail,userType")
}

/// `GET /users/{key}` with what a job's plan shows and `accountEnabled` (a disabled user is
/// flagged, not written to).
pub fn resolve_user(user: &UserRef) -> GraphRequest {
    GraphRequest::new(Method::Get, user_path(user))
        .query("$select", "id,displayName,userPrincipalName,accountEnabled")
}

/// `GET /users?$select=…&$top=999`: everyone, in pages (an audit of the whole tenant).
pub fn all_users() -> GraphRequest {
    GraphRequest::new(Method::Get, "/users".into())
        .query("$select", "id,displayName,userPrincipalName,accountEnabled")
        .query("$top", "999")
}

/// `GET {user}/permissionGrants` (no OData options: filtered client-side).
pub fn permission_grants(user: &UserRef) -> GraphRequest {
    GraphRequest::new(Method::Get, format!("{}/permissionGrants", user_path(user)))
}

/// The next page of a collection: `@odata.nextLink` sent exactly as Graph returned it (never
/// rebuilt: its `$skiptoken` is opaque), provided it points into `graph_base` (a link elsewhere
/// is refused rather than sent a token). Headers such as `ConsistencyLevel` carry over from the
/// first request.
pub fn next_page(first: &GraphRequest, graph_base: &str, next_link: &str) -> Option<GraphRequest> {
    let base = graph_base.trim_end_matches('/');
    let rest = next_link.strip_prefix(base)?;
    if !rest.starts_with('/') || rest.starts_with("//") {
        return None;
    }
    let path = rest.split(['?', '#']).next().unwrap_or(rest);
    let mut request = GraphRequest::new(Method::Get, path.to_string());
    request.headers = first.headers.clone();
    request.exact_url = Some(next_link.to_string());
    Some(request)
}

/// `POST /$batch` with `body` (see `jobs::batch::batch_body`).
pub fn batch(body: Value) -> GraphRequest {
    GraphRequest::new(Method::Post, "/$batch".into()).json(body)
}

/// `GET /servicePrincipals(appId='{app_id}')`: an app's service principal in the tenant.
pub fn service_principal_of(app_id: &str) -> GraphRequest {
    GraphRequest::new(
        Method::Get,
        format!(
            "/servicePrincipals(appId={})",
            path_segment(&odata_string(app_id))
        ),
    )
    .query("$select", "id,appId,displayName")
}

/// `GET /oauth2PermissionGrants?$filter=clientId eq '{sp}'`: tenant-wide delegated grants of a
/// service principal.
pub fn delegated_grants_of(service_principal_id: &str) -> GraphRequest {
    GraphRequest::new(Method::Get, "/oauth2PermissionGrants".into()).query(
        "$filter",
        format!("clientId eq {}", odata_string(service_principal_id)),
    )
}

/// `GET /servicePrincipals/{id}/appRoleAssignments`: the app roles a service principal holds.
pub fn app_role_assignments_of(service_principal_id: &str) -> GraphRequest {
    GraphRequest::new(
        Method::Get,
        format!(
            "/servicePrincipals/{}/appRoleAssignments",
            path_segment(service_principal_id)
        ),
    )
}

/// `GET /teamwork/teamsAppSettings`.
pub fn tenant_settings() -> GraphRequest {
    GraphRequest::new(Method::Get, "/teamwork/teamsAppSettings".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::models::PermissionType;

    const USER: &str = "5b649834-7412-4cce-9e69-176e95a394f5";
    const APP: &str = "12345678-9abc-def0-123456789a";

    fn app() -> CatalogAppId {
        CatalogAppId::new(APP)
    }

    fn user() -> UserRef {
        UserRef::ObjectId(USER.into())
    }

    fn send_user() -> Vec<ResourceSpecificPermission> {
        vec![ResourceSpecificPermission {
            permission_value: "TeamsActivity.Send.User".into(),
            permission_type: PermissionType::Application,
        }]
    }

    #[test]
    fn install_matches_the_seed_pages_form() {
        let plain = install("graph.microsoft.com", &user(), &app(), None);
        assert_eq!(plain.method, Method::Post);
        assert_eq!(
            plain.url("https://graph.microsoft.com/v1.0"),
            format!("https://graph.microsoft.com/v1.0/users/{USER}/teamwork/installedApps")
        );
        assert_eq!(
            plain.body,
            Some(
                json!({"teamsApp@odata.bind": format!("https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{APP}")})
            )
        );
        let consented = install("graph.microsoft.com", &user(), &app(), Some(&send_user()));
        assert_eq!(
            consented.body.unwrap()["consentedPermissionSet"],
            json!({"resourceSpecificPermissions": [{"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"}]})
        );
    }

    #[test]
    fn bind_uses_the_clouds_graph_host() {
        let request = install("dod-graph.microsoft.us", &UserRef::Me, &app(), None);
        assert!(request.body.unwrap()["teamsApp@odata.bind"]
            .as_str()
            .unwrap()
            .starts_with("https://dod-graph.microsoft.us/v1.0/"));
        assert_eq!(request.path, "/me/teamwork/installedApps");
    }

    #[test]
    fn upgrade_and_uninstall() {
        let id = &InstallationId::new("NWI2NDk4MzQtNzQxMi00Y2NlLTllNjktMTc2ZTk1YTM5NGY1IyNhNmI2MzM2NS0zMWE0LTRmNDMtOTJlYy03MTBiNzE1NTdhZjk");
        let bare = upgrade(&user(), id, None);
        assert_eq!(
            bare.path,
            format!("/users/{USER}/teamwork/installedApps/{id}/upgrade")
        );
        assert_eq!(bare.body, None);
        let consented = upgrade(&user(), id, Some(&send_user()));
        assert_eq!(
            consented.body.unwrap()["consentedPermissionSet"]["resourceSpecificPermissions"][0]
                ["permissionType"],
            "application"
        );
        let remove = uninstall(&UserRef::Me, &InstallationId::new("a+b/c="));
        assert_eq!(remove.method, Method::Delete);
        assert_eq!(remove.path, "/me/teamwork/installedApps/a%2Bb%2Fc%3D");
        assert_eq!(remove.body, None);
    }

    #[test]
    fn next_links_are_followed_exactly_and_stay_on_graph() {
        let first = search_users("zoë", 10);
        let base = "https://graph.microsoft.com/v1.0";
        let link =
            format!("{base}/users?$search=%22displayName%3Azo%C3%AB%22&$top=10&$skiptoken=X%2BY+z");
        let next = next_page(&first, base, &link).unwrap();
        assert_eq!(next.path, "/users");
        assert!(next
            .headers
            .contains(&("ConsistencyLevel".into(), "eventual".into())));
        assert_eq!(next.url(base), link);
        assert!(next_page(&first, base, "https://evil.example/v1.0/users").is_none());
        assert!(next_page(&first, base, "https://graph.microsoft.com/v1.0.evil/users").is_none());
        assert!(next_page(
            &first,
            base,
            "https://graph.microsoft.com/v1.0//evil.example/x"
        )
        .is_none());
    }

    #[test]
    fn filters_and_searches_are_escaped() {
        let list = list_installations(
            &UserRef::from_key("o'brien@contoso.com"),
            Some(&CatalogAppId::new("x'y")),
        );
        assert_eq!(
            list.url("https://g/v1.0"),
            "https://g/v1.0/users/o%27brien%40contoso.com/teamwork/installedApps?$expand=teamsApp%2CteamsAppDefinition&$filter=teamsApp%2Fid%20eq%20%27x%27%27y%27"
        );
        let search = search_users("O'Brien \"Zoë\"", 25);
        assert!(search
            .headers
            .contains(&("ConsistencyLevel".into(), "eventual".into())));
        assert_eq!(
            search.query[0].1,
            r#""displayName:O'Brien \"Zoë\"" OR "userPrincipalName:O'Brien \"Zoë\"" OR "mail:O'Brien \"Zoë\"""#
        );
    }
}
