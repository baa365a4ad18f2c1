//! App detail: one catalog app's definitions and their RSC requirements (issue #5). Until then
//! it shows which catalog app the route addresses.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::not_built_yet::NotBuiltYet;
use crate::components::page_title::PageTitle;
use crate::i18n::use_i18n;

/// App detail page, addressed by catalog app id.
#[component]
pub fn AppDetailPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let app = move || params.read().get("app_id").unwrap_or_default();
    view! {
        <PageTitle key="page.app_detail.title" />
        <p>
            {move || i18n.t("page.app_detail.addressed")} " " <code data-testid="route-app">{app}</code>
        </p>
        <NotBuiltYet issue=5 what_key="page.app_detail.planned" />
    }
}
