//! Users (admins): find a user by name, UPN or mail and open their personal apps.

use leptos::prelude::*;

use crate::components::signed_in::SignedIn;
use crate::components::user_search::UserSearch;
use crate::i18n::use_i18n;

/// Users (admins): find a user by name, UPN or mail and open their personal apps.
#[component]
pub fn UsersPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="lead">{i18n.text("page.users.intro")}</p>
        <SignedIn>
            <UserSearch />
        </SignedIn>
    }
}
