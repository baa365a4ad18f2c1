//! A user's personal apps (an admin's view of a user, or My apps through `/me`): installations
//! with installed and latest published version, drift and consented RSC; the organisation's
//! apps still available; and the install, upgrade and uninstall flows. The open flow lives in
//! the URL (`?action=install&app=…`), so it survives the redirect of an incremental consent.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use portal_core::auth::scopes::Operation;
use portal_core::graph::apps::{
    catalog_app_of, drift, installable, installation_name, latest_published, ConsentRequirement,
    RscChange,
};
use portal_core::graph::commands::WriteAction;
use portal_core::graph::encode::UserRef;
use portal_core::graph::models::{Installation, TeamsApp, TeamsAppSettings};
use portal_core::graph::preflight::{self, Lookup};
use portal_core::graph::request;

use crate::auth::{use_auth, AuthStatus};
use crate::components::drift_badge::DriftBadge;
use crate::components::error_view::{boundary_fallback, CallErrorView};
use crate::components::preflight_checklist::PreflightChecklist;
use crate::components::rsc_list::RscList;
use crate::components::show_request::ShowRequest;
use crate::components::write_action::{self, Done, Write};
use crate::graph_client::{use_graph, CallError, Graph};
use crate::i18n::use_i18n;
use crate::shell::use_config;

/// What the page read: the user's installations, the organisation catalog, the RSC switch.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub installations: Vec<Installation>,
    pub catalog: Vec<TeamsApp>,
    pub rsc_switch: Lookup<bool>,
}

async fn load(graph: Graph, user: UserRef) -> Result<Snapshot, CallError> {
    let (list, catalog_request, settings_request) = (
        request::list_installations(&user, None),
        request::organization_catalog(),
        request::tenant_settings(),
    );
    let installations = graph.get_all::<Installation>(&list, Operation::ReadInstallations);
    let catalog = graph.get_all::<TeamsApp>(&catalog_request, Operation::ReadCatalog);
    let settings = graph.get::<TeamsAppSettings>(&settings_request, Operation::ReadTenantSettings);
    let (installations, catalog, settings) = futures::join!(installations, catalog, settings);
    let mut installations = installations?;
    installations.sort_by_key(|i| installation_name(i).to_lowercase());
    Ok(Snapshot {
        installations,
        catalog: catalog?,
        rsc_switch: match settings {
            Ok(s) => s
                .is_user_personal_scope_resource_specific_consent_enabled
                .map(Lookup::Known)
                .unwrap_or(Lookup::Known(true)),
            Err(e) => Lookup::Failed(e.to_string()),
        },
    })
}

/// Who the apps belong to.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    pub user: UserRef,
    /// Object id or UPN, for the PowerShell and CLI commands.
    pub user_id: String,
    /// Display name for messages.
    pub name: String,
}

/// The last finished write, shown above the list.
#[derive(Clone, Debug)]
struct Finished {
    message: String,
    done: Done,
}

/// The open flow, from the URL.
#[derive(Clone, Debug, PartialEq)]
enum Flow {
    Install { app: Option<String> },
    Upgrade { installation: String },
    Uninstall { installation: String },
}

fn flow_from_query(
    action: Option<String>,
    app: Option<String>,
    installation: Option<String>,
) -> Option<Flow> {
    match action.as_deref() {
        Some("install") => Some(Flow::Install { app }),
        Some("upgrade") => installation.map(|installation| Flow::Upgrade { installation }),
        Some("uninstall") => installation.map(|installation| Flow::Uninstall { installation }),
        _ => None,
    }
}

fn encode(value: &str) -> String {
    portal_core::graph::encode::query_value(value)
}

/// The query of this page with the flow (or none) in it.
fn flow_query(flow: Option<Flow>) -> String {
    match flow {
        None => String::new(),
        Some(Flow::Install { app: None }) => "?action=install".into(),
        Some(Flow::Install { app: Some(app) }) => format!("?action=install&app={}", encode(&app)),
        Some(Flow::Upgrade { installation }) => {
            format!("?action=upgrade&installation={}", encode(&installation))
        }
        Some(Flow::Uninstall { installation }) => {
            format!("?action=uninstall&installation={}", encode(&installation))
        }
    }
}

/// Opens a flow (or closes it): a navigation within this page, in context for the children.
#[derive(Clone, Copy)]
struct OpenFlow(Callback<Option<Flow>>);

fn provide_open_flow() -> OpenFlow {
    let navigate = use_navigate();
    let pathname = use_location().pathname;
    let open = OpenFlow(Callback::new(move |flow: Option<Flow>| {
        navigate(
            &format!("{}{}", pathname.get_untracked(), flow_query(flow)),
            NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        );
    }));
    provide_context(open);
    open
}

/// Opens `flow` (call at component creation; the returned callback works from events).
fn use_open_flow() -> Callback<Option<Flow>> {
    use_context::<OpenFlow>()
        .map(|o| o.0)
        .unwrap_or_else(|| Callback::new(|_| ()))
}

/// The personal apps of `subject`, with the flows; `user_exists` feeds the pre-flight.
#[component]
pub fn PersonalApps(
    subject: Subject,
    #[prop(into)] user_exists: Signal<Lookup<bool>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let open_flow = provide_open_flow().0;
    let version = RwSignal::new(0u32);
    let finished = RwSignal::new(None::<Finished>);
    let data = {
        let graph = graph.clone();
        let user = subject.user.clone();
        LocalResource::new(move || {
            version.track();
            load(graph.clone(), user.clone())
        })
    };
    let query = use_query_map();
    let flow = Memo::new(move |_| {
        let q = query.get();
        flow_from_query(q.get("action"), q.get("app"), q.get("installation"))
    });
    let subject = StoredValue::new(subject);
    let on_done = Callback::new(move |f: (String, Done)| {
        finished.set(Some(Finished {
            message: f.0,
            done: f.1,
        }));
        version.update(|v| *v += 1);
        open_flow.run(None);
    });
    let refresh = move |_| {
        finished.set(None);
        version.update(|v| *v += 1);
    };
    view! {
        <div class="personal-apps">
            <p class="toolbar">
                <button type="button" data-testid="open-install" on:click=move |_| open_flow.run(Some(Flow::Install { app: None }))>
                    {move || i18n.t("apps.install")}
                </button>
                " "
                <button type="button" class="secondary" on:click=refresh>{move || i18n.t("common.refresh")}</button>
            </p>
            <div role="status" aria-live="polite" class="outcome-region">
                {move || finished.get().map(|f| view! { <FinishedNote finished=f /> })}
            </div>
            <Transition fallback=move || view! { <p class="muted" data-testid="loading">{i18n.t("common.loading")}</p> }>
                <ErrorBoundary fallback=boundary_fallback>
                    {move || {
                        data.get().map(|result| {
                            result.map(|snapshot| {
                                let snapshot = StoredValue::new(snapshot);
                                view! {
                                    {move || flow.get().map(|flow| view! {
                                        <FlowPanel flow=flow snapshot=snapshot.get_value() subject=subject.get_value() user_exists=user_exists on_done=on_done />
                                    })}
                                    <InstallationTable snapshot=snapshot.get_value() />
                                    <AvailableApps snapshot=snapshot.get_value() />
                                }
                            })
                        })
                    }}
                </ErrorBoundary>
            </Transition>
        </div>
    }
}

#[component]
fn FinishedNote(finished: Finished) -> impl IntoView {
    let i18n = use_i18n();
    let done = finished.done;
    let retried = done
        .retried
        .iter()
        .map(|s| {
            if *s == 0 {
                "—".to_string()
            } else {
                s.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let attempts = done.attempts.to_string();
    view! {
        <div class="outcome success" data-testid="outcome">
            <p><strong data-testid="outcome-message">{finished.message}</strong></p>
            {(done.attempts > 1).then(|| view! {
                <p class="muted" data-testid="outcome-attempts">{move || i18n.tf("outcome.attempts", &[("attempts", &attempts), ("statuses", &retried)])}</p>
            })}
            {done.reconciled.then(|| view! { <p class="muted" data-testid="outcome-reconciled">{move || i18n.t("outcome.reconciled")}</p> })}
            {done.request_id.map(|id| view! { <p class="muted">{move || i18n.t("error.request_id")} " " <code>{id.clone()}</code></p> })}
        </div>
    }
}

#[component]
fn InstallationTable(snapshot: Snapshot) -> impl IntoView {
    let i18n = use_i18n();
    let open_flow = use_open_flow();
    if snapshot.installations.is_empty() {
        return view! {
            <h2>{move || i18n.t("apps.installed.title")}</h2>
            <p class="muted" data-testid="no-installations">{move || i18n.t("apps.none")}</p>
        }
        .into_any();
    }
    let rows = snapshot
        .installations
        .iter()
        .map(|installation| {
            let app = catalog_app_of(installation, &snapshot.catalog);
            let drift = drift(installation, app);
            let latest = app
                .and_then(latest_published)
                .and_then(|d| d.version.clone())
                .unwrap_or_else(|| "—".into());
            let name = installation_name(installation);
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
            let id = installation.id.clone();
            let id_for_uninstall = id.clone();
            let can_upgrade = drift.can_upgrade();
            let app_id = installation.teams_app.as_ref().map(|a| a.id.clone()).unwrap_or_default();
            let label_upgrade = name.clone();
            let label_uninstall = name.clone();
            let label_row = name.clone();
            view! {
                <tr data-app-id=app_id data-app-name=label_row>
                    <th scope="row">{name}</th>
                    <td data-col="installed">{installed}</td>
                    <td data-col="latest">{latest} " " <DriftBadge drift=drift /></td>
                    <td><RscList permissions=consented /></td>
                    <td class="actions">
                        {can_upgrade.then(|| {
                            let id = id.clone();
                            view! {
                                <button type="button" data-action="upgrade"
                                    aria-label=move || format!("{} {}", i18n.t("apps.upgrade"), label_upgrade)
                                    on:click=move |_| open_flow.run(Some(Flow::Upgrade { installation: id.clone() }))>
                                    {move || i18n.t("apps.upgrade")}
                                </button>
                            }
                        })}
                        " "
                        <button type="button" class="danger" data-action="uninstall"
                            aria-label=move || format!("{} {}", i18n.t("apps.uninstall"), label_uninstall)
                            on:click=move |_| open_flow.run(Some(Flow::Uninstall { installation: id_for_uninstall.clone() }))>
                            {move || i18n.t("apps.uninstall")}
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2>{move || i18n.t("apps.installed.title")}</h2>
        <table class="data-table" data-testid="installations">
            <thead>
                <tr>
                    <th scope="col">{move || i18n.t("apps.col.app")}</th>
                    <th scope="col">{move || i18n.t("apps.col.installed")}</th>
                    <th scope="col">{move || i18n.t("apps.col.latest")}</th>
                    <th scope="col">{move || i18n.t("apps.col.rsc")}</th>
                    <th scope="col">{move || i18n.t("apps.col.actions")}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn AvailableApps(snapshot: Snapshot) -> impl IntoView {
    let i18n = use_i18n();
    let open_flow = use_open_flow();
    let apps = installable(&snapshot.catalog, &snapshot.installations);
    if apps.is_empty() {
        return ().into_any();
    }
    let rows = apps
        .into_iter()
        .map(|app| {
            let definition = latest_published(app);
            let version = definition.and_then(|d| d.version.clone()).unwrap_or_default();
            let rsc = definition.map(|d| d.required_permissions()).unwrap_or_default();
            let name = app.display_name.clone().unwrap_or_else(|| app.id.clone());
            let id = app.id.clone();
            let label = name.clone();
            let label_row = name.clone();
            view! {
                <tr data-app-id=app.id.clone() data-app-name=label_row>
                    <th scope="row">{name}</th>
                    <td>{version}</td>
                    <td><RscList permissions=rsc /></td>
                    <td class="actions">
                        <button type="button" data-action="install"
                            aria-label=move || format!("{} {}", i18n.t("install.submit"), label)
                            on:click=move |_| open_flow.run(Some(Flow::Install { app: Some(id.clone()) }))>
                            {move || i18n.t("install.submit")}
                        </button>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h2>{move || i18n.t("apps.available.title")}</h2>
        <table class="data-table" data-testid="available-apps">
            <thead>
                <tr>
                    <th scope="col">{move || i18n.t("apps.col.app")}</th>
                    <th scope="col">{move || i18n.t("apps.col.latest")}</th>
                    <th scope="col">{move || i18n.t("apps.col.required_rsc")}</th>
                    <th scope="col">{move || i18n.t("apps.col.actions")}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// The panel of the open flow.
#[component]
fn FlowPanel(
    flow: Flow,
    snapshot: Snapshot,
    subject: Subject,
    user_exists: Signal<Lookup<bool>>,
    on_done: Callback<(String, Done)>,
) -> impl IntoView {
    let i18n = use_i18n();
    let open_flow = use_open_flow();
    let heading = NodeRef::<leptos::html::H2>::new();
    Effect::new(move |_| {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    let body = match flow {
        Flow::Install { app } => view! {
            <InstallFlow app=app snapshot=snapshot subject=subject.clone() user_exists=user_exists on_done=on_done />
        }
        .into_any(),
        Flow::Upgrade { installation } => {
            match snapshot.installations.iter().find(|i| i.id == installation) {
                Some(found) => view! {
                    <UpgradeFlow installation=found.clone() catalog=snapshot.catalog.clone() subject=subject.clone() on_done=on_done />
                }
                .into_any(),
                None => view! { <p class="error" role="alert">{move || i18n.t("flow.installation_gone")}</p> }.into_any(),
            }
        }
        Flow::Uninstall { installation } => {
            match snapshot.installations.iter().find(|i| i.id == installation) {
                Some(found) => view! {
                    <UninstallFlow installation=found.clone() subject=subject.clone() on_done=on_done />
                }
                .into_any(),
                None => view! { <p class="error" role="alert">{move || i18n.t("flow.installation_gone")}</p> }.into_any(),
            }
        }
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
            <h2 id="flow-title" tabindex="-1" node_ref=heading>{move || i18n.t("flow.title")}</h2>
            {body}
            <p>
                <button type="button" class="secondary" data-testid="close-flow" on:click=move |_| open_flow.run(None)>
                    {move || i18n.t("common.close")}
                </button>
            </p>
        </section>
    }
}

/// Whether the signed-in user is an administrator (a UI hint).
fn is_admin() -> bool {
    matches!(use_auth().status.get_untracked(), AuthStatus::SignedIn(a) if a.is_admin())
}

/// State of a write in a flow.
#[derive(Clone, Debug)]
enum Running {
    Idle,
    Sending,
    Failed(CallError),
}

#[component]
fn InstallFlow(
    app: Option<String>,
    snapshot: Snapshot,
    subject: Subject,
    user_exists: Signal<Lookup<bool>>,
    on_done: Callback<(String, Done)>,
) -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let graph = use_graph();
    let config = use_config();
    let cloud = config
        .as_ref()
        .map(|c| c.cloud)
        .unwrap_or(portal_core::Cloud::Global);
    let graph_base = graph.base.clone();
    let host = graph.host;
    let choices: Vec<TeamsApp> = {
        let mut apps: Vec<TeamsApp> = snapshot.catalog.clone();
        apps.sort_by_key(|a| a.display_name.clone().unwrap_or_default().to_lowercase());
        apps
    };
    let installable_ids: Vec<String> = installable(&snapshot.catalog, &snapshot.installations)
        .iter()
        .map(|a| a.id.clone())
        .collect();
    let selected = RwSignal::new(
        app.or_else(|| installable_ids.first().cloned())
            .unwrap_or_default(),
    );
    let consent_confirmed = RwSignal::new(false);
    let running = RwSignal::new(Running::Idle);
    let snapshot = StoredValue::new(snapshot);
    let subject = StoredValue::new(subject);
    let chosen = Memo::new(move |_| {
        let id = selected.get();
        snapshot.with_value(|s| s.catalog.iter().find(|a| a.id == id).cloned())
    });
    let requirement = Memo::new(move |_| {
        chosen
            .get()
            .as_ref()
            .and_then(latest_published)
            .map(ConsentRequirement::of)
    });
    let items = Signal::derive(move || {
        let app = chosen.get();
        let already = snapshot.with_value(|s| {
            s.installations.iter().any(|i| {
                i.teams_app
                    .as_ref()
                    .zip(app.as_ref())
                    .is_some_and(|(a, b)| a.id.eq_ignore_ascii_case(&b.id))
            })
        });
        preflight::evaluate(&preflight::Input {
            user_exists: user_exists.get(),
            definition: if app.is_some() {
                Lookup::Known(requirement.get())
            } else {
                Lookup::Known(None)
            },
            already_installed: Lookup::Known(already),
            rsc_switch: snapshot.with_value(|s| s.rsc_switch.clone()),
            granted: auth.granted.get(),
            can_consent_for_tenant: is_admin(),
            cloud,
        })
    });
    let built = Memo::new(move |_| {
        let app = chosen.get()?;
        let requirement = requirement.get()?;
        let user = subject.with_value(|s| s.user.clone());
        Some((
            request::install(host, &user, &app.id, requirement.consent_to_send()),
            requirement.operation(),
            app,
        ))
    });
    let can_submit = move || {
        preflight::ready(&items.get())
            && !matches!(running.get(), Running::Sending)
            && match requirement.get() {
                Some(ConsentRequirement::WholeSet(_)) => consent_confirmed.get(),
                Some(_) => true,
                None => false,
            }
    };
    let graph_for_submit = graph.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some((built, operation, app)) = built.get_untracked() else {
            return;
        };
        let graph = graph_for_submit.clone();
        let (user, name) = subject.with_value(|s| (s.user.clone(), s.name.clone()));
        running.set(Running::Sending);
        leptos::task::spawn_local(async move {
            let write = Write::Install {
                catalog_app_id: app.id.clone(),
            };
            match write_action::run(&graph, &user, &write, &built, operation).await {
                Ok(done) => {
                    running.set(Running::Idle);
                    let app_name = app.display_name.clone().unwrap_or(app.id.clone());
                    on_done.run((
                        i18n.tf("install.done", &[("app", &app_name), ("user", &name)]),
                        done,
                    ));
                }
                Err(CallError::Aborted) => {}
                Err(error) => running.set(Running::Failed(error)),
            }
        });
    };
    let options = choices
        .into_iter()
        .map(|app| {
            let installable = installable_ids.contains(&app.id);
            let name = app.display_name.clone().unwrap_or_else(|| app.id.clone());
            let id = app.id.clone();
            let selected_now = id.clone();
            view! {
                <option value=id selected=move || selected.get() == selected_now>
                    {name}
                    {(!installable).then_some(" *")}
                </option>
            }
        })
        .collect_view();
    let subject_name = subject.with_value(|s| s.name.clone());
    let subject_id = subject.with_value(|s| s.user_id.clone());
    view! {
        <form class="flow install-flow" data-testid="install-flow" on:submit=submit>
            <h3>{move || i18n.tf("install.title", &[("user", &subject_name)])}</h3>
            <p>
                <label for="install-app">{move || i18n.t("install.choose")}</label>
                " "
                <select id="install-app" data-testid="install-app" on:change=move |ev| {
                    selected.set(event_target_value(&ev));
                    consent_confirmed.set(false);
                    running.set(Running::Idle);
                }>
                    {options}
                </select>
                " "
                <span class="muted">{move || i18n.t("install.star_note")}</span>
            </p>
            {move || chosen.get().as_ref().and_then(latest_published).map(|d| {
                let version = d.version.clone().unwrap_or_default();
                view! { <p class="muted" data-testid="install-version">{move || i18n.tf("install.version", &[("version", &version)])}</p> }
            })}
            <PreflightChecklist items=items />
            {move || match requirement.get() {
                Some(ConsentRequirement::WholeSet(set)) => view! {
                    <fieldset class="consent-step" data-testid="consent-step">
                        <legend>{i18n.t("install.consent.title")}</legend>
                        <p>{i18n.t("install.consent.whole_set")}</p>
                        <RscList permissions=set />
                        <p>
                            <input type="checkbox" id="consent-confirm" data-testid="consent-confirm"
                                prop:checked=move || consent_confirmed.get()
                                on:change=move |ev| consent_confirmed.set(event_target_checked(&ev)) />
                            " "
                            <label for="consent-confirm">{i18n.t("install.consent.confirm")}</label>
                        </p>
                    </fieldset>
                }.into_any(),
                Some(ConsentRequirement::DelegatedOnly(set)) => view! {
                    <div class="consent-step">
                        <p>{i18n.t("install.consent.delegated_only")}</p>
                        <RscList permissions=set />
                    </div>
                }.into_any(),
                _ => ().into_any(),
            }}
            {
                let graph_base = graph_base.clone();
                let subject_id = subject_id.clone();
                move || built.get().map(|(request, _, app)| view! {
                    <ShowRequest
                        request=request
                        action=WriteAction::Install { user_id: subject_id.clone(), catalog_app_id: app.id.clone() }
                        graph_base=graph_base.clone()
                    />
                })
            }
            <p>
                <button type="submit" data-testid="submit-install" disabled=move || !can_submit()>
                    {move || if matches!(running.get(), Running::Sending) { i18n.t("install.working") } else { i18n.t("install.submit") }}
                </button>
            </p>
            {move || match running.get() {
                Running::Failed(error) => view! { <CallErrorView error=error /> }.into_any(),
                _ => ().into_any(),
            }}
        </form>
    }
}

#[component]
fn UpgradeFlow(
    installation: Installation,
    catalog: Vec<TeamsApp>,
    subject: Subject,
    on_done: Callback<(String, Done)>,
) -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let app = catalog_app_of(&installation, &catalog).cloned();
    let name = installation_name(&installation);
    let from = installation.teams_app_definition.clone();
    let to = app.as_ref().and_then(latest_published).cloned();
    let (Some(from), Some(to), Some(app)) = (from, to, app) else {
        return view! { <p class="error" role="alert">{move || i18n.t("upgrade.not_possible")}</p> }.into_any();
    };
    let from_version = from.version.clone().unwrap_or_default();
    let to_version = to.version.clone().unwrap_or_default();
    let change = RscChange::between(&from, &to);
    let requirement = ConsentRequirement::of(&to);
    let built = request::upgrade(
        &subject.user,
        &installation.id,
        requirement.consent_to_send(),
    );
    let operation = requirement.operation();
    let needs_confirm = matches!(requirement, ConsentRequirement::WholeSet(_));
    let confirmed = RwSignal::new(!needs_confirm);
    let running = RwSignal::new(Running::Idle);
    let action = WriteAction::Upgrade {
        user_id: subject.user_id.clone(),
        installation_id: installation.id.clone(),
        catalog_app_id: app.id.clone(),
    };
    let submit = {
        let built = built.clone();
        let name = name.clone();
        let to_version = to_version.clone();
        let graph = graph.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            running.set(Running::Sending);
            let (graph, built, user, name, to_version, app_id) = (
                graph.clone(),
                built.clone(),
                subject.user.clone(),
                name.clone(),
                to_version.clone(),
                app.id.clone(),
            );
            leptos::task::spawn_local(async move {
                let write = Write::Upgrade {
                    catalog_app_id: app_id,
                    to_version: to_version.clone(),
                };
                match write_action::run(&graph, &user, &write, &built, operation).await {
                    Ok(done) => {
                        running.set(Running::Idle);
                        on_done.run((
                            i18n.tf("upgrade.done", &[("app", &name), ("version", &to_version)]),
                            done,
                        ));
                    }
                    Err(CallError::Aborted) => {}
                    Err(error) => running.set(Running::Failed(error)),
                }
            });
        }
    };
    let title_name = name.clone();
    let (fv, tv) = (from_version.clone(), to_version.clone());
    view! {
        <form class="flow upgrade-flow" data-testid="upgrade-flow" on:submit=submit>
            <h3>{move || i18n.tf("upgrade.title", &[("app", &title_name)])}</h3>
            <p data-testid="upgrade-versions">{move || i18n.tf("upgrade.from_to", &[("from", &fv), ("to", &tv)])}</p>
            {if change.is_unchanged() {
                view! { <p data-testid="rsc-change">{move || i18n.t("upgrade.rsc_unchanged")}</p> }.into_any()
            } else {
                view! {
                    <div data-testid="rsc-change">
                        {(!change.added.is_empty()).then(|| view! { <p>{move || i18n.t("upgrade.rsc_added")}</p> <RscList permissions=change.added.clone() /> })}
                        {(!change.removed.is_empty()).then(|| view! { <p>{move || i18n.t("upgrade.rsc_removed")}</p> <RscList permissions=change.removed.clone() /> })}
                    </div>
                }.into_any()
            }}
            {needs_confirm.then(|| {
                let set = requirement.consent_to_send().map(<[_]>::to_vec).unwrap_or_default();
                view! {
                    <fieldset class="consent-step" data-testid="consent-step">
                        <legend>{move || i18n.t("install.consent.title")}</legend>
                        <p>{move || i18n.t("install.consent.whole_set")}</p>
                        <RscList permissions=set />
                        <p>
                            <input type="checkbox" id="upgrade-consent" data-testid="consent-confirm"
                                on:change=move |ev| confirmed.set(event_target_checked(&ev)) />
                            " "
                            <label for="upgrade-consent">{move || i18n.t("upgrade.consent.confirm")}</label>
                        </p>
                    </fieldset>
                }
            })}
            <ShowRequest request=built action=action graph_base=graph.base.clone() />
            <p>
                <button type="submit" data-testid="submit-upgrade"
                    disabled=move || !confirmed.get() || matches!(running.get(), Running::Sending)>
                    {move || i18n.t("upgrade.submit")}
                </button>
            </p>
            {move || match running.get() {
                Running::Failed(error) => view! { <CallErrorView error=error /> }.into_any(),
                _ => ().into_any(),
            }}
        </form>
    }
    .into_any()
}

#[component]
fn UninstallFlow(
    installation: Installation,
    subject: Subject,
    on_done: Callback<(String, Done)>,
) -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let name = installation_name(&installation);
    let built = request::uninstall(&subject.user, &installation.id);
    let consented = installation
        .consented_permission_set
        .as_ref()
        .map(|s| s.resource_specific_permissions.clone())
        .unwrap_or_default();
    let running = RwSignal::new(Running::Idle);
    let action = WriteAction::Uninstall {
        user_id: subject.user_id.clone(),
        installation_id: installation.id.clone(),
    };
    let app_id = installation
        .teams_app
        .as_ref()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let submit = {
        let built = built.clone();
        let name = name.clone();
        let subject = subject.clone();
        let graph = graph.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            running.set(Running::Sending);
            let (graph, built, user, user_name, name, app_id) = (
                graph.clone(),
                built.clone(),
                subject.user.clone(),
                subject.name.clone(),
                name.clone(),
                app_id.clone(),
            );
            leptos::task::spawn_local(async move {
                let write = Write::Uninstall {
                    catalog_app_id: app_id,
                };
                match write_action::run(
                    &graph,
                    &user,
                    &write,
                    &built,
                    Operation::WriteInstallations,
                )
                .await
                {
                    Ok(done) => {
                        running.set(Running::Idle);
                        on_done.run((
                            i18n.tf("uninstall.done", &[("app", &name), ("user", &user_name)]),
                            done,
                        ));
                    }
                    Err(CallError::Aborted) => {}
                    Err(error) => running.set(Running::Failed(error)),
                }
            });
        }
    };
    let (title_name, body_name, user_name) = (name.clone(), name.clone(), subject.name.clone());
    let has_rsc = !consented.is_empty();
    view! {
        <form class="flow uninstall-flow" data-testid="uninstall-flow" on:submit=submit>
            <h3>{move || i18n.tf("uninstall.title", &[("app", &title_name)])}</h3>
            <p>{move || i18n.tf("uninstall.body", &[("app", &body_name), ("user", &user_name)])}</p>
            {if has_rsc {
                view! { <RscList permissions=consented /> }.into_any()
            } else {
                view! { <p class="muted">{move || i18n.t("uninstall.no_rsc")}</p> }.into_any()
            }}
            <ShowRequest request=built action=action graph_base=graph.base.clone() />
            <p>
                <button type="submit" class="danger" data-testid="submit-uninstall"
                    disabled=move || matches!(running.get(), Running::Sending)>
                    {move || i18n.t("uninstall.submit")}
                </button>
            </p>
            {move || match running.get() {
                Running::Failed(error) => view! { <CallErrorView error=error /> }.into_any(),
                _ => ().into_any(),
            }}
        </form>
    }
}
