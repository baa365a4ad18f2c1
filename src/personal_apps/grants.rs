//! The user's resource-specific permission grants (`GET {user}/permissionGrants`), grouped by
//! app against its installation, orphan grants flagged, and the tenant's personal-scope RSC
//! switch with what it means. Reading grants needs `ResourceSpecificPermissionGrant.ReadForUser`
//! (an administrator's consent): loaded at once when held, else on a click (which may ask for it).

use leptos::prelude::*;
use portal_core::auth::scopes::Operation;
use portal_core::graph::consent::{group_grants, GrantGroup, PermissionState};
use portal_core::graph::encode::UserRef;
use portal_core::graph::models::{Installation, PermissionGrant};
use portal_core::graph::preflight::Lookup;
use portal_core::graph::request;

use crate::auth::use_auth;
use crate::components::error_view::CallErrorView;
use crate::graph_client::{use_graph, CallError};
use crate::i18n::use_i18n;

/// The user's grants once read, shared with the consent editor's "granted" column.
#[derive(Clone, Copy)]
pub struct UserGrants(pub RwSignal<Option<Vec<PermissionGrant>>>);

/// Provides [`UserGrants`] (the feature's root does, once).
pub fn provide_user_grants() -> RwSignal<Option<Vec<PermissionGrant>>> {
    let grants = RwSignal::new(None);
    provide_context(UserGrants(grants));
    grants
}

/// The user's grants of the app whose Entra application id is `client_app_id`, if read.
pub fn grants_of(client_app_id: Option<&str>) -> Option<Vec<PermissionGrant>> {
    let all = use_context::<UserGrants>()?.0.get()?;
    let Some(id) = client_app_id else {
        return Some(Vec::new());
    };
    Some(
        portal_core::graph::consent::grants_of_app(&all, id)
            .into_iter()
            .cloned()
            .collect(),
    )
}

/// The grants section of `user`, against `installations`; `rsc_switch` is the tenant setting.
#[component]
pub fn Grants(
    user: UserRef,
    installations: Vec<Installation>,
    rsc_switch: Lookup<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let graph = use_graph();
    let held = auth
        .granted
        .get_untracked()
        .iter()
        .any(|p| p == Operation::ReadGrants.permission());
    let asked = RwSignal::new(held);
    let result = RwSignal::new(None::<Result<Vec<PermissionGrant>, CallError>>);
    let shared = use_context::<UserGrants>();
    Effect::new(move |_| {
        if !asked.get() {
            return;
        }
        let (graph, user) = (graph.clone(), user.clone());
        leptos::task::spawn_local(async move {
            let answer = graph
                .get_all::<PermissionGrant>(
                    &request::permission_grants(&user),
                    Operation::ReadGrants,
                )
                .await;
            if let (Some(shared), Ok(grants)) = (shared, &answer) {
                let _ = shared.0.try_set(Some(grants.clone()));
            }
            if !matches!(answer, Err(CallError::Aborted)) {
                let _ = result.try_set(Some(answer));
            }
        });
    });
    let installations = StoredValue::new(installations);
    let switch_key = match rsc_switch {
        Lookup::Known(true) => "grants.switch.on",
        Lookup::Known(false) => "grants.switch.off",
        _ => "grants.switch.unknown",
    };
    view! {
        <section class="grants" data-testid="grants" aria-labelledby="grants-title">
            <h2 id="grants-title">{i18n.text("grants.title")}</h2>
            <p data-testid="rsc-switch">{i18n.text(switch_key)}</p>
            {move || match result.get() {
                None if !asked.get() => view! {
                    <p>
                        <button type="button" class="secondary" data-testid="load-grants" on:click=move |_| asked.set(true)>
                            {i18n.t("grants.load")}
                        </button>
                        " " <span class="muted">{i18n.t("grants.needs_permission")}</span>
                    </p>
                }.into_any(),
                None => view! { <p class="muted">{i18n.t("common.loading")}</p> }.into_any(),
                Some(Err(error)) => view! { <CallErrorView error=error /> }.into_any(),
                Some(Ok(grants)) => {
                    let groups = installations.with_value(|i| group_grants(&grants, i));
                    if groups.is_empty() {
                        view! { <p class="muted" data-testid="no-grants">{i18n.t("grants.none")}</p> }.into_any()
                    } else {
                        groups.into_iter().map(|g| view! { <GrantTable group=g /> }).collect_view().into_any()
                    }
                }
            }}
        </section>
    }
}

#[component]
fn GrantTable(group: GrantGroup) -> impl IntoView {
    let i18n = use_i18n();
    let rows = group
        .rows
        .into_iter()
        .map(|row| {
            let kind = i18n.t(row.kind.label_key());
            let state = i18n.t(if group.orphan {
                "grants.state.orphan"
            } else {
                match row.state {
                    PermissionState::InPlace => "grants.state.in_place",
                    PermissionState::NoLongerRequired if row.consented => {
                        "grants.state.no_longer_required"
                    }
                    _ => "grants.state.not_consented",
                }
            });
            view! {
                <tr data-permission=row.permission.clone()>
                    <th scope="row"><code>{row.permission.clone()}</code></th>
                    <td>{kind}</td>
                    <td data-col="state">{state}</td>
                </tr>
            }
        })
        .collect_view();
    let orphan = group.orphan;
    view! {
        <table class="data-table" data-testid="grant-group" data-client-app-id=group.client_app_id.clone() data-orphan=orphan.to_string()>
            <caption>
                {group.app.clone()}
                {orphan.then(|| view! { " " <span class="badge bad">{i18n.t("grants.orphan")}</span> })}
            </caption>
            <thead>
                <tr>
                    <th scope="col">{i18n.t("consent.editor.col.permission")}</th>
                    <th scope="col">{i18n.t("grants.col.type")}</th>
                    <th scope="col">{i18n.t("grants.col.state")}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
