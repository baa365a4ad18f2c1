//! Leaving for the identity provider: the authorize redirect (its pending request saved first,
//! or the redirect refused), every navigation away waiting on the redirect gate and happening
//! once; and what the user is asked to do: consent again, sign in (the header button), and the
//! link an administrator follows to consent for the whole tenant.

use portal_core::auth::admin_consent::admin_consent_url;
use portal_core::auth::challenge::{claims_parameter, ClaimsChallenge};
use portal_core::auth::pending::{self, PendingAuthorization, StorageError};
use portal_core::auth::return_to::return_to_under;
use portal_core::auth::scopes::{scopes_for, Operation, SIGN_IN_OPERATIONS};
use portal_core::RuntimeConfig;

use super::{known_operations, now, stored_account, Session};
use crate::auth::redirect::{self, current_path};
use crate::auth::storage::{session_storage_available, SessionStore};
use crate::auth::{AuthError, AuthStatus};

impl Session {
    /// Leaves for `url` once no write is in flight (see [`crate::auth::redirect_gate`]); only
    /// the first navigation of a page's life goes ahead.
    pub(super) async fn navigate(self, url: &str) {
        self.redirects_settled().await;
        if self.begin_redirect() {
            redirect::assign(url);
        }
    }

    /// Redirects to sign in for the sign-in scopes, those granted before and `operations`,
    /// coming back to `return_to` (a path of this deployment, else its home), by default the
    /// current page.
    pub(super) async fn sign_in_redirect(
        self,
        config: &RuntimeConfig,
        operations: &[Operation],
        login_hint: Option<&str>,
        prompt: Option<&str>,
        challenge: Option<&ClaimsChallenge>,
        return_to: Option<&str>,
    ) -> Result<(), AuthError> {
        if !session_storage_available() {
            return Err(AuthError::Storage(StorageError {
                reason: "this browser gives the page no session storage".into(),
            }));
        }
        let all: Vec<Operation> = [
            SIGN_IN_OPERATIONS.as_slice(),
            known_operations(config).as_slice(),
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
        let request = self.worker()?.authorize_url(config, &scopes, extra).await?;
        // Writes in flight finish first; the pending request is saved after, so its 10 minutes
        // start when the user actually leaves.
        self.redirects_settled().await;
        pending::save(
            &mut SessionStore,
            &PendingAuthorization {
                state: request.state,
                nonce: request.nonce,
                pkce_verifier: request.pkce_verifier,
                return_to: return_to_under(
                    &return_to.map_or_else(current_path, str::to_string),
                    &crate::routes::home(),
                ),
                scopes,
                created_at: now(),
            },
        )?;
        self.navigate(&request.url).await;
        Ok(())
    }

    /// Asks again, interactively and with the consent prompt, for `operations` (after Graph
    /// said the token lacks them), coming back to this page once writes in flight settle.
    pub fn request_consent(self, operations: Vec<Operation>) {
        leptos::task::spawn_local(async move {
            let Ok(config) = self.config() else {
                return;
            };
            let hint = stored_account(&config).and_then(|a| a.hint().map(str::to_string));
            if let Err(e) = self
                .sign_in_redirect(
                    &config,
                    &operations,
                    hint.as_deref(),
                    Some("consent"),
                    None,
                    None,
                )
                .await
            {
                self.set_status(AuthStatus::Failed(e));
            }
        });
    }

    /// Starts an interactive sign-in (header button).
    pub fn start_sign_in(self, prompt: Option<&'static str>) {
        leptos::task::spawn_local(async move {
            let Ok(config) = self.config() else {
                return;
            };
            if let Err(e) = self
                .sign_in_redirect(&config, &[], None, prompt, None, None)
                .await
            {
                self.set_status(AuthStatus::Failed(e));
            }
        });
    }

    /// The link an administrator follows to consent for the whole tenant.
    pub fn admin_consent_link(self) -> Option<String> {
        self.with_core(|c| admin_consent_url(&c.config))
    }
}
