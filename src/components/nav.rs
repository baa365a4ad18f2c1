//! The side navigation: every section of the portal; the current one is marked
//! `aria-current="page"`. Plain links: the router takes over clicks on same-origin links.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::i18n::use_i18n;
use crate::routes::SECTIONS;

/// The navigation landmark.
#[component]
pub fn Nav() -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    view! {
        <nav class="side-nav" aria-label=i18n.text("nav.label")>
            <ul>
                {SECTIONS
                    .into_iter()
                    .map(|route| {
                        let key = route.nav_key().unwrap_or_default();
                        let href = route.href();
                        let here = href.clone();
                        let current = move || {
                            location.pathname.with(|path| *path == here).then_some("page")
                        };
                        view! {
                            <li>
                                <a href=href aria-current=current>
                                    {i18n.text(key)}
                                </a>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </nav>
    }
}
