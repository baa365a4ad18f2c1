//! Bulk jobs: install, upgrade, uninstall or "ensure latest" one app across many users. The
//! users are pasted, uploaded or searched; the app's RSC consent is chosen once in the consent
//! editor; a dry run resolves every user and reads their state, and its plan is shown; only a
//! confirmed plan is written, by the job service (throttle-aware, resumable, one tab at a time).

use leptos::prelude::*;
use portal_core::auth::scopes::Operation;
use portal_core::graph::apps::latest_published;
use portal_core::graph::consent::operation_for;
use portal_core::graph::ids::CatalogAppId;
use portal_core::graph::models::TeamsApp;
use portal_core::graph::request;
use portal_core::jobs::plan::{JobAction, JobPlan, Pacing};
use portal_core::jobs::users::UserList;

use crate::auth::use_session;
use crate::components::error_view::boundary_fallback;
use crate::components::signed_in::SignedIn;
use crate::graph_client::use_graph;
use crate::i18n::use_i18n;
use crate::jobs::dry_run::{dry_run, DryRunInput};
use crate::jobs::use_job_service;
use crate::jobs::users_input::{user_key, UsersInput};
use crate::jobs::views::{action_key, ActiveJobPanel, JobList, PlanView};
use crate::personal_apps::consent_editor::{ConsentChoice, ConsentEditor};

/// Bulk jobs across many users.
#[component]
pub fn BulkJobsPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="lead">{i18n.text("page.jobs.intro")}</p>
        <SignedIn>
            <JobsProblem />
            <ActiveJobPanel />
            <NewJob />
            <JobList />
        </SignedIn>
    }
}

/// Storage or locks the browser refuses; the unowned jobs of the portal before owners, removed.
#[component]
fn JobsProblem() -> impl IntoView {
    let i18n = use_i18n();
    let service = use_job_service();
    view! {
        {move || {
            service
                .problem
                .get()
                .map(|p| view! { <p class="error" role="alert" data-testid="jobs-problem">{p}</p> })
        }}
        {move || {
            let removed = service.legacy_removed.get();
            (removed > 0).then(|| {
                let count = removed.to_string();
                view! {
                    <p class="notice" role="status" data-testid="jobs-legacy-removed">
                        {move || i18n.tf("jobs.legacy_removed", &[("count", &count)])}
                    </p>
                }
            })
        }}
    }
}

#[component]
fn NewJob() -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let catalog = LocalResource::new(move || {
        let graph = graph.clone();
        async move {
            let mut apps = graph
                .get_all::<TeamsApp>(&request::organization_catalog(), Operation::ReadCatalog)
                .await?;
            apps.retain(|a| latest_published(a).is_some());
            apps.sort_by_key(|a| a.display_name.clone().unwrap_or_default().to_lowercase());
            Ok::<_, crate::graph_client::CallError>(apps)
        }
    });
    view! {
        <section class="job-new" data-testid="job-new">
            <h2>{i18n.text("jobs.new.title")}</h2>
            <Transition fallback=move || view! { <p class="muted">{i18n.t("common.loading")}</p> }>
                <ErrorBoundary fallback=boundary_fallback>
                    {move || catalog.get().map(|r| r.map(|apps| view! { <NewJobForm apps=apps /> }))}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

#[component]
fn NewJobForm(apps: Vec<TeamsApp>) -> impl IntoView {
    let i18n = use_i18n();
    let service = use_job_service();
    let session = use_session();
    let graph = use_graph();
    let first = apps.first().map(|a| a.id.clone()).unwrap_or_default();
    let options = apps
        .iter()
        .map(|a| {
            let name = a.display_name.clone().unwrap_or_else(|| a.id.clone());
            view! { <option value=a.id.clone()>{name}</option> }
        })
        .collect_view();
    let apps = StoredValue::new(apps);
    let app_id = RwSignal::new(first);
    let action = RwSignal::new(JobAction::Install);
    let chosen = RwSignal::new(UserList::default());
    let latest = Memo::new(move |_| {
        let id = app_id.get();
        apps.with_value(|list| {
            list.iter()
                .find(|a| a.id == id)
                .and_then(latest_published)
                .cloned()
        })
    });
    let required = Signal::derive(move || {
        latest
            .get()
            .map(|d| d.required_permissions())
            .unwrap_or_default()
    });
    let choice = ConsentChoice::new(required);
    let consents = move || action.get() != JobAction::Uninstall && !required.with(Vec::is_empty);
    let share = RwSignal::new(90u32);
    let one_at_a_time = RwSignal::new(false);
    let plan = RwSignal::new(None::<JobPlan>);
    let stopped = RwSignal::new(None::<String>);
    let reading = RwSignal::new(None::<(usize, usize)>);
    let start_error = RwSignal::new(None::<String>);
    let operations = move || {
        let proposal = if action.get() == JobAction::Uninstall {
            None
        } else {
            choice.proposal.get()
        };
        vec![
            Operation::ReadUsers,
            Operation::ReadInstallations,
            operation_for(proposal.as_deref()),
        ]
    };
    let blocked = move || {
        chosen.with(|l| l.users.is_empty())
            || reading.get().is_some()
            || latest.with(Option::is_none)
            || (consents() && choice.invalid.get().is_some())
    };
    let run_dry = move |_| {
        let Some(definition) = latest.get_untracked() else {
            return;
        };
        let app = app_id.get_untracked();
        let app_name = apps.with_value(|list| {
            list.iter()
                .find(|a| a.id == app)
                .and_then(|a| a.display_name.clone())
                .unwrap_or_else(|| app.clone())
        });
        let input = DryRunInput {
            keys: chosen.with_untracked(|l| l.users.iter().map(user_key).collect()),
            lines: chosen.with_untracked(|l| l.lines().to_vec()),
            action: action.get_untracked(),
            app: CatalogAppId::new(app),
            app_name,
            latest_version: definition.version.clone().unwrap_or_default(),
            required: definition.required_permissions(),
            consent: if consents() {
                choice.proposal.get_untracked()
            } else {
                None
            },
            pacing: if one_at_a_time.get_untracked() {
                Pacing::one_at_a_time()
            } else {
                Pacing {
                    share: f64::from(share.get_untracked()) / 100.0,
                    ..Pacing::default()
                }
            },
        };
        plan.set(None);
        stopped.set(None);
        reading.set(Some((0, input.keys.len())));
        let graph = graph.clone();
        leptos::task::spawn_local(async move {
            let progress = move |done, total| reading.set(Some((done, total)));
            let (made, stop) = dry_run(input, &graph, progress).await;
            reading.set(None);
            stopped.set(stop);
            plan.set(Some(made));
        });
    };
    let confirm = move |_| {
        let Some(confirmed) = plan.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            match service.start(confirmed).await {
                Ok(()) => {
                    plan.set(None);
                    start_error.set(None);
                }
                Err(e) => start_error.set(Some(e)),
            }
        });
    };
    let action_options = JobAction::ALL
        .into_iter()
        .map(|a| view! { <option value=a.as_str() selected=a == JobAction::Install>{move || i18n.t(action_key(a))}</option> })
        .collect_view();
    view! {
        <UsersInput chosen=chosen />
        <fieldset>
            <legend>{i18n.text("jobs.new.what")}</legend>
            <p>
                <label for="job-app">{i18n.text("jobs.new.app")}</label> " "
                <select id="job-app" data-testid="job-app" on:change=move |ev| app_id.set(event_target_value(&ev))>{options}</select>
                " "
                <label for="job-action">{i18n.text("jobs.new.action")}</label> " "
                <select id="job-action" data-testid="job-action"
                    on:change=move |ev| if let Some(a) = JobAction::parse(&event_target_value(&ev)) { action.set(a) }>
                    {action_options}
                </select>
            </p>
            <p class="muted">{move || latest.get().map(|d| i18n.tf("jobs.new.latest", &[("version", &d.version.unwrap_or_default())]))}</p>
            <p>
                <label for="job-share">{i18n.text("jobs.new.share")}</label> " "
                <select id="job-share" data-testid="job-share" on:change=move |ev| share.set(event_target_value(&ev).parse().unwrap_or(90))>
                    {[100u32, 90, 50, 25, 10].into_iter().map(|p| view! { <option value=p.to_string() selected=p == 90>{format!("{p} %")}</option> }).collect_view()}
                </select>
                " "
                <input type="checkbox" id="job-one-at-a-time" data-testid="job-one-at-a-time"
                    on:change=move |ev| one_at_a_time.set(event_target_checked(&ev)) />
                <label for="job-one-at-a-time">{i18n.text("jobs.new.one_at_a_time")}</label>
            </p>
        </fieldset>
        {move || (consents()).then(|| latest.get().map(|target| view! { <ConsentEditor target=target choice=choice /> })).flatten()}
        <p class="muted" data-testid="job-permissions">
            {move || i18n.tf("jobs.new.permissions", &[("permissions", &operations().iter().map(|o| o.permission()).collect::<Vec<_>>().join(", "))])}
            " "
            <button type="button" on:click=move |_| session.request_consent(operations())>{i18n.text("jobs.new.grant")}</button>
        </p>
        <p class="actions">
            <button type="button" class="primary" data-testid="job-dry-run" disabled=blocked on:click=run_dry>
                {i18n.text("jobs.new.dry_run")}
            </button>
        </p>
        {move || reading.get().map(|(done, total)| view! {
            <p role="status" data-testid="dry-run-progress">
                <progress max=total.to_string() value=done.to_string()></progress>
                " " {i18n.tf("jobs.new.reading", &[("done", &done.to_string()), ("total", &total.to_string())])}
            </p>
        })}
        {move || stopped.get().map(|reason| view! { <p class="error" role="alert">{i18n.tf("jobs.new.stopped", &[("reason", &reason)])}</p> })}
        {move || plan.get().map(|p| {
            let writes = p.rows.iter().filter(|r| r.action.is_write()).count();
            view! {
                <PlanView plan=p />
                <p class="actions">
                    <button type="button" class="primary" data-testid="job-confirm" disabled=writes == 0 on:click=confirm>
                        {i18n.tf("jobs.new.confirm", &[("writes", &writes.to_string())])}
                    </button>
                    " "
                    <button type="button" on:click=move |_| plan.set(None)>{i18n.t("jobs.new.discard")}</button>
                </p>
            }
        })}
        {move || start_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
    }
}
