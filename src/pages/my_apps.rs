//! My apps (self-service): the signed-in user's own personal apps, installed through /me.

use leptos::prelude::*;

use crate::components::not_built_yet::NotBuiltYet;
use crate::components::page_title::PageTitle;

/// My apps (self-service): the signed-in user's own personal apps, installed through /me.
#[component]
pub fn MyAppsPage() -> impl IntoView {
    view! {
        <PageTitle key="page.my_apps.title" />
        <NotBuiltYet issue=5 what_key="page.my_apps.planned" />
    }
}
