//! Settings: the active configuration as the portal understood it, the endpoints it resolves
//! to, what the cloud supports, and the language.

use leptos::prelude::*;
use portal_core::{RuntimeConfig, TokenCacheLocation};

use crate::components::language_switcher::LanguageSwitcher;
use crate::components::page_title::PageTitle;
use crate::config_loader::config_url;
use crate::i18n::use_i18n;
use crate::shell::use_config;

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let i18n = use_i18n();
    let table = use_config().map(|config| view! { <ConfigurationTable config=config /> });
    view! {
        <PageTitle key="page.settings.title" />
        <section aria-labelledby="settings-config">
            <h2 id="settings-config">{move || i18n.t("page.settings.configuration")}</h2>
            <p class="muted">
                {move || i18n.tf("page.settings.source", &[("url", &config_url())])}
            </p>
            {table}
        </section>
        <section aria-labelledby="settings-language">
            <h2 id="settings-language">{move || i18n.t("language.label")}</h2>
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
                    <th scope="row">{move || i18n.t("page.settings.cloud")}</th>
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
                                <th scope="row">{move || i18n.t(label_key)}</th>
                                <td>
                                    <code>{value}</code>
                                    {overridden.then(|| view! { " " <span class="tag">{move || i18n.t("page.settings.override")}</span> })}
                                    {note_key.map(|key| view! { " " <span class="muted">{move || i18n.t(key)}</span> })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
