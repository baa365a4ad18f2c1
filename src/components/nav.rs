//! The side navigation: every section of the portal; the current one is marked by the router.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::use_i18n;
use crate::routes::SECTIONS;

/// The navigation landmark.
#[component]
pub fn Nav() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <nav class="side-nav" aria-label=i18n.text("nav.label")>
            <ul>
                {SECTIONS
                    .into_iter()
                    .map(|route| {
                        let key = route.nav_key().unwrap_or_default();
                        view! {
                            <li>
                                <A href=route.href() exact=true>
                                    {i18n.text(key)}
                                </A>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}
