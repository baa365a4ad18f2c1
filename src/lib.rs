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
pub mod routes;
pub mod shell;
pub mod write_service;

use leptos::prelude::*;

use crate::config_loader::load_config;
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
    // config.json first; then the session (a sign-in callback, or renewal from a stored refresh
    // token) before the router starts, so the router never sees a code in the address bar.
    let config = LocalResource::new(|| async {
        let config = load_config().await?;
        let boot = auth::boot(&config).await;
        Ok::<_, config_loader::ConfigLoadError>((config, boot.status))
    });
    view! {
        <Suspense fallback=move || {
            view! { <p class="app-loading" role="status">{move || i18n.t("app.loading")}</p> }
        }>
            {move || Suspend::new(async move {
                match config.await {
                    Ok((config, status)) => view! { <Shell config=config status=status /> }.into_any(),
                    Err(error) => view! { <SetupPage error=error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Records that the page is interactive: a Performance API mark (read by `cargo xtask bench`)
/// and `data-portal-state` on `<html>` (waited on by the end-to-end tests).
pub fn mark_interactive(state: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Some(performance) = window.performance() {
        let _ = performance.mark("portal:interactive");
    }
    if let Some(root) = window.document().and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-portal-state", state);
    }
}
