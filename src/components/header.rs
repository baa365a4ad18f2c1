//! The top bar: product name, the tenant and cloud the portal is set up for, the language
//! switcher and the account area, and a link to Bulk jobs when the signed-in account has
//! unfinished work in this browser (the account's marker: counts only).

use leptos::prelude::*;

use crate::components::account::AccountArea;
use crate::components::language_switcher::LanguageSwitcher;
use crate::context::try_config as use_config;
use crate::i18n::use_i18n;
use crate::routes::Route;

/// The portal header.
#[component]
pub fn Header() -> impl IntoView {
    let i18n = use_i18n();
    let config = use_config();
    let tenant = config
        .as_ref()
        .map(|c| c.tenant.as_path_segment().to_string())
        .unwrap_or_default();
    let cloud = config.as_ref().map(|c| c.cloud);
    view! {
        <header class="app-header">
            <span class="brand">
                <a href=Route::Home.href()>{i18n.text("app.name")}</a>
            </span>
            <dl class="tenant-info">
                <div>
                    <dt>{i18n.text("header.tenant")}</dt>
                    <dd data-testid="header-tenant">{tenant}</dd>
                </div>
                <div>
                    <dt>{i18n.text("header.cloud")}</dt>
                    <dd data-testid="header-cloud">
                        {move || cloud.map(|c| i18n.t(c.name_key())).unwrap_or_default()}
                    </dd>
                </div>
            </dl>
            {work_hint()}
            <LanguageSwitcher />
            <AccountArea />
        </header>
    }
}

/// The hint of unfinished work: the account's marker, read again when the session or the job
/// list changes.
fn work_hint() -> impl IntoView {
    use crate::auth::use_session;
    use crate::job_store::{read_marker, signed_in_owner};
    let i18n = use_i18n();
    let session = use_session();
    let jobs = use_context::<crate::jobs::JobService>();
    move || {
        if let Some(jobs) = jobs {
            jobs.jobs.track();
        }
        let marker = session
            .status
            .with(signed_in_owner)
            .map(|o| read_marker(&o))?;
        (!marker.is_empty()).then(|| {
            let (jobs, writes) = (marker.jobs.to_string(), marker.writes.to_string());
            view! {
                <a class="work-hint" href=Route::Jobs.href() data-testid="work-hint">
                    {move || i18n.tf("account.work", &[("jobs", &jobs), ("writes", &writes)])}
                </a>
            }
        })
    }
}
