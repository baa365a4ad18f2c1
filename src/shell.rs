//! The portal shell once `config.json` is valid: header, navigation, the outbox and the router
//! with every route of the portal (`routes.rs` gives their addresses). Provides the
//! configuration, the session and the write service to every page, once.
//!
//! Built twice (issue #10): the first load (`index.html`) has Home, Users and Not found (a
//! sign-in lands on Home, then Users for an administrator); every other page's address hands
//! over to the full bundle (`full.html`, the `full` feature), which has every page.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use portal_core::RuntimeConfig;

use crate::context::provide_config;
#[cfg(feature = "full")]
use crate::write_service::provide_write_service;

use crate::auth::{provide_auth, AuthStatus};
use crate::components::auth_banner::AuthBanner;
use crate::components::header::Header;
use crate::components::nav::Nav;
use crate::i18n::use_i18n;
#[cfg(feature = "full")]
use crate::pages::{
    app_detail::AppDetailPage, audit::AuditPage, bulk_jobs::BulkJobsPage, catalog::CatalogPage,
    consent::ConsentPage, my_apps::MyAppsPage, settings::SettingsPage, user_detail::UserDetailPage,
};
use crate::pages::{home::HomePage, not_found::NotFoundPage, users::UsersPage};

/// Header, navigation and routed pages.
#[component]
pub fn Shell(config: RuntimeConfig, status: AuthStatus) -> impl IntoView {
    let custom_endpoints = config
        .uses_custom_endpoints()
        .then(|| (config.authority_origin(), config.graph_base_url()));
    provide_config(config.clone());
    provide_auth(status);
    // Writes and jobs start only on pages of the full bundle, so their services (and the outbox
    // that shows writes) are there only; jobs resume there too.
    #[cfg(feature = "full")]
    {
        provide_write_service(config.clone());
        crate::jobs::provide_job_service(config);
        crate::context::provide_loaded_installations();
    }
    #[cfg(not(feature = "full"))]
    drop(config);
    let i18n = use_i18n();
    Effect::new(move |_| crate::readiness::mark_interactive("shell"));
    view! {
        <Router>
            <a class="skip-link" href="#main">{i18n.text("shell.skip_to_content")}</a>
            <Header />
            <div class="layout">
                <Nav />
                <main id="main" tabindex="-1">
                    {custom_endpoints.map(|(authority, graph)| view! {
                        <p class="banner warning" role="alert" data-testid="custom-endpoints">
                            {move || i18n.tf("shell.custom_endpoints", &[("authority", &authority), ("graph", &graph)])}
                        </p>
                    })}
                    <AuthBanner />
                    {resume_prompt()}
                    {routes()}
                </main>
                {outbox()}
            </div>
        </Router>
    }
}

/// Every route (the full bundle).
#[cfg(feature = "full")]
fn routes() -> impl IntoView {
    view! {
        <Routes fallback=|| view! { <NotFoundPage /> }>
            <Route path=path!("/") view=HomePage />
            <Route path=path!("/users") view=UsersPage />
            <Route path=path!("/users/:user_id") view=UserDetailPage />
            <Route path=path!("/catalog") view=CatalogPage />
            <Route path=path!("/catalog/:app_id") view=AppDetailPage />
            <Route path=path!("/my-apps") view=MyAppsPage />
            <Route path=path!("/consent") view=ConsentPage />
            <Route path=path!("/jobs") view=BulkJobsPage />
            <Route path=path!("/audit") view=AuditPage />
            <Route path=path!("/settings") view=SettingsPage />
        </Routes>
    }
}

/// The first load's routes: its own pages; any other address is either a page of the full
/// bundle, which it hands over to (`routes::full_bundle_page`), or not found. One fallback
/// instead of a route per page keeps the router's code for two routes.
#[cfg(not(feature = "full"))]
fn routes() -> impl IntoView {
    view! {
        <Routes fallback=|| view! { <FullBundleOrNotFound /> }>
            <Route path=path!("/") view=HomePage />
            <Route path=path!("/users") view=UsersPage />
        </Routes>
    }
}

/// The fallback of the first load's router.
#[cfg(not(feature = "full"))]
#[component]
fn FullBundleOrNotFound() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    move || match crate::routes::full_bundle_page(&location.pathname.get()) {
        Some(title_key) => {
            view! { <crate::pages::on_demand::OnDemand title_key=title_key /> }.into_any()
        }
        None => view! { <NotFoundPage /> }.into_any(),
    }
}

/// The question before an unfinished job of the account runs again (the full bundle, where
/// jobs run).
#[cfg(feature = "full")]
fn resume_prompt() -> impl IntoView {
    view! { <crate::jobs::resume::ResumePrompt /> }
}

#[cfg(not(feature = "full"))]
fn resume_prompt() -> impl IntoView {}

/// The outbox, where writes can start (the full bundle).
#[cfg(feature = "full")]
fn outbox() -> impl IntoView {
    view! { <crate::components::outbox::Outbox /> }
}

#[cfg(not(feature = "full"))]
fn outbox() -> impl IntoView {}
