//! Starting the session: finishes a sign-in callback or an admin-consent return found in the
//! address bar, or restores the stored session (with a kept access token at once, else by a
//! renewal), or stays signed out.

use portal_core::auth::admin_consent::{
    admin_consent_return, admin_consent_url, AdminConsentReturn,
};
use portal_core::auth::pending::{self, PendingAuthorization, StorageError};
use portal_core::auth::permission_set::PermissionSet;
use portal_core::auth::renewal::AccessTokenCache;
use portal_core::auth::return_to::return_to_under;
use portal_core::auth::scopes::granted_permissions;
use portal_core::auth::session_keys::SessionKeys;
use portal_core::RuntimeConfig;

use super::renewal::{after_background_renewal, schedule_renewal};
use super::sign_out::end_locally;
use super::tokens::{remember, renew_shared};
use super::{now, read, set_status, stored_account, stored_tokens, with_core, Core, CORE};
use crate::auth::redirect::{self, replace_url};
use crate::auth::sign_in_worker;
use crate::auth::storage::{session_storage_available, SessionStore};
use crate::auth::{broadcast, Account, AuthError, AuthStatus, Boot};

/// Starts the session: finishes a callback or an admin-consent return in the address bar, or
/// renews from a stored refresh token, or stays signed out. Code and state leave the address
/// bar in every case.
pub async fn boot(config: &RuntimeConfig) -> Boot {
    start(config);
    boot_started(config).await
}

async fn boot_started(config: &RuntimeConfig) -> Boot {
    let params = redirect::query_params();
    if let Some(answer) = admin_consent_return(&params) {
        // Not a sign-in: no pending request, no code. Clean the address and go on.
        replace_url(&crate::routes::home());
        if let AdminConsentReturn::Refused { error, description } = answer {
            return Boot {
                status: AuthStatus::Failed(AuthError::AdminConsent { error, description }),
            };
        }
    } else if redirect::is_callback(&params) {
        return Boot {
            status: finish_callback(config, &params).await,
        };
    }
    // One place awaits the restore (its code is inlined where it is awaited).
    Boot {
        status: restore(config).await,
    }
}

fn start(config: &RuntimeConfig) {
    let keys = SessionKeys::for_config(config);
    CORE.with(|c| {
        *c.borrow_mut() = Some(Core {
            config: config.clone(),
            tokens: AccessTokenCache::default(),
            renewal: None,
            next_ticket: 0,
            renewals: 0,
            failed_renewals: 0,
            account: None,
            id_token: None,
            redirecting: false,
            generation: 0,
            auth: None,
        })
    });
    broadcast::listen(keys.binding(), || {
        end_locally();
        set_status(AuthStatus::SignedOut);
    });
}

async fn finish_callback(config: &RuntimeConfig, params: &[(String, String)]) -> AuthStatus {
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if !session_storage_available() {
        replace_url(&crate::routes::home());
        return AuthStatus::Failed(AuthError::Storage(StorageError {
            reason: "this browser gives the page no session storage".into(),
        }));
    }
    let state = get("state").unwrap_or_default();
    let taken = pending::take(&mut SessionStore, &state, now());
    // Clean the address bar first: code and state never stay visible or in history.
    let home = crate::routes::home();
    let return_to = taken
        .as_ref()
        .map(|p| return_to_under(&p.return_to, &home))
        .unwrap_or(home);
    replace_url(&return_to);
    let pending = match taken {
        Ok(p) => p,
        Err(e) => return AuthStatus::Failed(AuthError::Callback(e)),
    };
    if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or_default();
        let failure = AuthError::Server {
            error,
            description: description.clone(),
        };
        if failure.is_consent_required() {
            return AuthStatus::ConsentRequired {
                description,
                admin_consent_url: admin_consent_url(config),
            };
        }
        return AuthStatus::Failed(failure);
    }
    match finish_sign_in(config, &pending, &get("code").unwrap_or_default()).await {
        Ok(account) => AuthStatus::SignedIn(account),
        Err(e) => AuthStatus::Failed(e),
    }
}

async fn finish_sign_in(
    config: &RuntimeConfig,
    pending: &PendingAuthorization,
    code: &str,
) -> Result<Account, AuthError> {
    let response =
        sign_in_worker::exchange_code(config, code, &pending.pkce_verifier, &pending.nonce).await?;
    let Some(id_token) = response.id_token.clone() else {
        return Err(AuthError::Protocol(
            "the token response has no ID token".into(),
        ));
    };
    let account = id_token.account;
    let asked: PermissionSet = pending
        .scopes
        .iter()
        .flat_map(|s| granted_permissions(s))
        .collect();
    remember(
        config,
        &response,
        &asked,
        Some((account.clone(), id_token.raw)),
    );
    Ok(account.into())
}

/// Starts a reload's session: with an access token of the stored account still fresh, at once
/// (no renewal: the sign-in worker, discovery, keys and the token request stay off the first
/// Graph call's path; the background renewal is scheduled as after a sign-in); else renews from
/// the stored refresh token. A transient failure keeps the stored account signed in and
/// retries; one that needs the user signs in again and comes back here.
async fn restore(config: &RuntimeConfig) -> AuthStatus {
    let keys = SessionKeys::for_config(config);
    if read(config, &keys.refresh_token()).is_none() {
        return AuthStatus::SignedOut;
    }
    let stored = stored_account(config);
    with_core(|c| c.account = stored.clone());
    if let Some(account) = stored.as_ref() {
        if let Some(kept) = stored_tokens(config, account) {
            let at = now();
            with_core(|c| {
                for token in kept.tokens {
                    c.tokens.insert(token, at);
                }
                c.id_token = kept.id_token;
            });
            schedule_renewal();
            return AuthStatus::SignedIn(account.clone().into());
        }
    }
    match renew_shared(&[], None).await {
        Ok(Some(account)) => AuthStatus::SignedIn(account),
        Ok(None) => stored
            .map(|a| AuthStatus::SignedIn(a.into()))
            .unwrap_or(AuthStatus::SignedOut),
        Err(e) if e.is_transient() => match stored {
            // A bad minute at start-up: stay signed in as the stored account and retry.
            Some(account) => {
                after_background_renewal(Err(e));
                AuthStatus::SignedIn(account.into())
            }
            None => AuthStatus::Failed(e),
        },
        Err(e) if e.needs_interaction() => {
            // The session cannot be renewed (24-hour limit, revoked): sign in again, back here.
            let hint = stored.as_ref().and_then(|a| a.hint().map(str::to_string));
            match redirect::sign_in_redirect(config, &[], hint.as_deref(), None, None).await {
                Ok(()) => AuthStatus::Starting,
                Err(redirect_error) => AuthStatus::Failed(redirect_error),
            }
        }
        Err(e) => AuthStatus::Failed(e),
    }
}
