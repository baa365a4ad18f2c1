//! The identity origin, shaped like Entra ID v2: discovery, JWKS, authorize (with a plain HTML
//! sign-in page), token (authorization code + PKCE S256, refresh with rotation and the fixed
//! 24-hour SPA limit), logout and admin consent. Errors carry AADSTS codes as Entra's do.

// Validation helpers return the HTTP answer itself as their error; boxing it would add noise only.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use serde_json::{json, Value};

use crate::crypto::{random_token, s256};
use crate::ctx::{iso_time, lock, AuthCode, Ctx, RefreshToken};
use crate::scope_table::DELEGATED_SCOPES;
use crate::seed::{SeedApplication, SeedUser};
use crate::store::{TenantState, GRAPH_APP_ID};

/// The resource scopes are written with (the global cloud's Graph host).
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
const SESSION_COOKIE: &str = "devtenant_session";
const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(keys))
        .route(
            "/{tenant}/oauth2/v2.0/authorize",
            get(authorize_page).post(authorize_submit),
        )
        .route(
            "/{tenant}/oauth2/v2.0/token",
            axum::routing::post(token).options(token_preflight),
        )
        .route("/{tenant}/oauth2/v2.0/logout", get(logout))
        .route(
            "/{tenant}/v2.0/adminconsent",
            get(admin_consent_page).post(admin_consent_submit),
        )
        .with_state(ctx)
}

// ---------------------------------------------------------------- tenants and errors

#[derive(Clone, Copy, PartialEq)]
enum TenantPath {
    Specific,
    Multi,
}

fn resolve_tenant(ctx: &Ctx, segment: &str) -> Result<TenantPath, Response> {
    let state = ctx.store.read();
    if segment.eq_ignore_ascii_case(&state.tenant.id)
        || segment.eq_ignore_ascii_case(&state.tenant.domain)
    {
        Ok(TenantPath::Specific)
    } else if segment.eq_ignore_ascii_case("organizations")
        || segment.eq_ignore_ascii_case("common")
    {
        Ok(TenantPath::Multi)
    } else {
        Err(aad_json_error(
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            90002,
            &format!("Tenant '{segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
            ctx,
        ))
    }
}

fn aad_description(code: u32, message: &str, ctx: &Ctx) -> String {
    format!(
        "AADSTS{code}: {message} Trace ID: {} Correlation ID: {} Timestamp: {}",
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        iso_time(ctx.now())
    )
}

fn aad_json_error(
    status: StatusCode,
    error: &str,
    code: u32,
    message: &str,
    ctx: &Ctx,
) -> Response {
    let body = json!({
        "error": error,
        "error_description": aad_description(code, message, ctx),
        "error_codes": [code],
        "timestamp": iso_time(ctx.now()),
        "trace_id": uuid::Uuid::new_v4().to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
        "error_uri": format!("{}/error?code={code}", ctx.urls.identity),
    });
    (status, Json(body)).into_response()
}

fn error_page(status: StatusCode, code: u32, message: &str, ctx: &Ctx) -> Response {
    let text = aad_description(code, message, ctx);
    let body = format!(
        "<!doctype html><html lang=en><meta charset=utf-8><title>Sign in - error</title>\
         <body><h1>Sorry, but we’re having trouble signing you in.</h1><p id=error>{}</p></body></html>",
        escape(&text)
    );
    (status, Html(body)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn issuer(ctx: &Ctx, tenant_id: &str) -> String {
    format!("{}/{tenant_id}/v2.0", ctx.urls.identity)
}

// ---------------------------------------------------------------- discovery and keys

async fn discovery(State(ctx): State<Arc<Ctx>>, Path(tenant): Path<String>) -> Response {
    let kind = match resolve_tenant(&ctx, &tenant) {
        Ok(kind) => kind,
        Err(response) => return response,
    };
    let tenant_id = ctx.store.read().tenant.id.clone();
    let issuer = match kind {
        TenantPath::Specific => issuer(&ctx, &tenant_id),
        TenantPath::Multi => format!("{}/{{tenantid}}/v2.0", ctx.urls.identity),
    };
    let base = format!("{}/{tenant}", ctx.urls.identity);
    let graph_host = ctx
        .urls
        .graph
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .to_string();
    let body = json!({
        "token_endpoint": format!("{base}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{}/oidc/userinfo", ctx.urls.graph),
        "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver",
            "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{base}/kerberos"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": graph_host,
        "rbac_url": "https://pas.windows.net",
    });
    public_document(Json(body).into_response())
}

async fn keys(State(ctx): State<Arc<Ctx>>, Path(tenant): Path<String>) -> Response {
    if let Err(response) = resolve_tenant(&ctx, &tenant) {
        return response;
    }
    public_document(Json(ctx.keys.jwks()).into_response())
}

/// Entra's caching and CORS headers on its public documents (discovery and keys, as recorded
/// from `login.microsoftonline.com`): `Cache-Control: max-age=86400, private`, any origin,
/// `GET, OPTIONS`. A client may keep them a day; a key rotated meanwhile is found by reading the
/// keys again on an unknown `kid`.
fn public_document(response: Response) -> Response {
    let mut response = cors_any(response);
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=86400, private"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, OPTIONS"),
    );
    response
}

fn cors_any(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

// ---------------------------------------------------------------- scopes and consent

/// The scopes of a request, split into OIDC scopes and Graph scope names.
#[derive(Debug, Default, Clone)]
struct Scopes {
    oidc: BTreeSet<String>,
    graph: BTreeSet<String>,
}

fn parse_scopes(raw: &str, application: &SeedApplication) -> Result<Scopes, String> {
    let mut scopes = Scopes::default();
    for scope in raw.split_whitespace() {
        if OIDC_SCOPES.iter().any(|s| s.eq_ignore_ascii_case(scope)) {
            scopes.oidc.insert(scope.to_ascii_lowercase());
            continue;
        }
        let name = scope
            .strip_prefix(&format!("{GRAPH_RESOURCE}/"))
            .or_else(|| scope.strip_prefix(&format!("{GRAPH_APP_ID}/")))
            .unwrap_or(scope);
        if name.contains('/') || name.contains(':') {
            return Err(format!("The resource of scope '{scope}' is not known in this dev tenant; only Microsoft Graph is."));
        }
        if name == ".default" {
            scopes
                .graph
                .extend(application.required_scopes.iter().cloned());
            continue;
        }
        match DELEGATED_SCOPES.iter().find(|(s, _)| s.eq_ignore_ascii_case(name)) {
            Some((canonical, _)) => {
                scopes.graph.insert(canonical.to_string());
            }
            None => return Err(format!("The provided value for the input parameter 'scope' is not valid. The scope '{scope}' does not exist.")),
        }
    }
    Ok(scopes)
}

fn needs_admin(scope: &str) -> bool {
    DELEGATED_SCOPES
        .iter()
        .any(|(s, admin)| *s == scope && *admin)
}

fn consent_key(client: &str, user: &str) -> String {
    format!("{client}|{user}")
}

/// Graph scopes not yet consented for this user and client.
fn missing_consent(
    state: &TenantState,
    client: &str,
    user: &str,
    scopes: &BTreeSet<String>,
) -> Vec<String> {
    let tenant = state.admin_consents.get(client);
    let own = state.user_consents.get(&consent_key(client, user));
    scopes
        .iter()
        .filter(|s| !tenant.is_some_and(|t| t.contains(*s)) && !own.is_some_and(|o| o.contains(*s)))
        .cloned()
        .collect()
}

enum ConsentOutcome {
    Granted,
    /// The user may not consent to these (admin-only scopes, non-admin user).
    NeedsAdmin(Vec<String>),
}

/// Records the consent an interactive sign-in gives: the user's own for user-consentable scopes,
/// tenant-wide for an administrator (or with `prompt=consent` by one).
fn consent_interactively(
    ctx: &Ctx,
    client: &str,
    user: &SeedUser,
    scopes: &BTreeSet<String>,
    for_organization: bool,
) -> Result<ConsentOutcome, String> {
    let missing = missing_consent(&ctx.store.read(), client, &user.id, scopes);
    // `prompt=consent` by an administrator: "consent on behalf of your organization" for every
    // scope asked, user-consentable ones included.
    if for_organization && user.is_admin() {
        ctx.store.write(|state| {
            state
                .admin_consents
                .entry(client.to_string())
                .or_default()
                .extend(scopes.iter().cloned());
        })?;
        return Ok(ConsentOutcome::Granted);
    }
    if missing.is_empty() {
        return Ok(ConsentOutcome::Granted);
    }
    let admin_only: Vec<String> = missing.iter().filter(|s| needs_admin(s)).cloned().collect();
    if !admin_only.is_empty() && !user.is_admin() {
        return Ok(ConsentOutcome::NeedsAdmin(admin_only));
    }
    let user_id = user.id.clone();
    ctx.store.write(|state| {
        for scope in missing {
            if needs_admin(&scope) {
                state
                    .admin_consents
                    .entry(client.to_string())
                    .or_default()
                    .insert(scope);
            } else {
                state
                    .user_consents
                    .entry(consent_key(client, &user_id))
                    .or_default()
                    .insert(scope);
            }
        }
    })?;
    Ok(ConsentOutcome::Granted)
}

// ---------------------------------------------------------------- authorize

type Params = BTreeMap<String, String>;

/// A validated authorize request.
struct AuthorizeRequest {
    params: Params,
    application: SeedApplication,
    redirect_uri: String,
}

/// Validates client and redirect URI: failures here are shown on a page, never redirected.
fn check_client(ctx: &Ctx, params: &Params) -> Result<AuthorizeRequest, Response> {
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    let Some(application) = ctx.store.read().application(&client_id).cloned() else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory 'Contoso (dev tenant)'."),
            ctx,
        ));
    };
    let redirect_uri = params.get("redirect_uri").cloned().unwrap_or_default();
    let registered = registered_spa_uris(ctx, &application).contains(&redirect_uri)
        || application.web_redirect_uris.contains(&redirect_uri);
    if !registered {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            50011,
            &format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{}'.",
                application.app_id
            ),
            ctx,
        ));
    }
    Ok(AuthorizeRequest {
        params: params.clone(),
        application,
        redirect_uri,
    })
}

/// The SPA redirect URIs of an application, including the portal origin when it asks for it.
pub fn registered_spa_uris(ctx: &Ctx, application: &SeedApplication) -> Vec<String> {
    let mut uris = application.spa_redirect_uris.clone();
    if application.register_portal_origin {
        uris.push(ctx.urls.portal.clone());
    }
    uris
}

fn origin_of(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    Some(format!("{scheme}://{host}"))
}

/// Whether `origin` is the origin of a registered SPA redirect URI of `client` (any client if None).
pub fn spa_origin_allowed(ctx: &Ctx, origin: &str, client: Option<&str>) -> bool {
    let state = ctx.store.read();
    state
        .applications
        .iter()
        .filter(|a| client.is_none_or(|c| a.app_id.eq_ignore_ascii_case(c)))
        .flat_map(|a| registered_spa_uris(ctx, a))
        .any(|uri| origin_of(&uri).as_deref() == Some(origin))
}

/// Redirects an error to the client, as Entra does once the redirect URI is trusted.
fn redirect_error(
    request: &AuthorizeRequest,
    error: &str,
    code: u32,
    message: &str,
    ctx: &Ctx,
) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("error", error);
    query.append_pair("error_description", &aad_description(code, message, ctx));
    if let Some(state) = request.params.get("state") {
        query.append_pair("state", state);
    }
    redirect_to(request, query.finish())
}

fn redirect_to(request: &AuthorizeRequest, query: String) -> Response {
    let fragment = request
        .params
        .get("response_mode")
        .is_some_and(|m| m == "fragment");
    let separator = if fragment {
        "#"
    } else if request.redirect_uri.contains('?') {
        "&"
    } else {
        "?"
    };
    Redirect::to(&format!("{}{separator}{query}", request.redirect_uri)).into_response()
}

/// Protocol checks that are redirected back as errors.
fn check_protocol(ctx: &Ctx, request: &AuthorizeRequest) -> Result<Scopes, Response> {
    let p = &request.params;
    if p.get("response_type").map(String::as_str) != Some("code") {
        return Err(redirect_error(request, "unsupported_response_type", 700054,
            "response_type must be 'code': this dev tenant supports the authorization code flow with PKCE only.", ctx));
    }
    let challenge = p.get("code_challenge").map(String::as_str).unwrap_or("");
    if challenge.is_empty() {
        return Err(redirect_error(request, "invalid_request", 9002325,
            "Proof Key for Code Exchange is required for cross-origin authorization code redemption.", ctx));
    }
    match p.get("code_challenge_method").map(String::as_str) {
        Some("S256") => {}
        other => {
            return Err(redirect_error(
                request,
                "invalid_request",
                501491,
                &format!(
                    "The code_challenge_method '{}' is not supported. Use S256.",
                    other.unwrap_or("plain")
                ),
                ctx,
            ));
        }
    }
    if challenge.len() != 43 {
        return Err(redirect_error(
            request,
            "invalid_request",
            501491,
            "The code_challenge must be a base64url SHA-256 hash (43 characters).",
            ctx,
        ));
    }
    let raw_scope = p.get("scope").map(String::as_str).unwrap_or("");
    if raw_scope.trim().is_empty() {
        return Err(redirect_error(
            request,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
            ctx,
        ));
    }
    parse_scopes(raw_scope, &request.application)
        .map_err(|message| redirect_error(request, "invalid_scope", 70011, &message, ctx))
}

fn session_user(ctx: &Ctx, headers: &HeaderMap) -> Option<SeedUser> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let session = cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())?;
    let user_id = lock(&ctx.sessions).get(&session).cloned()?;
    ctx.store.read().find_user(&user_id).cloned()
}

async fn authorize_page(
    State(ctx): State<Arc<Ctx>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if let Err(response) = resolve_tenant(&ctx, &tenant) {
        return response;
    }
    let request = match check_client(&ctx, &params) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let scopes = match check_protocol(&ctx, &request) {
        Ok(scopes) => scopes,
        Err(response) => return response,
    };
    let prompt = params.get("prompt").map(String::as_str).unwrap_or("");
    let hint = params.get("login_hint").map(|h| h.to_ascii_lowercase());
    let session = session_user(&ctx, &headers);
    let hint_matches = |user: &SeedUser| {
        hint.as_deref()
            .is_none_or(|h| user.user_principal_name.eq_ignore_ascii_case(h))
    };
    if prompt == "none" {
        let Some(user) = session else {
            return redirect_error(
                &request,
                "login_required",
                50058,
                "A silent sign-in request was sent but no user is signed in.",
                &ctx,
            );
        };
        if !hint_matches(&user) {
            return redirect_error(&request, "login_required", 50058,
                "A silent sign-in request was sent but the signed-in user does not match the login_hint.", &ctx);
        }
        let missing = missing_consent(
            &ctx.store.read(),
            &request.application.app_id,
            &user.id,
            &scopes.graph,
        );
        if !missing.is_empty() {
            let (error, code) = if missing.iter().any(|s| needs_admin(s)) && !user.is_admin() {
                ("consent_required", 65001)
            } else {
                ("interaction_required", 65001)
            };
            return redirect_error(
                &request,
                error,
                code,
                &consent_message(&request.application, &missing),
                &ctx,
            );
        }
        return issue_code(&ctx, &request, &user, &scopes);
    }
    if let Some(user) = session.filter(|u| prompt.is_empty() && hint_matches(u)) {
        return complete_sign_in(&ctx, &request, &user, &scopes, false, None);
    }
    sign_in_page(&ctx, &params, hint.as_deref(), false)
}

fn consent_message(application: &SeedApplication, missing: &[String]) -> String {
    format!(
        "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource. Missing: {}.",
        application.app_id,
        application.display_name,
        missing.join(", ")
    )
}

#[derive(serde::Deserialize)]
struct Submit {
    account: String,
    #[serde(flatten)]
    params: Params,
}

/// The checks every account-picker submission passes: tenant, client and redirect URI, and an
/// existing, enabled account.
fn chosen_account(
    ctx: &Ctx,
    tenant: &str,
    form: &Submit,
) -> Result<(AuthorizeRequest, SeedUser), Response> {
    resolve_tenant(ctx, tenant)?;
    let request = check_client(ctx, &form.params)?;
    let Some(user) = ctx.store.read().find_user(&form.account).cloned() else {
        return Err(error_page(
            StatusCode::BAD_REQUEST,
            50034,
            "The user account does not exist in this directory.",
            ctx,
        ));
    };
    if !user.account_enabled {
        return Err(redirect_error(
            &request,
            "access_denied",
            50057,
            "The user account is disabled.",
            ctx,
        ));
    }
    Ok((request, user))
}

async fn authorize_submit(
    State(ctx): State<Arc<Ctx>>,
    Path(tenant): Path<String>,
    Form(form): Form<Submit>,
) -> Response {
    let (request, user) = match chosen_account(&ctx, &tenant, &form) {
        Ok(chosen) => chosen,
        Err(response) => return response,
    };
    let scopes = match check_protocol(&ctx, &request) {
        Ok(scopes) => scopes,
        Err(response) => return response,
    };
    let session = random_token();
    lock(&ctx.sessions).insert(session.clone(), user.id.clone());
    let cookie = format!("{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax");
    let prompt_consent = form.params.get("prompt").is_some_and(|p| p == "consent");
    complete_sign_in(&ctx, &request, &user, &scopes, prompt_consent, Some(cookie))
}

fn complete_sign_in(
    ctx: &Ctx,
    request: &AuthorizeRequest,
    user: &SeedUser,
    scopes: &Scopes,
    prompt_consent: bool,
    cookie: Option<String>,
) -> Response {
    let mut response = match consent_interactively(
        ctx,
        &request.application.app_id,
        user,
        &scopes.graph,
        prompt_consent,
    ) {
        Ok(ConsentOutcome::Granted) => issue_code(ctx, request, user, scopes),
        Ok(ConsentOutcome::NeedsAdmin(missing)) => redirect_error(
            request,
            "consent_required",
            65001,
            &consent_message(&request.application, &missing),
            ctx,
        ),
        Err(message) => error_page(StatusCode::INTERNAL_SERVER_ERROR, 50000, &message, ctx),
    };
    if let Some(cookie) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

fn issue_code(ctx: &Ctx, request: &AuthorizeRequest, user: &SeedUser, scopes: &Scopes) -> Response {
    let code = random_token();
    let now = ctx.now();
    let lifetime = lock(&ctx.options).code_lifetime;
    let mut all_scopes: Vec<String> = scopes.oidc.iter().cloned().collect();
    all_scopes.extend(scopes.graph.iter().cloned());
    lock(&ctx.codes).insert(
        code.clone(),
        AuthCode {
            client_id: request.application.app_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request
                .params
                .get("code_challenge")
                .cloned()
                .unwrap_or_default(),
            nonce: request.params.get("nonce").cloned(),
            scopes: all_scopes,
            user_id: user.id.clone(),
            auth_time: now,
            expires_at: now + lifetime,
            redeemed: false,
            claims: request.params.get("claims").cloned(),
        },
    );
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", &code);
    if let Some(state) = request.params.get("state") {
        query.append_pair("state", state);
    }
    query.append_pair(
        "session_state",
        &uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, user.id.as_bytes()).to_string(),
    );
    redirect_to(request, query.finish())
}

fn sign_in_page(ctx: &Ctx, params: &Params, hint: Option<&str>, admin_consent: bool) -> Response {
    let state = ctx.store.read();
    let hidden: String = params
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=hidden name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect();
    let mut users: Vec<&SeedUser> = state.users.iter().collect();
    users.sort_by_key(|u| {
        (
            hint != Some(u.user_principal_name.to_ascii_lowercase().as_str()),
            !u.is_admin(),
            u.display_name.clone(),
        )
    });
    let accounts: String = users
        .iter()
        .map(|u| {
            let role = if u.roles.is_empty() { u.user_type.clone() } else { u.roles.join(", ") };
            let hinted = if hint == Some(u.user_principal_name.to_ascii_lowercase().as_str()) { " class=hinted" } else { "" };
            format!(
                "<li{hinted}><form method=post>{hidden}<button type=submit name=account value=\"{id}\" data-upn=\"{upn}\"{disabled}>\
                 <strong>{name}</strong> <span>{upn}</span> <em>{role}</em></button></form></li>",
                id = escape(&u.id),
                upn = escape(&u.user_principal_name),
                name = escape(&u.display_name),
                role = escape(&role),
                disabled = if u.account_enabled { "" } else { " disabled" },
            )
        })
        .collect();
    let heading = if admin_consent {
        "An administrator must sign in to grant these permissions for the whole organization"
    } else {
        "Pick an account"
    };
    let body = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Sign in to your account</title>\
         <link rel=icon href=\"data:,\"><style>body{{font-family:system-ui;max-width:40rem;margin:2rem auto}}\
         ul{{list-style:none;padding:0}}li{{margin:.3rem 0}}button{{width:100%;text-align:left;padding:.5rem;font:inherit}}\
         .hinted button{{border:2px solid #4b53bc}}em{{color:#666;font-size:.85em}}</style></head>\
         <body><h1>{heading}</h1><p>{tenant} — dev tenant. Choose a seeded account; there is no password.</p>\
         <ul id=accounts>{accounts}</ul></body></html>",
        tenant = escape(&state.tenant.display_name),
    );
    Html(body).into_response()
}

// ---------------------------------------------------------------- token

fn token_error(
    ctx: &Ctx,
    error: &str,
    code: u32,
    message: &str,
    cors_origin: Option<&str>,
) -> Response {
    with_cors(
        aad_json_error(StatusCode::BAD_REQUEST, error, code, message, ctx),
        cors_origin,
    )
}

fn with_cors(mut response: Response, origin: Option<&str>) -> Response {
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("x-ms-request-id"),
        );
    }
    response
}

async fn token_preflight(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut response = StatusCode::OK.into_response();
    if spa_origin_allowed(&ctx, origin, None) {
        response = with_cors(response, Some(origin));
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        let requested = headers
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static("content-type"));
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
    }
    response
}

/// Marks an answer a fault changed, for the identity request log (`"fault"` of its entry).
#[derive(Clone, Copy, Debug)]
pub struct FaultMark(pub &'static str);

/// The token-error fault's answer: `status` in Entra's error shape (`temporarily_unavailable`,
/// AADSTS90006), with the CORS headers of every other token error and `Retry-After` for 429 and
/// 503. Nothing was done.
fn token_unavailable(ctx: &Ctx, status: u16, cors: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut response = with_cors(
        aad_json_error(
            status,
            "temporarily_unavailable",
            90006,
            "The service is temporarily unavailable. Please retry the request later.",
            ctx,
        ),
        cors,
    );
    if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response.extensions_mut().insert(FaultMark("tokenError"));
    response
}

async fn token(
    State(ctx): State<Arc<Ctx>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Params>,
) -> Response {
    let client_id = form.get("client_id").cloned().unwrap_or_default();
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let cors = origin
        .as_deref()
        .filter(|o| spa_origin_allowed(&ctx, o, Some(&client_id)));
    // A bad minute at the token endpoint comes before anything is looked at or used up.
    let injected = lock(&ctx.faults).take_token_error();
    if let Some(status) = injected {
        return token_unavailable(&ctx, status, cors);
    }
    if let Err(response) = resolve_tenant(&ctx, &tenant) {
        return response;
    }
    let Some(application) = ctx.store.read().application(&client_id).cloned() else {
        return token_error(
            &ctx,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory."),
            cors,
        );
    };
    if form.contains_key("client_secret") || form.contains_key("client_assertion") {
        return token_error(&ctx, "invalid_request", 700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.", cors);
    }
    let Some(origin) = origin.clone() else {
        return token_error(&ctx, "invalid_request", 9002327,
            "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.", None);
    };
    if cors.is_none() {
        return token_error(&ctx, "invalid_request", 9002326,
            &format!("Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. Request origin: '{origin}'."), None);
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => redeem_code(&ctx, &application, &form, cors),
        Some("refresh_token") => redeem_refresh_token(&ctx, &application, &form, cors),
        other => token_error(
            &ctx,
            "unsupported_grant_type",
            70003,
            &format!(
                "The app requested an unsupported grant type '{}'.",
                other.unwrap_or("")
            ),
            cors,
        ),
    }
}

fn redeem_code(
    ctx: &Ctx,
    application: &SeedApplication,
    form: &Params,
    cors: Option<&str>,
) -> Response {
    let code_value = form.get("code").cloned().unwrap_or_default();
    let now = ctx.now();
    let code = {
        let mut codes = lock(&ctx.codes);
        let Some(code) = codes.get_mut(&code_value) else {
            return token_error(ctx, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid: the authorization code is not valid.", cors);
        };
        if code.redeemed {
            return token_error(ctx, "invalid_grant", 54005,
                "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.", cors);
        }
        code.redeemed = true;
        code.clone()
    };
    if now > code.expires_at {
        return token_error(
            ctx,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity.",
            cors,
        );
    }
    if !code.client_id.eq_ignore_ascii_case(&application.app_id) {
        return token_error(
            ctx,
            "invalid_grant",
            70000,
            "The provided authorization code was issued to another client.",
            cors,
        );
    }
    if form.get("redirect_uri") != Some(&code.redirect_uri) {
        return token_error(ctx, "invalid_grant", 50148,
            "The redirect_uri specified in the token request does not match the one used to obtain the authorization code.", cors);
    }
    let Some(verifier) = form.get("code_verifier").filter(|v| !v.is_empty()) else {
        return token_error(ctx, "invalid_request", 9002325, "Proof Key for Code Exchange is required for cross-origin authorization code redemption.", cors);
    };
    if s256(verifier) != code.code_challenge {
        return token_error(ctx, "invalid_grant", 501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.", cors);
    }
    let refresh_lifetime = lock(&ctx.options).refresh_token_lifetime;
    let grant = Grant {
        user_id: code.user_id.clone(),
        scopes: code.scopes.clone(),
        nonce: code.nonce.clone(),
        auth_time: code.auth_time,
        family_expires_at: now + refresh_lifetime,
        claims: form.get("claims").cloned().or(code.claims.clone()),
    };
    tokens_response(ctx, application, grant, cors)
}

fn redeem_refresh_token(
    ctx: &Ctx,
    application: &SeedApplication,
    form: &Params,
    cors: Option<&str>,
) -> Response {
    let value = form.get("refresh_token").cloned().unwrap_or_default();
    let stored = {
        let mut tokens = lock(&ctx.refresh_tokens);
        let Some(stored) = tokens.get_mut(&value) else {
            return token_error(
                ctx,
                "invalid_grant",
                9002313,
                "Invalid request. Request is malformed or invalid: the refresh token is not valid.",
                cors,
            );
        };
        if stored.redeemed {
            return token_error(ctx, "invalid_grant", 70000,
                "The refresh token has already been redeemed and was rotated; use the newest refresh token.", cors);
        }
        stored.redeemed = true;
        stored.clone()
    };
    if !stored.client_id.eq_ignore_ascii_case(&application.app_id) {
        return token_error(
            ctx,
            "invalid_grant",
            70000,
            "The refresh token was issued to another client.",
            cors,
        );
    }
    if ctx.refresh_clock() >= stored.family_expires_at {
        return token_error(ctx, "invalid_grant", 700084, &format!(
            "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page. The token was issued on {}.",
            iso_time(stored.auth_time)), cors);
    }
    let scopes = match form.get("scope") {
        Some(raw) => match parse_scopes(raw, application) {
            Ok(scopes) => scopes,
            Err(message) => return token_error(ctx, "invalid_scope", 70011, &message, cors),
        },
        None => {
            let mut scopes = Scopes::default();
            for s in &stored.scopes {
                if OIDC_SCOPES.contains(&s.as_str()) {
                    scopes.oidc.insert(s.clone());
                } else {
                    scopes.graph.insert(s.clone());
                }
            }
            scopes
        }
    };
    let missing = missing_consent(
        &ctx.store.read(),
        &application.app_id,
        &stored.user_id,
        &scopes.graph,
    );
    if !missing.is_empty() {
        return token_error(
            ctx,
            "invalid_grant",
            65001,
            &consent_message(application, &missing),
            cors,
        );
    }
    let mut all: Vec<String> = scopes.oidc.into_iter().collect();
    if !all.iter().any(|s| s == "offline_access") {
        all.push("offline_access".into());
    }
    all.extend(scopes.graph);
    let grant = Grant {
        user_id: stored.user_id,
        scopes: all,
        nonce: None,
        auth_time: stored.auth_time,
        family_expires_at: stored.family_expires_at,
        claims: form.get("claims").cloned(),
    };
    tokens_response(ctx, application, grant, cors)
}

struct Grant {
    user_id: String,
    scopes: Vec<String>,
    nonce: Option<String>,
    auth_time: i64,
    family_expires_at: i64,
    claims: Option<String>,
}

/// Client capabilities requested through the `claims` parameter (`xms_cc`).
fn client_capabilities(claims: Option<&str>) -> Vec<String> {
    claims
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .and_then(|v| v["access_token"]["xms_cc"]["values"].as_array().cloned())
        .map(|values| {
            values
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn tokens_response(
    ctx: &Ctx,
    application: &SeedApplication,
    grant: Grant,
    cors: Option<&str>,
) -> Response {
    let state = ctx.store.read();
    let Some(user) = state.find_user(&grant.user_id).cloned() else {
        drop(state);
        return token_error(
            ctx,
            "invalid_grant",
            50034,
            "The user account does not exist in this directory.",
            cors,
        );
    };
    let tenant_id = state.tenant.id.clone();
    drop(state);
    let now = ctx.now();
    let options = lock(&ctx.options).clone();
    let lifetime = lock(&ctx.faults)
        .token_lifetime_seconds
        .unwrap_or(options.access_token_lifetime);
    let graph_scopes: Vec<&String> = grant
        .scopes
        .iter()
        .filter(|s| !OIDC_SCOPES.contains(&s.as_str()))
        .collect();
    let capabilities = client_capabilities(grant.claims.as_deref());
    let mut access_claims = json!({
        "aud": GRAPH_RESOURCE,
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "iat": now, "nbf": now, "exp": now + lifetime,
        "appid": application.app_id,
        "app_displayname": application.display_name,
        "name": user.display_name,
        "oid": user.id,
        "sub": user.id,
        "tid": tenant_id,
        "upn": user.user_principal_name,
        "unique_name": user.user_principal_name,
        "scp": graph_scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "),
        "wids": user.wids(),
        "ver": "1.0",
        "uti": uuid::Uuid::new_v4().simple().to_string(),
    });
    if !capabilities.is_empty() {
        access_claims["xms_cc"] = json!(capabilities);
    }
    let mut body = json!({
        "token_type": "Bearer",
        "scope": grant.scopes.iter().map(|s| if OIDC_SCOPES.contains(&s.as_str()) { s.clone() } else { format!("{GRAPH_RESOURCE}/{s}") }).collect::<Vec<_>>().join(" "),
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": ctx.keys.sign(&access_claims),
        "client_info": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD,
            json!({"uid": user.id, "utid": tenant_id}).to_string()),
    });
    if grant.scopes.iter().any(|s| s == "openid") {
        let sub = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{}|{}", user.id, application.app_id).as_bytes(),
        );
        let mut id_claims = json!({
            "aud": application.app_id,
            "iss": issuer(ctx, &tenant_id),
            "iat": now, "nbf": now, "exp": now + 3600,
            "auth_time": grant.auth_time,
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.user_principal_name,
            "sub": sub.to_string(),
            "tid": tenant_id,
            "ver": "2.0",
            "uti": uuid::Uuid::new_v4().simple().to_string(),
        });
        if !user.wids().is_empty() {
            id_claims["wids"] = json!(user.wids());
        }
        if let Some(nonce) = &grant.nonce {
            id_claims["nonce"] = json!(nonce);
        }
        if grant.scopes.iter().any(|s| s == "email") {
            id_claims["email"] = json!(user.mail);
        }
        let fault = lock(&ctx.faults).id_token_fault.take();
        match fault.as_deref() {
            Some("nonce") => id_claims["nonce"] = json!("not-the-nonce-you-sent"),
            Some("audience") => id_claims["aud"] = json!("00000000-0000-0000-0000-00000000dead"),
            Some("issuer") => id_claims["iss"] = json!("https://evil.example/some-tenant/v2.0"),
            Some("expired") => {
                id_claims["exp"] = json!(now - 3600);
                id_claims["iat"] = json!(now - 7200);
                id_claims["nbf"] = json!(now - 7200);
            }
            _ => {}
        }
        let mut id_token = ctx.keys.sign(&id_claims);
        if fault.as_deref() == Some("signature") {
            // Change one character in the middle of the signature (never the padding bits).
            let at = id_token.rfind('.').unwrap_or(0) + 20;
            let replacement = if id_token[at..].starts_with('A') {
                "B"
            } else {
                "A"
            };
            id_token.replace_range(at..at + 1, replacement);
        }
        body["id_token"] = json!(id_token);
    }
    if grant.scopes.iter().any(|s| s == "offline_access") {
        let refresh = random_token();
        lock(&ctx.refresh_tokens).insert(
            refresh.clone(),
            RefreshToken {
                client_id: application.app_id.clone(),
                user_id: user.id.clone(),
                scopes: grant.scopes.clone(),
                family_expires_at: grant.family_expires_at,
                auth_time: grant.auth_time,
                redeemed: false,
            },
        );
        body["refresh_token"] = json!(refresh);
        body["refresh_token_expires_in"] = json!((grant.family_expires_at - now).max(0));
    }
    let mut response = Json(body).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache"),
    );
    with_cors(response, cors)
}

// ---------------------------------------------------------------- logout and admin consent

async fn logout(
    State(ctx): State<Arc<Ctx>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<Params>,
) -> Response {
    if let Err(response) = resolve_tenant(&ctx, &tenant) {
        return response;
    }
    if let Some(cookies) = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()) {
        for (name, value) in cookies.split(';').filter_map(|c| c.trim().split_once('=')) {
            if name == SESSION_COOKIE {
                lock(&ctx.sessions).remove(value);
            }
        }
    }
    let target = params
        .get("post_logout_redirect_uri")
        .filter(|uri| origin_of(uri).is_some_and(|o| spa_origin_allowed(&ctx, &o, None)));
    let mut response = match target {
        Some(uri) => {
            let mut url = uri.clone();
            if let Some(state) = params.get("state") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(&form_urlencoded::Serializer::new(String::new()).append_pair("state", state).finish());
            }
            Redirect::to(&url).into_response()
        }
        None => Html("<!doctype html><html lang=en><meta charset=utf-8><title>Signed out</title><h1>You signed out of your account</h1><p>It's a good idea to close all browser windows.</p></html>").into_response(),
    };
    let expired = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&expired) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

async fn admin_consent_page(
    State(ctx): State<Arc<Ctx>>,
    Path(tenant): Path<String>,
    Query(params): Query<Params>,
) -> Response {
    if let Err(response) = resolve_tenant(&ctx, &tenant) {
        return response;
    }
    if let Err(response) = check_client(&ctx, &params) {
        return response;
    }
    sign_in_page(
        &ctx,
        &params,
        params
            .get("login_hint")
            .map(|h| h.to_ascii_lowercase())
            .as_deref(),
        true,
    )
}

async fn admin_consent_submit(
    State(ctx): State<Arc<Ctx>>,
    Path(tenant): Path<String>,
    Form(form): Form<Submit>,
) -> Response {
    let (request, user) = match chosen_account(&ctx, &tenant, &form) {
        Ok(chosen) => chosen,
        Err(response) => return response,
    };
    if !user.is_admin() {
        return redirect_error(&request, "access_denied", 90094,
            "The grant requires admin permission: only a Teams Administrator or Global Administrator can consent for the organization.", &ctx);
    }
    let raw = form
        .params
        .get("scope")
        .cloned()
        .unwrap_or_else(|| format!("{GRAPH_RESOURCE}/.default"));
    let scopes = match parse_scopes(&raw, &request.application) {
        Ok(scopes) => scopes,
        Err(message) => return redirect_error(&request, "invalid_scope", 70011, &message, &ctx),
    };
    let client = request.application.app_id.clone();
    if let Err(message) = ctx.store.write(|state| {
        state
            .admin_consents
            .entry(client.clone())
            .or_default()
            .extend(scopes.graph.iter().cloned());
    }) {
        return error_page(StatusCode::INTERNAL_SERVER_ERROR, 50000, &message, &ctx);
    }
    let tenant_id = ctx.store.read().tenant.id.clone();
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("admin_consent", "True");
    query.append_pair("tenant", &tenant_id);
    if let Some(state) = form.params.get("state") {
        query.append_pair("state", state);
    }
    query.append_pair(
        "scope",
        &scopes
            .graph
            .iter()
            .map(|s| format!("{GRAPH_RESOURCE}/{s}"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    redirect_to(&request, query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> SeedApplication {
        SeedApplication {
            display_name: "x".into(),
            app_id: "c".into(),
            spa_redirect_uris: vec![],
            register_portal_origin: false,
            web_redirect_uris: vec![],
            required_scopes: vec![
                "User.Read".into(),
                "TeamsAppInstallation.ReadWriteForUser".into(),
            ],
        }
    }

    #[test]
    fn scopes_accept_graph_prefixes_and_default() {
        let scopes = parse_scopes(
            "openid profile offline_access https://graph.microsoft.com/TeamsAppInstallation.ReadForUser User.Read",
            &app(),
        )
        .unwrap();
        assert_eq!(scopes.oidc.len(), 3);
        assert!(scopes.graph.contains("TeamsAppInstallation.ReadForUser"));
        assert!(scopes.graph.contains("User.Read"));
        let default = parse_scopes("https://graph.microsoft.com/.default", &app()).unwrap();
        assert!(default
            .graph
            .contains("TeamsAppInstallation.ReadWriteForUser"));
        assert!(parse_scopes("api://other/x", &app()).is_err());
        assert!(parse_scopes("Made.Up.Scope", &app()).is_err());
    }

    #[test]
    fn admin_consent_flags_follow_the_catalogue() {
        assert!(needs_admin("TeamsAppInstallation.ReadWriteForUser"));
        assert!(!needs_admin("TeamsAppInstallation.ReadForUser"));
        assert!(needs_admin("ResourceSpecificPermissionGrant.ReadForUser"));
    }

    #[test]
    fn capabilities_come_from_the_claims_parameter() {
        assert_eq!(
            client_capabilities(Some(r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#)),
            vec!["cp1"]
        );
        assert!(client_capabilities(Some("not json")).is_empty());
    }
}
