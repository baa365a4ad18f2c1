//! The Graph v1.0 subset: requests are dispatched as data (method, path, query, headers, body)
//! so that `$batch` runs each inner request through exactly the same authorisation, throttling
//! and behaviour as a top-level one.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::ctx::{
    lock, AuditRoles, ConsentScopeRule, Ctx, ForeignConsentSet, GrantIds, GrantsByUpn,
};
use crate::graph_error::GraphError;
use crate::identity::GRAPH_RESOURCE;
use crate::odata::{parse_filter, parse_search, search_matches, ExpandItem};
use crate::scope_table::OPERATION_SCOPES;
use crate::seed::{
    canonical_permission_type, is_guid, Rsc, SeedDefinition, SeedTeamsApp, SeedUser,
};
use crate::store::GRAPH_APP_ID;
use crate::store::{
    installation_id, latest_published, AppRoleAssignment, ExtraGrant, Installation, TenantState,
    GRAPH_DISPLAY_NAME,
};
use crate::throttle::Category;

/// One Graph request, already split.
#[derive(Debug, Clone)]
pub struct GraphRequest {
    pub method: Method,
    /// Path after `/v1.0`, raw (percent-encoded), starting with `/`.
    pub path: String,
    /// Raw query string (without `?`).
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// One Graph answer.
#[derive(Debug, Clone)]
pub struct GraphResponse {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl GraphResponse {
    fn json(body: Value) -> Result<GraphResponse, GraphError> {
        Ok(GraphResponse {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Some(body),
        })
    }
    fn empty(status: StatusCode) -> Result<GraphResponse, GraphError> {
        Ok(GraphResponse {
            status,
            headers: Vec::new(),
            body: None,
        })
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: SeedUser,
    pub client_id: String,
    pub scopes: BTreeSet<String>,
}

/// Validates the bearer token (signature, expiry, audience, tenant) and, with continuous access
/// evaluation on, answers a claims challenge for tokens older than a revocation of a `cp1` client.
pub fn authenticate(ctx: &Ctx, headers: &HeaderMap) -> Result<Caller, GraphError> {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .unwrap_or("")
        .trim();
    if token.is_empty() {
        return Err(GraphError::unauthorized("Access token is empty."));
    }
    let claims = ctx.keys.verify(token).map_err(|reason| {
        GraphError::unauthorized(format!("Access token validation failure. {reason}"))
    })?;
    let aud = claims["aud"].as_str().unwrap_or("");
    if aud != GRAPH_RESOURCE && aud != GRAPH_APP_ID {
        return Err(GraphError::unauthorized(
            "Access token validation failure. Invalid audience.",
        ));
    }
    let now = ctx.now();
    if claims["exp"].as_i64().unwrap_or(0) <= now {
        return Err(GraphError::unauthorized(
            "Lifetime validation failed, the token is expired.",
        ));
    }
    let state = ctx.store.read();
    if claims["tid"].as_str() != Some(state.tenant.id.as_str()) {
        return Err(GraphError::unauthorized(
            "Access token validation failure. The token is for another tenant.",
        ));
    }
    let user = state
        .find_user(claims["oid"].as_str().unwrap_or(""))
        .cloned()
        .ok_or_else(|| {
            GraphError::unauthorized("Access token validation failure. The user no longer exists.")
        })?;
    let cae = lock(&ctx.options).cae;
    let cp1 = claims["xms_cc"]
        .as_array()
        .is_some_and(|caps| caps.iter().any(|c| c == "cp1"));
    if let Some(revoked_at) = state.revocations.get(&user.id).copied() {
        if cae && cp1 && claims["iat"].as_i64().unwrap_or(0) < revoked_at {
            let challenge = json!({ "access_token": { "nbf": { "essential": true, "value": revoked_at.to_string() } } });
            let encoded = base64::engine::general_purpose::STANDARD.encode(challenge.to_string());
            let mut error = GraphError::unauthorized("Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp");
            error.www_authenticate = Some(format!(
                "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", client_id=\"{GRAPH_APP_ID}\", error=\"insufficient_claims\", claims=\"{encoded}\"",
                ctx.urls.identity
            ));
            return Err(error);
        }
    }
    let scopes = claims["scp"]
        .as_str()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Ok(Caller {
        user,
        client_id: claims["appid"].as_str().unwrap_or("").to_string(),
        scopes,
    })
}

/// The scopes that allow an operation (from the catalogue table).
fn operation_scopes(method: &str, template: &str) -> &'static [&'static str] {
    OPERATION_SCOPES
        .iter()
        .find(|(m, t, _)| *m == method && *t == template)
        .map(|(_, _, scopes)| *scopes)
        .unwrap_or(&[])
}

fn missing_scope(required: &[&str], caller: &Caller) -> GraphError {
    GraphError::forbidden(format!(
        "Missing scope permissions on the request. API requires one of '{}'. Scopes on the request '{}'",
        required.join(", "),
        caller.scopes.iter().cloned().collect::<Vec<_>>().join(", ")
    ))
}

/// Scopes that only let an app act on itself, or on pre-selected apps: they do not let a portal
/// manage other apps.
fn is_self_or_selected(scope: &str) -> bool {
    scope.contains("Self") || scope.contains("Selected")
}

/// Checks the caller holds a scope that allows the operation; `target_client` is the Entra app
/// id of the Teams app operated on, for the `...Self...` variants.
fn require_scope(
    caller: &Caller,
    method: &str,
    template: &str,
    target_client: Option<&str>,
) -> Result<(), GraphError> {
    let allowed = operation_scopes(method, template);
    let ok = allowed.iter().any(|scope| {
        caller.scopes.contains(*scope)
            && (!is_self_or_selected(scope)
                || (scope.contains("Self")
                    && target_client.is_some_and(|c| c.eq_ignore_ascii_case(&caller.client_id))))
    });
    if ok {
        Ok(())
    } else {
        Err(missing_scope(allowed, caller))
    }
}

fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

fn query_map(query: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Rewrites the OData key form `users('{id or upn}')` to the segments `users`, `{id or upn}`
/// (quotes doubled inside the key are one quote), and refuses `users/$…`: a segment starting
/// with `$` is an OData system segment, so a UPN starting with `$` must use the key form.
fn key_form(mut segments: Vec<String>) -> Result<Vec<String>, GraphError> {
    let Some(first) = segments.first().cloned() else {
        return Ok(segments);
    };
    let lower = first.to_ascii_lowercase();
    if let Some(inner) = lower
        .starts_with("users(")
        .then(|| first["users(".len()..].strip_suffix(')'))
        .flatten()
    {
        let key = inner
            .strip_prefix('\'')
            .and_then(|k| k.strip_suffix('\''))
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                GraphError::bad_request(format!(
                    "Bad Request - Error in query syntax: the key of '{first}' must be a quoted id or userPrincipalName."
                ))
            })?
            .replace("''", "'");
        segments.splice(0..1, ["users".to_string(), key]);
    } else if lower == "users" && segments.get(1).is_some_and(|s| s.starts_with('$')) {
        return Err(GraphError::bad_request(format!(
            "Resource not found for the segment '{}'.",
            segments[1]
        )));
    }
    Ok(segments)
}

/// Dispatches one request (not `$batch`).
pub fn dispatch(ctx: &Ctx, request: &GraphRequest) -> Result<GraphResponse, GraphError> {
    let mut caller = authenticate(ctx, &request.headers)?;
    if request.method == Method::POST || request.method == Method::DELETE {
        let mut faults = lock(&ctx.faults);
        if faults.missing_scope_next > 0 {
            faults.missing_scope_next -= 1;
            caller.scopes.retain(|s| !s.contains("ReadWrite"));
        }
    }
    let raw: Vec<&str> = request
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let segments = key_form(raw.iter().map(|s| decode_segment(s)).collect())?;
    let lower: Vec<String> = segments.iter().map(|s| s.to_ascii_lowercase()).collect();
    let query = query_map(&request.query);
    let method = request.method.as_str();
    let lower_refs: Vec<&str> = lower.iter().map(String::as_str).collect();
    // `/me/...` is `/users/{signed-in user}/...`.
    let (user_ref, rest): (Option<String>, Vec<&str>) = match lower_refs.as_slice() {
        ["me", rest @ ..] => (Some(caller.user.id.clone()), rest.to_vec()),
        ["users", _, rest @ ..] => (Some(segments[1].clone()), rest.to_vec()),
        _ => (None, Vec::new()),
    };
    match (method, lower_refs.as_slice()) {
        ("GET", ["users"]) => list_users(ctx, &caller, request, &query),
        ("GET", ["me"]) | ("GET", ["users", _]) => {
            require_scope(
                &caller,
                "GET",
                if lower_refs[0] == "me" {
                    "/me"
                } else {
                    "/users/{id}"
                },
                None,
            )?;
            let state = ctx.store.read();
            let id = user_ref.unwrap_or_default();
            let user = state
                .find_user(&id)
                .ok_or_else(|| GraphError::user_not_found(&id))?;
            let select = parse_select(&query)?;
            let basic = !full_profile(&caller, &user.id);
            let mut body = user_json(user, select.as_deref(), basic)?;
            body["@odata.context"] =
                json!(format!("{}/v1.0/$metadata#users/$entity", ctx.urls.graph));
            GraphResponse::json(body)
        }
        ("GET", ["appcatalogs", "teamsapps"]) => list_catalog(ctx, &caller, request, &query, None),
        ("GET", ["appcatalogs", "teamsapps", _]) => {
            list_catalog(ctx, &caller, request, &query, Some(&segments[2]))
        }
        ("GET", ["teamwork", "teamsappsettings"]) => {
            require_scope(&caller, "GET", "/teamwork/teamsappsettings", None)?;
            throttle(ctx, &caller, Category::OtherTeams)?;
            let enabled = ctx.store.read().tenant.personal_scope_rsc_enabled;
            GraphResponse::json(json!({
                "@odata.context": format!("{}/v1.0/$metadata#teamwork/teamsAppSettings/$entity", ctx.urls.graph),
                "id": "teamsAppSettings",
                "allowUserRequestsForAppAccess": true,
                "isUserPersonalScopeResourceSpecificConsentEnabled": enabled,
            }))
        }
        ("GET", ["oauth2permissiongrants"]) => oauth2_permission_grants(ctx, &caller, &query),
        ("GET", [sp]) if sp.starts_with("serviceprincipals(appid=") => {
            require_scope(&caller, "GET", "/serviceprincipals(appid={value})", None)?;
            let app_id = segments[0]
                .split_once('=')
                .map(|(_, v)| v.trim_end_matches(')').trim_matches('\'').to_string())
                .unwrap_or_default();
            service_principal(ctx, &app_id, false).map(|sp| GraphResponse {
                status: StatusCode::OK,
                headers: Vec::new(),
                body: Some(sp),
            })
        }
        ("GET", ["serviceprincipals", _]) => {
            require_scope(&caller, "GET", "/serviceprincipals/{id}", None)?;
            service_principal(ctx, &segments[1], true).map(|sp| GraphResponse {
                status: StatusCode::OK,
                headers: Vec::new(),
                body: Some(sp),
            })
        }
        ("GET", ["serviceprincipals", _, "approleassignments"]) => {
            require_scope(
                &caller,
                "GET",
                "/serviceprincipals/{id}/approleassignments",
                None,
            )?;
            require_tenant_grant_reader(ctx, &caller)?;
            let principal = service_principal(ctx, &segments[1], true)?;
            let principal_id = principal["id"].as_str().unwrap_or_default();
            let value: Vec<Value> = ctx
                .store
                .read()
                .app_role_assignments
                .iter()
                .filter(|a| a.principal_id.eq_ignore_ascii_case(principal_id))
                .map(app_role_assignment_json)
                .collect();
            GraphResponse::json(json!({
                "@odata.context": format!("{}/v1.0/$metadata#servicePrincipals('{}')/appRoleAssignments", ctx.urls.graph, segments[1]),
                "value": value
            }))
        }
        _ if user_ref.is_some() => user_scoped(
            ctx,
            &caller,
            request,
            user_ref.unwrap_or_default(),
            &rest,
            &segments,
            &query,
        ),
        _ => Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "Resource not found for the segment '{}'.",
                segments.first().cloned().unwrap_or_default()
            ),
        )),
    }
}

fn throttle(ctx: &Ctx, caller: &Caller, category: Category) -> Result<(), GraphError> {
    let tenant = ctx.store.read().tenant.id.clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    lock(&ctx.throttle)
        .take(&tenant, &caller.client_id, category, now)
        .map_err(GraphError::throttled)
}

// ---------------------------------------------------------------- users

const DEFAULT_USER_PROPERTIES: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];
/// Properties only `$select` returns.
const SELECTABLE_USER_PROPERTIES: [&str; 2] = ["userType", "accountEnabled"];

/// Every user property the dev tenant knows.
fn user_properties() -> impl Iterator<Item = &'static str> {
    DEFAULT_USER_PROPERTIES
        .into_iter()
        .chain(SELECTABLE_USER_PROPERTIES)
}

fn parse_select(query: &BTreeMap<String, String>) -> Result<Option<Vec<String>>, GraphError> {
    let Some(select) = query.get("$select") else {
        return Ok(None);
    };
    let properties: Vec<String> = select
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    for p in &properties {
        if !user_properties().any(|known| known.eq_ignore_ascii_case(p)) {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                format!("Could not find a property named '{p}' on type 'Microsoft.DirectoryServices.User'."),
            ));
        }
    }
    Ok(Some(properties))
}

fn user_property(user: &SeedUser, property: &str) -> Value {
    match property.to_ascii_lowercase().as_str() {
        "businessphones" => json!([]),
        "displayname" => json!(user.display_name),
        "givenname" => json!(user.given_name),
        "jobtitle" => json!(user.job_title),
        "mail" => json!(user.mail),
        "mobilephone" => Value::Null,
        "officelocation" => json!(user.office_location),
        "preferredlanguage" => json!(user.preferred_language),
        "surname" => json!(user.surname),
        "userprincipalname" => json!(user.user_principal_name),
        "id" => json!(user.id),
        "usertype" => json!(user.user_type),
        "accountenabled" => json!(user.account_enabled),
        _ => Value::Null,
    }
}

/// The basic profile: all `User.ReadBasic.All` reveals of another user.
const BASIC_USER_PROPERTIES: [&str; 6] = [
    "id",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "userPrincipalName",
];

/// Whether the caller may read `target_id`'s full profile: a `.All` user or directory read
/// scope, or `User.Read`/`User.ReadWrite` on themselves. With `User.ReadBasic.All` alone Graph
/// answers the basic profile and every other property as null, `$select` or not.
fn full_profile(caller: &Caller, target_id: &str) -> bool {
    let has = |scope: &str| caller.scopes.contains(scope);
    ["User.Read.All", "User.ReadWrite.All", "Directory.Read.All"]
        .iter()
        .any(|s| has(s))
        || (target_id.eq_ignore_ascii_case(&caller.user.id)
            && (has("User.Read") || has("User.ReadWrite")))
}

fn user_json(user: &SeedUser, select: Option<&[String]>, basic: bool) -> Result<Value, GraphError> {
    let value = |property: &str| {
        if basic && !BASIC_USER_PROPERTIES.contains(&property) {
            // A collection stays a collection: empty.
            if property == "businessPhones" {
                json!([])
            } else {
                Value::Null
            }
        } else {
            user_property(user, property)
        }
    };
    let mut object = Map::new();
    match select {
        Some(properties) => {
            for p in properties {
                let canonical = user_properties()
                    .find(|k| k.eq_ignore_ascii_case(p))
                    .unwrap_or("id");
                object.insert(canonical.to_string(), value(canonical));
            }
        }
        None => {
            for p in DEFAULT_USER_PROPERTIES {
                object.insert(p.to_string(), value(p));
            }
        }
    }
    Ok(Value::Object(object))
}

fn user_text(user: &SeedUser, property: &str) -> Option<String> {
    match user_property(user, property) {
        Value::String(s) => Some(s),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn eventual(request: &GraphRequest) -> bool {
    request
        .headers
        .get("consistencylevel")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
}

fn list_users(
    ctx: &Ctx,
    caller: &Caller,
    request: &GraphRequest,
    query: &BTreeMap<String, String>,
) -> Result<GraphResponse, GraphError> {
    require_scope(caller, "GET", "/users", None)?;
    let select = parse_select(query)?;
    let filter = match query.get("$filter") {
        Some(text) => Some(parse_filter(text).map_err(|e| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                format!("Invalid filter clause: {e}"),
            )
        })?),
        None => None,
    };
    let search = match query.get("$search") {
        Some(text) => {
            if !eventual(request) {
                return Err(GraphError::new(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'",
                ));
            }
            Some(parse_search(text).map_err(|e| {
                GraphError::new(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    format!("Syntax error in $search: {e}"),
                )
            })?)
        }
        None => None,
    };
    let count = query.get("$count").is_some_and(|v| v == "true");
    if count && !eventual(request) {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "$count is not currently supported without the header 'ConsistencyLevel: eventual'.",
        ));
    }
    let top: usize = match query.get("$top") {
        Some(t) => t
            .parse()
            .ok()
            .filter(|n| (1..=999).contains(n))
            .ok_or_else(|| {
                GraphError::new(
                    StatusCode::BAD_REQUEST,
                    "Request_BadRequest",
                    "Invalid page size specified: '$top' must be between 1 and 999.",
                )
            })?,
        None => 100,
    };
    let skip: usize = match query.get("$skiptoken") {
        Some(token) => decode_skiptoken(request, token)
            .ok_or_else(|| GraphError::new(StatusCode::BAD_REQUEST, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request."))?,
        None => 0,
    };
    // In a list only the directory-wide scopes reveal more than the basic profile.
    let basic = !full_profile(caller, "");
    let state = ctx.store.read();
    let mut matching: Vec<&SeedUser> = state
        .users
        .iter()
        .filter(|u| {
            filter
                .as_ref()
                .is_none_or(|f| f.matches(&|p| user_text(u, p)))
        })
        .filter(|u| {
            search.as_ref().is_none_or(|(clauses, any)| {
                let hit = |c: &crate::odata::SearchClause| {
                    user_text(u, &c.property).is_some_and(|t| search_matches(&t, &c.value))
                };
                if *any {
                    clauses.iter().any(hit)
                } else {
                    clauses.iter().all(hit)
                }
            })
        })
        .collect();
    if query
        .get("$orderby")
        .is_some_and(|o| o.trim().eq_ignore_ascii_case("displayName"))
    {
        matching.sort_by_key(|u| u.display_name.to_lowercase());
    }
    let total = matching.len();
    let page: Vec<Value> = matching
        .iter()
        .skip(skip)
        .take(top)
        .map(|u| user_json(u, select.as_deref(), basic))
        .collect::<Result<_, _>>()?;
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#users", ctx.urls.graph),
        "value": page,
    });
    if count {
        body["@odata.count"] = json!(total);
    }
    if skip + top < total {
        body["@odata.nextLink"] = json!(next_link(ctx, request, skip + top));
    }
    GraphResponse::json(body)
}

/// What a page token is bound to: the path and every query option but `$skiptoken`, decoded
/// (so a link followed exactly matches, and one rebuilt with another filter or expansion does not).
fn page_fingerprint(request: &GraphRequest) -> String {
    let mut hasher = Sha256::new();
    hasher.update(request.path.to_ascii_lowercase().as_bytes());
    for (k, v) in form_urlencoded::parse(request.query.as_bytes()) {
        if k != "$skiptoken" {
            hasher.update(b"&");
            hasher.update(k.as_bytes());
            hasher.update(b"=");
            hasher.update(v.as_bytes());
        }
    }
    hasher.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An opaque page token: the offset of the next page, bound to the request it continues.
fn encode_skiptoken(request: &GraphRequest, offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "devtenant-page:{offset}:{}",
        page_fingerprint(request)
    ))
}

/// The offset a page token stands for, if it was issued for this request.
fn decode_skiptoken(request: &GraphRequest, token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (offset, fingerprint) = text.strip_prefix("devtenant-page:")?.split_once(':')?;
    (fingerprint == page_fingerprint(request))
        .then(|| offset.parse().ok())
        .flatten()
}

/// The absolute link to the page at `offset`: this request's path and query options as sent
/// (raw, in their order), with `$skiptoken` replaced, on the Graph origin.
fn next_link(ctx: &Ctx, request: &GraphRequest, offset: usize) -> String {
    let token = format!("$skiptoken={}", encode_skiptoken(request, offset));
    let mut pairs: Vec<&str> = request
        .query
        .split('&')
        .filter(|pair| {
            !pair.is_empty()
                && !form_urlencoded::parse(pair.as_bytes()).any(|(k, _)| k == "$skiptoken")
        })
        .collect();
    pairs.push(&token);
    format!(
        "{}/v1.0{}?{}",
        ctx.urls.graph,
        request.path,
        pairs.join("&")
    )
}

/// One server-sized page of `items` (the `$skiptoken` of the request says where it starts) and
/// the collection body around it, with `@odata.nextLink` when more follow.
fn paged(
    ctx: &Ctx,
    request: &GraphRequest,
    query: &BTreeMap<String, String>,
    context: String,
    items: Vec<Value>,
) -> Result<GraphResponse, GraphError> {
    let size = lock(&ctx.options).page_size;
    let skip = match query.get("$skiptoken") {
        Some(token) => decode_skiptoken(request, token).ok_or_else(|| {
            GraphError::bad_request(
                "The $skiptoken is not valid for this request: follow @odata.nextLink exactly as returned.",
            )
        })?,
        None => 0,
    };
    let total = items.len();
    let take = if size == 0 { total } else { size };
    let page: Vec<Value> = items.into_iter().skip(skip).take(take).collect();
    let mut body = json!({ "@odata.context": context, "value": page });
    if skip + take < total {
        body["@odata.nextLink"] = json!(next_link(ctx, request, skip + take));
    }
    GraphResponse::json(body)
}

// ---------------------------------------------------------------- catalog

fn rsc_json(list: &[Rsc]) -> Value {
    json!(list
        .iter()
        .map(
            |r| json!({"permissionValue": r.permission_value, "permissionType": r.permission_type})
        )
        .collect::<Vec<_>>())
}

/// A definition as Graph answers it; with `bot` (`appDefinitions($expand=bot)`), its
/// `teamworkBot` (`{"id": bot id}`) or `null` when it has none.
fn definition_json(app: &SeedTeamsApp, definition: &SeedDefinition, bot: bool) -> Value {
    let mut value = json!({
        "id": definition.id,
        "teamsAppId": app.id,
        "displayName": definition.display_name,
        "version": definition.version,
        "publishingState": definition.publishing_state,
        "shortDescription": definition.short_description,
        "description": definition.description,
        "lastModifiedDateTime": definition.last_modified_date_time,
        "createdBy": null,
        "authorization": {
            "clientAppId": definition.client_app_id,
            "requiredPermissionSet": { "resourceSpecificPermissions": rsc_json(&definition.resource_specific_permissions) }
        }
    });
    if bot {
        value["bot"] = match &definition.bot_id {
            Some(id) => json!({ "id": id }),
            None => Value::Null,
        };
    }
    value
}

fn app_json(app: &SeedTeamsApp, expand: &CatalogExpand) -> Value {
    let mut value = json!({
        "id": app.id,
        "externalId": app.external_id,
        "displayName": app.display_name,
        "distributionMethod": app.distribution_method,
    });
    if expand.definitions {
        value["appDefinitions"] = json!(app
            .definitions
            .iter()
            .map(|d| definition_json(app, d, expand.bot))
            .collect::<Vec<_>>());
    }
    value
}

/// What a catalog request expands: `appDefinitions`, and in each definition its `bot`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct CatalogExpand {
    definitions: bool,
    bot: bool,
}

impl CatalogExpand {
    /// The select list of the answer's `@odata.context` (`(appDefinitions(bot()))`, as Graph
    /// writes it for the nested expansion; nothing otherwise, as before).
    fn context_suffix(&self) -> &'static str {
        if self.bot {
            "(appDefinitions(bot()))"
        } else {
            ""
        }
    }
}

/// The navigation properties `$expand` may name on the types of the catalog, with their types.
fn navigation_properties(entity_type: &str) -> &'static [(&'static str, &'static str)] {
    match entity_type {
        "microsoft.graph.teamsApp" => &[("appDefinitions", "microsoft.graph.teamsAppDefinition")],
        "microsoft.graph.teamsAppDefinition" => &[("bot", "microsoft.graph.teamworkBot")],
        _ => &[],
    }
}

/// Resolves expansion items against `entity_type`, recording each path expanded
/// (`appDefinitions`, `appDefinitions/bot`); a property the type does not have, at any depth, is
/// Graph's 400.
fn resolve_expand(
    items: &[ExpandItem],
    entity_type: &str,
    prefix: &str,
    paths: &mut BTreeSet<String>,
) -> Result<(), GraphError> {
    for item in items {
        let Some((name, target)) = navigation_properties(entity_type)
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&item.property))
        else {
            return Err(GraphError::bad_request(format!(
                "Parsing OData Select and Expand failed: Could not find a property named '{}' on type '{entity_type}'.",
                item.property
            )));
        };
        let path = format!("{prefix}{name}");
        resolve_expand(&item.expand, target, &format!("{path}/"), paths)?;
        paths.insert(path);
    }
    Ok(())
}

/// The catalog's `$expand`: `appDefinitions`, optionally with `($expand=bot)`; other options in
/// the parentheses (`$select`, …) are accepted and not applied.
fn parse_catalog_expand(query: &BTreeMap<String, String>) -> Result<CatalogExpand, GraphError> {
    let Some(text) = query.get("$expand") else {
        return Ok(CatalogExpand::default());
    };
    let items = crate::odata::parse_expand(text).map_err(|e| {
        GraphError::bad_request(format!("Parsing OData Select and Expand failed: {e}"))
    })?;
    let mut paths = BTreeSet::new();
    resolve_expand(&items, "microsoft.graph.teamsApp", "", &mut paths)?;
    Ok(CatalogExpand {
        definitions: paths.contains("appDefinitions"),
        bot: paths.contains("appDefinitions/bot"),
    })
}

/// The installed apps' `$expand` (`teamsApp`, `teamsAppDefinition`): top-level names only;
/// options in parentheses are not looked at (nested expansion there is not modelled).
fn parse_expand(
    query: &BTreeMap<String, String>,
    allowed: &[&str],
) -> Result<BTreeSet<String>, GraphError> {
    let mut set = BTreeSet::new();
    if let Some(expand) = query.get("$expand") {
        for item in expand.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let name = item.split('(').next().unwrap_or(item);
            match allowed.iter().find(|a| a.eq_ignore_ascii_case(name)) {
                Some(canonical) => {
                    set.insert(canonical.to_string());
                }
                None => {
                    return Err(GraphError::bad_request(format!(
                        "Parsing OData Select and Expand failed: Could not find a property named '{name}' on type 'microsoft.graph.teamsApp'."
                    )))
                }
            }
        }
    }
    Ok(set)
}

fn list_catalog(
    ctx: &Ctx,
    caller: &Caller,
    request: &GraphRequest,
    query: &BTreeMap<String, String>,
    id: Option<&str>,
) -> Result<GraphResponse, GraphError> {
    require_scope(caller, "GET", "/appcatalogs/teamsapps", None)?;
    throttle(ctx, caller, Category::GetAppCatalogs)?;
    let expand = parse_catalog_expand(query)?;
    let filter = match query.get("$filter") {
        Some(text) => Some(
            parse_filter(text)
                .map_err(|e| GraphError::bad_request(format!("Invalid filter clause: {e}")))?,
        ),
        None => None,
    };
    let state = ctx.store.read();
    if let Some(id) = id {
        let app = state.find_app(id).ok_or_else(|| {
            GraphError::not_found(format!(
                "The Teams app with id '{id}' was not found in the app catalog."
            ))
        })?;
        let mut body = app_json(app, &expand);
        body["@odata.context"] = json!(format!(
            "{}/v1.0/$metadata#appCatalogs/teamsApps{}/$entity",
            ctx.urls.graph,
            expand.context_suffix()
        ));
        return GraphResponse::json(body);
    }
    let value: Vec<Value> = state
        .teams_apps
        .iter()
        .filter(|app| {
            filter.as_ref().is_none_or(|f| {
                f.matches(&|p| match p.to_ascii_lowercase().as_str() {
                    "id" => Some(app.id.clone()),
                    "externalid" => Some(app.external_id.clone()),
                    "displayname" => Some(app.display_name.clone()),
                    "distributionmethod" => Some(app.distribution_method.clone()),
                    _ => None,
                })
            })
        })
        .map(|app| app_json(app, &expand))
        .collect();
    drop(state);
    paged(
        ctx,
        request,
        query,
        format!(
            "{}/v1.0/$metadata#appCatalogs/teamsApps{}",
            ctx.urls.graph,
            expand.context_suffix()
        ),
        value,
    )
}

// ---------------------------------------------------------------- personal apps

/// An installation as Graph answers it. `foreign`: what `consentedPermissionSet` reads as on an
/// installation made outside the portal (`--consent-set-on-foreign-installs`).
fn installation_json(
    state: &TenantState,
    installation: &Installation,
    expand: &BTreeSet<String>,
    foreign: ForeignConsentSet,
) -> Value {
    let unrecorded = foreign == ForeignConsentSet::Null
        && state.foreign_installations.contains(&installation.id);
    let consented = installation
        .consented
        .as_ref()
        .filter(|_| !unrecorded)
        .map(|c| json!({"resourceSpecificPermissions": rsc_json(c)}));
    let mut value = json!({
        "@odata.type": "#microsoft.graph.userScopeTeamsAppInstallation",
        "id": installation.id,
        "consentedPermissionSet": consented,
    });
    if let Some((app, definition)) = state.find_definition(&installation.definition_id) {
        if expand.contains("teamsApp") {
            value["teamsApp"] = app_json(app, &CatalogExpand::default());
        }
        if expand.contains("teamsAppDefinition") {
            value["teamsAppDefinition"] = definition_json(app, definition, false);
        }
    }
    value
}

#[allow(clippy::too_many_arguments)]
fn user_scoped(
    ctx: &Ctx,
    caller: &Caller,
    request: &GraphRequest,
    user_ref: String,
    rest: &[&str],
    segments: &[String],
    query: &BTreeMap<String, String>,
) -> Result<GraphResponse, GraphError> {
    let method = request.method.as_str();
    let template = match (method, rest) {
        ("GET", ["teamwork", "installedapps"]) | ("POST", ["teamwork", "installedapps"]) => {
            "/users/{id}/teamwork/installedapps"
        }
        ("GET", ["teamwork", "installedapps", _])
        | ("DELETE", ["teamwork", "installedapps", _]) => "/users/{id}/teamwork/installedapps/{id}",
        ("POST", ["teamwork", "installedapps", _, "upgrade"]) => {
            "/users/{id}/teamwork/installedapps/{id}/upgrade"
        }
        ("GET", ["teamwork", "installedapps", _, "chat"]) => {
            "/users/{id}/teamwork/installedapps/{id}/chat"
        }
        ("GET", ["permissiongrants"]) => "/users/{id}/permissiongrants",
        _ => {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!(
                    "Resource not found for the segment '{}'.",
                    rest.first().copied().unwrap_or("")
                ),
            ))
        }
    };
    // `/users/{user-id}/permissionGrants` is documented with the object id alone: a UPN is
    // refused as a malformed object id (unless `--grants-by-upn accept`). `/me` is the caller.
    if template == "/users/{id}/permissiongrants"
        && !is_guid(&user_ref)
        && lock(&ctx.options).grants_by_upn == GrantsByUpn::Refuse
    {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            format!("Invalid object identifier '{user_ref}'."),
        ));
    }
    // The installation id is the segment after installedApps, in its original spelling.
    let installation_ref = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("installedApps"))
        .and_then(|i| segments.get(i + 1))
        .cloned();
    let target = ctx
        .store
        .read()
        .find_user(&user_ref)
        .cloned()
        .ok_or_else(|| GraphError::user_not_found(&user_ref))?;
    // Read-only scope check first (it does not depend on the app), app-dependent ones below.
    let app_of_installation = installation_ref.as_ref().and_then(|iid| {
        let state = ctx.store.read();
        state
            .installations
            .iter()
            .find(|i| &i.id == iid && i.user_id == target.id)
            .and_then(|i| {
                state
                    .find_definition(&i.definition_id)
                    .and_then(|(_, d)| d.client_app_id.clone())
            })
    });
    require_scope(caller, method, template, app_of_installation.as_deref()).or_else(|e| {
        if method == "POST" && template == "/users/{id}/teamwork/installedapps" {
            // Install: the Self variants depend on the app in the body; checked in install().
            let allowed = operation_scopes(method, template);
            if allowed.iter().any(|s| caller.scopes.contains(*s)) {
                return Ok(());
            }
        }
        Err(e)
    })?;
    if target.id != caller.user.id && lock(&ctx.options).self_only {
        return Err(GraphError::forbidden(
            "Caller is not authorized to access another user's personal scope: delegated permissions (TeamsAppInstallation.*ForUser, ResourceSpecificPermissionGrant.ReadForUser) let the signed-in user act only on their own installed apps and grants.",
        ));
    }
    if target.id != caller.user.id && !caller.user.is_admin() {
        return Err(GraphError::forbidden(
            "Caller is not authorized to act on another user's personal scope: only the user, a Teams Administrator or a Global Administrator can.",
        ));
    }
    let foreign = lock(&ctx.options).consent_set_on_foreign_installs;
    match (method, template) {
        ("GET", "/users/{id}/teamwork/installedapps") => {
            throttle(ctx, caller, Category::GetInstalledApps)?;
            let expand = parse_expand(query, &["teamsApp", "teamsAppDefinition"])?;
            let filter =
                match query.get("$filter") {
                    Some(text) => Some(parse_filter(text).map_err(|e| {
                        GraphError::bad_request(format!("Invalid filter clause: {e}"))
                    })?),
                    None => None,
                };
            let state = ctx.store.read();
            let visible = visible_installations(ctx, &state, &target.id);
            let value: Vec<Value> = visible
                .iter()
                .filter(|i| {
                    filter.as_ref().is_none_or(|f| {
                        let app = state.find_app(&i.app_id);
                        f.matches(&|p| match p.to_ascii_lowercase().as_str() {
                            "teamsapp/id" => app.map(|a| a.id.clone()),
                            "teamsapp/externalid" => app.map(|a| a.external_id.clone()),
                            "teamsapp/displayname" => app.map(|a| a.display_name.clone()),
                            "id" => Some(i.id.clone()),
                            _ => None,
                        })
                    })
                })
                .map(|i| installation_json(&state, i, &expand, foreign))
                .collect();
            drop(state);
            paged(
                ctx,
                request,
                query,
                format!(
                    "{}/v1.0/$metadata#users('{}')/teamwork/installedApps",
                    ctx.urls.graph, target.id
                ),
                value,
            )
        }
        ("GET", "/users/{id}/teamwork/installedapps/{id}") => {
            throttle(ctx, caller, Category::GetInstalledApps)?;
            let expand = parse_expand(query, &["teamsApp", "teamsAppDefinition"])?;
            let state = ctx.store.read();
            let iid = installation_ref.unwrap_or_default();
            let visible = visible_installations(ctx, &state, &target.id);
            let installation = visible.iter().find(|i| i.id == iid).ok_or_else(|| {
                GraphError::not_found(format!(
                    "The installation '{iid}' was not found for this user."
                ))
            })?;
            let mut body = installation_json(&state, installation, &expand, foreign);
            body["@odata.context"] = json!(format!(
                "{}/v1.0/$metadata#users('{}')/teamwork/installedApps/$entity",
                ctx.urls.graph, target.id
            ));
            GraphResponse::json(body)
        }
        ("GET", "/users/{id}/teamwork/installedapps/{id}/chat") => {
            throttle(ctx, caller, Category::GetInstalledApps)?;
            let state = ctx.store.read();
            let iid = installation_ref.unwrap_or_default();
            let visible = visible_installations(ctx, &state, &target.id);
            let installation = visible.iter().find(|i| i.id == iid).ok_or_else(|| {
                GraphError::not_found(format!(
                    "The installation '{iid}' was not found for this user."
                ))
            })?;
            GraphResponse::json(json!({
                "@odata.context": format!("{}/v1.0/$metadata#chats/$entity", ctx.urls.graph),
                "id": format!("19:{}_{}@unq.gbl.spaces", target.id, installation.app_id),
                "topic": null,
                "createdDateTime": "2026-01-01T00:00:00Z",
                "lastUpdatedDateTime": "2026-01-01T00:00:00Z",
                "chatType": "oneOnOne",
                "webUrl": format!("https://teams.microsoft.com/l/chat/19%3A{}_{}%40unq.gbl.spaces/0", target.id, installation.app_id),
                "tenantId": state.tenant.id,
            }))
        }
        ("POST", "/users/{id}/teamwork/installedapps") => {
            install(ctx, caller, &target, &request.body)
        }
        ("POST", "/users/{id}/teamwork/installedapps/{id}/upgrade") => upgrade(
            ctx,
            caller,
            &target,
            &installation_ref.unwrap_or_default(),
            &request.body,
        ),
        ("DELETE", "/users/{id}/teamwork/installedapps/{id}") => {
            throttle(ctx, caller, Category::DeleteInstalledApps)?;
            let iid = installation_ref.unwrap_or_default();
            let target_id = target.id.clone();
            let lag = write_lag(ctx);
            let removed = ctx
                .store
                .write(|state| {
                    let position = state
                        .installations
                        .iter()
                        .position(|i| i.id == iid && i.user_id == target_id)?;
                    let before = state.installations.remove(position);
                    state.foreign_installations.remove(&before.id);
                    // Extra grants (declared in the seed) of the app go with it.
                    let (removed, kept) = std::mem::take(&mut state.extra_grants)
                        .into_iter()
                        .partition(|g| g.user_id == target_id && g.app_id == before.app_id);
                    state.extra_grants = kept;
                    let mut visibility = lock(&ctx.visibility);
                    visibility.record(&target_id, &iid, Some(before), lag, Instant::now());
                    visibility.record_removed_grants(&target_id, &iid, removed);
                    Some(())
                })
                .map(|r| r.is_some())
                .map_err(|e| {
                    GraphError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", e)
                })?;
            if !removed {
                return Err(GraphError::not_found(format!(
                    "The installation '{iid}' was not found for this user."
                )));
            }
            GraphResponse::empty(StatusCode::NO_CONTENT)
        }
        ("GET", "/users/{id}/permissiongrants") => {
            throttle(ctx, caller, Category::OtherTeams)?;
            if let Some(option) = query.keys().find(|k| k.starts_with('$')) {
                return Err(GraphError::bad_request(format!(
                    "Query option '{option}' is not allowed on permissionGrants."
                )));
            }
            let state = ctx.store.read();
            let visible = visible_installations(ctx, &state, &target.id);
            let extra = lock(&ctx.visibility).visible_grants(
                &target.id,
                &state.extra_grants,
                Instant::now(),
            );
            let ids = lock(&ctx.options).grant_ids;
            let value = grants_of(&state, &visible, &extra, ids);
            GraphResponse::json(json!({
                "@odata.context": format!("{}/v1.0/$metadata#users('{}')/permissionGrants", ctx.urls.graph, target.id),
                "value": value,
            }))
        }
        _ => Err(GraphError::bad_request("Unsupported operation.")),
    }
}

/// RSC grants of a user's installations: one per permission of each installation's consented
/// set (an installation that consented to nothing has no grant), then the user's `extra` grants
/// (declared in the seed) as written; an extra grant with the same Entra app, permission and type
/// (without regard to case) as an installation's stands in for it. With [`GrantIds::Named`],
/// `clientAppId` is the Entra application id and `clientId` the object id of its service
/// principal in this tenant; [`GrantIds::Documented`] swaps the two.
pub fn grants_of(
    state: &TenantState,
    installations: &[Installation],
    extra: &[ExtraGrant],
    ids: GrantIds,
) -> Vec<Value> {
    let client_ids = |client_app_id: &str| {
        let service_principal = state.service_principal_of(client_app_id);
        match ids {
            GrantIds::Named => (service_principal, client_app_id.to_string()),
            GrantIds::Documented => (client_app_id.to_string(), service_principal),
        }
    };
    let grant = |id: String, client_app_id: &str, permission: &str, kind: &str| {
        let (client_id, client_app_id) = client_ids(client_app_id);
        json!({
            "id": id,
            "deletedDateTime": null,
            "clientId": client_id,
            "clientAppId": client_app_id,
            "resourceAppId": GRAPH_APP_ID,
            "permissionType": kind,
            "permission": permission,
        })
    };
    let mut grants = Vec::new();
    for installation in installations {
        let Some((_, definition)) = state.find_definition(&installation.definition_id) else {
            continue;
        };
        let Some(client_app_id) = definition.client_app_id.as_deref() else {
            continue;
        };
        for rsc in installation.consented.iter().flatten() {
            let shadowed = extra.iter().any(|g| {
                g.client_app_id.eq_ignore_ascii_case(client_app_id)
                    && g.permission.eq_ignore_ascii_case(&rsc.permission_value)
                    && g.permission_type.eq_ignore_ascii_case(&rsc.permission_type)
            });
            if shadowed {
                continue;
            }
            let kind = grant_permission_type(&rsc.permission_type);
            let id = uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_URL,
                format!("{}|{}|{}", installation.id, rsc.permission_value, kind).as_bytes(),
            );
            grants.push(grant(
                id.to_string(),
                client_app_id,
                &rsc.permission_value,
                kind,
            ));
        }
    }
    for g in extra {
        let id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!(
                "extra|{}|{}|{}|{}",
                g.user_id, g.client_app_id, g.permission, g.permission_type
            )
            .as_bytes(),
        );
        grants.push(grant(
            id.to_string(),
            &g.client_app_id,
            &g.permission,
            &g.permission_type,
        ));
    }
    grants
}

/// A grant's `permissionType` for a consented permission of type `kind`: Graph's grants spell
/// the two known kinds capitalised (`Application`, `Delegated`); any other as the definition.
fn grant_permission_type(kind: &str) -> &str {
    match kind {
        "application" => "Application",
        "delegated" => "Delegated",
        other => other,
    }
}

/// The installations of a user that reads see now (the read-after-write lag fault hides the
/// freshest writes).
fn visible_installations(ctx: &Ctx, state: &TenantState, user_id: &str) -> Vec<Installation> {
    lock(&ctx.visibility).visible(user_id, &state.installations, Instant::now())
}

/// The read-after-write lag set now.
fn write_lag(ctx: &Ctx) -> Duration {
    Duration::from_millis(lock(&ctx.faults).read_after_write_lag_ms)
}

/// Parses and normalises a `consentedPermissionSet` (types as Graph spells the members,
/// case-insensitive input).
fn parse_consent(body: &Value) -> Result<Option<Vec<Rsc>>, GraphError> {
    let Some(set) = body.get("consentedPermissionSet") else {
        return Ok(None);
    };
    if set.is_null() {
        return Ok(None);
    }
    let list = set
        .get("resourceSpecificPermissions")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            GraphError::bad_request(
                "consentedPermissionSet.resourceSpecificPermissions must be an array.",
            )
        })?;
    let mut out = Vec::new();
    for item in list {
        let value = item
            .get("permissionValue")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = item
            .get("permissionType")
            .and_then(Value::as_str)
            .and_then(canonical_permission_type);
        let (false, Some(kind)) = (value.is_empty(), kind) else {
            return Err(GraphError::bad_request(
                "Each resourceSpecificPermission needs a permissionValue and a permissionType of 'delegated', 'application' or 'unknownFutureValue'.",
            ));
        };
        out.push(Rsc {
            permission_value: value.to_string(),
            permission_type: kind.to_string(),
        });
    }
    out.sort();
    out.dedup();
    Ok(Some(out))
}

/// The consent rule: the consented set must equal the definition's whole required set; it may be
/// omitted only when the requirement holds delegated permissions alone. A mismatch is a 400
/// whose message is `text` when given (`--consent-error-text`: Graph's wording is undocumented,
/// so the portal must decide from what it sent, never from these words), else the dev tenant's
/// own, naming both sets.
fn check_consent(
    required: &[Rsc],
    consented: &Option<Vec<Rsc>>,
    text: Option<&str>,
) -> Result<(), GraphError> {
    let mut required_sorted = required.to_vec();
    required_sorted.sort();
    let describe = |list: &[Rsc]| {
        list.iter()
            .map(|r| format!("{} ({})", r.permission_value, r.permission_type))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let refuse = |own: String| Err(GraphError::bad_request(text.map_or(own, str::to_string)));
    match consented {
        None if required.iter().any(|r| r.permission_type == "application") => refuse(format!(
            "The app requires consent to its resource-specific permissions: {}. Send consentedPermissionSet with exactly this set.",
            describe(&required_sorted)
        )),
        None => Ok(()),
        Some(given) => {
            let same = given.len() == required_sorted.len()
                && given.iter().zip(&required_sorted).all(|(a, b)| {
                    a.permission_type == b.permission_type && a.permission_value.eq_ignore_ascii_case(&b.permission_value)
                });
            if same {
                Ok(())
            } else {
                refuse(format!(
                    "The consented permission set does not match the resource-specific permissions required by the app definition. Required: [{}]; consented: [{}].",
                    describe(&required_sorted),
                    describe(given)
                ))
            }
        }
    }
}

const CONSENT_SCOPES: [&str; 2] = [
    "TeamsAppInstallation.ReadWriteAndConsentForUser",
    "TeamsAppInstallation.ReadWriteAndConsentSelfForUser",
];

/// Whether sending `consented` needs one of the consent scopes, under `rule`
/// (`--consent-scope-rule`): a set with an application permission always does; under `any`
/// (the written rule), so does any set that consents to something, delegated-only included.
fn needs_consent_scope(consented: &Option<Vec<Rsc>>, rule: ConsentScopeRule) -> bool {
    let Some(set) = consented else {
        return false;
    };
    match rule {
        ConsentScopeRule::Application => set.iter().any(|r| r.permission_type == "application"),
        ConsentScopeRule::Any => !set.is_empty(),
    }
}

fn require_consent_scope(
    caller: &Caller,
    consented: &Option<Vec<Rsc>>,
    client_app_id: Option<&str>,
    rule: ConsentScopeRule,
) -> Result<(), GraphError> {
    if !needs_consent_scope(consented, rule) {
        return Ok(());
    }
    let ok = caller.scopes.contains(CONSENT_SCOPES[0])
        || (caller.scopes.contains(CONSENT_SCOPES[1])
            && client_app_id.is_some_and(|c| c.eq_ignore_ascii_case(&caller.client_id)));
    if ok {
        Ok(())
    } else {
        Err(missing_scope(&CONSENT_SCOPES, caller))
    }
}

/// The consent options set by flags: the scope rule and the mismatch text.
fn consent_options(ctx: &Ctx) -> (ConsentScopeRule, Option<String>) {
    let options = lock(&ctx.options);
    (
        options.consent_scope_rule,
        options.consent_error_text.clone(),
    )
}

fn check_installable(
    state: &TenantState,
    app: &SeedTeamsApp,
    required: &[Rsc],
) -> Result<(), GraphError> {
    if app.blocked_by_policy {
        return Err(GraphError::forbidden(
            "App is blocked by app permission policy. Ask a Teams Administrator to allow it in the Teams admin center (Teams apps > Permission policies).",
        ));
    }
    if !required.is_empty() && !state.tenant.personal_scope_rsc_enabled {
        return Err(GraphError::forbidden(
            "Resource-specific consent is disabled for personal scope in this tenant (teamsAppSettings.isUserPersonalScopeResourceSpecificConsentEnabled is false), so apps that need it cannot be installed.",
        ));
    }
    Ok(())
}

fn parse_body(body: &[u8]) -> Result<Value, GraphError> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| GraphError::bad_request(format!("Invalid JSON in the request body: {e}")))
}

fn install(
    ctx: &Ctx,
    caller: &Caller,
    target: &SeedUser,
    body: &[u8],
) -> Result<GraphResponse, GraphError> {
    throttle(ctx, caller, Category::PostInstalledApps)?;
    let body = parse_body(body)?;
    let bind = body
        .get("teamsApp@odata.bind")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            GraphError::bad_request("The property 'teamsApp@odata.bind' is required.")
        })?;
    let lower = bind.to_ascii_lowercase();
    let marker = "/v1.0/appcatalogs/teamsapps/";
    let app_id = lower
        .find(marker)
        .map(|i| bind[i + marker.len()..].trim_end_matches('/').to_string())
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| {
            GraphError::bad_request(format!(
                "'{bind}' is not a valid reference to an app in the app catalog."
            ))
        })?;
    let consented = parse_consent(&body)?;
    let mut transient = false;
    {
        let mut faults = lock(&ctx.faults);
        if faults.transient_install_400_next > 0 {
            faults.transient_install_400_next -= 1;
            transient = true;
        } else if faults.transient_install_400_rate > 0.0 {
            transient = lock(&ctx.dice).roll() < faults.transient_install_400_rate;
        }
    }
    let state = ctx.store.read();
    let app = state.find_app(&app_id).cloned().ok_or_else(|| {
        GraphError::not_found(format!(
            "The Teams app with id '{app_id}' was not found in the app catalog."
        ))
    })?;
    let definition = latest_published(&app).cloned().ok_or_else(|| {
        GraphError::not_found(format!(
            "The Teams app '{}' has no published version.",
            app.display_name
        ))
    })?;
    let required = definition.resource_specific_permissions.clone();
    // Self variants of the write scopes only let a client install itself.
    let general = [
        "TeamsAppInstallation.ReadWriteForUser",
        "TeamsAppInstallation.ReadWriteAndConsentForUser",
    ];
    let self_ok = [
        "TeamsAppInstallation.ReadWriteSelfForUser",
        "TeamsAppInstallation.ReadWriteAndConsentSelfForUser",
    ]
    .iter()
    .any(|s| caller.scopes.contains(*s))
        && definition
            .client_app_id
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(&caller.client_id));
    if !general.iter().any(|s| caller.scopes.contains(*s)) && !self_ok {
        return Err(missing_scope(
            operation_scopes("POST", "/users/{id}/teamwork/installedapps"),
            caller,
        ));
    }
    check_installable(&state, &app, &required)?;
    if state
        .installations
        .iter()
        .any(|i| i.user_id == target.id && i.app_id == app.id)
    {
        return Err(GraphError::new(
            StatusCode::CONFLICT,
            "Conflict",
            format!(
                "The app '{}' is already installed for this user.",
                app.display_name
            ),
        ));
    }
    let (rule, text) = consent_options(ctx);
    check_consent(&required, &consented, text.as_deref())?;
    require_consent_scope(
        caller,
        &consented,
        definition.client_app_id.as_deref(),
        rule,
    )?;
    drop(state);
    if transient {
        return Err(GraphError::bad_request("Failed to execute Templates backend request CreateBotInstallationRequest. Please retry."));
    }
    let installation = Installation {
        id: installation_id(&target.id, &app.id),
        user_id: target.id.clone(),
        app_id: app.id.clone(),
        definition_id: definition.id.clone(),
        consented,
    };
    let lag = write_lag(ctx);
    ctx.store
        .write(|state| {
            lock(&ctx.visibility).record(
                &installation.user_id,
                &installation.id,
                None,
                lag,
                Instant::now(),
            );
            // An install through Graph is never "made outside the portal".
            state.foreign_installations.remove(&installation.id);
            state.installations.push(installation);
        })
        .map_err(|e| {
            GraphError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", e)
        })?;
    GraphResponse::empty(StatusCode::CREATED)
}

fn upgrade(
    ctx: &Ctx,
    caller: &Caller,
    target: &SeedUser,
    iid: &str,
    body: &[u8],
) -> Result<GraphResponse, GraphError> {
    throttle(ctx, caller, Category::OtherTeams)?;
    let body = parse_body(body)?;
    let consented = parse_consent(&body)?;
    let state = ctx.store.read();
    let installation = state
        .installations
        .iter()
        .find(|i| i.id == iid && i.user_id == target.id)
        .cloned()
        .ok_or_else(|| {
            GraphError::not_found(format!(
                "The installation '{iid}' was not found for this user."
            ))
        })?;
    let app = state
        .find_app(&installation.app_id)
        .cloned()
        .ok_or_else(|| {
            GraphError::not_found("The app of this installation is no longer in the catalog.")
        })?;
    let latest = latest_published(&app).cloned().ok_or_else(|| {
        GraphError::not_found(format!(
            "The Teams app '{}' has no published version.",
            app.display_name
        ))
    })?;
    check_installable(&state, &app, &latest.resource_specific_permissions)?;
    let (rule, text) = consent_options(ctx);
    check_consent(
        &latest.resource_specific_permissions,
        &consented,
        text.as_deref(),
    )?;
    require_consent_scope(caller, &consented, latest.client_app_id.as_deref(), rule)?;
    drop(state);
    let target_id = target.id.clone();
    let iid = iid.to_string();
    let lag = write_lag(ctx);
    ctx.store
        .write(|state| {
            if let Some(i) = state
                .installations
                .iter_mut()
                .find(|i| i.id == iid && i.user_id == target_id)
            {
                let before = i.clone();
                i.definition_id = latest.id.clone();
                // The consented set is what this upgrade consented to (none when omitted), as
                // Graph records it: no longer an installation made outside the portal.
                i.consented = consented.clone();
                state.foreign_installations.remove(&iid);
                lock(&ctx.visibility).record(&target_id, &iid, Some(before), lag, Instant::now());
            }
        })
        .map_err(|e| {
            GraphError::new(StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", e)
        })?;
    GraphResponse::empty(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- delegated consent

fn service_principal(ctx: &Ctx, key: &str, by_object_id: bool) -> Result<Value, GraphError> {
    let state = ctx.store.read();
    let mut known: Vec<(String, String)> = state
        .applications
        .iter()
        .map(|a| (a.app_id.clone(), a.display_name.clone()))
        .collect();
    for app in &state.teams_apps {
        for d in &app.definitions {
            if let Some(client) = &d.client_app_id {
                known.push((client.clone(), app.display_name.clone()));
            }
        }
    }
    known.push((GRAPH_APP_ID.to_string(), GRAPH_DISPLAY_NAME.to_string()));
    let found = known.into_iter().find(|(app_id, _)| {
        if by_object_id {
            state.service_principal_of(app_id).eq_ignore_ascii_case(key)
        } else {
            app_id.eq_ignore_ascii_case(key)
        }
    });
    let (app_id, name) = found.ok_or_else(|| {
        GraphError::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."))
    })?;
    Ok(json!({
        "@odata.context": format!("{}/v1.0/$metadata#servicePrincipals/$entity", ctx.urls.graph),
        "id": state.service_principal_of(&app_id),
        "appId": app_id,
        "displayName": name,
        "servicePrincipalType": "Application",
        "accountEnabled": true,
    }))
}

/// An `appRoleAssignment` as Graph answers it (a directory object: `deletedDateTime` too).
fn app_role_assignment_json(assignment: &AppRoleAssignment) -> Value {
    json!({
        "id": assignment.id,
        "deletedDateTime": null,
        "appRoleId": assignment.app_role_id,
        "createdDateTime": assignment.created_date_time,
        "principalDisplayName": assignment.principal_display_name,
        "principalId": assignment.principal_id,
        "principalType": assignment.principal_type,
        "resourceDisplayName": assignment.resource_display_name,
        "resourceId": assignment.resource_id,
    })
}

/// Under `--audit-roles strict` (the default, as documented), reading tenant-wide grants also
/// needs a directory role that may (Directory Readers, Global Reader, Application or Cloud
/// Application Administrator, Global Administrator); a Teams Administrator without one gets the
/// directory's 403 `Authorization_RequestDenied`. Checked after the scope.
fn require_tenant_grant_reader(ctx: &Ctx, caller: &Caller) -> Result<(), GraphError> {
    if lock(&ctx.options).audit_roles == AuditRoles::Strict && !caller.user.reads_tenant_grants() {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ));
    }
    Ok(())
}

fn oauth2_permission_grants(
    ctx: &Ctx,
    caller: &Caller,
    query: &BTreeMap<String, String>,
) -> Result<GraphResponse, GraphError> {
    require_scope(caller, "GET", "/oauth2permissiongrants", None)?;
    require_tenant_grant_reader(ctx, caller)?;
    let filter = match query.get("$filter") {
        Some(text) => Some(
            parse_filter(text)
                .map_err(|e| GraphError::bad_request(format!("Invalid filter clause: {e}")))?,
        ),
        None => None,
    };
    let state = ctx.store.read();
    let graph_sp = state.service_principal_of(GRAPH_APP_ID);
    let mut value = Vec::new();
    for (client, scopes) in &state.admin_consents {
        value.push(json!({
            "id": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{client}|AllPrincipals")),
            "clientId": state.service_principal_of(client),
            "consentType": "AllPrincipals",
            "principalId": null,
            "resourceId": graph_sp,
            "scope": scopes.iter().cloned().collect::<Vec<_>>().join(" "),
        }));
    }
    for (key, scopes) in &state.user_consents {
        let Some((client, user)) = key.split_once('|') else {
            continue;
        };
        value.push(json!({
            "id": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key),
            "clientId": state.service_principal_of(client),
            "consentType": "Principal",
            "principalId": user,
            "resourceId": graph_sp,
            "scope": scopes.iter().cloned().collect::<Vec<_>>().join(" "),
        }));
    }
    let value: Vec<Value> = value
        .into_iter()
        .filter(|g| {
            filter.as_ref().is_none_or(|f| {
                f.matches(&|p| g.get(p).and_then(Value::as_str).map(str::to_string))
            })
        })
        .collect();
    GraphResponse::json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#oauth2PermissionGrants", ctx.urls.graph),
        "value": value,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsc(value: &str, kind: &str) -> Rsc {
        Rsc {
            permission_value: value.into(),
            permission_type: kind.into(),
        }
    }

    #[test]
    fn consent_must_equal_the_whole_required_set() {
        let required = vec![
            rsc("TeamsActivity.Send.User", "application"),
            rsc("InAppPurchase.Allow.User", "delegated"),
        ];
        assert!(check_consent(&required, &None, None).is_err());
        assert!(check_consent(
            &required,
            &Some(vec![rsc("TeamsActivity.Send.User", "application")]),
            None
        )
        .is_err());
        let mut all = required.clone();
        all.sort();
        assert!(check_consent(&required, &Some(all), None).is_ok());
    }

    #[test]
    fn delegated_only_requirement_may_be_omitted() {
        let required = vec![rsc("InAppPurchase.Allow.User", "delegated")];
        assert!(check_consent(&required, &None, None).is_ok());
        assert!(check_consent(&[], &None, None).is_ok());
        assert!(check_consent(&[], &Some(vec![rsc("X", "delegated")]), None).is_err());
    }

    #[test]
    fn a_consent_mismatch_says_the_text_given_or_names_both_sets() {
        let required = vec![rsc("TeamsActivity.Send.User", "application")];
        let partial = Some(vec![]);
        for consented in [&None, &partial] {
            let own = check_consent(&required, consented, None).unwrap_err();
            assert_eq!(own.status, StatusCode::BAD_REQUEST);
            assert!(
                own.message.contains("TeamsActivity.Send.User"),
                "{}",
                own.message
            );
            let given = check_consent(&required, consented, Some("Bad request.")).unwrap_err();
            assert_eq!(given.status, StatusCode::BAD_REQUEST);
            assert_eq!(given.message, "Bad request.");
        }
    }

    #[test]
    fn which_consented_sets_need_the_consent_scope_under_each_rule() {
        let delegated = Some(vec![rsc("InAppPurchase.Allow.User", "delegated")]);
        let application = Some(vec![rsc("TeamsActivity.Send.User", "application")]);
        let cases = [
            (&None, false, false),
            (&Some(vec![]), false, false),
            (&delegated, false, true),
            (&application, true, true),
        ];
        for (set, under_application, under_any) in cases {
            assert_eq!(
                needs_consent_scope(set, ConsentScopeRule::Application),
                under_application,
                "{set:?}"
            );
            assert_eq!(
                needs_consent_scope(set, ConsentScopeRule::Any),
                under_any,
                "{set:?}"
            );
        }
    }

    #[test]
    fn permission_type_is_accepted_in_any_case_and_stored_as_graph_spells_it() {
        let body = json!({"consentedPermissionSet": {"resourceSpecificPermissions": [
            {"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"}]}});
        let parsed = parse_consent(&body).unwrap().unwrap();
        assert_eq!(parsed[0].permission_type, "application");
        let bad = json!({"consentedPermissionSet": {"resourceSpecificPermissions": [
            {"permissionValue": "X", "permissionType": "Both"}]}});
        assert!(parse_consent(&bad).is_err());
        // The enum's third member, in its own spelling.
        let future = json!({"consentedPermissionSet": {"resourceSpecificPermissions": [
            {"permissionValue": "Future.Capability.User", "permissionType": "UNKNOWNFUTUREVALUE"}]}});
        let parsed = parse_consent(&future).unwrap().unwrap();
        assert_eq!(parsed[0].permission_type, "unknownFutureValue");
    }

    fn get(path: &str, query: &str) -> GraphRequest {
        GraphRequest {
            method: Method::GET,
            path: path.into(),
            query: query.into(),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn skiptokens_round_trip_bound_to_their_request_and_garbage_is_refused() {
        let first = get(
            "/me/teamwork/installedApps",
            "$expand=teamsApp&$filter=id%20eq%20'x'",
        );
        let token = encode_skiptoken(&first, 250);
        let followed = get(
            "/me/teamwork/installedApps",
            &format!("$expand=teamsApp&$filter=id%20eq%20'x'&$skiptoken={token}"),
        );
        assert_eq!(decode_skiptoken(&followed, &token), Some(250));
        // The same options encoded another way are the same request.
        let reencoded = get(
            "/me/teamwork/installedApps",
            &format!("%24expand=teamsApp&%24filter=id+eq+%27x%27&%24skiptoken={token}"),
        );
        assert_eq!(decode_skiptoken(&reencoded, &token), Some(250));
        // A link rebuilt without the expansion or with another filter is not.
        let rebuilt = get(
            "/me/teamwork/installedApps",
            &format!("$filter=id%20eq%20'x'&$skiptoken={token}"),
        );
        assert_eq!(decode_skiptoken(&rebuilt, &token), None);
        assert_eq!(decode_skiptoken(&followed, "not-a-token"), None);
    }

    #[test]
    fn key_form_addresses_users_and_dollar_segments_are_refused() {
        let split = |path: &str| {
            key_form(path.split('/').map(str::to_string).collect())
                .map_err(|e| (e.status.as_u16(), e.message))
        };
        assert_eq!(
            split("users('$dana@contoso.com')/teamwork/installedApps").unwrap(),
            ["users", "$dana@contoso.com", "teamwork", "installedApps"]
        );
        assert_eq!(
            split("Users('o''brien@contoso.com')").unwrap(),
            ["users", "o'brien@contoso.com"]
        );
        assert_eq!(split("users/$dana@contoso.com").unwrap_err().0, 400);
        assert_eq!(split("users(dana)").unwrap_err().0, 400);
        assert_eq!(split("me/teamwork").unwrap(), ["me", "teamwork"]);
    }
}
