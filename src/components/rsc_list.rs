//! A resource-specific permission set as a short list: each permission with its kind
//! (application or delegated), or "No RSC".

use leptos::prelude::*;
use portal_core::graph::apps::RscSummary;
use portal_core::graph::models::ResourceSpecificPermission;

use crate::i18n::use_i18n;

/// The permissions of a set, application ones first.
#[component]
pub fn RscList(permissions: Vec<ResourceSpecificPermission>) -> impl IntoView {
    let i18n = use_i18n();
    let summary = RscSummary::of(&permissions);
    if summary.is_empty() {
        return view! { <span class="muted" data-rsc="none">{i18n.text("rsc.none")}</span> }
            .into_any();
    }
    let rows = summary
        .application
        .into_iter()
        .map(|p| ("application", "rsc.application", p))
        .chain(
            summary
                .delegated
                .into_iter()
                .map(|p| ("delegated", "rsc.delegated", p)),
        )
        .chain(summary.other.into_iter().map(|p| ("other", "rsc.other", p)))
        .map(|(kind, key, permission)| {
            view! {
                <li data-rsc-kind=kind>
                    <code>{permission}</code>
                    " "
                    <span class="tag">{i18n.text(key)}</span>
                </li>
            }
        })
        .collect_view();
    view! { <ul class="rsc-list">{rows}</ul> }.into_any()
}
