//! The consent audit: for one app or all, across listed users or everyone (paged), each
//! installation with its version and consented set against the latest definition, the user's
//! RSC grants (missing, orphaned, or with a consent Graph did not record), and each app's
//! tenant-wide delegated grants and app-role assignments through its service principal (or, when
//! the signed-in user's directory role cannot read them, which role would). Listed users are
//! resolved first and read by object id. Filters, and export to CSV and JSON.

use leptos::prelude::*;
use portal_core::auth::scopes::Operation;
use portal_core::graph::ids::CatalogAppId;
use portal_core::graph::models::{TeamsApp, User};
use portal_core::graph::request;
use portal_core::jobs::audit::{
    app_role_assignments, audit_task, delegated_grants, refused_for_role, resolve_task,
    resolved_user, rows_of_user, to_csv_text, to_json_text, unresolved_row, AuditFilter, AuditRow,
    Flag, TenantColumn, TenantGrants, TENANT_GRANT_READER_ROLES,
};
use portal_core::jobs::engine::{ErrorSummary, ReadTask};
use portal_core::jobs::plan::users_of;
use portal_core::jobs::users::UserList;
use serde_json::Value;

use crate::components::download::download;
use crate::components::error_view::boundary_fallback;
use crate::components::signed_in::SignedIn;
use crate::context::use_config;
use crate::graph_client::{use_graph, CallError, Graph};
use crate::i18n::use_i18n;
use crate::jobs::runner::read_all;
use crate::jobs::users_input::{user_key, UsersInput};

/// Rows per page.
const PAGE_ROWS: usize = 50;

/// The operations an audit reads with.
const AUDIT_OPERATIONS: [Operation; 4] = [
    Operation::ReadUsers,
    Operation::ReadInstallations,
    Operation::ReadGrants,
    Operation::ReadCatalog,
];

/// The consent audit.
#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let catalog = LocalResource::new(move || {
        let graph = graph.clone();
        async move {
            graph
                .get_all::<TeamsApp>(&request::organization_catalog(), Operation::ReadCatalog)
                .await
        }
    });
    view! {
        <p class="lead">{i18n.text("page.audit.intro")}</p>
        <SignedIn>
            <Transition fallback=move || view! { <p class="muted">{i18n.t("common.loading")}</p> }>
                <ErrorBoundary fallback=boundary_fallback>
                    {move || catalog.get().map(|r| r.map(|apps| view! { <Audit apps=apps /> }))}
                </ErrorBoundary>
            </Transition>
        </SignedIn>
    }
}

fn flag_key(flag: Flag) -> &'static str {
    match flag {
        Flag::VersionBehind => "audit.flag.version_behind",
        Flag::ConsentBehind => "audit.flag.consent_behind",
        Flag::MissingGrants => "audit.flag.missing_grants",
        Flag::OrphanGrants => "audit.flag.orphan_grants",
        Flag::ConsentNotRecorded => "audit.flag.consent_not_recorded",
        Flag::ReadFailed => "audit.flag.read_failed",
    }
}

/// What the tenant-wide reads learnt of the signed-in user's role so far: the first refusal
/// (a 403: see `refused_for_role`) of each column. Once refused for one app, the same read is
/// not sent for the others: the role is the same.
#[derive(Clone, Debug, Default)]
struct RoleRefusals {
    delegated: Option<ErrorSummary>,
    app_roles: Option<ErrorSummary>,
}

impl RoleRefusals {
    fn of(&mut self, column: TenantColumn) -> &mut Option<ErrorSummary> {
        match column {
            TenantColumn::Delegated => &mut self.delegated,
            TenantColumn::AppRoles => &mut self.app_roles,
        }
    }

    /// The first refusal, for the explanation.
    fn first(&self) -> Option<&ErrorSummary> {
        self.delegated.as_ref().or(self.app_roles.as_ref())
    }
}

fn summary_of(e: CallError) -> ErrorSummary {
    match e.graph_error() {
        Some(g) => ErrorSummary::of(g),
        None => ErrorSummary {
            status: None,
            code: "noAnswer".into(),
            message: e.to_string(),
            request_id: None,
        },
    }
}

/// One tenant-wide column of `grants`: read with `request`, or marked not readable when Graph
/// refused it (now or for an earlier app) for the signed-in user's role.
async fn read_column(
    graph: &Graph,
    grants: &mut TenantGrants,
    refusals: &mut RoleRefusals,
    column: TenantColumn,
    request: portal_core::graph::request::GraphRequest,
    operation: Operation,
) -> Option<Vec<Value>> {
    if refusals.of(column).is_some() {
        grants.not_readable.push(column);
        return None;
    }
    match graph.get_all::<Value>(&request, operation).await {
        Ok(values) => Some(values),
        Err(e) => {
            let error = summary_of(e);
            if refused_for_role(&error) {
                grants.not_readable.push(column);
                *refusals.of(column) = Some(error);
            } else {
                grants.error = grants.error.take().or(Some(error));
            }
            None
        }
    }
}

/// An app's tenant-wide grants through its service principal.
async fn tenant_grants_of(
    graph: &Graph,
    app: &TeamsApp,
    refusals: &mut RoleRefusals,
) -> Option<TenantGrants> {
    let client = portal_core::graph::apps::latest_published(app)
        .and_then(|d| d.authorization.as_ref())
        .and_then(|a| a.client_app_id.clone())?;
    let mut grants = TenantGrants {
        app_id: app.id.clone(),
        app_name: app.display_name.clone().unwrap_or_default(),
        client_app_id: client.clone(),
        ..TenantGrants::default()
    };
    let sp = match graph
        .get::<Value>(
            &request::service_principal_of(&client),
            Operation::ReadServicePrincipals,
        )
        .await
    {
        Ok(sp) => sp,
        Err(e) => {
            grants.error = Some(summary_of(e));
            return Some(grants);
        }
    };
    let Some(sp_id) = sp.get("id").and_then(Value::as_str).map(str::to_string) else {
        return Some(grants);
    };
    grants.service_principal_id = Some(sp_id.clone());
    if let Some(values) = read_column(
        graph,
        &mut grants,
        refusals,
        TenantColumn::Delegated,
        request::delegated_grants_of(&sp_id),
        Operation::ReadDelegatedGrants,
    )
    .await
    {
        grants.delegated = delegated_grants(&values);
    }
    if let Some(values) = read_column(
        graph,
        &mut grants,
        refusals,
        TenantColumn::AppRoles,
        request::app_role_assignments_of(&sp_id),
        Operation::ReadServicePrincipals,
    )
    .await
    {
        grants.app_roles = app_role_assignments(&values);
    }
    Some(grants)
}

/// ` (status code, request id)` of an error, for a table cell.
fn error_suffix(e: &ErrorSummary) -> String {
    format!(
        " ({} {}, {})",
        e.status.map(|s| s.to_string()).unwrap_or_default(),
        e.code,
        e.request_id.clone().unwrap_or_default()
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Everyone,
    Listed,
}

#[component]
fn Audit(apps: Vec<TeamsApp>) -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let config = use_config();
    let names = StoredValue::new(
        apps.iter()
            .map(|a| {
                (
                    a.id.clone(),
                    a.display_name.clone().unwrap_or_else(|| a.id.clone()),
                )
            })
            .collect::<Vec<_>>(),
    );
    let app_options = move || {
        names.with_value(|list| {
            list.iter()
                .map(|(id, name)| view! { <option value=id.clone()>{name.clone()}</option> })
                .collect_view()
        })
    };
    let apps = StoredValue::new(apps);
    let scope = RwSignal::new(Scope::Everyone);
    let app = RwSignal::new(String::new());
    let chosen = RwSignal::new(UserList::default());
    let rows: RwSignal<Vec<AuditRow>> = RwSignal::new(Vec::new());
    let tenant: RwSignal<Vec<TenantGrants>> = RwSignal::new(Vec::new());
    // The first refusal of a tenant-wide read for the signed-in user's role, if any.
    let role_refused: RwSignal<Option<ErrorSummary>> = RwSignal::new(None);
    let reading = RwSignal::new(None::<(usize, usize)>);
    let stopped = RwSignal::new(None::<String>);
    let ran = RwSignal::new(false);
    let filter = RwSignal::new(AuditFilter::default());
    let page = RwSignal::new(0usize);
    let graph_base = config.graph_base_url();
    let run = move |_| {
        let graph = graph.clone();
        let base = graph_base.clone();
        let only: Option<CatalogAppId> = Some(app.get_untracked())
            .filter(|a| !a.is_empty())
            .map(CatalogAppId::new);
        let listed: Vec<String> = chosen.with_untracked(|l| l.users.iter().map(user_key).collect());
        let everyone = scope.get_untracked() == Scope::Everyone;
        rows.set(Vec::new());
        tenant.set(Vec::new());
        role_refused.set(None);
        stopped.set(None);
        reading.set(Some((0, 0)));
        leptos::task::spawn_local(async move {
            let catalog: Vec<TeamsApp> = apps.get_value();
            // Everyone: the tenant's users, in pages, through the same engine. Listed users
            // (ids or UPNs): resolved first, so every later read addresses the object id.
            let mut all = Vec::new();
            let users: Vec<User> = if everyone {
                let list = ReadTask::new(vec![(0, request::all_users())], &base);
                let (done, stop) =
                    read_all(vec![list], &graph, vec![Operation::ReadUsers], |_, _| {}).await;
                if let Some(reason) = stop {
                    stopped.set(Some(reason));
                }
                done.first()
                    .map(|t| users_of(&t.collection(0)))
                    .unwrap_or_default()
            } else {
                let tasks: Vec<ReadTask> = listed.iter().map(|k| resolve_task(k, &base)).collect();
                let (done, stop) =
                    read_all(tasks, &graph, vec![Operation::ReadUsers], |_, _| {}).await;
                if let Some(reason) = stop {
                    stopped.set(Some(reason));
                }
                let mut users = Vec::new();
                for (key, reads) in listed.iter().zip(&done) {
                    match resolved_user(reads) {
                        Ok(user) => users.push(user),
                        Err(error) => all.push(unresolved_row(key, error)),
                    }
                }
                users
            };
            let tasks: Vec<ReadTask> = users
                .iter()
                .map(|u| audit_task(&u.id, only.as_ref(), &base))
                .collect();
            let total = tasks.len();
            reading.set(Some((0, total)));
            let progress = move |done, total| reading.set(Some((done, total)));
            let (done, stop) = read_all(tasks, &graph, AUDIT_OPERATIONS.to_vec(), progress).await;
            if let Some(reason) = stop {
                stopped.set(Some(reason));
            }
            for (user, reads) in users.iter().zip(&done) {
                all.extend(rows_of_user(user, reads, &catalog, only.as_ref()));
            }
            rows.set(all);
            let mut grants = Vec::new();
            let mut refusals = RoleRefusals::default();
            for app in catalog
                .iter()
                .filter(|a| only.as_ref().is_none_or(|o| o.matches(&a.id)))
            {
                if let Some(g) = tenant_grants_of(&graph, app, &mut refusals).await {
                    grants.push(g);
                }
            }
            role_refused.set(refusals.first().cloned());
            tenant.set(grants);
            reading.set(None);
            ran.set(true);
        });
    };
    let shown = Memo::new(move |_| {
        let filter = filter.get();
        rows.with(|rows| {
            rows.iter()
                .enumerate()
                .filter(|(_, r)| filter.keeps(r))
                .map(|(i, _)| i)
                .collect::<Vec<_>>()
        })
    });
    let export_error = RwSignal::new(None::<String>);
    let export = move |json: bool| {
        let result = rows.with_untracked(|all| {
            let kept: Vec<&AuditRow> = shown.get_untracked().iter().map(|&i| &all[i]).collect();
            if json {
                let text = tenant.with_untracked(|t| to_json_text(&kept, t));
                download("consent-audit.json", "application/json", &text)
            } else {
                to_csv_text(&kept).and_then(|csv| download("consent-audit.csv", "text/csv", &csv))
            }
        });
        export_error.set(result.err());
    };
    let flag_options = move || {
        Flag::ALL
            .into_iter()
            .map(|f| view! { <option value=f.as_str()>{move || i18n.t(flag_key(f))}</option> })
            .collect_view()
    };
    view! {
        <fieldset>
            <legend>{i18n.text("audit.scope")}</legend>
            <p>
                <label for="audit-app">{i18n.text("audit.app")}</label> " "
                <select id="audit-app" data-testid="audit-app" on:change=move |ev| app.set(event_target_value(&ev))>
                    <option value="">{i18n.text("audit.all_apps")}</option>
                    {app_options}
                </select>
            </p>
            <p>
                <input type="radio" id="audit-everyone" name="audit-scope" checked=true
                    on:change=move |_| scope.set(Scope::Everyone) />
                <label for="audit-everyone">{i18n.text("audit.everyone")}</label> " "
                <input type="radio" id="audit-listed" name="audit-scope" data-testid="audit-listed"
                    on:change=move |_| scope.set(Scope::Listed) />
                <label for="audit-listed">{i18n.text("audit.listed")}</label>
            </p>
        </fieldset>
        {move || (scope.get() == Scope::Listed).then(|| view! { <UsersInput chosen=chosen /> })}
        <p class="muted">{move || i18n.tf("jobs.new.permissions", &[("permissions", "User.Read.All, TeamsAppInstallation.ReadForUser, ResourceSpecificPermissionGrant.ReadForUser, Application.Read.All, Directory.Read.All")])}</p>
        <p class="actions">
            <button type="button" class="primary" data-testid="audit-run" disabled=move || reading.get().is_some() on:click=run>
                {i18n.text("audit.run")}
            </button>
        </p>
        {move || reading.get().map(|(done, total)| view! {
            <p role="status" data-testid="audit-progress">
                <progress max=total.to_string() value=done.to_string()></progress>
                " " {i18n.tf("jobs.new.reading", &[("done", &done.to_string()), ("total", &total.to_string())])}
            </p>
        })}
        {move || stopped.get().map(|reason| view! { <p class="error" role="alert">{i18n.tf("jobs.new.stopped", &[("reason", &reason)])}</p> })}
        <Show when=move || ran.get()>
            <section data-testid="audit-results">
                <h2>{i18n.text("audit.results")}</h2>
                <p class="filters">
                    <label for="audit-filter-app">{i18n.text("audit.app")}</label> " "
                    <select id="audit-filter-app" on:change=move |ev| { let v = event_target_value(&ev); filter.update(|f| f.app = (!v.is_empty()).then_some(v)); page.set(0); }>
                        <option value="">{i18n.text("audit.all_apps")}</option>
                        {app_options}
                    </select>
                    " "
                    <label for="audit-filter-user">{i18n.text("audit.user")}</label> " "
                    <input id="audit-filter-user" type="search" on:input=move |ev| { filter.update(|f| f.user = event_target_value(&ev)); page.set(0); } />
                    " "
                    <label for="audit-filter-state">{i18n.text("audit.state")}</label> " "
                    <select id="audit-filter-state" on:change=move |ev| { let v = event_target_value(&ev); filter.update(|f| f.flag = Flag::ALL.into_iter().find(|x| x.as_str() == v)); page.set(0); }>
                        <option value="">{i18n.text("audit.any_state")}</option>
                        {flag_options}
                    </select>
                    " "
                    <input type="checkbox" id="audit-mismatch" data-testid="audit-mismatch"
                        on:change=move |ev| { filter.update(|f| f.mismatch_only = event_target_checked(&ev)); page.set(0); } />
                    <label for="audit-mismatch">{i18n.text("audit.mismatch_only")}</label>
                </p>
                <p>
                    <span data-testid="audit-count">{move || i18n.tf("audit.count", &[("shown", &shown.with(Vec::len).to_string()), ("total", &rows.with(Vec::len).to_string())])}</span>
                    " "
                    <button type="button" data-testid="audit-export-csv" on:click=move |_| export(false)>{i18n.text("audit.export_csv")}</button>
                    " "
                    <button type="button" data-testid="audit-export-json" on:click=move |_| export(true)>{i18n.text("audit.export_json")}</button>
                </p>
                {move || export_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <table class="data-table" data-testid="audit-rows">
                    <thead><tr>
                        <th scope="col">{i18n.text("jobs.col.user")}</th>
                        <th scope="col">{i18n.text("audit.col.app")}</th>
                        <th scope="col">{i18n.text("audit.col.version")}</th>
                        <th scope="col">{i18n.text("audit.col.consented")}</th>
                        <th scope="col">{i18n.text("audit.col.granted")}</th>
                        <th scope="col">{i18n.text("audit.state")}</th>
                    </tr></thead>
                    <tbody>
                        {move || {
                            let start = page.get() * PAGE_ROWS;
                            shown.with(|ids| rows.with(|all| ids.iter().skip(start).take(PAGE_ROWS).map(|&i| {
                                let r = &all[i];
                                let version = format!("{} → {}", r.installed_version.clone().unwrap_or_else(|| "–".into()), r.latest_version.clone().unwrap_or_else(|| "–".into()));
                                let state = if r.flags.is_empty() { i18n.t("audit.flag.ok") } else { r.flags.iter().map(|f| i18n.t(flag_key(*f))).collect::<Vec<_>>().join(", ") };
                                let error = r.error.as_ref().map(error_suffix);
                                // A consent Graph did not record is said so, never shown as none.
                                let consented = if r.consent_not_recorded() { i18n.t("audit.consent_not_recorded") } else { r.consented.join(", ") };
                                view! {
                                    <tr data-testid="audit-row" data-app-id=r.app_id.clone() data-user-id=r.user_id.clone() data-state=r.state()>
                                        <td>{if r.user_principal_name.is_empty() { r.user_id.clone() } else { r.user_principal_name.clone() }}</td>
                                        <td>{r.app_name.clone()}</td>
                                        <td>{version}</td>
                                        <td data-col="consented">{consented}</td>
                                        <td data-col="granted">{r.granted.join(", ")}</td>
                                        <td data-col="state">{state}{error}</td>
                                    </tr>
                                }
                            }).collect_view()))
                        }}
                    </tbody>
                </table>
                <p class="pager">
                    <button type="button" disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>{i18n.text("jobs.page.previous")}</button>
                    " " {move || i18n.tf("jobs.page.of", &[("page", &(page.get() + 1).to_string()), ("pages", &shown.with(|s| s.len().div_ceil(PAGE_ROWS).max(1)).to_string())])} " "
                    <button type="button" disabled=move || (page.get() + 1) * PAGE_ROWS >= shown.with(Vec::len) on:click=move |_| page.update(|p| *p += 1)>{i18n.text("jobs.page.next")}</button>
                </p>
                <h3>{i18n.text("audit.tenant.title")}</h3>
                {move || role_refused.get().map(|e| view! {
                    <p class="notice" role="status" data-testid="audit-role-missing">
                        {i18n.tf("audit.tenant.role_missing", &[("roles", &TENANT_GRANT_READER_ROLES.join(", "))])}
                        " "
                        <span data-testid="audit-role-error">{i18n.tf("audit.tenant.role_missing_error", &[
                            ("status", &e.status.map(|s| s.to_string()).unwrap_or_default()),
                            ("code", &e.code),
                            ("request_id", e.request_id.as_deref().unwrap_or("–")),
                        ])}</span>
                    </p>
                })}
                <table class="data-table" data-testid="audit-tenant">
                    <thead><tr>
                        <th scope="col">{i18n.text("audit.col.app")}</th>
                        <th scope="col">{i18n.text("audit.tenant.sp")}</th>
                        <th scope="col">{i18n.text("audit.tenant.delegated")}</th>
                        <th scope="col">{i18n.text("audit.tenant.roles")}</th>
                    </tr></thead>
                    <tbody>
                        {move || tenant.get().into_iter().map(|t| {
                            let error = t.error.as_ref().map(error_suffix);
                            let cell = |column: TenantColumn, values: &[String]| {
                                if t.is_readable(column) {
                                    (values.join("; "), "read")
                                } else {
                                    (i18n.t("audit.tenant.not_readable"), "not-readable")
                                }
                            };
                            let (delegated, delegated_state) = cell(TenantColumn::Delegated, &t.delegated);
                            let (roles, roles_state) = cell(TenantColumn::AppRoles, &t.app_roles);
                            view! {
                                <tr data-app-id=t.app_id.clone()>
                                    <td>{t.app_name.clone()}</td>
                                    <td><code>{t.service_principal_id.clone().unwrap_or_else(|| "–".into())}</code>{error}</td>
                                    <td data-col="delegated" data-read=delegated_state>{delegated}</td>
                                    <td data-col="app-roles" data-read=roles_state>{roles}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        </Show>
    }
}
