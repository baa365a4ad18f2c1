//! Users (admins): find a user by name, UPN or mail and open their personal apps.

use leptos::prelude::*;

use crate::components::not_built_yet::NotBuiltYet;
use crate::components::page_title::PageTitle;

/// Users (admins): find a user by name, UPN or mail and open their personal apps.
#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <PageTitle key="page.users.title" />
        <NotBuiltYet issue=5 what_key="page.users.planned" />
    }
}
