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

use leptos::prelude::*;

use super::{now, read, start_needs_worker, stored_account, stored_tokens, Core, Session};
use crate::auth::broadcast::SignOutChannel;
use crate::auth::redirect::{self, replace_url};
use crate::auth::storage::{session_storage_available, SessionStore};
use crate::auth::{Account, AuthError, AuthStatus};

impl Session {
    /// Starts the sign-in worker at once when this start will need it soon: a sign-in callback to
    /// finish, a renewal at start-up (this tab holds no access token still fresh), or a signed-out
    /// page, whose next step is the sign-in. Its script and wasm then load while `config.json`
    /// does, or while the user reads the page, instead of after. A reload that starts with the
    /// access token it kept starts nothing. Read before `config.json`, from the stored names.
    pub fn warm_up(self) {
        if redirect::is_callback(&redirect::query_params()) || start_needs_worker() {
            if let Ok(worker) = self.worker() {
                worker.start();
            }
        }
    }

    /// Starts the session with `config` and sets its status: finishes a callback or an
    /// admin-consent return in the address bar, or restores the stored session (renewing from the
    /// stored refresh token when no access token was kept), or stays signed out. Code and state
    /// leave the address bar in every case.
    pub async fn boot(self, config: &RuntimeConfig) {
        self.start(config);
        let status = self.boot_started(config).await;
        if let Some((granted, renewals)) = self.with_core(|c| {
            (
                c.tokens.known_permissions().into_iter().collect::<Vec<_>>(),
                c.renewals,
            )
        }) {
            self.granted.set(granted);
            self.renewals.set(renewals);
        }
        self.status.set(status);
    }

    async fn boot_started(self, config: &RuntimeConfig) -> AuthStatus {
        let params = redirect::query_params();
        if let Some(answer) = admin_consent_return(&params) {
            // Not a sign-in: no pending request, no code. Clean the address and go on.
            replace_url(&crate::routes::home());
            if let AdminConsentReturn::Refused { error, description } = answer {
                return AuthStatus::Failed(AuthError::AdminConsent { error, description });
            }
        } else if redirect::is_callback(&params) {
            return self.finish_callback(config, &params).await;
        }
        self.restore(config).await
    }

    fn start(self, config: &RuntimeConfig) {
        let Some(state) = self.state() else {
            return;
        };
        *state.core.borrow_mut() = Some(Core {
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
        });
        let keys = SessionKeys::for_config(config);
        *state.channel.borrow_mut() = SignOutChannel::listen(keys.binding(), move || {
            self.end_locally();
            self.set_status(AuthStatus::SignedOut);
        });
    }

    async fn finish_callback(
        self,
        config: &RuntimeConfig,
        params: &[(String, String)],
    ) -> AuthStatus {
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
        match self
            .finish_sign_in(config, &pending, &get("code").unwrap_or_default())
            .await
        {
            Ok(account) => AuthStatus::SignedIn(account),
            Err(e) => AuthStatus::Failed(e),
        }
    }

    async fn finish_sign_in(
        self,
        config: &RuntimeConfig,
        pending: &PendingAuthorization,
        code: &str,
    ) -> Result<Account, AuthError> {
        let response = self
            .worker()?
            .exchange_code(config, code, &pending.pkce_verifier, &pending.nonce)
            .await?;
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
        self.remember(
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
    async fn restore(self, config: &RuntimeConfig) -> AuthStatus {
        let keys = SessionKeys::for_config(config);
        if read(config, &keys.refresh_token()).is_none() {
            return AuthStatus::SignedOut;
        }
        let stored = stored_account(config);
        self.with_core(|c| c.account = stored.clone());
        if let Some(account) = stored.as_ref() {
            if let Some(kept) = stored_tokens(config, account) {
                let at = now();
                self.with_core(|c| {
                    for token in kept.tokens {
                        c.tokens.insert(token, at);
                    }
                    c.id_token = kept.id_token;
                });
                self.schedule_renewal();
                return AuthStatus::SignedIn(account.clone().into());
            }
        }
        match self.renew_shared(&[], None).await {
            Ok(Some(account)) => AuthStatus::SignedIn(account),
            Ok(None) => stored
                .map(|a| AuthStatus::SignedIn(a.into()))
                .unwrap_or(AuthStatus::SignedOut),
            Err(e) if e.is_transient() => match stored {
                // A bad minute at start-up: stay signed in as the stored account and retry.
                Some(account) => {
                    self.after_background_renewal(Err(e));
                    AuthStatus::SignedIn(account.into())
                }
                None => AuthStatus::Failed(e),
            },
            Err(e) if e.needs_interaction() => {
                // The session cannot be renewed (24-hour limit, revoked): sign in again, back here.
                let hint = stored.as_ref().and_then(|a| a.hint().map(str::to_string));
                match self
                    .sign_in_redirect(config, &[], hint.as_deref(), None, None, None)
                    .await
                {
                    Ok(()) => AuthStatus::Starting,
                    Err(redirect_error) => AuthStatus::Failed(redirect_error),
                }
            }
            Err(e) => AuthStatus::Failed(e),
        }
    }
}
