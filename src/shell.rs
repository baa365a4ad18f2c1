//! The portal shell once `config.json` is valid: header, navigation, the outbox and the router
//! with every route the portal has or will have (`routes.rs` gives their addresses). Provides
//! the configuration, the session and the write service to every page, once.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
use portal_core::RuntimeConfig;

use crate::components::outbox::Outbox;
use crate::context::provide_config;
use crate::write_service::provide_write_service;

use crate::auth::{provide_auth, AuthStatus};
use crate::components::auth_banner::AuthBanner;
use crate::components::header::Header;
use crate::components::nav::Nav;
use crate::i18n::use_i18n;
use crate::pages::{
    app_detail::AppDetailPage, audit::AuditPage, bulk_jobs::BulkJobsPage, catalog::CatalogPage,
    consent::ConsentPage, home::HomePage, my_apps::MyAppsPage, not_found::NotFoundPage,
    settings::SettingsPage, user_detail::UserDetailPage, users::UsersPage,
};

/// Header, navigation and routed pages.
#[component]
pub fn Shell(config: RuntimeConfig, status: AuthStatus) -> impl IntoView {
    let custom_endpoints = config
        .uses_custom_endpoints()
        .then(|| (config.authority_origin(), config.graph_base_url()));
    provide_config(config.clone());
    provide_auth(status);
    provide_write_service(config.clone());
    // Jobs run (and resume) in the jobs bundle only, where their code is.
    #[cfg(feature = "jobs")]
    crate::jobs::provide_job_service(config);
    #[cfg(not(feature = "jobs"))]
    drop(config);
    crate::context::provide_loaded_installations();
    let i18n = use_i18n();
    Effect::new(move |_| crate::readiness::mark_interactive("shell"));
    view! {
        <Router>
            <a class="skip-link" href="#main">{move || i18n.t("shell.skip_to_content")}</a>
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
                </main>
                <Outbox />
            </div>
        </Router>
    }
}
