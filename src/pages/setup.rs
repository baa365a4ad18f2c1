//! The setup page, shown instead of the portal when `config.json` is missing, unreadable or
//! invalid: it names each bad field, says what form it expects, and shows a working example.

use leptos::prelude::*;
use portal_core::config::FIELDS;
use portal_core::{ConfigError, FieldProblem, ProblemKind};

use crate::components::language_switcher::LanguageSwitcher;
use crate::config_loader::ConfigLoadError;
use crate::i18n::use_i18n;

/// A `config.json` that works once its ids are replaced (the redirect URI is this deployment's
/// own address in the page: see [`example_config`]).
pub const EXAMPLE_CONFIG: &str = r#"{
  "clientId": "00000000-0000-0000-0000-000000000000",
  "tenant": "contoso.onmicrosoft.com",
  "cloud": "global",
  "redirectUri": "https://portal.contoso.com/",
  "tokenCache": "session"
}"#;

/// [`EXAMPLE_CONFIG`] with the address the portal is deployed at as its `redirectUri` (the
/// page's origin and base path, e.g. `https://host/portal/`), when the page knows it.
fn example_config() -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .filter(|o| o.starts_with("http"));
    match origin {
        Some(origin) => EXAMPLE_CONFIG.replace(
            "https://portal.contoso.com/",
            &format!("{origin}{}", crate::routes::home()),
        ),
        None => EXAMPLE_CONFIG.to_string(),
    }
}

/// Explains why the portal cannot start and how to fix it.
#[component]
pub fn SetupPage(error: ConfigLoadError) -> impl IntoView {
    let i18n = use_i18n();
    Effect::new(move |_| crate::readiness::mark_interactive("setup"));
    let url = error.url().to_string();
    let detail = match error {
        ConfigLoadError::Missing { .. } => view! {
            <p data-testid="setup-reason">{i18n.text("setup.missing")}</p>
        }
        .into_any(),
        ConfigLoadError::Unreadable { status, detail, .. } => {
            let status = status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "—".to_string());
            view! {
                <p data-testid="setup-reason">
                    {move || i18n.tf("setup.unreadable", &[("status", &status), ("detail", &detail)])}
                </p>
            }
            .into_any()
        }
        ConfigLoadError::Invalid {
            error:
                ConfigError::Syntax {
                    line,
                    column,
                    message,
                },
            ..
        } => view! {
            <p data-testid="setup-reason">
                {move || {
                    i18n.tf(
                        "setup.syntax",
                        &[("line", &line.to_string()), ("column", &column.to_string())],
                    )
                }}
            </p>
            <pre class="parser-message">{message}</pre>
        }
        .into_any(),
        ConfigLoadError::Invalid {
            error: ConfigError::NotAnObject,
            ..
        } => view! {
            <p data-testid="setup-reason">{i18n.text("setup.not_an_object")}</p>
        }
        .into_any(),
        ConfigLoadError::Invalid {
            error: ConfigError::Fields(problems),
            ..
        } => view! {
            <p data-testid="setup-reason">{i18n.text("setup.fields")}</p>
            <ul class="field-problems" data-testid="field-problems">
                {problems
                    .into_iter()
                    .map(|problem| view! { <FieldProblemItem problem=problem /> })
                    .collect_view()}
            </ul>
        }
        .into_any(),
    };
    view! {
        <main class="setup-page" id="main">
            <header class="setup-header">
                <h1>{i18n.text("setup.title")}</h1>
                <LanguageSwitcher />
            </header>
            <p>
                {i18n.text("setup.file")} " " <code data-testid="setup-url">{url}</code>
            </p>
            {detail}
            <h2>{i18n.text("setup.example_title")}</h2>
            <pre class="example-config" data-testid="example-config">{example_config()}</pre>
            <h2>{i18n.text("setup.fields_title")}</h2>
            <dl class="field-reference">
                {FIELDS
                    .into_iter()
                    .map(|(field, key)| {
                        view! {
                            <dt>
                                <code>{field}</code>
                            </dt>
                            <dd>{i18n.text(key)}</dd>
                        }
                    })
                    .collect_view()}
            </dl>
        </main>
    }
}

/// One problem: the field, what is wrong, and the form it expects.
#[component]
fn FieldProblemItem(problem: FieldProblem) -> impl IntoView {
    let i18n = use_i18n();
    let FieldProblem {
        field,
        kind,
        expected_key,
    } = problem;
    let what = move || match &kind {
        ProblemKind::Missing => i18n.t("setup.problem.missing"),
        ProblemKind::WrongType => i18n.t("setup.problem.wrong_type"),
        ProblemKind::Invalid { value } => i18n.tf("setup.problem.invalid", &[("value", value)]),
        ProblemKind::PersonalAccountsTenant { value } => {
            i18n.tf("setup.problem.personal_accounts", &[("value", value)])
        }
        ProblemKind::Unknown {
            suggestion: Some(name),
        } => i18n.tf("setup.problem.unknown_suggestion", &[("suggestion", name)]),
        ProblemKind::Unknown { suggestion: None } => i18n.t("setup.problem.unknown"),
    };
    let field_attr = field.clone();
    view! {
        <li data-field=field_attr>
            <code class="field-name">{field}</code>
            ": "
            <span class="problem">{what}</span>
            {(!expected_key.is_empty())
                .then(|| {
                    view! {
                        <br />
                        <span class="expected">
                            {i18n.text("setup.expected")} " " {i18n.text(expected_key)}
                        </span>
                    }
                })}
        </li>
    }
}
