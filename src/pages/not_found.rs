//! The page for an address the portal does not have.

use leptos::prelude::*;

use crate::components::page_title::PageTitle;
use crate::i18n::use_i18n;
use crate::routes::Route;

/// Not-found page with a way back.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <PageTitle key="page.not_found.title" />
        <p>{i18n.text("page.not_found.body")}</p>
        <p>
            <a href=Route::Home.href()>{i18n.text("page.not_found.home")}</a>
        </p>
    }
}
