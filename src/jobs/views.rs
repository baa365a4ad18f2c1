//! What a job shows: its plan (counts per action, per-user rows, a user listed twice shown as
//! a duplicate of the line it was first listed on, CSV export), its progress (bar, counts per
//! outcome, rate and time left, per-user status with errors and request ids, results export),
//! and the list of stored jobs.

use leptos::prelude::*;
use portal_core::graph::write::{Confirmed, Failure};
use portal_core::jobs::engine::{ErrorSummary, Outcome, Phase, WriteTask};
use portal_core::jobs::export::to_csv;
use portal_core::jobs::plan::{plan_csv, JobAction, JobPlan, PlanRow, PlannedAction, SkipReason};

use super::{use_job_service, JobHeader, JobStatus};
use crate::components::download::download;
use crate::i18n::{use_i18n, I18n};

/// Rows per page of a per-user table.
const PAGE_ROWS: usize = 50;

pub fn action_key(action: JobAction) -> &'static str {
    match action {
        JobAction::Install => "jobs.action.install",
        JobAction::Upgrade => "jobs.action.upgrade",
        JobAction::Uninstall => "jobs.action.uninstall",
        JobAction::EnsureLatest => "jobs.action.ensure_latest",
    }
}

pub fn planned_key(action: &PlannedAction) -> &'static str {
    match action {
        PlannedAction::Install => "jobs.plan.install",
        PlannedAction::Upgrade { .. } => "jobs.plan.upgrade",
        PlannedAction::Uninstall { .. } => "jobs.plan.uninstall",
        PlannedAction::Skip(SkipReason::UnknownUser) => "jobs.plan.skip_unknown_user",
        PlannedAction::Skip(SkipReason::DisabledUser) => "jobs.plan.skip_disabled_user",
        PlannedAction::Skip(SkipReason::AlreadyInstalled) => "jobs.plan.skip_already_installed",
        PlannedAction::Skip(SkipReason::AlreadyLatest) => "jobs.plan.skip_already_latest",
        PlannedAction::Skip(SkipReason::NotInstalled) => "jobs.plan.skip_not_installed",
        PlannedAction::Skip(SkipReason::ReadFailed) => "jobs.plan.skip_read_failed",
        PlannedAction::Skip(SkipReason::Duplicate { .. }) => "jobs.plan.skip_duplicate",
    }
}

/// A row's planned action as shown: a duplicate names the line of the row it repeats.
fn planned_text(i18n: I18n, action: &PlannedAction) -> String {
    match action {
        PlannedAction::Skip(SkipReason::Duplicate { first_line }) if *first_line > 0 => i18n.tf(
            "jobs.plan.skip_duplicate_of",
            &[("line", &first_line.to_string())],
        ),
        _ => i18n.t(planned_key(action)),
    }
}

/// The i18n key of an outcome key (`Outcome::key`).
pub fn outcome_key(key: &str) -> &'static str {
    match key {
        "applied" => "jobs.outcome.applied",
        "already_installed" => "jobs.outcome.already_installed",
        "refused" => "jobs.outcome.refused",
        "not_applied" => "jobs.outcome.not_applied",
        "unsettled" => "jobs.outcome.unsettled",
        "cancelled" => "jobs.outcome.cancelled",
        _ => "jobs.outcome.pending",
    }
}

fn task_state_key(task: &WriteTask) -> &'static str {
    match (task.outcome, task.phase, task.in_flight) {
        (Some(outcome), _, _) => outcome_key(outcome.key()),
        (None, _, true) => "jobs.outcome.sending",
        (None, Phase::ReadBack | Phase::Verify, false) => "jobs.outcome.checking",
        (None, Phase::Send, false) => "jobs.outcome.pending",
    }
}

fn how_key(outcome: Option<Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::Applied(Confirmed::Answered)) => "jobs.how.answered",
        Some(Outcome::Applied(Confirmed::ReadBack)) => "jobs.how.read_back",
        Some(Outcome::Applied(Confirmed::Conflict)) => "jobs.how.conflict",
        Some(Outcome::Failed(Failure::Unsettled)) => "jobs.how.unsettled",
        _ => "jobs.how.none",
    }
}

fn duration_text(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// Previous / next over `total` rows.
#[component]
fn Pager(page: RwSignal<usize>, #[prop(into)] total: Signal<usize>) -> impl IntoView {
    let i18n = use_i18n();
    let pages = move || total.get().div_ceil(PAGE_ROWS).max(1);
    view! {
        <p class="pager">
            <button type="button" disabled=move || page.get() == 0
                on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>{i18n.text("jobs.page.previous")}</button>
            " " {move || i18n.tf("jobs.page.of", &[("page", &(page.get() + 1).to_string()), ("pages", &pages().to_string())])} " "
            <button type="button" disabled=move || page.get() + 1 >= pages()
                on:click=move |_| page.update(|p| *p += 1)>{i18n.text("jobs.page.next")}</button>
        </p>
    }
}

fn user_cells(row: &PlanRow) -> (String, String) {
    (
        row.display_name.clone().unwrap_or_else(|| row.key.clone()),
        row.upn
            .clone()
            .or_else(|| row.user_id.clone())
            .unwrap_or_else(|| row.key.clone()),
    )
}

/// The plan of a dry run: counts per action and the per-user rows.
#[component]
pub fn PlanView(plan: JobPlan) -> impl IntoView {
    let i18n = use_i18n();
    let counts = plan.counts();
    let plan = StoredValue::new(plan);
    let filter = RwSignal::new(String::new());
    let page = RwSignal::new(0usize);
    let shown = Memo::new(move |_| {
        let filter = filter.get();
        plan.with_value(|p| {
            p.rows
                .iter()
                .enumerate()
                .filter(|(_, r)| filter.is_empty() || r.action.key() == filter)
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        })
    });
    let count_items = counts
        .iter()
        .map(|(key, n)| {
            let key = key.to_string();
            let label_key = plan.with_value(|p| {
                p.rows
                    .iter()
                    .find(|r| r.action.key() == key)
                    .map(|r| planned_key(&r.action))
                    .unwrap_or("jobs.plan.install")
            });
            view! { <li data-testid=format!("plan-count-{key}")>{i18n.text(label_key)} ": " <strong>{*n}</strong></li> }
        })
        .collect_view();
    let export_error = RwSignal::new(None::<String>);
    let export = move |_| {
        let result = plan.with_value(|p| {
            plan_csv(p)
                .and_then(|csv| download(&format!("job-{}-plan.csv", p.id), "text/csv", &csv))
        });
        export_error.set(result.err());
    };
    let options = counts
        .keys()
        .map(|key| view! { <option value=key.to_string()>{key.to_string()}</option> })
        .collect_view();
    view! {
        <section class="job-plan" data-testid="job-plan">
            <h3>{i18n.text("jobs.plan.title")}</h3>
            <ul class="counts">{count_items}</ul>
            <p>
                <label for="plan-filter">{i18n.text("jobs.plan.filter")}</label> " "
                <select id="plan-filter" on:change=move |ev| { filter.set(event_target_value(&ev)); page.set(0); }>
                    <option value="">{i18n.text("jobs.plan.all")}</option>
                    {options}
                </select>
            </p>
            <table class="data-table" data-testid="plan-rows">
                <thead><tr>
                    <th scope="col">{i18n.text("jobs.col.user")}</th>
                    <th scope="col">{i18n.text("jobs.col.upn")}</th>
                    <th scope="col">{i18n.text("jobs.col.current")}</th>
                    <th scope="col">{i18n.text("jobs.col.action")}</th>
                    <th scope="col">{i18n.text("jobs.col.error")}</th>
                </tr></thead>
                <tbody>
                    {move || {
                        let start = page.get() * PAGE_ROWS;
                        shown.with(|rows| plan.with_value(|p| rows.iter().skip(start).take(PAGE_ROWS).map(|&i| {
                            let row = &p.rows[i];
                            let (name, upn) = user_cells(row);
                            let error = row.error.as_ref().map(|e| format!("{} {} ({})", e.status.map(|s| s.to_string()).unwrap_or_default(), e.code, e.request_id.clone().unwrap_or_default())).unwrap_or_default();
                            view! {
                                <tr>
                                    <td>{name}</td>
                                    <td>{upn}</td>
                                    <td>{row.current_version.clone().unwrap_or_default()}</td>
                                    <td data-testid="plan-row-action">{planned_text(i18n, &row.action)}</td>
                                    <td>{error}</td>
                                </tr>
                            }
                        }).collect_view()))
                    }}
                </tbody>
            </table>
            <Pager page=page total=Signal::derive(move || shown.with(Vec::len)) />
            <p class="actions">
                <button type="button" data-testid="plan-export" on:click=export>{i18n.text("jobs.plan.export")}</button>
            </p>
            {move || export_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}

/// The results of a job as CSV rows.
fn results_csv(
    i18n: I18n,
    plan: &JobPlan,
    rows: &[usize],
    tasks: &[WriteTask],
) -> Result<String, String> {
    let header = [
        "user",
        "userId",
        "userPrincipalName",
        "action",
        "outcome",
        "sends",
        "status",
        "code",
        "message",
        "requestId",
    ];
    let records: Vec<Vec<String>> = tasks
        .iter()
        .zip(rows)
        .map(|(task, &r)| {
            let row = &plan.rows[r];
            let error = task
                .last_error
                .as_ref()
                .filter(|_| !task.outcome.is_some_and(Outcome::is_success));
            let mut columns = vec![
                row.key.clone(),
                row.user_id.clone().unwrap_or_default(),
                row.upn.clone().unwrap_or_default(),
                row.action.key().to_string(),
                task.outcome
                    .map(|o| o.key().to_string())
                    .unwrap_or_else(|| "pending".into()),
                task.run.sends().to_string(),
            ];
            columns.extend(ErrorSummary::csv_columns(error));
            columns
        })
        .collect();
    let _ = i18n;
    to_csv(&header, &records)
}

/// The running (or just ended) job of this tab.
#[component]
pub fn ActiveJobPanel() -> impl IntoView {
    let i18n = use_i18n();
    let service = use_job_service();
    let filter = RwSignal::new(String::new());
    let page = RwSignal::new(0usize);
    let export_error = RwSignal::new(None::<String>);
    move || {
        service.tick.get();
        let active = service.active()?;
        let header = active.header;
        let progress = active.progress();
        let running = matches!(header.get_untracked().status, JobStatus::Running);
        let counts = progress
            .by_outcome
            .iter()
            .map(|(key, n)| view! { <li data-testid=format!("job-count-{key}")>{i18n.t(outcome_key(key))} ": " <strong>{*n}</strong></li> })
            .collect_view();
        let rate = format!("{:.1}", progress.rate_per_s);
        let eta = progress
            .eta_ms
            .map(duration_text)
            .unwrap_or_else(|| "–".into());
        let title = i18n.tf(
            "jobs.active.title",
            &[
                ("action", &i18n.t(action_key(active.plan.action))),
                ("app", &active.plan.app_name),
            ],
        );
        let status_text = match header.get_untracked().status {
            JobStatus::Running if header.get_untracked().cancel_requested => {
                i18n.t("jobs.status.cancelling")
            }
            JobStatus::Running => i18n.t("jobs.status.running"),
            JobStatus::Paused { reason } => i18n.tf("jobs.status.paused", &[("reason", &reason)]),
            JobStatus::Finished => i18n.t("jobs.status.finished"),
            JobStatus::Cancelled => i18n.t("jobs.status.cancelled"),
        };
        let status_attr = match header.get_untracked().status {
            JobStatus::Running => "running",
            JobStatus::Paused { .. } => "paused",
            JobStatus::Finished => "finished",
            JobStatus::Cancelled => "cancelled",
        };
        let active_rows = send_wrapper::SendWrapper::new(active.clone());
        let table = move || {
            service.tick.get();
            let filter = filter.get();
            let start = page.get() * PAGE_ROWS;
            let executor = active_rows.executor.borrow();
            let tasks = executor.tasks();
            tasks
                .iter()
                .zip(&active_rows.rows)
                .filter(|(t, _)| {
                    filter.is_empty() || t.outcome.map(|o| o.key()).unwrap_or("pending") == filter
                })
                .skip(start)
                .take(PAGE_ROWS)
                .map(|(task, &r)| {
                    let row = &active_rows.plan.rows[r];
                    let (name, upn) = user_cells(row);
                    let error = task
                        .last_error
                        .as_ref()
                        .filter(|_| !task.outcome.is_some_and(Outcome::is_success))
                        .map(|e| {
                            format!(
                                "{} {}: {}",
                                e.status.map(|s| s.to_string()).unwrap_or_default(),
                                e.code,
                                e.message
                            )
                        });
                    let request_id = task
                        .last_error
                        .as_ref()
                        .and_then(|e| e.request_id.clone())
                        .unwrap_or_default();
                    view! {
                        <tr data-testid="job-row">
                            <td>{name}</td>
                            <td>{upn}</td>
                            <td>{planned_text(i18n, &row.action)}</td>
                            <td data-testid="job-row-state">{i18n.t(task_state_key(task))}</td>
                            <td>{i18n.t(how_key(task.outcome))}</td>
                            <td>{task.run.sends()}</td>
                            <td>{error.unwrap_or_default()}</td>
                            <td><code>{request_id}</code></td>
                        </tr>
                    }
                })
                .collect_view()
        };
        let total_rows = active.rows.len();
        let export = {
            let active = send_wrapper::SendWrapper::new(active.clone());
            move |_| {
                let executor = active.executor.borrow();
                let result = results_csv(i18n, &active.plan, &active.rows, executor.tasks())
                    .and_then(|csv| {
                        download(
                            &format!("job-{}-results.csv", active.plan.id),
                            "text/csv",
                            &csv,
                        )
                    });
                export_error.set(result.err());
            }
        };
        Some(view! {
            <section class="job-active" data-testid="job-active" data-status=status_attr>
                <h2>{title}</h2>
                <p role="status" data-testid="job-status">{status_text}</p>
                <p>
                    <progress max=progress.total.to_string() value=progress.done.to_string() data-testid="job-progress"></progress>
                    " " <span data-testid="job-done">{progress.done}</span> " / " {progress.total}
                </p>
                <p>{i18n.tf("jobs.active.rate", &[("rate", &rate), ("eta", &eta)])}</p>
                <ul class="counts">{counts}</ul>
                <p class="actions">
                    {running.then(|| view! {
                        <button type="button" data-testid="job-cancel" on:click=move |_| service.cancel()>{i18n.t("jobs.active.cancel")}</button>
                    })}
                    " "
                    <button type="button" data-testid="job-export" on:click=export>{i18n.t("jobs.active.export")}</button>
                    " "
                    {(!running).then(|| view! {
                        <button type="button" data-testid="job-close" on:click=move |_| service.dismiss_active()>{i18n.t("jobs.active.close")}</button>
                    })}
                </p>
                {move || export_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <p>
                    <label for="job-filter">{i18n.t("jobs.active.filter")}</label> " "
                    <select id="job-filter" on:change=move |ev| { filter.set(event_target_value(&ev)); page.set(0); }>
                        <option value="">{i18n.t("jobs.plan.all")}</option>
                        {["pending", "applied", "already_installed", "refused", "not_applied", "unsettled", "cancelled"].into_iter().map(|k| view! {
                            <option value=k>{i18n.t(outcome_key(k))}</option>
                        }).collect_view()}
                    </select>
                </p>
                <table class="data-table" data-testid="job-rows">
                    <thead><tr>
                        <th scope="col">{i18n.t("jobs.col.user")}</th>
                        <th scope="col">{i18n.t("jobs.col.upn")}</th>
                        <th scope="col">{i18n.t("jobs.col.action")}</th>
                        <th scope="col">{i18n.t("jobs.col.outcome")}</th>
                        <th scope="col">{i18n.t("jobs.col.how")}</th>
                        <th scope="col">{i18n.t("jobs.col.sends")}</th>
                        <th scope="col">{i18n.t("jobs.col.error")}</th>
                        <th scope="col">{i18n.t("jobs.col.request_id")}</th>
                    </tr></thead>
                    <tbody>{table}</tbody>
                </table>
                <Pager page=page total=Signal::derive(move || total_rows) />
            </section>
        })
    }
}

fn status_key(status: &JobStatus) -> &'static str {
    match status {
        JobStatus::Running => "jobs.status.running",
        JobStatus::Paused { .. } => "jobs.status.paused_short",
        JobStatus::Finished => "jobs.status.finished",
        JobStatus::Cancelled => "jobs.status.cancelled",
    }
}

/// Every stored job, with resume and clear.
#[component]
pub fn JobList() -> impl IntoView {
    let i18n = use_i18n();
    let service = use_job_service();
    let item = move |job: JobHeader| {
        let id = job.id.clone();
        let resume_id = id.clone();
        let elsewhere = service.elsewhere.with(|e| e.contains(&id));
        let running_here = service.active().is_some_and(|a| {
            a.plan.id == id && matches!(a.header.get_untracked().status, JobStatus::Running)
        });
        let unfinished = job.status.is_unfinished();
        let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(job.created_ms as f64))
            .to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED)
            .as_string()
            .unwrap_or_default();
        view! {
            <tr data-testid="job-list-row">
                <td>{when}</td>
                <td>{i18n.t(action_key(job.action))}</td>
                <td>{job.app_name.clone()}</td>
                <td>{job.done} " / " {job.total}</td>
                <td>{i18n.t(status_key(&job.status))}
                    {elsewhere.then(|| view! { " · " {i18n.t("jobs.list.elsewhere")} })}</td>
                <td>
                    {(unfinished && !running_here && !elsewhere).then(|| view! {
                        <button type="button" on:click=move |_| {
                            let id = resume_id.clone();
                            leptos::task::spawn_local(async move { service.resume(&id).await; });
                        }>{i18n.t("jobs.list.resume")}</button>
                    })}
                    {(!running_here).then(|| view! {
                        <button type="button" data-testid="job-clear" on:click=move |_| {
                            let id = id.clone();
                            leptos::task::spawn_local(async move { service.clear(&id).await; });
                        }>{i18n.t("jobs.list.clear")}</button>
                    })}
                </td>
            </tr>
        }
    };
    view! {
        <section class="job-list" data-testid="job-list">
            <h2>{i18n.text("jobs.list.title")}</h2>
            {move || {
                service.tick.get();
                let jobs = service.jobs.get();
                if jobs.is_empty() {
                    return view! { <p class="muted">{i18n.t("jobs.list.none")}</p> }.into_any();
                }
                view! {
                    <table class="data-table">
                        <thead><tr>
                            <th scope="col">{i18n.t("jobs.list.col.created")}</th>
                            <th scope="col">{i18n.t("jobs.col.action")}</th>
                            <th scope="col">{i18n.t("jobs.list.col.app")}</th>
                            <th scope="col">{i18n.t("jobs.list.col.done")}</th>
                            <th scope="col">{i18n.t("jobs.list.col.status")}</th>
                            <th scope="col"><span class="visually-hidden">{i18n.t("apps.col.actions")}</span></th>
                        </tr></thead>
                        <tbody>{jobs.into_iter().map(item).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
