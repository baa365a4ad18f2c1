//! Signing in, MSAL-style, in the browser: authorization code + PKCE through `openidconnect`,
//! access tokens per scope set in memory, the refresh token in sessionStorage (or memory), silent
//! renewal 5 minutes before expiry shared by concurrent callers, incremental consent, claims
//! challenges and sign-out. The decisions live in `portal_core::auth`; this module does the I/O.

pub mod http;
pub mod oidc;
pub mod storage;
pub mod webcrypto;

use std::cell::RefCell;
use std::collections::BTreeSet;

use leptos::prelude::*;
use openidconnect::{OAuth2TokenResponse, TokenResponse};
use portal_core::auth::challenge::{claims_parameter, ClaimsChallenge};
use portal_core::auth::pending::{self, KeyValueStore, PendingAuthorization, PendingError};
use portal_core::auth::renewal::{AccessTokenCache, CachedAccessToken, RenewalGate, RenewalTurn};
use portal_core::auth::scopes::{
    granted_permissions, scopes_for, Operation, ALL_OPERATIONS, SIGN_IN_OPERATIONS,
};
use portal_core::{RuntimeConfig, TokenCacheLocation};

use oidc::{IdentityClaims, Provider};
use storage::{MemoryOnly, SessionStore};

const REFRESH_TOKEN_KEY: &str = "tap.auth.refresh_token";
const ACCOUNT_HINT_KEY: &str = "tap.auth.login_hint";
const GRANTED_KEY: &str = "tap.auth.granted";
/// Role template ids that make the admin landing the default (a hint; Graph decides).
pub const ADMIN_ROLE_TEMPLATES: [&str; 2] = [
    "69091246-20e8-4a56-aa4d-066075b2a7a8",
    "62e90394-69f5-4237-9190-012177145e10",
];

/// Every way signing in can fail, with what the user can read.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthError {
    /// No answer from the identity provider.
    Network(String),
    /// The discovery document or JWKS could not be used.
    Discovery(String),
    /// The identity provider refused (`error`, `error_description` with the AADSTS code).
    Server { error: String, description: String },
    /// The callback's `state` is unknown (forged or replayed) or too old.
    Callback(PendingError),
    /// The ID token failed validation.
    IdToken(String),
    /// The protocol was not followed (unparsable answer, missing token).
    Protocol(String),
}

impl AuthError {
    /// The AADSTS code in a server error, if any.
    pub fn aadsts(&self) -> Option<String> {
        match self {
            AuthError::Server { description, .. } => description
                .split(|c: char| !c.is_ascii_alphanumeric())
                .find(|w| w.starts_with("AADSTS"))
                .map(str::to_string),
            _ => None,
        }
    }

    /// Whether interaction (a redirect to sign in) can fix it.
    pub fn needs_interaction(&self) -> bool {
        matches!(self, AuthError::Server { error, .. } if error == "invalid_grant" || error == "interaction_required" || error == "login_required" || error == "consent_required")
    }

    /// Whether an administrator must consent first.
    pub fn is_consent_required(&self) -> bool {
        matches!(self, AuthError::Server { error, description } if error == "consent_required" || description.contains("AADSTS65001"))
    }
}

/// The signed-in account, from the validated ID token.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub name: String,
    pub username: String,
    pub oid: String,
    pub tid: String,
    pub wids: Vec<String>,
}

impl Account {
    /// Teams Administrator or Global Administrator per `wids` (a UI hint only).
    pub fn is_admin(&self) -> bool {
        self.wids
            .iter()
            .any(|w| ADMIN_ROLE_TEMPLATES.contains(&w.as_str()))
    }
}

impl From<IdentityClaims> for Account {
    fn from(c: IdentityClaims) -> Account {
        Account {
            name: c.name,
            username: c.username,
            oid: c.oid,
            tid: c.tid,
            wids: c.wids,
        }
    }
}

/// What the UI shows.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthStatus {
    Starting,
    SignedOut,
    SignedIn(Account),
    /// Sign-in failed; the portal still works signed out.
    Failed(AuthError),
    /// An admin must consent before this user can get the scopes asked for.
    ConsentRequired {
        description: String,
        admin_consent_url: String,
    },
}

struct Core {
    config: RuntimeConfig,
    provider: Option<Provider>,
    tokens: AccessTokenCache,
    gate: RenewalGate,
    renewals: u32,
    /// The UI handle, once the shell has provided it (signals live outside any owner's scope).
    auth: Option<Auth>,
}

thread_local! {
    static CORE: RefCell<Option<Core>> = const { RefCell::new(None) };
}

fn with_core<T>(f: impl FnOnce(&mut Core) -> T) -> Option<T> {
    CORE.with(|c| c.borrow_mut().as_mut().map(f))
}

fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn store(config: &RuntimeConfig) -> Box<dyn KeyValueStore> {
    match config.token_cache {
        TokenCacheLocation::Session => Box::new(SessionStore),
        TokenCacheLocation::Memory => Box::new(MemoryOnly),
    }
}

/// The auth handle in context.
#[derive(Clone, Copy)]
pub struct Auth {
    pub status: RwSignal<AuthStatus>,
    /// Silent renewals done in this page's life (shown on Settings).
    pub renewals: RwSignal<u32>,
    /// Graph permissions held now.
    pub granted: RwSignal<Vec<String>>,
}

/// The auth handle from context (a signed-out one if none was provided, as in component tests).
pub fn use_auth() -> Auth {
    use_context::<Auth>().unwrap_or_else(|| Auth {
        status: RwSignal::new(AuthStatus::SignedOut),
        renewals: RwSignal::new(0),
        granted: RwSignal::new(Vec::new()),
    })
}

/// Result of starting up: the status, and where the router should start.
pub struct Boot {
    pub status: AuthStatus,
}

fn location() -> Option<web_sys::Location> {
    web_sys::window().map(|w| w.location())
}

fn current_path() -> String {
    location()
        .map(|l| {
            format!(
                "{}{}",
                l.pathname().unwrap_or_default(),
                l.search().unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "/".into())
}

fn replace_url(path: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
}

fn callback_params() -> Option<Vec<(String, String)>> {
    let search = location()?.search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    let has_state = params.get("state").is_some();
    let is_callback = has_state && (params.get("code").is_some() || params.get("error").is_some());
    is_callback.then(|| {
        [
            "code",
            "state",
            "error",
            "error_description",
            "admin_consent",
        ]
        .iter()
        .filter_map(|k| params.get(k).map(|v| (k.to_string(), v)))
        .collect()
    })
}

/// Starts the session: finishes a callback in the address bar, or renews from a stored refresh
/// token, or stays signed out. Removes code and state from the address bar in every case.
pub async fn boot(config: &RuntimeConfig) -> Boot {
    CORE.with(|c| {
        *c.borrow_mut() = Some(Core {
            config: config.clone(),
            provider: None,
            tokens: AccessTokenCache::default(),
            gate: RenewalGate::default(),
            renewals: 0,
            auth: None,
        })
    });
    if let Some(params) = callback_params() {
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let state = get("state").unwrap_or_default();
        let mut kv = SessionStore;
        let pending = pending::take(&mut kv, &state, now());
        // Clean the address bar first: code and state never stay visible or in history.
        let return_to = pending
            .as_ref()
            .map(|p| p.return_to.clone())
            .unwrap_or_else(|_| "/".into());
        replace_url(&return_to);
        let pending = match pending {
            Ok(p) => p,
            Err(e) => {
                return Boot {
                    status: AuthStatus::Failed(AuthError::Callback(e)),
                }
            }
        };
        if let Some(error) = get("error") {
            let failure = AuthError::Server {
                error,
                description: get("error_description").unwrap_or_default(),
            };
            if failure.is_consent_required() {
                return Boot {
                    status: AuthStatus::ConsentRequired {
                        description: get("error_description").unwrap_or_default(),
                        admin_consent_url: admin_consent_url(config),
                    },
                };
            }
            return Boot {
                status: AuthStatus::Failed(failure),
            };
        }
        if get("admin_consent").is_some() {
            return Boot {
                status: AuthStatus::SignedOut,
            };
        }
        return match finish_sign_in(config, &pending, &get("code").unwrap_or_default()).await {
            Ok(account) => Boot {
                status: AuthStatus::SignedIn(account),
            },
            Err(e) => Boot {
                status: AuthStatus::Failed(e),
            },
        };
    }
    let stored = store(config).get(REFRESH_TOKEN_KEY);
    if stored.is_some() {
        return match renew(config, None, None).await {
            Ok(Some(account)) => Boot {
                status: AuthStatus::SignedIn(account),
            },
            Ok(None) => Boot {
                status: AuthStatus::SignedOut,
            },
            Err(e) if e.needs_interaction() => {
                // The session cannot be renewed (24-hour limit, revoked): sign in again and come back.
                let _ = reauthorize(config, &[], None).await;
                Boot {
                    status: AuthStatus::Starting,
                }
            }
            Err(e) => Boot {
                status: AuthStatus::Failed(e),
            },
        };
    }
    Boot {
        status: AuthStatus::SignedOut,
    }
}

async fn provider(config: &RuntimeConfig) -> Result<Provider, AuthError> {
    if let Some(p) = with_core(|c| c.provider.clone()).flatten() {
        return Ok(p);
    }
    let p = oidc::discover(config).await?;
    with_core(|c| c.provider = Some(p.clone()));
    Ok(p)
}

fn admin_consent_url(config: &RuntimeConfig) -> String {
    let mut query = form_query(&[
        ("client_id", config.client_id.as_str()),
        (
            "scope",
            &format!("https://{}/.default", config.cloud.graph_host()),
        ),
        ("redirect_uri", config.redirect_uri.as_str()),
        ("state", "admin-consent"),
    ]);
    query.insert(0, '?');
    format!(
        "{}/{}/v2.0/adminconsent{query}",
        config.authority_origin(),
        config.tenant.as_path_segment()
    )
}

fn form_query(pairs: &[(&str, &str)]) -> String {
    let params = web_sys::UrlSearchParams::new().ok();
    match params {
        Some(p) => {
            for (k, v) in pairs {
                p.append(k, v);
            }
            p.to_string().into()
        }
        None => String::new(),
    }
}

/// Redirects to sign in for the sign-in scopes plus `operations`, returning to the current page.
pub async fn sign_in_redirect(
    config: &RuntimeConfig,
    operations: &[Operation],
    login_hint: Option<&str>,
    prompt: Option<&str>,
    challenge: Option<&ClaimsChallenge>,
) -> Result<(), AuthError> {
    let provider = provider(config).await?;
    let known: Vec<Operation> = known_operations(config);
    let all: Vec<Operation> =
        [SIGN_IN_OPERATIONS.as_slice(), known.as_slice(), operations].concat();
    let scopes = scopes_for(config.cloud, &all);
    let mut extra: Vec<(&str, String)> = Vec::new();
    if let Some(hint) = login_hint {
        extra.push(("login_hint", hint.to_string()));
    }
    if let Some(prompt) = prompt {
        extra.push(("prompt", prompt.to_string()));
    }
    // A verified domain as tenant doubles as the domain hint (skips home-realm discovery).
    if let portal_core::Tenant::Domain(domain) = &config.tenant {
        extra.push(("domain_hint", domain.clone()));
    }
    if let Some(claims) = claims_parameter(challenge, &config.client_capabilities) {
        extra.push(("claims", claims));
    }
    let request = oidc::authorize_url(config, &provider, &scopes, &extra)?;
    let mut kv = SessionStore;
    pending::save(
        &mut kv,
        &PendingAuthorization {
            state: request.state,
            nonce: request.nonce,
            pkce_verifier: request.pkce_verifier,
            return_to: current_path(),
            scopes,
            created_at: now(),
        },
    );
    if let Some(location) = location() {
        let _ = location.assign(&request.url);
    }
    Ok(())
}

/// Operations granted before in this session (so a new sign-in keeps them).
fn known_operations(config: &RuntimeConfig) -> Vec<Operation> {
    let granted = store(config).get(GRANTED_KEY).unwrap_or_default();
    ALL_OPERATIONS
        .iter()
        .copied()
        .filter(|op| granted.split(' ').any(|g| g == op.permission()))
        .collect()
}

fn remember_tokens(
    config: &RuntimeConfig,
    response: &openidconnect::core::CoreTokenResponse,
) -> Result<(), AuthError> {
    let permissions: BTreeSet<String> = response
        .scopes()
        .map(|scopes| {
            scopes
                .iter()
                .flat_map(|s| granted_permissions(s.as_str()))
                .collect()
        })
        .unwrap_or_default();
    let expires_in = response
        .expires_in()
        .map(|d| d.as_secs() as i64)
        .unwrap_or(3600);
    let token = CachedAccessToken {
        secret: response.access_token().secret().clone(),
        permissions: permissions.clone(),
        expires_at: now() + expires_in,
    };
    let mut kv = store(config);
    if let Some(refresh) = response.refresh_token() {
        kv.set(REFRESH_TOKEN_KEY, refresh.secret());
    }
    kv.set(
        GRANTED_KEY,
        &permissions.iter().cloned().collect::<Vec<_>>().join(" "),
    );
    with_core(|c| c.tokens.insert(token, now()));
    if let Some(auth) = with_core(|c| c.auth).flatten() {
        auth.granted.set(permissions.into_iter().collect());
    }
    schedule_renewal(config.clone());
    Ok(())
}

async fn finish_sign_in(
    config: &RuntimeConfig,
    pending: &PendingAuthorization,
    code: &str,
) -> Result<Account, AuthError> {
    let mut provider = provider(config).await?;
    let response = oidc::exchange_code(config, &provider, code, &pending.pkce_verifier).await?;
    let id_token = response
        .id_token()
        .ok_or_else(|| AuthError::Protocol("the token response has no ID token".into()))?;
    let claims =
        oidc::validate_id_token(config, &mut provider, id_token, Some(&pending.nonce)).await?;
    with_core(|c| c.provider = Some(provider));
    remember_tokens(config, &response)?;
    store(config).set(ACCOUNT_HINT_KEY, &claims.username);
    Ok(claims.into())
}

/// Renews with the stored refresh token for the known scopes plus `operations`.
async fn renew(
    config: &RuntimeConfig,
    operations: Option<&[Operation]>,
    challenge: Option<&ClaimsChallenge>,
) -> Result<Option<Account>, AuthError> {
    let Some(refresh_token) = store(config).get(REFRESH_TOKEN_KEY) else {
        return Ok(None);
    };
    let mut provider = provider(config).await?;
    let all: Vec<Operation> = [
        SIGN_IN_OPERATIONS.as_slice(),
        &known_operations(config),
        operations.unwrap_or(&[]),
    ]
    .concat();
    let scopes = scopes_for(config.cloud, &all);
    let claims = claims_parameter(challenge, &config.client_capabilities);
    let response = match oidc::refresh(
        config,
        &provider,
        &refresh_token,
        &scopes,
        claims.as_deref(),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            if e.needs_interaction() && !e.is_consent_required() {
                store(config).remove(REFRESH_TOKEN_KEY);
            }
            return Err(e);
        }
    };
    remember_tokens(config, &response)?;
    let account = match response.id_token() {
        Some(id_token) => Some(
            oidc::validate_id_token(config, &mut provider, id_token, None)
                .await?
                .into(),
        ),
        None => None,
    };
    with_core(|c| {
        c.provider = Some(provider);
        c.renewals += 1;
    });
    if let Some(auth) = with_core(|c| c.auth).flatten() {
        auth.renewals.update(|n| *n += 1);
    }
    Ok(account)
}

thread_local! {
    static TIMER: RefCell<Option<gloo_timers::callback::Timeout>> = const { RefCell::new(None) };
}

/// Renews in the background when the earliest token enters its renewal window.
fn schedule_renewal(config: RuntimeConfig) {
    let Some(delay) = with_core(|c| c.tokens.next_renewal_in(now())).flatten() else {
        return;
    };
    let millis = (delay.max(1) as u32).saturating_mul(1000);
    let timeout = gloo_timers::callback::Timeout::new(millis, move || {
        leptos::task::spawn_local(async move {
            if let Err(error) = renew_shared(&config, None, None).await {
                if let Some(auth) = with_core(|c| c.auth).flatten() {
                    auth.status.set(AuthStatus::Failed(error));
                }
            }
        });
    });
    TIMER.with(|t| *t.borrow_mut() = Some(timeout));
}

/// One renewal at a time: the first caller renews, the others wait for it.
async fn renew_shared(
    config: &RuntimeConfig,
    operations: Option<&[Operation]>,
    challenge: Option<&ClaimsChallenge>,
) -> Result<(), AuthError> {
    loop {
        match with_core(|c| c.gate.begin()) {
            Some(RenewalTurn::Renew(ticket)) => {
                let result = renew(config, operations, challenge).await;
                with_core(|c| c.gate.finish(ticket));
                return result.map(|_| ());
            }
            Some(RenewalTurn::Wait(_)) => {
                gloo_timers::future::TimeoutFuture::new(50).await;
                if with_core(|c| c.gate.in_flight().is_none()).unwrap_or(true) {
                    return Ok(());
                }
            }
            None => return Err(AuthError::Protocol("auth is not started".into())),
        }
    }
}

/// An access token for `operations`: from the cache, else renewed silently (asking for new
/// scopes incrementally), else by a redirect that brings the user back to this page.
pub async fn access_token(
    operations: &[Operation],
    challenge: Option<&ClaimsChallenge>,
) -> Result<String, AuthError> {
    let config = with_core(|c| c.config.clone())
        .ok_or_else(|| AuthError::Protocol("auth is not started".into()))?;
    let needed: BTreeSet<String> = operations
        .iter()
        .map(|op| op.permission().to_string())
        .collect();
    if challenge.is_none() {
        if let Some(token) =
            with_core(|c| c.tokens.find(&needed, now()).map(|t| t.secret.clone())).flatten()
        {
            return Ok(token);
        }
    }
    match renew_shared(&config, Some(operations), challenge).await {
        Ok(()) => {
            if let Some(token) =
                with_core(|c| c.tokens.find(&needed, now()).map(|t| t.secret.clone())).flatten()
            {
                return Ok(token);
            }
            Err(AuthError::Protocol(
                "the renewed token lacks the scopes asked for".into(),
            ))
        }
        Err(e) if e.needs_interaction() => {
            reauthorize(&config, operations, challenge).await?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// A token for `operations` renewed now (after a 401, or with a claims challenge), whatever the
/// cache holds; falls back to the same redirect as [`access_token`].
pub async fn renewed_access_token(
    operations: &[Operation],
    challenge: Option<&ClaimsChallenge>,
) -> Result<String, AuthError> {
    with_core(|c| c.tokens.clear());
    access_token(operations, challenge).await
}

/// Signs in again interactively for `operations` (as the last account), coming back here.
async fn reauthorize(
    config: &RuntimeConfig,
    operations: &[Operation],
    challenge: Option<&ClaimsChallenge>,
) -> Result<(), AuthError> {
    let hint = store(config).get(ACCOUNT_HINT_KEY);
    sign_in_redirect(config, operations, hint.as_deref(), None, challenge).await
}

/// Asks again, interactively and with the consent prompt, for `operations` (after Graph said
/// the token lacks them), coming back to this page.
pub fn request_consent(operations: Vec<Operation>) {
    leptos::task::spawn_local(async move {
        let Some(config) = with_core(|c| c.config.clone()) else {
            return;
        };
        with_core(|c| c.tokens.clear());
        let hint = store(&config).get(ACCOUNT_HINT_KEY);
        if let Err(e) =
            sign_in_redirect(&config, &operations, hint.as_deref(), Some("consent"), None).await
        {
            if let Some(auth) = with_core(|c| c.auth).flatten() {
                auth.status.set(AuthStatus::Failed(e));
            }
        }
    });
}

/// The link an administrator follows to consent for the whole tenant.
pub fn admin_consent_link() -> Option<String> {
    with_core(|c| admin_consent_url(&c.config))
}

/// Signs out: clears every cache and sessionStorage key, then ends the session at the provider.
pub async fn sign_out() {
    let Some(config) = with_core(|c| c.config.clone()) else {
        return;
    };
    with_core(|c| c.tokens.clear());
    TIMER.with(|t| t.borrow_mut().take());
    for mut kv in [
        store(&config),
        Box::new(SessionStore) as Box<dyn KeyValueStore>,
    ] {
        kv.remove(REFRESH_TOKEN_KEY);
        kv.remove(ACCOUNT_HINT_KEY);
        kv.remove(GRANTED_KEY);
        pending::clear(kv.as_mut());
    }
    let end = match provider(&config).await {
        Ok(p) => p.end_session_endpoint,
        Err(_) => None,
    };
    let target = match end {
        Some(end) => format!(
            "{end}?{}",
            form_query(&[("post_logout_redirect_uri", config.redirect_uri.as_str())])
        ),
        None => config.redirect_uri.to_string(),
    };
    if let Some(location) = location() {
        let _ = location.assign(&target);
    }
}

/// Provides the auth handle in context with the boot status.
pub fn provide_auth(status: AuthStatus) -> Auth {
    let granted =
        with_core(|c| c.tokens.known_permissions().into_iter().collect()).unwrap_or_default();
    let auth = Auth {
        status: RwSignal::new(status),
        renewals: RwSignal::new(with_core(|c| c.renewals).unwrap_or(0)),
        granted: RwSignal::new(granted),
    };
    with_core(|c| c.auth = Some(auth));
    provide_context(auth);
    auth
}

/// Starts an interactive sign-in (header button).
pub fn start_sign_in(config: RuntimeConfig, prompt: Option<&'static str>) {
    leptos::task::spawn_local(async move {
        if let Err(e) = sign_in_redirect(&config, &[], None, prompt, None).await {
            if let Some(auth) = with_core(|c| c.auth).flatten() {
                auth.status.set(AuthStatus::Failed(e));
            }
        }
    });
}
