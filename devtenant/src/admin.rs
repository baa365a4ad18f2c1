//! The admin endpoint under the reserved prefix `/_devtenant` on the Graph origin: the request
//! log, faults, throttling limits, JWKS rotation, revocation events (continuous access
//! evaluation), the clock, the tenant switch and the seeded accounts. Loopback only, no auth.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ctx::{
    lock, AuditRoles, ConsentScopeRule, Ctx, ForeignConsentSet, GrantIds, GrantsByUpn,
};
use crate::faults::Faults;
use crate::store::{installation_id, Installation};
use crate::throttle::Limits;

pub fn routes() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/_devtenant/log", get(log).delete(clear_log))
        .route("/_devtenant/faults", get(get_faults).put(put_faults))
        .route("/_devtenant/throttle", get(get_throttle).put(put_throttle))
        .route("/_devtenant/jwks/rotate", post(rotate))
        .route("/_devtenant/revoke/{user}", post(revoke))
        .route("/_devtenant/clock", put(clock))
        .route("/_devtenant/options", get(get_options).put(options))
        .route("/_devtenant/tenant", put(tenant))
        .route("/_devtenant/accounts", get(accounts))
        .route("/_devtenant/state", get(state))
        .route("/_devtenant/installations", post(add_installation))
        .route("/_devtenant/teamsApps/{app}", delete(remove_app))
        .route(
            "/_devtenant/teamsApps/{app}/appDefinitions",
            post(publish_definition),
        )
        .route("/_devtenant/adminConsent", post(admin_consent))
}

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

/// `GET /_devtenant/log`: the request log, oldest first (see [`crate::log`]). Each entry:
/// `seq`, `origin` (`identity`, `graph`, or `graph-batch` for a request inside a `$batch`),
/// `method`, `path`, `query`, `headers`, `body`, `status`, `time`, `durationMs`, `dropped`, and
/// when they apply `fault` (`serverError`, `applyThenError`, `tokenError`), `grantType`, and
/// `batch`. A `$batch` is its outer `POST /v1.0/$batch` entry (`origin: "graph"`) followed at
/// once by one entry per inner request (424s included) with the inner method, its path as a
/// `/v1.0/...` path, its query, headers, body and own status, `dropped` as the batch's, and
/// `batch: {"seq": <outer seq>, "requestId": <the batch answer's request-id>, "id": <inner id>}`.
async fn log(State(ctx): State<Arc<Ctx>>) -> Response {
    Json(ctx.log.entries()).into_response()
}

async fn clear_log(State(ctx): State<Arc<Ctx>>) -> StatusCode {
    ctx.log.clear();
    StatusCode::NO_CONTENT
}

async fn get_faults(State(ctx): State<Arc<Ctx>>) -> Response {
    Json(lock(&ctx.faults).clone()).into_response()
}

async fn put_faults(State(ctx): State<Arc<Ctx>>, Json(faults): Json<Faults>) -> Response {
    if let Err(message) = faults.validate() {
        return bad(message);
    }
    *lock(&ctx.faults) = faults.clone();
    Json(faults).into_response()
}

async fn get_throttle(State(ctx): State<Arc<Ctx>>) -> Response {
    Json(lock(&ctx.throttle).limits.clone()).into_response()
}

async fn put_throttle(State(ctx): State<Arc<Ctx>>, Json(limits): Json<Limits>) -> Response {
    lock(&ctx.throttle).reset(limits.clone());
    Json(limits).into_response()
}

async fn rotate(State(ctx): State<Arc<Ctx>>) -> Response {
    Json(json!({ "kid": ctx.keys.rotate() })).into_response()
}

async fn revoke(State(ctx): State<Arc<Ctx>>, Path(user): Path<String>) -> Response {
    let now = ctx.now();
    let Some(id) = ctx.store.read().find_user(&user).map(|u| u.id.clone()) else {
        return bad(format!("no user {user}"));
    };
    match ctx.store.write(|s| {
        s.revocations.insert(id.clone(), now);
    }) {
        Ok(()) => Json(json!({ "user": id, "revokedAt": now })).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Clock {
    offset_seconds: i64,
}

async fn clock(State(ctx): State<Arc<Ctx>>, Json(clock): Json<Clock>) -> Response {
    *lock(&ctx.clock_offset) = clock.offset_seconds;
    Json(json!({ "offsetSeconds": clock.offset_seconds, "refreshClock": ctx.refresh_clock() }))
        .into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
struct OptionsPatch {
    cae: Option<bool>,
    access_token_lifetime: Option<i64>,
    self_only: Option<bool>,
    page_size: Option<usize>,
    grant_ids: Option<GrantIds>,
    grants_by_upn: Option<GrantsByUpn>,
    consent_set_on_foreign_installs: Option<ForeignConsentSet>,
    audit_roles: Option<AuditRoles>,
    consent_scope_rule: Option<ConsentScopeRule>,
    /// The text of the consent-mismatch 400; `""` goes back to the dev tenant's own wording.
    consent_error_text: Option<String>,
}

fn options_json(options: &crate::ctx::Options) -> Value {
    json!({
        "cae": options.cae,
        "accessTokenLifetime": options.access_token_lifetime,
        "selfOnly": options.self_only,
        "pageSize": options.page_size,
        "grantIds": options.grant_ids,
        "grantsByUpn": options.grants_by_upn,
        "consentSetOnForeignInstalls": options.consent_set_on_foreign_installs,
        "auditRoles": options.audit_roles,
        "consentScopeRule": options.consent_scope_rule,
        "consentErrorText": options.consent_error_text,
    })
}

async fn get_options(State(ctx): State<Arc<Ctx>>) -> Response {
    Json(options_json(&lock(&ctx.options))).into_response()
}

async fn options(State(ctx): State<Arc<Ctx>>, Json(patch): Json<OptionsPatch>) -> Response {
    let mut options = lock(&ctx.options);
    if let Some(cae) = patch.cae {
        options.cae = cae;
    }
    if let Some(lifetime) = patch.access_token_lifetime {
        if lifetime <= 0 {
            return bad("accessTokenLifetime must be positive");
        }
        options.access_token_lifetime = lifetime;
    }
    if let Some(self_only) = patch.self_only {
        options.self_only = self_only;
    }
    if let Some(page_size) = patch.page_size {
        options.page_size = page_size;
    }
    if let Some(grant_ids) = patch.grant_ids {
        options.grant_ids = grant_ids;
    }
    if let Some(rule) = patch.grants_by_upn {
        options.grants_by_upn = rule;
    }
    if let Some(set) = patch.consent_set_on_foreign_installs {
        options.consent_set_on_foreign_installs = set;
    }
    if let Some(roles) = patch.audit_roles {
        options.audit_roles = roles;
    }
    if let Some(rule) = patch.consent_scope_rule {
        options.consent_scope_rule = rule;
    }
    if let Some(text) = patch.consent_error_text {
        options.consent_error_text = Some(text).filter(|t| !t.is_empty());
    }
    Json(options_json(&options)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TenantPatch {
    personal_scope_rsc_enabled: Option<bool>,
}

async fn tenant(State(ctx): State<Arc<Ctx>>, Json(patch): Json<TenantPatch>) -> Response {
    let result = ctx.store.write(|s| {
        if let Some(enabled) = patch.personal_scope_rsc_enabled {
            s.tenant.personal_scope_rsc_enabled = enabled;
        }
        s.tenant.clone()
    });
    match result {
        Ok(tenant) => Json(tenant).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

/// The seeded accounts to sign in with: admins first, then members with the most personal apps
/// (the interesting ones to manage), then guests.
pub fn account_list(ctx: &Ctx) -> Vec<Value> {
    let state = ctx.store.read();
    let installs = |id: &str| {
        state
            .installations
            .iter()
            .filter(|i| i.user_id == id)
            .count()
    };
    let mut users: Vec<_> = state.users.iter().filter(|u| u.account_enabled).collect();
    users.sort_by_key(|u| {
        (
            !u.is_admin(),
            u.user_type != "Member",
            std::cmp::Reverse(installs(&u.id)),
            u.display_name.clone(),
        )
    });
    users
        .iter()
        .map(|u| json!({ "id": u.id, "displayName": u.display_name, "userPrincipalName": u.user_principal_name, "roles": u.roles, "userType": u.user_type }))
        .collect()
}

async fn accounts(State(ctx): State<Arc<Ctx>>) -> Response {
    Json(account_list(&ctx)).into_response()
}

async fn state(State(ctx): State<Arc<Ctx>>) -> Response {
    Json(ctx.store.read().clone()).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewInstallation {
    /// User id or UPN.
    user: String,
    /// Catalog app id.
    app: String,
    /// Version of a definition of the app; the latest published one when absent.
    version: Option<String>,
}

/// Installs an app for a user behind the portal's back (someone else did it meanwhile), with the
/// definition's whole RSC set consented. 409 when it is already there.
async fn add_installation(
    State(ctx): State<Arc<Ctx>>,
    Json(new): Json<NewInstallation>,
) -> Response {
    let result = ctx.store.write(|s| {
        let user = s
            .find_user(&new.user)
            .ok_or(format!("no user {}", new.user))?
            .id
            .clone();
        let app = s.find_app(&new.app).ok_or(format!("no app {}", new.app))?;
        let definition = match &new.version {
            Some(v) => app.definitions.iter().find(|d| &d.version == v),
            None => crate::store::latest_published(app),
        }
        .ok_or("no such version")?;
        if s.installations
            .iter()
            .any(|i| i.user_id == user && i.app_id == app.id)
        {
            return Err("already installed".to_string());
        }
        let required = definition.resource_specific_permissions.clone();
        let installation = Installation {
            id: installation_id(&user, &app.id),
            user_id: user,
            app_id: app.id.clone(),
            definition_id: definition.id.clone(),
            consented: (!required.is_empty()).then_some(required),
        };
        s.installations.push(installation.clone());
        Ok(installation)
    });
    match result {
        Ok(Ok(installation)) => (StatusCode::CREATED, Json(installation)).into_response(),
        Ok(Err(message)) => bad(message),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

/// Deletes an app from the catalog (its installations go with it), as an admin would in the
/// Teams admin center while the portal still shows it.
async fn remove_app(State(ctx): State<Arc<Ctx>>, Path(app): Path<String>) -> Response {
    let result = ctx.store.write(|s| {
        let before = s.teams_apps.len();
        s.teams_apps.retain(|a| !a.id.eq_ignore_ascii_case(&app));
        s.installations
            .retain(|i| !i.app_id.eq_ignore_ascii_case(&app));
        before != s.teams_apps.len()
    });
    match result {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => bad(format!("no app {app}")),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewDefinition {
    version: String,
    /// The definition's whole required RSC set (`permissionValue`, `permissionType`).
    #[serde(default)]
    resource_specific_permissions: Vec<crate::seed::Rsc>,
}

/// Publishes a new version of an app (the latest published one from now on), as its developer
/// would while the portal still shows the one before, with its own required RSC set; the rest
/// as the app's latest definition had it.
async fn publish_definition(
    State(ctx): State<Arc<Ctx>>,
    Path(app): Path<String>,
    Json(new): Json<NewDefinition>,
) -> Response {
    let result = ctx.store.write(|s| {
        let app = s
            .teams_apps
            .iter_mut()
            .find(|a| a.id.eq_ignore_ascii_case(&app))
            .ok_or(format!("no app {app}"))?;
        let mut permissions = Vec::new();
        for p in new.resource_specific_permissions {
            let kind = crate::seed::canonical_permission_type(&p.permission_type)
                .ok_or(format!("unknown permissionType {}", p.permission_type))?;
            permissions.push(crate::seed::Rsc {
                permission_value: p.permission_value,
                permission_type: kind.to_string(),
            });
        }
        let mut definition = app.definitions.last().cloned().ok_or("no definition")?;
        definition.id = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!("{}:{}", app.id, new.version).as_bytes(),
        )
        .to_string();
        definition.version = new.version;
        definition.publishing_state = "published".into();
        definition.resource_specific_permissions = permissions;
        app.definitions.push(definition.clone());
        Ok::<_, String>(definition)
    });
    match result {
        Ok(Ok(definition)) => (StatusCode::CREATED, Json(definition)).into_response(),
        Ok(Err(message)) => bad(message),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdminConsent {
    /// The client; the portal's when absent.
    client_id: Option<String>,
    /// Graph permission names; every scope the application asks for when absent.
    scopes: Option<Vec<String>>,
}

/// Grants tenant-wide consent, as an administrator accepting the admin-consent prompt would.
async fn admin_consent(State(ctx): State<Arc<Ctx>>, Json(grant): Json<AdminConsent>) -> Response {
    let result = ctx.store.write(|s| {
        let application = match &grant.client_id {
            Some(id) => s.application(id),
            None => s.applications.first(),
        }
        .cloned()
        .ok_or("no such application")?;
        let scopes = grant
            .scopes
            .clone()
            .unwrap_or_else(|| application.required_scopes.clone());
        let entry = s
            .admin_consents
            .entry(application.app_id.clone())
            .or_default();
        entry.extend(scopes);
        Ok::<_, &str>(json!({ "clientId": application.app_id, "scopes": entry }))
    });
    match result {
        Ok(Ok(body)) => Json(body).into_response(),
        Ok(Err(message)) => bad(message),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}
