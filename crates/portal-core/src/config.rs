//! The runtime configuration read from `config.json` at start, and its validation.
//! One build serves any tenant: everything tenant-specific is here, and every problem names the
//! field at fault and the form it expects, so the setup page can say exactly what to fix.

use crate::cloud::Cloud;
use crate::web_url::WebUrl;
use serde_json::{Map, Value};

/// Where the refresh token is kept between page loads. Never `localStorage`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenCacheLocation {
    /// `sessionStorage`: survives a reload, dies with the tab (the default).
    Session,
    /// Memory only: a reload means signing in again.
    Memory,
}

impl TokenCacheLocation {
    /// The value written in `config.json`.
    pub fn config_value(self) -> &'static str {
        match self {
            TokenCacheLocation::Session => "session",
            TokenCacheLocation::Memory => "memory",
        }
    }
}

/// The tenant the portal signs in to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tenant {
    /// A directory (tenant) id, lowercase GUID.
    Id(String),
    /// A verified domain such as `contoso.onmicrosoft.com`, lowercase.
    Domain(String),
    /// Any work or school account (multi-tenant sign-in).
    Organizations,
}

impl Tenant {
    /// The path segment used in authority URLs.
    pub fn as_path_segment(&self) -> &str {
        match self {
            Tenant::Id(id) => id,
            Tenant::Domain(domain) => domain,
            Tenant::Organizations => "organizations",
        }
    }
}

/// The validated content of `config.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// Application (client) id of the Entra app registration, lowercase GUID.
    pub client_id: String,
    /// Tenant to sign in to.
    pub tenant: Tenant,
    /// National cloud; decides the authority and Graph hosts.
    pub cloud: Cloud,
    /// Redirect URI registered as a single-page application.
    pub redirect_uri: WebUrl,
    /// Authority origin overriding the cloud's (the dev tenant uses it), without a path.
    pub authority: Option<WebUrl>,
    /// Graph origin overriding the cloud's (the dev tenant uses it), without a path.
    pub graph_base: Option<WebUrl>,
    /// Where the refresh token lives.
    pub token_cache: TokenCacheLocation,
    /// Client capabilities declared at sign-in (`cp1` for continuous access evaluation).
    pub client_capabilities: Vec<String>,
    /// `allowCustomEndpoints`: accept `authority`/`graphBase` overrides outside loopback and the
    /// cloud's own hosts (the portal then shows a warning banner). Off by default: a tampered
    /// config.json must not send tokens elsewhere.
    pub allow_custom_endpoints: bool,
}

/// Every field `config.json` may hold, with the i18n key describing its expected form.
pub const FIELDS: [(&str, &str); 9] = [
    ("clientId", "config.expected.client_id"),
    ("tenant", "config.expected.tenant"),
    ("cloud", "config.expected.cloud"),
    ("redirectUri", "config.expected.redirect_uri"),
    ("authority", "config.expected.authority"),
    ("graphBase", "config.expected.graph_base"),
    ("tokenCache", "config.expected.token_cache"),
    ("clientCapabilities", "config.expected.client_capabilities"),
    (
        "allowCustomEndpoints",
        "config.expected.allow_custom_endpoints",
    ),
];

/// What is wrong with one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// A required field is absent (or null).
    Missing,
    /// The JSON type is wrong (for instance a number where a string is expected).
    WrongType,
    /// The value has the right type but not the expected form.
    Invalid { value: String },
    /// `tenant` is `common` or `consumers`: personal Microsoft accounts have no Teams apps to manage.
    PersonalAccountsTenant { value: String },
    /// A field the portal does not know, with the known field it most resembles.
    Unknown { suggestion: Option<&'static str> },
}

/// One problem in `config.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field as written in `config.json` (unknown fields keep their spelling).
    pub field: String,
    /// What is wrong.
    pub kind: ProblemKind,
    /// i18n key of the expected form (empty for unknown fields with no suggestion).
    pub expected_key: &'static str,
}

/// Why a `config.json` text could not become a [`RuntimeConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Not JSON at all; line and column are 1-based.
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not an object.
    NotAnObject,
    /// An object whose fields have problems (all of them are listed, not just the first).
    Fields(Vec<FieldProblem>),
}

impl RuntimeConfig {
    /// Parses and validates the text of `config.json`.
    ///
    /// ```
    /// let config = portal_core::RuntimeConfig::parse(r#"{
    ///   "clientId": "6731de76-14a6-49ae-97bc-6eba6914391e",
    ///   "tenant": "contoso.onmicrosoft.com",
    ///   "redirectUri": "https://portal.contoso.com/"
    /// }"#).unwrap();
    /// assert_eq!(config.authority_url(), "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0");
    /// ```
    pub fn parse(text: &str) -> Result<RuntimeConfig, ConfigError> {
        let value: Value = serde_json::from_str(text).map_err(|err| ConfigError::Syntax {
            line: err.line(),
            column: err.column(),
            message: err.to_string(),
        })?;
        let Value::Object(object) = value else {
            return Err(ConfigError::NotAnObject);
        };
        let mut problems = Vec::new();
        for key in object.keys() {
            if !FIELDS.iter().any(|(name, _)| name == key) {
                let suggestion = closest_field(key);
                problems.push(FieldProblem {
                    field: key.clone(),
                    kind: ProblemKind::Unknown { suggestion },
                    expected_key: suggestion.map(expected_key).unwrap_or(""),
                });
            }
        }
        let mut reader = FieldReader {
            object: &object,
            problems,
        };
        let client_id = reader.required("clientId", parse_guid);
        let tenant = reader.required("tenant", parse_tenant);
        let cloud = reader.optional("cloud", |v| Cloud::from_config_value(v).ok_or(()));
        let redirect_uri = reader.required("redirectUri", parse_redirect_uri);
        let authority = reader.optional("authority", parse_origin);
        let graph_base = reader.optional("graphBase", parse_origin);
        let token_cache = reader.optional("tokenCache", |v| match v.trim() {
            "session" => Ok(TokenCacheLocation::Session),
            "memory" => Ok(TokenCacheLocation::Memory),
            _ => Err(()),
        });
        let client_capabilities = reader.capabilities();
        let allow_custom_endpoints = match object.get("allowCustomEndpoints") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                reader.problem("allowCustomEndpoints", ProblemKind::WrongType);
                false
            }
        };
        // Overrides stay on loopback or the cloud's own hosts unless explicitly allowed.
        let cloud_for_hosts = cloud.unwrap_or(Cloud::Global);
        if !allow_custom_endpoints {
            for (field, url, own_host) in [
                ("authority", &authority, cloud_for_hosts.authority_host()),
                ("graphBase", &graph_base, cloud_for_hosts.graph_host()),
            ] {
                if let Some(url) = url {
                    if !is_loopback(url) && url.host_str() != Some(own_host) {
                        reader.problem(
                            field,
                            ProblemKind::Invalid {
                                value: origin_string(url),
                            },
                        );
                    }
                }
            }
        }
        for problem in &mut reader.problems {
            if let ProblemKind::Invalid { value } = &problem.kind {
                let lower = value.trim().to_ascii_lowercase();
                if problem.field == "tenant" && (lower == "common" || lower == "consumers") {
                    problem.kind = ProblemKind::PersonalAccountsTenant {
                        value: value.clone(),
                    };
                }
            }
        }
        if !reader.problems.is_empty() {
            return Err(ConfigError::Fields(reader.problems));
        }
        match (client_id, tenant, redirect_uri) {
            (Some(client_id), Some(tenant), Some(redirect_uri)) => Ok(RuntimeConfig {
                client_id,
                tenant,
                cloud: cloud.unwrap_or(Cloud::Global),
                redirect_uri,
                authority,
                graph_base,
                token_cache: token_cache.unwrap_or(TokenCacheLocation::Session),
                client_capabilities: client_capabilities.unwrap_or_default(),
                allow_custom_endpoints,
            }),
            // Unreachable in practice: a missing required field was recorded as a problem.
            _ => Err(ConfigError::Fields(Vec::new())),
        }
    }

    /// Whether an override points outside loopback and the cloud's own hosts (only possible
    /// with `allowCustomEndpoints`; the portal shows a warning banner).
    pub fn uses_custom_endpoints(&self) -> bool {
        let outside = |url: &Option<WebUrl>, own: &str| {
            url.as_ref()
                .is_some_and(|u| !is_loopback(u) && u.host_str() != Some(own))
        };
        outside(&self.authority, self.cloud.authority_host())
            || outside(&self.graph_base, self.cloud.graph_host())
    }

    /// The OpenID issuer base of the configured tenant, e.g.
    /// `https://login.microsoftonline.com/{tenant}/v2.0`.
    pub fn authority_url(&self) -> String {
        format!(
            "{}/{}/v2.0",
            self.authority_origin(),
            self.tenant.as_path_segment()
        )
    }

    /// The authority origin actually used (override or the cloud's).
    pub fn authority_origin(&self) -> String {
        match &self.authority {
            Some(url) => origin_string(url),
            None => format!("https://{}", self.cloud.authority_host()),
        }
    }

    /// The Graph v1.0 endpoint actually used, e.g. `https://graph.microsoft.com/v1.0`.
    pub fn graph_base_url(&self) -> String {
        let origin = match &self.graph_base {
            Some(url) => origin_string(url),
            None => format!("https://{}", self.cloud.graph_host()),
        };
        format!("{origin}/v1.0")
    }
}

fn expected_key(field: &str) -> &'static str {
    FIELDS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, key)| *key)
        .unwrap_or("")
}

struct FieldReader<'a> {
    object: &'a Map<String, Value>,
    problems: Vec<FieldProblem>,
}

impl FieldReader<'_> {
    fn problem(&mut self, field: &str, kind: ProblemKind) {
        self.problems.push(FieldProblem {
            field: field.to_string(),
            kind,
            expected_key: expected_key(field),
        });
    }

    fn string(&mut self, field: &'static str, required: bool) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.problem(field, ProblemKind::Missing);
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                if required {
                    self.problem(field, ProblemKind::Missing);
                }
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.problem(field, ProblemKind::WrongType);
                None
            }
        }
    }

    fn parse_with<T>(
        &mut self,
        field: &'static str,
        required: bool,
        parse: impl Fn(&str) -> Result<T, ()>,
    ) -> Option<T> {
        let raw = self.string(field, required)?;
        match parse(&raw) {
            Ok(value) => Some(value),
            Err(()) => {
                self.problem(field, ProblemKind::Invalid { value: raw });
                None
            }
        }
    }

    fn required<T>(
        &mut self,
        field: &'static str,
        parse: impl Fn(&str) -> Result<T, ()>,
    ) -> Option<T> {
        self.parse_with(field, true, parse)
    }

    fn optional<T>(
        &mut self,
        field: &'static str,
        parse: impl Fn(&str) -> Result<T, ()>,
    ) -> Option<T> {
        self.parse_with(field, false, parse)
    }

    fn capabilities(&mut self) -> Option<Vec<String>> {
        const FIELD: &str = "clientCapabilities";
        match self.object.get(FIELD) {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for item in items {
                    match item.as_str() {
                        Some("cp1") => {
                            if !out.iter().any(|c| c == "cp1") {
                                out.push("cp1".to_string());
                            }
                        }
                        Some(other) => {
                            self.problem(
                                FIELD,
                                ProblemKind::Invalid {
                                    value: other.to_string(),
                                },
                            );
                            return None;
                        }
                        None => {
                            self.problem(FIELD, ProblemKind::WrongType);
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Some(_) => {
                self.problem(FIELD, ProblemKind::WrongType);
                None
            }
        }
    }
}

/// Accepts a GUID in its 8-4-4-4-12 form (braces not allowed), returns it lowercase.
fn parse_guid(value: &str) -> Result<String, ()> {
    let value = value.trim();
    let groups: Vec<&str> = value.split('-').collect();
    let lengths = [8, 4, 4, 4, 12];
    if groups.len() == lengths.len()
        && groups
            .iter()
            .zip(lengths)
            .all(|(group, len)| group.len() == len && group.chars().all(|c| c.is_ascii_hexdigit()))
    {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(())
    }
}

fn parse_tenant(value: &str) -> Result<Tenant, ()> {
    let trimmed = value.trim();
    if trimmed.eq_ignore_ascii_case("organizations") {
        return Ok(Tenant::Organizations);
    }
    if let Ok(id) = parse_guid(trimmed) {
        return Ok(Tenant::Id(id));
    }
    let domain = trimmed.to_ascii_lowercase();
    let labels: Vec<&str> = domain.split('.').collect();
    let valid_label = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if labels.len() >= 2 && labels.iter().all(valid_label) && domain.len() <= 253 {
        Ok(Tenant::Domain(domain))
    } else {
        Err(())
    }
}

fn is_loopback(url: &WebUrl) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

fn parse_redirect_uri(value: &str) -> Result<WebUrl, ()> {
    let url = WebUrl::parse(value.trim()).ok_or(())?;
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if scheme_ok && url.fragment().is_none() && url.host_str().is_some() {
        Ok(url)
    } else {
        Err(())
    }
}

fn parse_origin(value: &str) -> Result<WebUrl, ()> {
    let url = WebUrl::parse(value.trim()).ok_or(())?;
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    let bare = (url.path() == "/" || url.path().is_empty())
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if scheme_ok && bare && url.host_str().is_some() {
        Ok(url)
    } else {
        Err(())
    }
}

fn origin_string(url: &WebUrl) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// The known field closest to an unknown one: same letters ignoring case and separators, or a
/// couple of typing mistakes away.
fn closest_field(unknown: &str) -> Option<&'static str> {
    let normalise = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let wanted = normalise(unknown);
    FIELDS
        .iter()
        .map(|(name, _)| (*name, edit_distance(&wanted, &normalise(name))))
        // Close enough to be a typo: at most two edits, and at most one per four letters.
        .filter(|(name, distance)| *distance <= 2 && distance * 4 <= name.len())
        .min_by_key(|(_, distance)| *distance)
        .map(|(name, _)| name)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &str = "6731DE76-14A6-49AE-97BC-6EBA6914391E";

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "clientId": CLIENT,
            "tenant": "Contoso.onmicrosoft.com",
            "redirectUri": "https://portal.contoso.com/"
        })
    }

    fn problems(value: serde_json::Value) -> Vec<FieldProblem> {
        match RuntimeConfig::parse(&value.to_string()) {
            Err(ConfigError::Fields(problems)) => problems,
            other => panic!("expected field problems, got {other:?}"),
        }
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let config = RuntimeConfig::parse(&minimal().to_string()).unwrap();
        assert_eq!(config.client_id, CLIENT.to_ascii_lowercase());
        assert_eq!(
            config.tenant,
            Tenant::Domain("contoso.onmicrosoft.com".into())
        );
        assert_eq!(config.cloud, Cloud::Global);
        assert_eq!(config.token_cache, TokenCacheLocation::Session);
        assert!(config.client_capabilities.is_empty());
        assert_eq!(
            config.authority_url(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"
        );
        assert_eq!(config.graph_base_url(), "https://graph.microsoft.com/v1.0");
    }

    #[test]
    fn full_config_with_dev_tenant_overrides() {
        let text = r#"{
            "clientId": "6731de76-14a6-49ae-97bc-6eba6914391e",
            "tenant": "organizations",
            "cloud": "usgov-l5",
            "redirectUri": "http://127.0.0.1:8080/",
            "authority": "http://127.0.0.1:41001/",
            "graphBase": "http://127.0.0.1:41002",
            "tokenCache": "memory",
            "clientCapabilities": ["cp1", "cp1"]
        }"#;
        let config = RuntimeConfig::parse(text).unwrap();
        assert_eq!(config.tenant, Tenant::Organizations);
        assert_eq!(config.cloud, Cloud::UsGovL5);
        assert_eq!(
            config.authority_url(),
            "http://127.0.0.1:41001/organizations/v2.0"
        );
        assert_eq!(config.graph_base_url(), "http://127.0.0.1:41002/v1.0");
        assert_eq!(config.token_cache, TokenCacheLocation::Memory);
        assert_eq!(config.client_capabilities, vec!["cp1".to_string()]);
    }

    #[test]
    fn overrides_outside_loopback_and_the_clouds_hosts_need_allow_custom_endpoints() {
        let mut value = minimal();
        value["authority"] = "https://login.evil.example".into();
        value["graphBase"] = "https://graph.microsoft.com".into();
        match RuntimeConfig::parse(&value.to_string()) {
            Err(ConfigError::Fields(problems)) => {
                assert_eq!(problems.len(), 1);
                assert_eq!(problems[0].field, "authority");
            }
            other => panic!("{other:?}"),
        }
        value["allowCustomEndpoints"] = true.into();
        let config = RuntimeConfig::parse(&value.to_string()).unwrap();
        assert!(config.allow_custom_endpoints);
        assert!(config.uses_custom_endpoints());
        // The cloud's own hosts and loopback need nothing.
        let mut value = minimal();
        value["cloud"] = "usgov-l5".into();
        value["graphBase"] = "https://dod-graph.microsoft.us".into();
        value["authority"] = "http://127.0.0.1:4100".into();
        let config = RuntimeConfig::parse(&value.to_string()).unwrap();
        assert!(!config.uses_custom_endpoints());
        let mut value = minimal();
        value["graphBase"] = "https://graph.microsoft.us".into();
        assert!(
            RuntimeConfig::parse(&value.to_string()).is_err(),
            "another cloud's host"
        );
        let mut value = minimal();
        value["allowCustomEndpoints"] = "yes".into();
        assert!(RuntimeConfig::parse(&value.to_string()).is_err());
    }

    #[test]
    fn cloud_without_override_uses_its_hosts() {
        let mut value = minimal();
        value["cloud"] = "china".into();
        let config = RuntimeConfig::parse(&value.to_string()).unwrap();
        assert_eq!(
            config.authority_url(),
            "https://login.chinacloudapi.cn/contoso.onmicrosoft.com/v2.0"
        );
        assert_eq!(
            config.graph_base_url(),
            "https://microsoftgraph.chinacloudapi.cn/v1.0"
        );
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        match RuntimeConfig::parse("{\n  \"clientId\": \"x\",\n  oops\n}") {
            Err(ConfigError::Syntax { line, column, .. }) => {
                assert_eq!(line, 3);
                assert!(column >= 3, "column {column}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            RuntimeConfig::parse(""),
            Err(ConfigError::Syntax { .. })
        ));
        assert_eq!(RuntimeConfig::parse("[1,2]"), Err(ConfigError::NotAnObject));
    }

    #[test]
    fn missing_client_id_is_named() {
        let mut value = minimal();
        value.as_object_mut().unwrap().remove("clientId");
        let problems = problems(value);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "clientId");
        assert_eq!(problems[0].kind, ProblemKind::Missing);
        assert_eq!(problems[0].expected_key, "config.expected.client_id");
    }

    #[test]
    fn empty_string_counts_as_missing_and_wrong_type_is_reported() {
        let mut value = minimal();
        value["clientId"] = "  ".into();
        value["tenant"] = 42.into();
        let problems = problems(value);
        assert_eq!(problems[0].kind, ProblemKind::Missing);
        assert_eq!(problems[1].field, "tenant");
        assert_eq!(problems[1].kind, ProblemKind::WrongType);
    }

    #[test]
    fn every_problem_is_listed_not_only_the_first() {
        let value = serde_json::json!({
            "clientId": "not-a-guid",
            "tenant": "not a domain",
            "cloud": "mars",
            "redirectUri": "http://portal.contoso.com/",
            "tokenCache": "localStorage",
            "clientCapabilities": ["cp2"]
        });
        let fields: Vec<String> = problems(value).into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "clientId",
                "tenant",
                "cloud",
                "redirectUri",
                "tokenCache",
                "clientCapabilities"
            ]
        );
    }

    #[test]
    fn personal_account_tenants_are_invalid() {
        for tenant in ["common", "consumers"] {
            let mut value = minimal();
            value["tenant"] = tenant.into();
            let problems = problems(value);
            assert_eq!(problems[0].field, "tenant");
            assert_eq!(
                problems[0].kind,
                ProblemKind::PersonalAccountsTenant {
                    value: tenant.into()
                }
            );
        }
    }

    #[test]
    fn tenant_forms() {
        assert_eq!(parse_tenant("ORGANIZATIONS"), Ok(Tenant::Organizations));
        assert_eq!(
            parse_tenant("72F988BF-86F1-41AF-91AB-2D7CD011DB47"),
            Ok(Tenant::Id("72f988bf-86f1-41af-91ab-2d7cd011db47".into()))
        );
        assert!(parse_tenant("contoso").is_err());
        assert!(parse_tenant("-contoso.com").is_err());
        assert!(parse_tenant("contoso..com").is_err());
        assert!(parse_tenant("common").is_err());
    }

    #[test]
    fn redirect_uri_rules_follow_entra() {
        assert!(parse_redirect_uri("https://portal.contoso.com/callback").is_ok());
        assert!(parse_redirect_uri("http://localhost:3000/").is_ok());
        assert!(parse_redirect_uri("http://127.0.0.1:8080/").is_ok());
        assert!(parse_redirect_uri("http://portal.contoso.com/").is_err());
        assert!(parse_redirect_uri("https://portal.contoso.com/#x").is_err());
        assert!(parse_redirect_uri("/relative").is_err());
    }

    /// Hosts are ASCII: `url` runs with `idna_adapter` 1.0 (no Unicode tables in the bundle, see
    /// portal-core's Cargo.toml), so a Unicode host is refused and its Punycode form accepted.
    /// Entra's redirect URIs and every cloud's hosts are ASCII.
    #[test]
    fn hosts_are_ascii_or_punycode() {
        assert!(parse_redirect_uri("https://xn--portl-jua.contoso.com/").is_ok());
        assert!(parse_redirect_uri("https://port\u{e4}l.contoso.com/").is_err());
        assert!(parse_redirect_uri("https://PORTAL.contoso.com/").is_ok());
    }

    #[test]
    fn overrides_must_be_bare_origins() {
        assert!(parse_origin("https://login.microsoftonline.com").is_ok());
        assert!(parse_origin("https://login.microsoftonline.com/contoso").is_err());
        assert!(parse_origin("http://example.com").is_err());
        assert!(parse_origin("https://graph.microsoft.com/?x=1").is_err());
    }

    #[test]
    fn unknown_fields_get_a_suggestion() {
        let mut value = minimal();
        value["clientID"] = CLIENT.into();
        value["redirect_uri"] = "x".into();
        value["colour"] = "blue".into();
        let problems = problems(value);
        let find = |field: &str| problems.iter().find(|p| p.field == field).unwrap().clone();
        assert_eq!(
            find("clientID").kind,
            ProblemKind::Unknown {
                suggestion: Some("clientId")
            }
        );
        assert_eq!(
            find("redirect_uri").kind,
            ProblemKind::Unknown {
                suggestion: Some("redirectUri")
            }
        );
        assert_eq!(
            find("colour").kind,
            ProblemKind::Unknown { suggestion: None }
        );
        assert_eq!(find("colour").expected_key, "");
        value_with_typo_suggests("tenat", "tenant");
    }

    fn value_with_typo_suggests(typo: &str, field: &'static str) {
        let mut value = minimal();
        value[typo] = "x".into();
        let problems = problems(value);
        assert_eq!(
            problems[0].kind,
            ProblemKind::Unknown {
                suggestion: Some(field)
            }
        );
    }
}
