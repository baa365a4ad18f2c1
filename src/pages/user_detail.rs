//! User detail: one user's personal apps and the actions on them (issue #5). Until then it
//! shows which user the route addresses, decoded, so links from the Users page can be checked.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::not_built_yet::NotBuiltYet;
use crate::components::page_title::PageTitle;
use crate::i18n::use_i18n;

/// User detail page, addressed by user id or UPN.
#[component]
pub fn UserDetailPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let user = move || params.read().get("user_id").unwrap_or_default();
    view! {
        <PageTitle key="page.user_detail.title" />
        <p>
            {move || i18n.t("page.user_detail.addressed")} " " <code data-testid="route-user">{user}</code>
        </p>
        <NotBuiltYet issue=5 what_key="page.user_detail.planned" />
    }
}
