//! App detail: one catalog app's definitions (versions, publishing state, Entra client id) and
//! the RSC each requires, with what installing it means under the consent rule.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use portal_core::auth::scopes::Operation;
use portal_core::graph::apps::{
    compare_versions, install_counts, latest_published, ConsentRequirement,
};
use portal_core::graph::ids::CatalogAppId;
use portal_core::graph::models::TeamsApp;
use portal_core::graph::request;

use crate::components::error_view::boundary_fallback;
use crate::components::rsc_list::RscList;
use crate::components::signed_in::SignedIn;
use crate::graph_client::{use_graph, CallError};
use crate::i18n::use_i18n;
use crate::pages::catalog::state_key;
use crate::routes::Route;

/// App detail page, addressed by catalog app id.
#[component]
pub fn AppDetailPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let app = move || params.read().get("app_id").unwrap_or_default();
    view! {
        <p><A href=Route::Catalog.href()>{i18n.text("page.app_detail.back")}</A></p>
        <p class="muted">
            {i18n.text("page.app_detail.addressed")} " " <code data-testid="route-app">{app}</code>
        </p>
        <SignedIn>
            {move || view! { <AppDefinitions app_id=app() /> }}
        </SignedIn>
    }
}

#[component]
fn AppDefinitions(app_id: String) -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let data = LocalResource::new(move || {
        let (graph, app_id) = (graph.clone(), app_id.clone());
        async move {
            // This app alone, with each definition's bot.
            let apps = graph
                .get_all::<TeamsApp>(
                    &request::catalog_app(&CatalogAppId::new(app_id.clone())),
                    Operation::ReadCatalog,
                )
                .await?;
            Ok::<_, CallError>(
                apps.into_iter()
                    .find(|a| a.id.eq_ignore_ascii_case(&app_id)),
            )
        }
    });
    view! {
        <Transition fallback=move || view! { <p class="muted">{i18n.t("common.loading")}</p> }>
            <ErrorBoundary fallback=boundary_fallback>
                {move || data.get().map(|result| result.map(|app| match app {
                    Some(app) => view! { <Definitions app=app /> }.into_any(),
                    None => view! { <p class="error" role="alert" data-testid="no-such-app">{i18n.t("page.app_detail.not_found")}</p> }.into_any(),
                }))}
            </ErrorBoundary>
        </Transition>
    }
}

#[component]
fn Definitions(app: TeamsApp) -> impl IntoView {
    let i18n = use_i18n();
    let app_for_counts = app.clone();
    let mut definitions = app.app_definitions.clone();
    definitions.sort_by(|a, b| {
        compare_versions(
            b.version.as_deref().unwrap_or(""),
            a.version.as_deref().unwrap_or(""),
        )
    });
    let rows = definitions
        .into_iter()
        .map(|d| {
            let key = state_key(d.publishing_state.as_ref());
            let rule_key = match ConsentRequirement::of(&d) {
                ConsentRequirement::None => "page.app_detail.rule.none",
                ConsentRequirement::DelegatedOnly(_) => "page.app_detail.rule.delegated",
                ConsentRequirement::WholeSet(_) => "page.app_detail.rule.whole_set",
            };
            let client = d
                .authorization
                .as_ref()
                .and_then(|a| a.client_app_id.clone())
                .unwrap_or_else(|| "—".into());
            let bot = d.bot.as_ref().map(|b| b.id.clone()).unwrap_or_else(|| "—".into());
            view! {
                <tr data-version=d.version.clone().unwrap_or_default()>
                    <th scope="row">{d.version.clone().unwrap_or_default()}</th>
                    <td><span class="tag">{i18n.text(key)}</span></td>
                    <td>{d.last_modified_date_time.clone().unwrap_or_default()}</td>
                    <td><RscList permissions=d.required_permissions() /><p class="muted">{i18n.text(rule_key)}</p></td>
                    <td><code>{client}</code></td>
                    <td data-col="bot"><code>{bot}</code></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="app-card" data-testid="app-card">
            <h2>{app.display_name.clone().unwrap_or_default()}</h2>
            <dl class="facts">
                <div><dt>{i18n.text("page.app_detail.catalog_id")}</dt><dd><code>{app.id.clone()}</code></dd></div>
                <div><dt>{i18n.text("page.app_detail.external_id")}</dt><dd><code>{app.external_id.clone().unwrap_or_default()}</code></dd></div>
                <div><dt>{i18n.text("page.app_detail.distribution")}</dt><dd>{app.distribution_method.as_ref().map(|d| d.as_str().to_string()).unwrap_or_default()}</dd></div>
            </dl>
        </section>
        <h2>{i18n.text("page.app_detail.definitions")}</h2>
        <table class="data-table" data-testid="definitions">
            <thead>
                <tr>
                    <th scope="col">{i18n.text("page.app_detail.col.version")}</th>
                    <th scope="col">{i18n.text("page.app_detail.col.state")}</th>
                    <th scope="col">{i18n.text("page.app_detail.col.modified")}</th>
                    <th scope="col">{i18n.text("apps.col.required_rsc")}</th>
                    <th scope="col">{i18n.text("page.app_detail.col.client")}</th>
                    <th scope="col">{i18n.text("page.app_detail.col.bot")}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        <InstalledAcrossUsers app=app_for_counts />
    }
}

/// For the latest published definition: how many of the users whose apps were read in this
/// session have the app, at which version (the data at hand; the tenant-wide view is the bulk
/// audit's).
#[component]
fn InstalledAcrossUsers(app: TeamsApp) -> impl IntoView {
    let i18n = use_i18n();
    let loaded = use_context::<crate::context::LoadedInstallations>();
    let latest = latest_published(&app)
        .and_then(|d| d.version.clone())
        .unwrap_or_default();
    let app_id = app.id.clone();
    let counts = move || {
        loaded.map(|l| {
            l.0.with(|map| install_counts(&app_id, map.values().map(Vec::as_slice)))
        })
    };
    view! {
        <section data-testid="installed-across-users" aria-labelledby="installed-across-title">
            <h2 id="installed-across-title">{i18n.text("page.app_detail.installed.title")}</h2>
            {move || match counts() {
                Some(c) if c.users > 0 => {
                    let latest = latest.clone();
                    let rows = c
                        .by_version
                        .iter()
                        .map(|(version, n)| {
                            let key = if *version == latest {
                                "page.app_detail.installed.latest"
                            } else {
                                "page.app_detail.installed.behind"
                            };
                            view! {
                                <li data-version=version.clone()>
                                    {i18n.tf(key, &[("version", version), ("count", &n.to_string())])}
                                </li>
                            }
                        })
                        .collect_view();
                    view! {
                        <p>{i18n.tf("page.app_detail.installed.of", &[("users", &c.users.to_string())])}</p>
                        <ul>
                            {rows}
                            <li data-version="none">{i18n.tf("page.app_detail.installed.none", &[("count", &c.not_installed.to_string())])}</li>
                        </ul>
                    }
                    .into_any()
                }
                _ => view! { <p class="muted">{i18n.t("page.app_detail.installed.no_data")}</p> }.into_any(),
            }}
        </section>
    }
}
