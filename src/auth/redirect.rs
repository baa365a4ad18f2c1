//! Leaving the portal for the identity provider and coming back: the authorize redirect (its
//! pending request saved first, or the redirect refused), the callback and admin-consent return
//! read from the address bar, and every navigation away waiting on the redirect gate.

use portal_core::auth::challenge::{claims_parameter, ClaimsChallenge};
use portal_core::auth::pending::{self, PendingAuthorization, StorageError};
use portal_core::auth::return_to::return_to_under;
use portal_core::auth::scopes::{scopes_for, Operation, SIGN_IN_OPERATIONS};
use portal_core::RuntimeConfig;

use super::storage::{session_storage_available, SessionStore};
use super::{redirect_gate, session, sign_in_worker, AuthError};

fn location() -> Option<web_sys::Location> {
    web_sys::window().map(|w| w.location())
}

/// The current path and query (where to come back to).
pub(super) fn current_path() -> String {
    location()
        .map(|l| {
            format!(
                "{}{}",
                l.pathname().unwrap_or_default(),
                l.search().unwrap_or_default()
            )
        })
        .unwrap_or_else(crate::routes::home)
}

/// Replaces the address (no history entry): code and state never stay visible.
pub(super) fn replace_url(path: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
}

/// The query parameters of the address bar.
pub(super) fn query_params() -> Vec<(String, String)> {
    let Some(search) = location().and_then(|l| l.search().ok()) else {
        return Vec::new();
    };
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return Vec::new();
    };
    [
        "code",
        "state",
        "error",
        "error_description",
        "admin_consent",
        "tenant",
        "scope",
    ]
    .iter()
    .filter_map(|k| params.get(k).map(|v| (k.to_string(), v)))
    .collect()
}

/// Whether the parameters are a sign-in callback (a `state` with a `code` or an `error`).
pub(super) fn is_callback(params: &[(String, String)]) -> bool {
    let has = |k: &str| params.iter().any(|(key, _)| key == k);
    has("state") && (has("code") || has("error"))
}

/// Leaves for `url` once no write is in flight (see [`redirect_gate`]); only the first
/// navigation of a page's life goes ahead.
pub(super) async fn navigate(url: &str) {
    redirect_gate::settled().await;
    if session::begin_redirect() {
        if let Some(location) = location() {
            let _ = location.assign(url);
        }
    }
}

/// Redirects to sign in for the sign-in scopes, those granted before and `operations`,
/// coming back to the current page.
pub async fn sign_in_redirect(
    config: &RuntimeConfig,
    operations: &[Operation],
    login_hint: Option<&str>,
    prompt: Option<&str>,
    challenge: Option<&ClaimsChallenge>,
) -> Result<(), AuthError> {
    sign_in_redirect_to(
        config,
        operations,
        login_hint,
        prompt,
        challenge,
        &current_path(),
    )
    .await
}

/// [`sign_in_redirect`] coming back to `return_to` (a path of this deployment, else its home).
pub(super) async fn sign_in_redirect_to(
    config: &RuntimeConfig,
    operations: &[Operation],
    login_hint: Option<&str>,
    prompt: Option<&str>,
    challenge: Option<&ClaimsChallenge>,
    return_to: &str,
) -> Result<(), AuthError> {
    async {
        if !session_storage_available() {
            return Err(AuthError::Storage(StorageError {
                reason: "this browser gives the page no session storage".into(),
            }));
        }
        let all: Vec<Operation> = [
            SIGN_IN_OPERATIONS.as_slice(),
            session::known_operations(config).as_slice(),
            operations,
        ]
        .concat();
        let scopes = scopes_for(config.cloud, &all);
        let mut extra: Vec<(String, String)> = Vec::new();
        if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
            extra.push(("login_hint".into(), hint.to_string()));
        }
        if let Some(prompt) = prompt {
            extra.push(("prompt".into(), prompt.to_string()));
        }
        // A verified domain as tenant doubles as the domain hint (skips home-realm discovery).
        if let portal_core::Tenant::Domain(domain) = &config.tenant {
            extra.push(("domain_hint".into(), domain.clone()));
        }
        if let Some(claims) = claims_parameter(challenge, &config.client_capabilities) {
            extra.push(("claims".into(), claims));
        }
        let request = sign_in_worker::authorize_url(config, &scopes, extra).await?;
        // Writes in flight finish first; the pending request is saved after, so its 10 minutes
        // start when the user actually leaves.
        redirect_gate::settled().await;
        pending::save(
            &mut SessionStore,
            &PendingAuthorization {
                state: request.state,
                nonce: request.nonce,
                pkce_verifier: request.pkce_verifier,
                return_to: return_to_under(return_to, &crate::routes::home()),
                scopes,
                created_at: session::now(),
            },
        )?;
        navigate(&request.url).await;
        Ok::<(), AuthError>(())
    }
    .await
}
