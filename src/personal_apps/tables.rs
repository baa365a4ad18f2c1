//! The two tables of the feature: the user's installations (installed and latest published
//! version, drift, consented RSC, or "consent not recorded by Graph" for an installation made
//! outside this portal whose grants are in place, upgrade and uninstall) and the organisation
//! apps still installable. One row component each; the actions open flows through the URL. The
//! installations show as soon as they are read; the latest versions, drift and upgrade once the
//! catalog is in.

use leptos::prelude::*;
use portal_core::graph::apps::{
    catalog_app_of, drift, installable, installation_name, latest_published,
};
use portal_core::graph::ids::{CatalogAppId, InstallationId};
use portal_core::graph::models::{Installation, TeamsApp};
use portal_core::jobs::audit::consent_not_recorded;

use super::flow::{use_open_flow, Flow};
use super::Snapshot;
use crate::components::drift_badge::DriftBadge;
use crate::components::rsc_list::RscList;
use crate::i18n::use_i18n;

/// `catalog` is `None` until the organisation catalog is read.
#[component]
pub fn InstallationTable(
    installations: Vec<Installation>,
    #[prop(into)] catalog: Signal<Option<Vec<TeamsApp>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let title = view! { <h2>{i18n.text("apps.installed.title")}</h2> };
    if installations.is_empty() {
        return view! {
            {title}
            <p class="muted" data-testid="no-installations">{i18n.text("apps.none")}</p>
        }
        .into_any();
    }
    let rows = installations
        .into_iter()
        .map(|installation| {
            // `None` while the catalog is being read; then the installation's catalog app, if any.
            let app = {
                let installation = installation.clone();
                Signal::derive(move || {
                    catalog.with(|c| {
                        c.as_ref()
                            .map(|c| catalog_app_of(&installation, c).cloned())
                    })
                })
            };
            view! { <InstallationRow installation=installation app=app /> }
        })
        .collect_view();
    view! {
        {title}
            <table class="data-table" data-testid="installations">
                <thead>
                    <tr>
                        <th scope="col">{i18n.text("apps.col.app")}</th>
                        <th scope="col">{i18n.text("apps.col.installed")}</th>
                        <th scope="col">{i18n.text("apps.col.latest")}</th>
                        <th scope="col">{i18n.text("apps.col.rsc")}</th>
                        <th scope="col">{i18n.text("apps.col.actions")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
    }
    .into_any()
}

#[component]
fn InstallationRow(
    installation: Installation,
    app: Signal<Option<Option<TeamsApp>>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open_flow = use_open_flow();
    let drift = {
        let installation = installation.clone();
        Signal::derive(move || app.with(|a| a.as_ref().map(|a| drift(&installation, a.as_ref()))))
    };
    let latest = move || {
        app.with(|a| {
            a.as_ref().map(|a| {
                a.as_ref()
                    .and_then(latest_published)
                    .and_then(|d| d.version.clone())
                    .unwrap_or_else(|| "—".into())
            })
        })
    };
    let name = installation_name(&installation);
    let installed = installation
        .teams_app_definition
        .as_ref()
        .and_then(|d| d.version.clone())
        .unwrap_or_else(|| "—".into());
    let consented = installation
        .consented_permission_set
        .as_ref()
        .map(|s| s.resource_specific_permissions.clone())
        .unwrap_or_default();
    // Once the user's grants are read: Graph answered no consented set, yet grants are there.
    let unrecorded = {
        let installation = installation.clone();
        Signal::derive(move || {
            let client = installation
                .teams_app_definition
                .as_ref()
                .and_then(|d| d.authorization.as_ref())
                .and_then(|a| a.client_app_id.as_deref());
            client.is_some()
                && super::grants::grants_of(client)
                    .is_some_and(|g| consent_not_recorded(&installation, &g))
        })
    };
    let id = InstallationId::new(installation.id.clone());
    let app_id = installation
        .teams_app
        .as_ref()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let can_upgrade = move || drift.with(|d| d.as_ref().is_some_and(|d| d.can_upgrade()));
    let label = StoredValue::new(name.clone());
    let upgrade = {
        let id = id.clone();
        move |_| {
            open_flow.run(Some(Flow::Upgrade {
                installation: id.clone(),
            }))
        }
    };
    let uninstall = move |_| {
        open_flow.run(Some(Flow::Uninstall {
            installation: id.clone(),
        }))
    };
    let row_name = name.clone();
    view! {
        <tr data-app-id=app_id data-app-name=row_name>
            <th scope="row">{name}</th>
            <td data-col="installed">{installed}</td>
            <td data-col="latest">
                {move || match (latest(), drift.get()) {
                    (Some(latest), Some(drift)) => view! { {latest} " " <DriftBadge drift=drift /> }.into_any(),
                    _ => view! { <span class="muted" data-latest="pending">{i18n.text("common.loading")}</span> }.into_any(),
                }}
            </td>
            <td data-col="consented">
                {move || if unrecorded.get() {
                    view! { <span class="muted" data-rsc="not-recorded">{i18n.text("apps.consent_not_recorded")}</span> }.into_any()
                } else {
                    view! { <RscList permissions=consented.clone() /> }.into_any()
                }}
            </td>
            <td class="actions">
                {move || can_upgrade().then(|| {
                    let upgrade = upgrade.clone();
                    view! {
                        <button type="button" data-action="upgrade"
                            aria-label=move || format!("{} {}", i18n.t("apps.upgrade"), label.get_value())
                            on:click=upgrade>
                            {i18n.text("apps.upgrade")}
                        </button>
                    }
                })}
                " "
                <button type="button" class="danger" data-action="uninstall"
                    aria-label=move || format!("{} {}", i18n.t("apps.uninstall"), label.get_value())
                    on:click=uninstall>
                    {i18n.text("apps.uninstall")}
                </button>
            </td>
        </tr>
    }
}

#[component]
pub fn AvailableApps(snapshot: Snapshot) -> impl IntoView {
    let i18n = use_i18n();
    let rows = installable(&snapshot.catalog, &snapshot.installations)
        .into_iter()
        .map(|app| view! { <AvailableRow app=app.clone() /> })
        .collect::<Vec<_>>();
    (!rows.is_empty()).then(|| {
        view! {
            <h2>{i18n.text("apps.available.title")}</h2>
            <table class="data-table" data-testid="available-apps">
                <thead>
                    <tr>
                        <th scope="col">{i18n.text("apps.col.app")}</th>
                        <th scope="col">{i18n.text("apps.col.latest")}</th>
                        <th scope="col">{i18n.text("apps.col.required_rsc")}</th>
                        <th scope="col">{i18n.text("apps.col.actions")}</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        }
    })
}

#[component]
fn AvailableRow(app: TeamsApp) -> impl IntoView {
    let i18n = use_i18n();
    let open_flow = use_open_flow();
    let definition = latest_published(&app);
    let version = definition
        .and_then(|d| d.version.clone())
        .unwrap_or_default();
    let rsc = definition
        .map(|d| d.required_permissions())
        .unwrap_or_default();
    let name = app.display_name.clone().unwrap_or_else(|| app.id.clone());
    let label = StoredValue::new(name.clone());
    let id = CatalogAppId::new(app.id.clone());
    let row_name = name.clone();
    view! {
        <tr data-app-id=app.id.clone() data-app-name=row_name>
            <th scope="row">{name}</th>
            <td>{version}</td>
            <td><RscList permissions=rsc /></td>
            <td class="actions">
                <button type="button" data-action="install"
                    aria-label=move || format!("{} {}", i18n.t("install.submit"), label.get_value())
                    on:click=move |_| open_flow.run(Some(Flow::Install { app: Some(id.clone()) }))>
                    {i18n.text("install.submit")}
                </button>
            </td>
        </tr>
    }
}
