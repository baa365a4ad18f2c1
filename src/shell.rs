//! The portal shell once `config.json` is valid: header, navigation, the outbox and the router
//! with every page of [`crate::routes::PAGES`] (patterns, titles and navigation come from that
//! one table; this file gives each page its view). Provides the configuration, the write service and
//! the job service to every page, once (the session is the root's, provided before it starts).

use leptos::children::ToChildren;
use leptos::prelude::*;
use leptos::tachys::view::iterators::StaticVec;
use leptos_router::components::{Route, RouteChildren, RouteProps, Router, Routes, RoutesProps};
use portal_core::RuntimeConfig;

use crate::components::auth_banner::AuthBanner;
use crate::components::header::Header;
use crate::components::nav::Nav;
use crate::components::outbox::Outbox;
use crate::components::page_title::PageTitle;
use crate::context::provide_config;
use crate::i18n::use_i18n;
use crate::jobs::resume::ResumePrompt;
use crate::pages::{
    app_detail::AppDetailPage, audit::AuditPage, bulk_jobs::BulkJobsPage, catalog::CatalogPage,
    home::HomePage, my_apps::MyAppsPage, not_found::NotFoundPage, settings::SettingsPage,
    user_detail::UserDetailPage, users::UsersPage,
};
use crate::routes::{base_path, Page, PageId, Pattern, PAGES};
use crate::write_service::provide_write_service;

/// Header, navigation and routed pages.
#[component]
pub fn Shell(config: RuntimeConfig) -> impl IntoView {
    let custom_endpoints = config
        .uses_custom_endpoints()
        .then(|| (config.authority_origin(), config.graph_base_url()));
    provide_config(config.clone());
    provide_write_service(config.clone());
    crate::jobs::provide_job_service(config);
    crate::context::provide_loaded_installations();
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
                    <ResumePrompt />
                    {routes()}
                </main>
                <Outbox />
            </div>
        </Router>
    }
}

/// The router: one route per row of [`PAGES`], under the deployment's base path.
fn routes() -> impl IntoView {
    let routes: Vec<_> = PAGES
        .iter()
        .map(|page| {
            Route(
                RouteProps::builder()
                    .path(Pattern::new(base_path(), page.pattern))
                    .view(move || page_view(page))
                    .build(),
            )
        })
        .collect();
    Routes(
        RoutesProps::builder()
            .fallback(|| view! { <NotFoundPage /> })
            .children(RouteChildren::to_children(move || StaticVec::from(routes)))
            .build(),
    )
}

/// A page: its title (from the table), then its view.
fn page_view(page: &'static Page) -> impl IntoView {
    let body = match page.id {
        PageId::Home => view! { <HomePage /> }.into_any(),
        PageId::Users => view! { <UsersPage /> }.into_any(),
        PageId::User => view! { <UserDetailPage /> }.into_any(),
        PageId::Catalog => view! { <CatalogPage /> }.into_any(),
        PageId::App => view! { <AppDetailPage /> }.into_any(),
        PageId::MyApps => view! { <MyAppsPage /> }.into_any(),
        PageId::Jobs => view! { <BulkJobsPage /> }.into_any(),
        PageId::Audit => view! { <AuditPage /> }.into_any(),
        PageId::Settings => view! { <SettingsPage /> }.into_any(),
    };
    view! {
        <PageTitle key=page.title_key />
        {body}
    }
}
