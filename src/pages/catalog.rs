//! Catalog: the organisation's Teams apps, their versions, publishing state and RSC requirements.

use leptos::prelude::*;

use crate::components::not_built_yet::NotBuiltYet;
use crate::components::page_title::PageTitle;

/// Catalog: the organisation's Teams apps, their versions, publishing state and RSC requirements.
#[component]
pub fn CatalogPage() -> impl IntoView {
    view! {
        <PageTitle key="page.catalog.title" />
        <NotBuiltYet issue=5 what_key="page.catalog.planned" />
    }
}
