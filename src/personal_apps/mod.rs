//! A user's personal apps, as a feature: an admin's view of a user, or My apps through `/me`.
//! `mod.rs` loads the data and lays the feature out; `flow.rs` keeps the open flow in the URL;
//! `tables.rs` lists installations and installable apps; `install.rs`, `upgrade.rs` and
//! `uninstall.rs` are the flows, built on the write model and run by the write service;
//! `consent_editor.rs` is the RSC consent editor; `grants.rs` the user's RSC grants; `write_status.rs` follows a submitted write.

pub mod consent_editor;
pub mod flow;
mod grants;
mod install;
mod tables;
mod uninstall;
mod upgrade;
mod write_status;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use portal_core::auth::scopes::Operation;
use portal_core::graph::encode::UserRef;
use portal_core::graph::models::{Installation, TeamsApp, TeamsAppSettings};
use portal_core::graph::personal_apps::{rsc_switch, sort_apps, sort_installations};
use portal_core::graph::preflight::Lookup;
use portal_core::graph::request;

use crate::components::error_view::{boundary_fallback, CallErrorView, OtherUserScope};
use crate::context::use_config;
use crate::graph_client::{use_graph, CallError, Graph};
use crate::i18n::use_i18n;
use crate::write_service::{use_write_service, WriteState};

use self::flow::{provide_open_flow, Flow};
use self::grants::{provide_user_grants, Grants};
use self::install::InstallFlow;
use self::tables::{AvailableApps, InstallationTable};
use self::uninstall::UninstallFlow;
use self::upgrade::UpgradeFlow;
use self::write_status::{provide_pending_write, FinishedNote};

/// What the page read: the user's installations, the organisation catalog, the RSC switch.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub installations: Vec<Installation>,
    pub catalog: Vec<TeamsApp>,
    pub rsc_switch: Lookup<bool>,
}

/// The part of a [`Snapshot`] the installations table needs: read first, the table shows from it.
#[derive(Clone, Debug)]
struct Installed {
    installations: Vec<Installation>,
    rsc_switch: Lookup<bool>,
}

impl Installed {
    fn with_catalog(&self, catalog: Vec<TeamsApp>) -> Snapshot {
        Snapshot {
            installations: self.installations.clone(),
            catalog,
            rsc_switch: self.rsc_switch.clone(),
        }
    }
}

/// The installations and the tenant's RSC switch, together.
async fn load_installed(graph: Graph, user: UserRef) -> Result<Installed, CallError> {
    let (list, settings_request) = (
        request::list_installations(&user, None),
        request::tenant_settings(),
    );
    let installations = graph.get_all::<Installation>(&list, Operation::ReadInstallations);
    let settings = graph.get::<TeamsAppSettings>(&settings_request, Operation::ReadTenantSettings);
    let (installations, settings) = futures::join!(installations, settings);
    let mut installations = installations?;
    sort_installations(&mut installations);
    Ok(Installed {
        installations,
        rsc_switch: rsc_switch(settings.map_err(|e| e.to_string())),
    })
}

/// The organisation catalog (every page: Graph's `appCatalogs/teamsApps` takes `$filter`,
/// `$select` and `$expand`, no `$top`), sent beside the installations but waited for by nothing
/// but the latest versions, drift, the installable apps and the flows.
async fn load_catalog(graph: Graph) -> Result<Vec<TeamsApp>, CallError> {
    let mut catalog = graph
        .get_all::<TeamsApp>(&request::organization_catalog(), Operation::ReadCatalog)
        .await?;
    sort_apps(&mut catalog);
    Ok(catalog)
}

/// Whose apps they are.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    /// How requests address the user (`/me` in self-service).
    pub user: UserRef,
    /// How "Show request" names the user (an object id or UPN, never `/me`).
    pub named: UserRef,
    /// Display name for messages.
    pub name: String,
}

/// The last write finished from this page, shown above the list.
#[derive(Clone, Debug)]
pub struct Finished {
    pub message: String,
    pub state: WriteState,
}

/// The personal apps of `subject`, with the flows; `user_exists` feeds the pre-flight. In a cloud
/// where Graph does not support personal apps (China), the reason is shown and nothing is called.
/// The subject's user is read once, when the component starts; its name may arrive later (a
/// user page reads the user beside the apps).
#[component]
pub fn PersonalApps(
    #[prop(into)] subject: Signal<Subject>,
    #[prop(into)] user_exists: Signal<Lookup<bool>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let cloud = use_config().cloud;
    if !Operation::ReadInstallations.available_in(cloud) {
        return view! {
            <p class="notice" role="status" data-testid="cloud-unavailable">
                {move || i18n.t(cloud.personal_install().description_key())}
            </p>
        }
        .into_any();
    }
    view! { <PersonalAppsLoaded subject=subject user_exists=user_exists /> }.into_any()
}

#[component]
fn PersonalAppsLoaded(
    subject: Signal<Subject>,
    user_exists: Signal<Lookup<bool>>,
) -> impl IntoView {
    let i18n = use_i18n();
    provide_context(OtherUserScope(
        subject.with_untracked(|s| s.user != UserRef::Me),
    ));
    provide_user_grants();
    let graph = use_graph();
    let writes = use_write_service();
    let open_flow = provide_open_flow();
    let version = RwSignal::new(0u32);
    let finished = RwSignal::new(None::<Finished>);
    // Any write that settles (from this page or an earlier one) may change the list: reload
    // then, and only then (not on every step of a write in flight).
    let settled = Memo::new(move |_| writes.settled_count());
    let loaded = use_context::<crate::context::LoadedInstallations>();
    let data = {
        let (user, key) = subject.with_untracked(|s| {
            let key = s
                .named
                .key()
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            (s.user.clone(), key)
        });
        let graph = graph.clone();
        LocalResource::new(move || {
            version.track();
            settled.track();
            let (graph, user, key) = (graph.clone(), user.clone(), key.clone());
            async move {
                let installed = load_installed(graph, user).await?;
                // Kept for App detail's counts over the users read in this session.
                if let Some(loaded) = loaded {
                    let installations = installed.installations.clone();
                    loaded.0.update(|map| {
                        map.insert(key, installations);
                    });
                }
                Ok::<_, CallError>(installed)
            }
        })
    };
    // The catalog, read beside the installations on each load. A plain signal, not a resource:
    // the `Transition` below waits for the installations only. The last load's answer wins; the
    // previous catalog stays shown meanwhile.
    let catalog = RwSignal::new(None::<Result<Vec<TeamsApp>, CallError>>);
    let catalog_load = StoredValue::new(0u64);
    Effect::new(move |_| {
        version.track();
        settled.track();
        catalog_load.update_value(|n| *n += 1);
        let ticket = catalog_load.get_value();
        let graph = graph.clone();
        leptos::task::spawn_local(async move {
            let answer = load_catalog(graph).await;
            // The page may be gone by now (its owner disposed): then nothing is kept.
            if catalog_load.try_get_value() == Some(ticket)
                && !matches!(answer, Err(CallError::Aborted))
            {
                catalog.try_set(Some(answer));
            }
        });
    });
    let catalog_in =
        Signal::derive(move || catalog.with(|c| c.as_ref().and_then(|r| r.as_ref().ok()).cloned()));
    let query = use_query_map();
    let flow = Memo::new(move |_| {
        query.with(|q| {
            Flow::from_query(
                q.get_str("action"),
                q.get_str("app"),
                q.get_str("installation"),
            )
        })
    });
    // The write submitted from this page's flow lives here, not in the flow's panel (which a
    // reload of the data re-creates): when it is done, the note shows and the flow closes.
    let pending = provide_pending_write();
    Effect::new(move |_| {
        let Some(id) = pending.get() else { return };
        let Some(entry) = writes.entries().into_iter().find(|e| e.id == id) else {
            return;
        };
        if matches!(entry.state, WriteState::Done { .. }) {
            pending.set(None);
            finished.set(Some(Finished {
                message: entry.done_message,
                state: entry.state,
            }));
            open_flow.run(None);
        }
    });
    // Opening another flow forgets a settled (failed) write of the previous one.
    Effect::new(move |_| {
        flow.track();
        if let Some(id) = pending.get_untracked() {
            if writes
                .entries()
                .iter()
                .any(|e| e.id == id && e.state.is_settled())
            {
                pending.set(None);
            }
        }
    });
    // A page that could not read the user's apps because Graph refused (403) cannot install
    // either: the action is disabled, with the reason.
    let refused = move || {
        data.get().is_some_and(
            |r| matches!(&r, Err(CallError::Graph { error, .. }) if error.status == 403),
        )
    };
    let refresh = move |_| {
        finished.set(None);
        version.update(|v| *v += 1);
    };
    view! {
        <div class="personal-apps">
            <p class="toolbar">
                <button type="button" data-testid="open-install" disabled=refused
                    aria-describedby=move || refused().then_some("install-refused")
                    on:click=move |_| open_flow.run(Some(Flow::Install { app: None }))>
                    {i18n.text("apps.install")}
                </button>
                {move || refused().then(|| view! {
                    " " <span class="muted" id="install-refused" data-testid="install-refused">{i18n.t("apps.install_refused")}</span>
                })}
                " "
                <button type="button" class="secondary" on:click=refresh>{i18n.text("common.refresh")}</button>
            </p>
            <div role="status" aria-live="polite" class="outcome-region">
                {move || finished.get().map(|f| view! { <FinishedNote finished=f /> })}
            </div>
            <Transition fallback=move || view! { <p class="muted" data-testid="loading">{i18n.t("common.loading")}</p> }>
                <ErrorBoundary fallback=boundary_fallback>
                    {move || {
                        data.get().map(|result| {
                            result.map(|installed| {
                                let installed = StoredValue::new(installed);
                                // The whole snapshot, once the catalog is in.
                                let snapshot = move || {
                                    catalog_in.get().map(|c| installed.with_value(|i| i.with_catalog(c)))
                                };
                                view! {
                                    {move || flow.get().and_then(|flow| {
                                        snapshot().map(|snapshot| view! {
                                            <FlowPanel flow=flow snapshot=snapshot subject=subject.get() user_exists=user_exists />
                                        })
                                    })}
                                    <InstallationTable
                                        installations=installed.with_value(|i| i.installations.clone())
                                        catalog=catalog_in
                                    />
                                    {move || match catalog.get() {
                                        Some(Err(error)) => view! { <CallErrorView error=error /> }.into_any(),
                                        _ => snapshot().map(|snapshot| view! { <AvailableApps snapshot=snapshot /> }).into_any(),
                                    }}
                                    <Grants
                                        user=subject.with_untracked(|s| s.user.clone())
                                        installations=installed.with_value(|i| i.installations.clone())
                                        rsc_switch=installed.with_value(|i| i.rsc_switch.clone())
                                    />
                                }
                            })
                        })
                    }}
                </ErrorBoundary>
            </Transition>
        </div>
    }
}

/// The panel of the open flow. Esc and Close only close it: a write already submitted goes on
/// in the write service, and its outcome reaches the outbox.
#[component]
fn FlowPanel(
    flow: Flow,
    snapshot: Snapshot,
    subject: Subject,
    user_exists: Signal<Lookup<bool>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open_flow = flow::use_open_flow();
    let heading = NodeRef::<leptos::html::H2>::new();
    Effect::new(move |_| {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    let find = |id: &portal_core::graph::ids::InstallationId| {
        snapshot
            .installations
            .iter()
            .find(|i| id.matches(&i.id))
            .cloned()
    };
    let gone = move || {
        view! { <p class="error" role="alert">{i18n.text("flow.installation_gone")}</p> }.into_any()
    };
    let body = match flow {
        Flow::Install { app } => view! {
            <InstallFlow app=app snapshot=snapshot.clone() subject=subject user_exists=user_exists />
        }
        .into_any(),
        Flow::Upgrade { installation } => match find(&installation) {
            Some(found) => view! {
                <UpgradeFlow installation=found catalog=snapshot.catalog.clone() subject=subject />
            }
            .into_any(),
            None => gone(),
        },
        Flow::Uninstall { installation } => match find(&installation) {
            Some(found) => view! { <UninstallFlow installation=found subject=subject /> }.into_any(),
            None => gone(),
        },
    };
    view! {
        <section
            class="flow-panel"
            aria-labelledby="flow-title"
            data-testid="flow-panel"
            on:keydown=move |ev| {
                if ev.key() == "Escape" {
                    open_flow.run(None);
                }
            }
        >
            <h2 id="flow-title" tabindex="-1" node_ref=heading>{i18n.text("flow.title")}</h2>
            {body}
            <p>
                <button type="button" class="secondary" data-testid="close-flow" on:click=move |_| open_flow.run(None)>
                    {i18n.text("common.close")}
                </button>
            </p>
        </section>
    }
}
