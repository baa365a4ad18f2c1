//! What the user is asked to do: consent again, sign in (the header button), and the link an
//! administrator follows to consent for the whole tenant.

use portal_core::auth::admin_consent::admin_consent_url;
use portal_core::auth::scopes::Operation;
use portal_core::RuntimeConfig;

use super::{config, set_status, stored_account, with_core};
use crate::auth::redirect;
use crate::auth::AuthStatus;

/// Asks again, interactively and with the consent prompt, for `operations` (after Graph said
/// the token lacks them), coming back to this page once writes in flight settle.
pub fn request_consent(operations: Vec<Operation>) {
    leptos::task::spawn_local(async move {
        let Ok(config) = config() else {
            return;
        };
        let hint = stored_account(&config).and_then(|a| a.hint().map(str::to_string));
        if let Err(e) =
            redirect::sign_in_redirect(&config, &operations, hint.as_deref(), Some("consent"), None)
                .await
        {
            set_status(AuthStatus::Failed(e));
        }
    });
}

/// Starts an interactive sign-in (header button).
pub fn start_sign_in(config: RuntimeConfig, prompt: Option<&'static str>) {
    leptos::task::spawn_local(async move {
        if let Err(e) = redirect::sign_in_redirect(&config, &[], None, prompt, None).await {
            set_status(AuthStatus::Failed(e));
        }
    });
}

/// The link an administrator follows to consent for the whole tenant.
pub fn admin_consent_link() -> Option<String> {
    with_core(|c| admin_consent_url(&c.config))
}
