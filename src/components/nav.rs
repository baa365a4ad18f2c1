//! The side navigation: the sections of [`crate::routes::PAGES`] the viewer's role is shown
//! (administrators' pages are left out for members); the current one is marked
//! `aria-current="page"`. Plain links: the router takes over clicks on same-origin links.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::auth::use_session;
use crate::i18n::use_i18n;
use crate::routes::{nav_pages, Route, Viewer};

/// The navigation landmark.
#[component]
pub fn Nav() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let location = use_location();
    let viewer = Memo::new(move |_| session.status.with(Viewer::of));
    view! {
        <nav class="side-nav" aria-label=i18n.text("nav.label")>
            <ul>
                {move || {
                    nav_pages(viewer.get())
                        .filter_map(|(page, key)| Route::of(page.id).map(|route| (route, key)))
                        .map(|(route, key)| {
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
                        .collect_view()
                }}
            </ul>
        </nav>
    }
}
