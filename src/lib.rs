//! Teams App Portal, the Leptos single-page app: the entry point and the `App` root, which loads
//! `config.json` and shows either the portal shell or the setup page. Pages live in `pages/`,
//! shared components in `components/`, pure logic in the `portal-core` crate.

pub mod auth;
pub mod components;
pub mod config_loader;
pub mod context;
pub mod graph_client;
pub mod i18n;
pub mod pages;
pub mod personal_apps;
pub mod readiness;
pub mod routes;
pub mod shell;
pub mod write_service;

use leptos::prelude::*;

use portal_core::RuntimeConfig;

use crate::auth::AuthStatus;
use crate::config_loader::{load_config, ConfigLoadError};
use crate::i18n::provide_i18n;
use crate::pages::setup::SetupPage;
use crate::shell::Shell;

/// Mounts the portal on `<body>`.
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

/// The root: i18n context, then `config.json`, then the shell or the setup page.
#[component]
pub fn App() -> impl IntoView {
    let i18n = provide_i18n();
    // config.json is the only fetch before the first paint. A sign-in callback (or an
    // admin-consent return) in the address bar is finished first, so the router never sees a
    // code; otherwise the shell is interactive at once (as the stored account, on a reload) and
    // the session is renewed in the background (pages needing a token wait for that renewal).
    // Run once, outside any reactive observer: nothing the session changes later may re-run it
    // and rebuild the shell, which holds the writes in flight.
    let booted = RwSignal::new(None::<Result<(RuntimeConfig, AuthStatus), ConfigLoadError>>);
    leptos::task::spawn_local(async move {
        // The preferred language's catalogue (when not built in) comes beside config.json.
        let (config, ()) = futures::join!(load_config(), i18n.load_preferred());
        let config = match config {
            Ok(config) => config,
            Err(error) => {
                booted.set(Some(Err(error)));
                return;
            }
        };
        if auth::address_bar_has_answer() {
            let boot = auth::boot(&config).await;
            booted.set(Some(Ok((config, boot.status))));
            return;
        }
        auth::start_session(&config);
        let status = auth::provisional_status(&config);
        booted.set(Some(Ok((config.clone(), status))));
        auth::boot_in_background(&config).await;
    });
    move || match booted.get() {
        None => view! { <p class="app-loading" role="status">{move || i18n.t("app.loading")}</p> }
            .into_any(),
        Some(Ok((config, status))) => view! { <Shell config=config status=status /> }.into_any(),
        Some(Err(error)) => view! { <SetupPage error=error /> }.into_any(),
    }
}
