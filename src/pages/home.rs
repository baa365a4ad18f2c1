//! Home: what the portal is for, and a way into each section.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;

use crate::auth::{use_session, AuthStatus};

use crate::i18n::use_i18n;
use crate::routes::{nav_pages, PageId, Route, Viewer};

/// The landing page.
#[component]
pub fn HomePage() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let navigate = use_navigate();
    // The role hint chooses the landing: Users for administrators, My apps for everyone else.
    Effect::new(move |_| {
        if let AuthStatus::SignedIn(account) = session.status.get() {
            let landing = if account.is_admin() {
                Route::Users
            } else {
                Route::MyApps
            };
            navigate(
                &landing.href(),
                NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    view! {
        <p class="lead">{i18n.text("page.home.intro")}</p>
        <ul class="section-cards">
            {move || {
                let viewer = session.status.with(Viewer::of);
                nav_pages(viewer)
                    .filter(|(page, _)| page.id != PageId::Home)
                    .filter_map(|(page, key)| Route::of(page.id).map(|route| (route, key)))
                    .map(|(route, key)| {
                        view! {
                            <li>
                                <a href=route.href()>{i18n.text(key)}</a>
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ul>
    }
}
