//! Catalog: the organisation's Teams apps, their versions, publishing state and RSC requirements.

use leptos::prelude::*;
use leptos_router::components::A;
use portal_core::auth::scopes::Operation;
use portal_core::graph::apps::{latest_published, published_definitions, RscSummary};
use portal_core::graph::models::{PublishingState, TeamsApp};
use portal_core::graph::request;

use crate::components::error_view::boundary_fallback;
use crate::components::signed_in::SignedIn;
use crate::graph_client::use_graph;
use crate::i18n::use_i18n;
use crate::routes::Route;

/// The label key of a publishing state.
pub fn state_key(state: Option<&PublishingState>) -> &'static str {
    match state {
        Some(PublishingState::Published) => "state.published",
        Some(PublishingState::Submitted) => "state.submitted",
        Some(PublishingState::Rejected) => "state.rejected",
        Some(PublishingState::Unknown(_)) | None => "state.unknown",
    }
}

/// Catalog: the organisation's Teams apps, their versions, publishing state and RSC requirements.
#[component]
pub fn CatalogPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="lead">{i18n.text("page.catalog.intro")}</p>
        <SignedIn>
            <CatalogTable />
        </SignedIn>
    }
}

#[component]
fn CatalogTable() -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let data = LocalResource::new(move || {
        let graph = graph.clone();
        async move {
            let mut apps = graph
                .get_all::<TeamsApp>(&request::organization_catalog(), Operation::ReadCatalog)
                .await?;
            apps.sort_by_key(|a| a.display_name.clone().unwrap_or_default().to_lowercase());
            Ok::<_, crate::graph_client::CallError>(apps)
        }
    });
    view! {
        <Transition fallback=move || view! { <p class="muted">{i18n.t("common.loading")}</p> }>
            <ErrorBoundary fallback=boundary_fallback>
                {move || data.get().map(|result| result.map(|apps| view! { <AppsTable apps=apps /> }))}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn AppsTable(apps: Vec<TeamsApp>) -> impl IntoView {
    let i18n = use_i18n();
    if apps.is_empty() {
        return view! { <p class="muted">{i18n.text("page.catalog.none")}</p> }.into_any();
    }
    let rows = apps
        .into_iter()
        .map(|app| {
            let name = app.display_name.clone().unwrap_or_else(|| app.id.clone());
            let latest = latest_published(&app).and_then(|d| d.version.clone());
            let rsc = latest_published(&app)
                .map(|d| RscSummary::of(&d.required_permissions()))
                .unwrap_or_default();
            let published = published_definitions(&app).len();
            let versions = app
                .app_definitions
                .iter()
                .map(|d| {
                    let key = state_key(d.publishing_state.as_ref());
                    let version = d.version.clone().unwrap_or_default();
                    view! { <li>{version} " " <span class="tag">{i18n.text(key)}</span></li> }
                })
                .collect_view();
            let rsc_text = move || {
                if rsc.is_empty() {
                    i18n.t("rsc.none")
                } else {
                    i18n.tf(
                        "page.catalog.rsc_counts",
                        &[
                            ("application", &rsc.application.len().to_string()),
                            ("delegated", &rsc.delegated.len().to_string()),
                        ],
                    )
                }
            };
            view! {
                <tr data-app-id=app.id.clone()>
                    <th scope="row"><A href=Route::App(app.id.clone()).href()>{name}</A></th>
                    <td>{latest.unwrap_or_else(|| "—".into())}</td>
                    <td><ul class="plain">{versions}</ul></td>
                    <td>{rsc_text}</td>
                    <td>{published}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="data-table" data-testid="catalog">
            <thead>
                <tr>
                    <th scope="col">{i18n.text("apps.col.app")}</th>
                    <th scope="col">{i18n.text("apps.col.latest")}</th>
                    <th scope="col">{i18n.text("page.catalog.col.versions")}</th>
                    <th scope="col">{i18n.text("apps.col.required_rsc")}</th>
                    <th scope="col">{i18n.text("page.catalog.col.published")}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
