//! The user's resource-specific permission grants (`GET /users/{user-id}/permissionGrants`,
//! always by object id: Graph documents no other key there), grouped by app against its
//! installation, orphan grants flagged, grants of an installation whose consent Graph did not
//! record said so (installed outside this portal), and the tenant's personal-scope RSC switch
//! with what it means. Reading grants needs `ResourceSpecificPermissionGrant.ReadForUser` (an
//! administrator's consent): loaded at once when held, else on a click (which may ask for it).

use leptos::prelude::*;
use portal_core::auth::scopes::Operation;
use portal_core::graph::consent::{group_grants, GrantGroup, PermissionState};
use portal_core::graph::encode::UserRef;
use portal_core::graph::models::{Installation, PermissionGrant, User};
use portal_core::graph::preflight::Lookup;
use portal_core::graph::request;
use portal_core::jobs::audit::consent_not_recorded;

use crate::auth::{use_session, AuthStatus};
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

/// The object id that addresses `user`'s grants: as given, the signed-in account's for `/me`,
/// else (a UPN) the `id` Graph answers for it.
async fn grants_user_id(
    graph: &crate::graph_client::Graph,
    user: &UserRef,
    signed_in: Option<String>,
) -> Result<String, CallError> {
    if let Some(id) = user.object_id(signed_in.as_deref()) {
        return Ok(id.to_string());
    }
    let found = graph
        .get::<User>(&request::get_user(user), Operation::FindUsers)
        .await?;
    Ok(found.id)
}

/// The grants section of `user`, against `installations`; `rsc_switch` is the tenant setting.
#[component]
pub fn Grants(
    user: UserRef,
    installations: Vec<Installation>,
    rsc_switch: Lookup<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let graph = use_graph();
    let held = session
        .granted
        .get_untracked()
        .iter()
        .any(|p| p == Operation::ReadGrants.permission());
    let asked = RwSignal::new(held);
    let result = RwSignal::new(None::<Result<Vec<PermissionGrant>, CallError>>);
    let shared = use_context::<UserGrants>();
    let signed_in = match session.status.get_untracked() {
        AuthStatus::SignedIn(account) => Some(account.oid.clone()),
        _ => None,
    };
    Effect::new(move |_| {
        if !asked.get() {
            return;
        }
        let (graph, user, signed_in) = (graph.clone(), user.clone(), signed_in.clone());
        leptos::task::spawn_local(async move {
            let answer = match grants_user_id(&graph, &user, signed_in).await {
                Ok(id) => {
                    graph
                        .get_all::<PermissionGrant>(
                            &request::permission_grants(&UserRef::ObjectId(id)),
                            Operation::ReadGrants,
                        )
                        .await
                }
                Err(e) => Err(e),
            };
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
                        groups
                            .into_iter()
                            .map(|g| {
                                // Grants of an installation whose consent Graph did not record.
                                let unrecorded = !g.orphan
                                    && installations.with_value(|list| {
                                        list.iter().any(|i| {
                                            client_of(i).is_some_and(|c| c.eq_ignore_ascii_case(&g.client_app_id))
                                                && consent_not_recorded(i, &grants)
                                        })
                                    });
                                view! { <GrantTable group=g unrecorded=unrecorded /> }
                            })
                            .collect_view()
                            .into_any()
                    }
                }
            }}
        </section>
    }
}

/// The Entra application id of an installation's definition.
fn client_of(installation: &Installation) -> Option<&str> {
    installation
        .teams_app_definition
        .as_ref()?
        .authorization
        .as_ref()?
        .client_app_id
        .as_deref()
}

/// One app's grants; `unrecorded`: its installation's consent was not recorded by Graph.
#[component]
fn GrantTable(group: GrantGroup, unrecorded: bool) -> impl IntoView {
    let i18n = use_i18n();
    let rows = group
        .rows
        .into_iter()
        .map(|row| {
            let kind = i18n.t(row.kind.label_key());
            let state = i18n.t(if group.orphan {
                "grants.state.orphan"
            } else if unrecorded {
                "grants.state.consent_not_recorded"
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
        <table class="data-table" data-testid="grant-group" data-client-app-id=group.client_app_id.clone() data-orphan=orphan.to_string()
            data-consent=if unrecorded { "not-recorded" } else { "recorded" }>
            <caption>
                {group.app.clone()}
                {orphan.then(|| view! { " " <span class="badge bad">{i18n.t("grants.orphan")}</span> })}
                {unrecorded.then(|| view! { <br /> <span class="muted" data-testid="grants-consent-not-recorded">{i18n.t("grants.consent_not_recorded")}</span> })}
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
