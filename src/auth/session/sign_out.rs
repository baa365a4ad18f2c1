//! Signing out: the session forgotten in this tab, the other tabs told, the session ended at
//! the provider; optionally the account's unfinished work in this browser discarded first.

use leptos::prelude::*;
use portal_core::auth::account::end_session_url;

use super::Session;
use crate::auth::storage;

impl Session {
    /// Forgets the session in this tab: tokens, timer, account and every `tap.auth.*` entry.
    pub(super) fn end_locally(self) {
        self.with_core(|c| {
            c.tokens.clear();
            c.account = None;
            c.id_token = None;
            c.renewal = None;
            c.failed_renewals = 0;
            c.generation += 1;
        });
        self.set_timer(None);
        storage::remove_all_auth_keys();
        self.granted.set(Vec::new());
    }

    /// Signs out once writes in flight settle: clears every cache and sessionStorage entry,
    /// tells the other tabs, then ends the session at the provider with `id_token_hint` (or
    /// `client_id`) and `logout_hint`, returning to the portal. The account's unfinished work in
    /// this browser (jobs, writes kept until they settle) stays for its next sign-in; see
    /// [`Session::sign_out_with`].
    pub async fn sign_out(self) {
        self.sign_out_with(None).await
    }

    /// Signs out as [`Session::sign_out`] does; with `discard`, the account's unfinished work
    /// in this browser is discarded first (its database and its marker), once the writes being
    /// sent have settled. Other accounts' work is never touched.
    pub async fn sign_out_with(self, discard: Option<portal_core::ownership::Owner>) {
        let Ok(config) = self.config() else {
            return;
        };
        self.redirects_settled().await;
        if let Some(owner) = discard {
            // Best effort: a database the browser cannot delete now is deleted once other tabs
            // of this portal let go of it (they close it when asked).
            let _ = crate::job_store::discard_work(&owner).await;
        }
        let id_token = self.with_core(|c| c.id_token.clone()).flatten();
        let hint = self.account_hint(&config);
        self.end_locally();
        if let Some(state) = self.state() {
            if let Some(channel) = state.channel.borrow().as_ref() {
                channel.announce_sign_out();
            }
        }
        let end = match self.worker() {
            Ok(worker) => worker.end_session_endpoint(&config).await.ok().flatten(),
            Err(_) => None,
        };
        let target = end
            .and_then(|end| {
                end_session_url(
                    &end,
                    config.redirect_uri.as_str(),
                    id_token.as_deref(),
                    &config.client_id,
                    hint.as_deref(),
                )
            })
            .unwrap_or_else(|| config.redirect_uri.to_string());
        self.navigate(&target).await;
    }
}
