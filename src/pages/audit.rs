//! Audit: what the portal changed, by whom, with Graph request ids.

use leptos::prelude::*;

use crate::components::not_built_yet::NotBuiltYet;
use crate::components::page_title::PageTitle;

/// Audit: what the portal changed, by whom, with Graph request ids.
#[component]
pub fn AuditPage() -> impl IntoView {
    view! {
        <PageTitle key="page.audit.title" />
        <NotBuiltYet  what_key="page.audit.planned" />
    }
}
