//! Consent: required, consented and granted resource-specific permissions side by side.

use leptos::prelude::*;

use crate::components::not_built_yet::NotBuiltYet;
use crate::components::page_title::PageTitle;

/// Consent: required, consented and granted resource-specific permissions side by side.
#[component]
pub fn ConsentPage() -> impl IntoView {
    view! {
        <PageTitle key="page.consent.title" />
        <NotBuiltYet  what_key="page.consent.planned" />
    }
}
