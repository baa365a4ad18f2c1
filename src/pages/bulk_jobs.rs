//! Bulk jobs: throttle-aware, resumable installs and upgrades across many users.

use leptos::prelude::*;

use crate::components::not_built_yet::NotBuiltYet;
use crate::components::page_title::PageTitle;

/// Bulk jobs: throttle-aware, resumable installs and upgrades across many users.
#[component]
pub fn BulkJobsPage() -> impl IntoView {
    view! {
        <PageTitle key="page.jobs.title" />
        <NotBuiltYet  what_key="page.jobs.planned" />
    }
}
