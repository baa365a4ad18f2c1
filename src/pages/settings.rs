//! Settings: the active configuration as the portal understood it, the endpoints it resolves
//! to, what the cloud supports, the session, the connection check (what each feature can do in
//! this tenant, `portal_core::connection_check`), and the language.

use leptos::prelude::*;
use portal_core::auth::scopes::Operation;
use portal_core::connection_check::{
    is_read, Check, Feature, ReadOutcome, Verdict, AUDIT_READER_ROLES,
};
use portal_core::{Cloud, RuntimeConfig, TokenCacheLocation};

use crate::auth::{use_session, AuthStatus};
use crate::components::language_switcher::LanguageSwitcher;
use crate::config_loader::config_url;
use crate::context::try_config as use_config;
use crate::graph_client::{use_graph, CallError, Graph};
use crate::i18n::{use_i18n, I18n};

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let table = use_config().map(|config| view! { <ConfigurationTable config=config /> });
    view! {
        <section aria-labelledby="settings-config">
            <h2 id="settings-config">{i18n.text("page.settings.configuration")}</h2>
            <p class="muted">
                {move || i18n.tf("page.settings.source", &[("url", &config_url())])}
            </p>
            {table}
        </section>
        <SessionSection />
        <ConnectionCheckSection />
        <section aria-labelledby="settings-language">
            <h2 id="settings-language">{i18n.text("language.label")}</h2>
            <LanguageSwitcher />
        </section>
    }
}

/// One row of the configuration table.
struct Row {
    field: &'static str,
    label_key: &'static str,
    value: String,
    note_key: Option<&'static str>,
    overridden: bool,
}

/// The active configuration, one row per field, with the resolved endpoints.
#[component]
pub fn ConfigurationTable(config: RuntimeConfig) -> impl IntoView {
    let i18n = use_i18n();
    let cloud = config.cloud;
    let capabilities = config.client_capabilities.join(", ");
    let row = |field, label_key, value: String| Row {
        field,
        label_key,
        value,
        note_key: None,
        overridden: false,
    };
    let rows = vec![
        row(
            "clientId",
            "page.settings.client_id",
            config.client_id.clone(),
        ),
        row(
            "tenant",
            "page.settings.tenant",
            config.tenant.as_path_segment().to_string(),
        ),
        row(
            "redirectUri",
            "page.settings.redirect_uri",
            config.redirect_uri.to_string(),
        ),
        Row {
            overridden: config.authority.is_some(),
            ..row(
                "authority",
                "page.settings.authority",
                config.authority_url(),
            )
        },
        Row {
            overridden: config.graph_base.is_some(),
            ..row(
                "graphBase",
                "page.settings.graph_base",
                config.graph_base_url(),
            )
        },
        Row {
            note_key: Some(match config.token_cache {
                TokenCacheLocation::Session => "page.settings.token_cache.session",
                TokenCacheLocation::Memory => "page.settings.token_cache.memory",
            }),
            ..row(
                "tokenCache",
                "page.settings.token_cache",
                config.token_cache.config_value().to_string(),
            )
        },
        Row {
            note_key: capabilities.is_empty().then_some("page.settings.none"),
            ..row(
                "clientCapabilities",
                "page.settings.client_capabilities",
                capabilities,
            )
        },
    ];
    view! {
        <table class="config-table" data-testid="config-table">
            <tbody>
                <tr data-field="cloud">
                    <th scope="row">{i18n.text("page.settings.cloud")}</th>
                    <td>
                        <code>{cloud.config_value()}</code>
                        " "
                        {move || i18n.t(cloud.name_key())}
                        <br />
                        <span class="muted">{move || i18n.t(cloud.personal_install().description_key())}</span>
                    </td>
                </tr>
                {rows
                    .into_iter()
                    .map(|row| {
                        let Row { field, label_key, value, note_key, overridden } = row;
                        view! {
                            <tr data-field=field>
                                <th scope="row">{i18n.text(label_key)}</th>
                                <td>
                                    <code>{value}</code>
                                    {overridden.then(|| view! { " " <span class="tag">{i18n.text("page.settings.override")}</span> })}
                                    {note_key.map(|key| view! { " " <span class="muted">{i18n.text(key)}</span> })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// Operations a user can ask for beyond sign-in, with the i18n key describing each.
const EXTRA_OPERATIONS: [(Operation, &str); 3] = [
    (Operation::ReadGrants, "page.settings.op.read_grants"),
    (Operation::WriteInstallations, "page.settings.op.write"),
    (
        Operation::WriteInstallationsWithConsent,
        "page.settings.op.write_consent",
    ),
];

/// The session: who is signed in, the permissions held, renewals, and asking for more.
#[component]
fn SessionSection() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let cloud = use_config().map(|c| c.cloud);
    view! {
        <section aria-labelledby="settings-session" data-testid="session">
            <h2 id="settings-session">{i18n.text("page.settings.session")}</h2>
            {move || match session.status.get() {
                AuthStatus::SignedIn(account) => view! {
                    <dl class="session-facts">
                        <dt>{i18n.t("page.settings.account")}</dt>
                        <dd data-testid="session-account">{format!("{} <{}>", account.name, account.username)}</dd>
                        <dt>{i18n.t("page.settings.tenant")}</dt>
                        <dd><code>{account.tid.clone()}</code></dd>
                        <dt>{i18n.t("page.settings.renewals")}</dt>
                        <dd data-testid="session-renewals">{move || session.renewals.get().to_string()}</dd>
                        <dt>{i18n.t("page.settings.permissions")}</dt>
                        <dd>
                            <ul data-testid="granted-permissions">
                                {move || session.granted.get().into_iter().map(|p| view! { <li><code>{p}</code></li> }).collect_view()}
                            </ul>
                        </dd>
                    </dl>
                    <GraphCheck />
                    <ul class="operations">
                        {EXTRA_OPERATIONS
                            .into_iter()
                            .map(|(operation, key)| {
                                let available = cloud.is_none_or(|c| operation.available_in(c));
                                let held = move || session.granted.get().iter().any(|p| p == operation.permission());
                                view! {
                                    <li data-operation=operation.permission()>
                                        <span>{i18n.text(key)}</span> " " <code>{operation.permission()}</code>
                                        {operation.needs_admin_consent().then(|| view! { " " <span class="tag">{i18n.text("page.settings.admin_consent")}</span> })}
                                        " "
                                        {move || if held() {
                                            view! { <span class="tag">{i18n.t("page.settings.held")}</span> }.into_any()
                                        } else if !available {
                                            view! { <button type="button" disabled=true>{i18n.t("page.settings.ask")}</button> " " <span class="muted">{i18n.t("page.settings.not_in_cloud")}</span> }.into_any()
                                        } else {
                                            view! {
                                                <button type="button" on:click=move |_| {
                                                    leptos::task::spawn_local(async move {
                                                        let _ = session.access_token(&[operation], None).await;
                                                    });
                                                }>{i18n.t("page.settings.ask")}</button>
                                            }.into_any()
                                        }}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any(),
                _ => view! { <p class="muted">{i18n.t("page.settings.not_signed_in")}</p> }.into_any(),
            }}
        </section>
    }
}

/// Calls Graph (`GET /me`) with the session's token: proof that the token works, and the path a
/// claims challenge or a renewal takes.
#[component]
fn GraphCheck() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let result = RwSignal::new(None::<Result<(String, String), String>>);
    let graph_base = use_config().map(|c| c.graph_base_url()).unwrap_or_default();
    let check = move |_| {
        let graph_base = graph_base.clone();
        result.set(None);
        leptos::task::spawn_local(async move {
            let request =
                portal_core::graph::request::get_user(&portal_core::graph::encode::UserRef::Me);
            let outcome = match crate::graph_client::call(
                session,
                &graph_base,
                &request,
                Operation::ReadProfile,
            )
            .await
            {
                Ok(answer) => Ok((
                    answer
                        .body
                        .as_ref()
                        .and_then(|b| b["displayName"].as_str())
                        .unwrap_or_default()
                        .to_string(),
                    answer.request_id.unwrap_or_default(),
                )),
                Err(crate::graph_client::CallError::Graph { error, .. }) => Err(format!(
                    "{} {}: {} (request id {})",
                    error.status,
                    error.code,
                    error.message,
                    error.request_id.unwrap_or_default()
                )),
                Err(other) => Err(other.to_string()),
            };
            result.set(Some(outcome));
        });
    };
    view! {
        <p>
            <button type="button" data-testid="graph-check" on:click=check>{i18n.text("page.settings.graph_check")}</button>
            " "
            {move || match result.get() {
                Some(Ok((name, request_id))) => view! {
                    <span data-testid="graph-check-result">{name}</span>
                    " " <span class="muted">{i18n.t("page.settings.request_id")} " " <code>{request_id}</code></span>
                }.into_any(),
                Some(Err(message)) => view! { <span class="error" data-testid="graph-check-error">{message}</span> }.into_any(),
                None => ().into_any(),
            }}
        </p>
    }
}

/// The connection check's section, shown while signed in (not rebuilt when a renewal updates
/// the account, so a check's results stay on screen).
#[component]
fn ConnectionCheckSection() -> impl IntoView {
    let session = use_session();
    let signed_in = Memo::new(move |_| matches!(session.status.get(), AuthStatus::SignedIn(_)));
    move || signed_in.get().then(|| view! { <ConnectionCheck /> })
}

/// Sends the check's reads one at a time and shows each verdict as it comes; stops when the
/// page goes away (the reads are aborted with it).
async fn run_check(
    graph: Graph,
    mut check: Check,
    rows: RwSignal<Vec<(Feature, Option<Verdict>)>>,
) -> Option<Check> {
    if rows.try_set(check.verdicts()).is_some() {
        return None;
    }
    while let Some((read, request, operation)) = check.next_read() {
        // The check reads; a write is never sent from here.
        if !is_read(&request) {
            break;
        }
        let outcome = match graph.send(&request, operation).await {
            Ok(answer) => ReadOutcome::Answered(answer.body),
            Err(CallError::Aborted) => return None,
            Err(CallError::Graph { error, .. }) => ReadOutcome::Graph(*error),
            Err(CallError::Auth(error)) => ReadOutcome::SignIn(error.to_string()),
            Err(CallError::AnswerLost { detail, .. }) => ReadOutcome::NoAnswer(detail),
            Err(CallError::Decode(detail)) => ReadOutcome::NoAnswer(detail),
        };
        check.answer(read, &outcome);
        // `Some`: the page is gone and the signal with it.
        if rows.try_set(check.verdicts()).is_some() {
            return None;
        }
    }
    Some(check)
}

/// What the portal can do in this tenant with this session: one least-privileged read per
/// feature, writes decided from the permissions held, and asking for what is missing.
#[component]
fn ConnectionCheck() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let graph = use_graph();
    let config = use_config();
    let cloud = config.as_ref().map(|c| c.cloud).unwrap_or(Cloud::Global);
    let client_id = config.map(|c| c.client_id).unwrap_or_default();
    let rows: RwSignal<Vec<(Feature, Option<Verdict>)>> = RwSignal::new(Vec::new());
    let missing: RwSignal<Vec<Operation>> = RwSignal::new(Vec::new());
    let running = RwSignal::new(false);
    // Checks finished on this page (`data-check-runs`: a test waits for the next one).
    let runs = RwSignal::new(0u32);
    let run = move |_| {
        if running.get_untracked() {
            return;
        }
        running.set(true);
        missing.set(Vec::new());
        let check = Check::new(cloud, &session.granted.get_untracked(), &client_id);
        let graph = graph.clone();
        leptos::task::spawn_local(async move {
            if let Some(check) = run_check(graph, check, rows).await {
                let _ = missing.try_set(check.missing_operations());
            }
            let _ = running.try_set(false);
            let _ = runs.try_update(|n| *n += 1);
        });
    };
    let ask = move |_| {
        let operations = missing.get_untracked();
        leptos::task::spawn_local(async move {
            // Silently when an administrator already consented, else the consent prompt (and
            // back to this page); a refusal is shown by the session's banner.
            let _ = session.access_token(&operations, None).await;
        });
    };
    view! {
        <section
            aria-labelledby="settings-check"
            data-testid="connection-check"
            data-check-runs=move || runs.get().to_string()
        >
            <h2 id="settings-check">{i18n.text("page.settings.check.title")}</h2>
            <p class="muted">{i18n.text("page.settings.check.intro")}</p>
            <p>
                <button type="button" data-testid="connection-check-run" on:click=run disabled=move || running.get()>
                    {i18n.text("page.settings.check.run")}
                </button>
                " "
                {move || running.get().then(|| view! { <span class="muted" role="status">{i18n.t("page.settings.check.running")}</span> })}
            </p>
            {move || {
                let rows = rows.get();
                (!rows.is_empty()).then(|| view! {
                    <table class="config-table" data-testid="connection-check-table">
                        <thead>
                            <tr>
                                <th scope="col">{i18n.t("page.settings.check.col.feature")}</th>
                                <th scope="col">{i18n.t("page.settings.check.col.result")}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows
                                .into_iter()
                                .map(|(feature, verdict)| {
                                    let id = verdict.as_ref().map(Verdict::id).unwrap_or("pending");
                                    view! {
                                        <tr data-feature=feature.id() data-verdict=id>
                                            <th scope="row">{i18n.t(feature.label_key())}</th>
                                            <td>{verdict_view(i18n, cloud, verdict)}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                })
            }}
            {move || (!missing.get().is_empty()).then(|| view! {
                <p>
                    <button type="button" data-testid="connection-check-ask" on:click=ask>
                        {i18n.t("page.settings.check.ask_missing")}
                    </button>
                    " "
                    <span class="muted">{i18n.t("page.settings.check.next.ask_scope")}</span>
                </p>
            })}
        </section>
    }
}

/// One verdict as the page says it: what works, the permission or role missing, or the
/// failure with Graph's code, its request id and what to do next.
fn verdict_view(i18n: I18n, cloud: Cloud, verdict: Option<Verdict>) -> AnyView {
    let Some(verdict) = verdict else {
        return view! { <span class="muted">{i18n.t("page.settings.check.running")}</span> }
            .into_any();
    };
    let key = verdict.key();
    match verdict {
        Verdict::Works | Verdict::WorksFromPermissions | Verdict::SwitchOn => {
            view! { <span class="badge ok">{i18n.t(key)}</span> }.into_any()
        }
        Verdict::SwitchOff | Verdict::BlockedByTenantSwitch => {
            view! { <span class="badge warn">{i18n.t(key)}</span> }.into_any()
        }
        Verdict::NotInCloud => {
            let name = i18n.t(cloud.name_key());
            view! { <span class="muted">{i18n.tf(key, &[("cloud", &name)])}</span> }.into_any()
        }
        Verdict::NeedsScope(operations) => view! {
            <span>{i18n.t(key)}</span>
            {operations
                .into_iter()
                .map(|op| view! {
                    " " <code data-permission=op.permission()>{op.permission()}</code>
                    {op.needs_admin_consent().then(|| view! { " " <span class="tag">{i18n.t("page.settings.admin_consent")}</span> })}
                })
                .collect_view()}
        }
        .into_any(),
        Verdict::NeedsRole => view! {
            <span>{i18n.t(key)}</span>
            {AUDIT_READER_ROLES.iter().map(|role| view! { " " <code>{*role}</code> }).collect_view()}
            <br />
            <span class="muted">{i18n.t("page.settings.check.next.assign_role")}</span>
        }
        .into_any(),
        Verdict::Failed(failure) => {
            let error = match failure.status {
                Some(status) => format!("{status} {}", failure.code),
                None => failure.code.clone(),
            };
            view! {
                <span class="error">{i18n.tf(key, &[("error", &error), ("message", &failure.message)])}</span>
                {failure.request_id.map(|id| view! {
                    " " <span class="muted">{i18n.t("page.settings.request_id")} " " <code data-testid="check-request-id">{id}</code></span>
                })}
                <br />
                <span class="muted">{i18n.t(failure.next.key())}</span>
            }
            .into_any()
        }
    }
}
