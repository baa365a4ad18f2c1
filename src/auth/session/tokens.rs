//! Access tokens: keeping a token response, one shared renewal at a time (its real outcome for
//! every caller waiting on it), the token for an operation from the cache or renewed, and the
//! interactive fallback when a refresh cannot give what is asked.

use futures::future::FutureExt;
use leptos::prelude::*;
use portal_core::auth::account::StoredAccount;
use portal_core::auth::challenge::{claims_parameter, ClaimsChallenge};
use portal_core::auth::permission_set::PermissionSet;
use portal_core::auth::renewal::{may_fall_back, CachedAccessToken, FallbackMark};
use portal_core::auth::scopes::{covers, granted_permissions, refresh_scopes_for, Operation};
use portal_core::auth::session_keys::SessionKeys;
use portal_core::auth::sign_in_worker::{TokenAnswer, WorkerRequest};
use portal_core::RuntimeConfig;

use super::{all_operations, forget, now, permissions_of, persist, read, InFlight, Session};
use crate::auth::redirect::current_path;
use crate::auth::{Account, AuthError, AuthStatus};

impl Session {
    /// Keeps a token response: the access token in memory, the refresh token, account and granted
    /// permissions in the session store; then schedules the next renewal.
    pub(super) fn remember(
        self,
        config: &RuntimeConfig,
        response: &TokenAnswer,
        asked: &PermissionSet,
        account: Option<(StoredAccount, String)>,
    ) {
        let keys = SessionKeys::for_config(config);
        // A response without `scope` granted what was asked (RFC 6749, 5.1).
        let permissions: PermissionSet = match &response.scope {
            Some(scopes) => scopes
                .split_whitespace()
                .flat_map(granted_permissions)
                .collect(),
            None => asked.clone(),
        };
        let expires_in = response
            .expires_in
            .and_then(|s| i64::try_from(s).ok())
            .unwrap_or(3600);
        let issued_at = now();
        let token = CachedAccessToken {
            secret: response.access_token.clone(),
            permissions: permissions.clone(),
            issued_at,
            expires_at: issued_at + expires_in,
        };
        if let Some(refresh) = &response.refresh_token {
            persist(config, &keys.refresh_token(), refresh);
        }
        persist(
            config,
            &keys.granted(),
            &permissions.iter().cloned().collect::<Vec<_>>().join(" "),
        );
        if let Some((account, raw)) = &account {
            if let Ok(json) = serde_json::to_string(account) {
                persist(config, &keys.account(), &json);
            }
            self.with_core(|c| {
                c.account = Some(account.clone());
                c.id_token = Some(raw.clone());
            });
        }
        self.with_core(|c| {
            c.tokens.insert(token, issued_at);
            c.failed_renewals = 0;
        });
        self.save_tokens();
        self.granted.set(permissions.into_iter().collect());
        self.schedule_renewal();
    }

    /// Renews with the stored refresh token for `operations` (all of them: sign-in, known, asked).
    /// The renewed ID token must name the account signed in; the tokens are kept only then.
    async fn renew(
        self,
        config: RuntimeConfig,
        operations: Vec<Operation>,
        challenge: Option<ClaimsChallenge>,
    ) -> Result<Option<Account>, AuthError> {
        let keys = SessionKeys::for_config(&config);
        let Some(refresh_token) = read(&config, &keys.refresh_token()) else {
            return Err(AuthError::NoSession);
        };
        let generation = self.with_core(|c| c.generation);
        let request = WorkerRequest::Refresh {
            refresh_token,
            scopes: refresh_scopes_for(config.cloud, &operations),
            claims: claims_parameter(challenge.as_ref(), &config.client_capabilities),
            signed_in: self
                .with_core(|c| c.account.as_ref().map(StoredAccount::ids))
                .flatten(),
        };
        let response = match self.worker()?.refresh(&config, request).await {
            Ok(r) => r,
            Err(e @ AuthError::IdToken(_)) => {
                // Another account, or a token that fails validation: this session is over.
                forget(&config, &keys.refresh_token());
                self.with_core(|c| c.tokens.clear());
                self.save_tokens();
                return Err(e);
            }
            Err(e) => {
                if e.kind().refresh_token_is_dead() {
                    forget(&config, &keys.refresh_token());
                }
                return Err(e);
            }
        };
        let account = response
            .id_token
            .clone()
            .map(|id_token| (id_token.account, id_token.raw));
        if self.with_core(|c| c.generation) != generation {
            // Signed out (here or in another tab) while this renewal ran: keep nothing.
            return Err(AuthError::NoSession);
        }
        self.with_core(|c| c.renewals += 1);
        self.remember(
            &config,
            &response,
            &permissions_of(&operations),
            account.clone(),
        );
        self.renewals.update(|n| *n += 1);
        Ok(account.map(|(a, _)| a.into()))
    }

    /// One renewal at a time: the first caller starts it, the others await the same outcome (its
    /// real error included). A caller that needs more than the running renewal asks for, or has a
    /// claims challenge, renews again after it.
    pub(super) async fn renew_shared(
        self,
        operations: &[Operation],
        challenge: Option<&ClaimsChallenge>,
    ) -> Result<Option<Account>, AuthError> {
        let config = self.config()?;
        loop {
            let wanted = all_operations(&config, operations);
            let running = self
                .with_core(|c| {
                    c.renewal
                        .as_ref()
                        .map(|r| (r.operations.clone(), r.with_challenge, r.future.clone()))
                })
                .flatten();
            if let Some((theirs, their_challenge, future)) = running {
                let outcome = future.await;
                let served = challenge.is_none() && (covers(&theirs, &wanted) || their_challenge);
                if outcome.is_err() || served {
                    return outcome;
                }
                continue;
            }
            let ticket = self
                .with_core(|c| {
                    c.next_ticket += 1;
                    c.next_ticket
                })
                .ok_or(AuthError::NotStarted)?;
            let job = {
                let config = config.clone();
                let wanted = wanted.clone();
                let challenge = challenge.cloned();
                async move {
                    let outcome = self.renew(config, wanted, challenge).await;
                    self.with_core(|c| {
                        if c.renewal.as_ref().is_some_and(|r| r.ticket == ticket) {
                            c.renewal = None;
                        }
                    });
                    outcome
                }
            };
            let future = job.boxed_local().shared();
            self.with_core(|c| {
                c.renewal = Some(InFlight {
                    ticket,
                    operations: wanted,
                    with_challenge: challenge.is_some(),
                    future: future.clone(),
                })
            });
            return future.await;
        }
    }

    fn cached(self, needed: &PermissionSet) -> Option<String> {
        self.with_core(|c| c.tokens.find(needed, now()).map(|t| t.secret.clone()))
            .flatten()
    }

    /// An access token for `operations`: from the cache, else renewed silently (asking for new
    /// scopes incrementally). When the refresh cannot give them (consent, MFA, a new scope, an
    /// expired session), an interactive authorization for them starts in the background, coming
    /// back to this page, and this answers [`AuthError::Reauthorizing`] at once (a write holding
    /// the redirect gate can end and release it).
    pub async fn access_token(
        self,
        operations: &[Operation],
        challenge: Option<&ClaimsChallenge>,
    ) -> Result<String, AuthError> {
        let config = self.config()?;
        let needed = permissions_of(operations);
        if challenge.is_none() {
            if let Some(token) = self.cached(&needed) {
                return Ok(token);
            }
        }
        match self.renew_shared(operations, challenge).await {
            Ok(_) => self.cached(&needed).ok_or_else(|| {
                AuthError::Protocol(format!(
                    "the renewed token does not carry {}",
                    needed.into_iter().collect::<Vec<_>>().join(", ")
                ))
            }),
            Err(e) => Err(self.fall_back_interactively(&config, operations, challenge, e)),
        }
    }

    /// A token for `operations` renewed now (after a 401, or with a claims challenge), whatever the
    /// cache holds; falls back to the same interactive authorization as [`access_token`].
    pub async fn renewed_access_token(
        self,
        operations: &[Operation],
        challenge: Option<&ClaimsChallenge>,
    ) -> Result<String, AuthError> {
        self.with_core(|c| c.tokens.clear());
        self.save_tokens();
        self.access_token(operations, challenge).await
    }

    /// After an on-demand renewal failed: an interactive authorization for `operations` when it may
    /// help (and was not just tried for them), else the error as it is.
    fn fall_back_interactively(
        self,
        config: &RuntimeConfig,
        operations: &[Operation],
        challenge: Option<&ClaimsChallenge>,
        error: AuthError,
    ) -> AuthError {
        // No session in this tab (signed out, here or in another tab): the user signs in when they
        // choose to, never by a redirect nobody asked for.
        if matches!(error, AuthError::NoSession) || !error.kind().interactive_may_help() {
            return error;
        }
        let keys = SessionKeys::for_config(config);
        let asking = FallbackMark::new(
            &permissions_of(&all_operations(config, operations))
                .into_iter()
                .collect::<Vec<_>>(),
            now(),
        );
        let last: Option<FallbackMark> =
            read(config, &keys.fallback()).and_then(|json| serde_json::from_str(&json).ok());
        if !may_fall_back(last.as_ref(), &asking) {
            return error;
        }
        if let Ok(json) = serde_json::to_string(&asking) {
            persist(config, &keys.fallback(), &json);
        }
        let config = config.clone();
        let operations = operations.to_vec();
        let challenge = challenge.cloned();
        let return_to = current_path();
        let hint = self.account_hint(&config);
        leptos::task::spawn_local(async move {
            if let Err(e) = self
                .sign_in_redirect(
                    &config,
                    &operations,
                    hint.as_deref(),
                    None,
                    challenge.as_ref(),
                    Some(&return_to),
                )
                .await
            {
                self.set_status(AuthStatus::Failed(e));
            }
        });
        AuthError::Reauthorizing {
            reason: Box::new(error),
        }
    }
}
