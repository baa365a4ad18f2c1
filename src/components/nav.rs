//! The side navigation: every section of the portal; the current one is marked by the router.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::use_i18n;

/// Sections in navigation order: (path, i18n key of the label).
pub const SECTIONS: [(&str, &str); 8] = [
    ("/", "nav.home"),
    ("/users", "nav.users"),
    ("/catalog", "nav.catalog"),
    ("/my-apps", "nav.my_apps"),
    ("/consent", "nav.consent"),
    ("/jobs", "nav.jobs"),
    ("/audit", "nav.audit"),
    ("/settings", "nav.settings"),
];

/// The navigation landmark.
#[component]
pub fn Nav() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="side-nav" aria-label=move || i18n.t("nav.label")>
            <ul>
                {SECTIONS
                    .into_iter()
                    .map(|(href, key)| {
                        view! {
                            <li>
                                <A href=href exact=true>
                                    {move || i18n.t(key)}
                                </A>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}
