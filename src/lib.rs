//! Teams App Portal, the Leptos single-page app: the entry point and the `App` root, which loads
//! `config.json` and shows either the portal shell or the setup page. Pages live in `pages/`,
//! shared components in `components/`, pure logic in the `portal-core` crate.

pub mod auth;
pub mod components;
pub mod config_loader;
pub mod context;
pub mod graph_client;
pub mod i18n;
pub mod job_store;
pub mod jobs;
pub mod pages;
pub mod personal_apps;
pub mod readiness;
pub mod routes;
pub mod shell;
pub mod stopped;
pub mod write_service;

use leptos::prelude::*;

use portal_core::RuntimeConfig;

use crate::auth::provide_session;
use crate::config_loader::{load_config, ConfigLoadError};
use crate::i18n::provide_i18n;
use crate::pages::setup::SetupPage;
use crate::shell::Shell;

/// Mounts the portal on `<body>`.
pub fn start() {
    // Release bundles trap on a panic without formatting it (`-Cpanic=immediate-abort`, see
    // xtask's `RELEASE_WASM_ENV`): no hook would ever run there, and index.html's script shows
    // the trap. Elsewhere the panic goes to the console and into that script's report.
    #[cfg(not(portal_immediate_abort))]
    stopped::install_panic_hook();
    leptos::mount::mount_to_body(App);
}

/// The root: i18n context, then `config.json`, then the shell or the setup page.
#[component]
pub fn App() -> impl IntoView {
    let i18n = provide_i18n();
    stopped::provide_texts(i18n);
    // config.json (and the preferred language's catalogue when it is not built in) first; then
    // the session (a sign-in callback, or renewal from a stored refresh token) before the router
    // starts, so the router never sees a code in the address bar and no page starts while a
    // refresh token is being rotated (a reload in the middle would lose the rotated one). Run
    // once, outside any reactive observer: nothing the session changes later may re-run it and
    // rebuild the shell, which holds the writes in flight.
    // The session is provided here, before it starts, so the shell and every page find it in
    // context; it sets its own status as it boots.
    let booted = RwSignal::new(None::<Result<RuntimeConfig, ConfigLoadError>>);
    let session = provide_session();
    session.warm_up();
    leptos::task::spawn_local(async move {
        let (config, ()) = futures::join!(load_config(), i18n.load_preferred());
        let result = match config {
            Ok(config) => {
                session.boot(&config).await;
                Ok(config)
            }
            Err(error) => Err(error),
        };
        booted.set(Some(result));
    });
    move || match booted.get() {
        None => {
            view! { <p class="app-loading" role="status">{i18n.text("app.loading")}</p> }.into_any()
        }
        Some(Ok(config)) => view! { <Shell config=config /> }.into_any(),
        Some(Err(error)) => view! { <SetupPage error=error /> }.into_any(),
    }
}
