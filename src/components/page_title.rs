//! The page heading, which also sets `document.title` so each route is announced by name.

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// An `<h1>` with the translated title; `document.title` follows it.
#[component]
pub fn PageTitle(key: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    Effect::new(move |_| {
        let title = format!("{} · {}", i18n.t(key), i18n.t("app.name"));
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            document.set_title(&title);
        }
    });
    view! { <h1>{i18n.text(key)}</h1> }
}
