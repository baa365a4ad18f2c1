//! Code loaded on demand. Bulk jobs and the consent audit are built into a second bundle
//! (`jobs.html`, the whole portal plus them, with the `jobs` feature) so that the first load,
//! paid by every administrator every day, does not carry them. In the first load their routes
//! hand over to that bundle with `location.replace("/jobs.html?route=…")`; the jobs bundle puts
//! the route back in the address bar before its router starts, and from there every page is
//! client-side again. The session carries over: it lives in this tab's sessionStorage.

use leptos::prelude::*;

use crate::components::page_title::PageTitle;
use crate::i18n::use_i18n;

/// The jobs bundle's page.
pub const JOBS_BUNDLE: &str = "/jobs.html";

/// A route that is safe to hand over: an absolute path on this origin.
pub fn safe_route(route: &str) -> Option<&str> {
    (route.starts_with('/') && !route.starts_with("//") && !route.contains('\\')).then_some(route)
}

/// The hand-over page of the first load: the page's title, a line saying its code is loading,
/// and the switch to the jobs bundle.
#[component]
pub fn OnDemand(title_key: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    // The router's location, not the address bar's: on a client-side navigation the router
    // renders the page before it updates the address bar.
    let routed = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        let search = routed.search.get_untracked();
        let route = if search.is_empty() {
            routed.pathname.get_untracked()
        } else {
            format!("{}?{search}", routed.pathname.get_untracked())
        };
        let encoded = String::from(js_sys::encode_uri_component(&route));
        let _ = location.replace(&format!("{JOBS_BUNDLE}?route={encoded}"));
    });
    view! {
        <PageTitle key=title_key />
        <p class="muted" role="status" data-testid="on-demand">{move || i18n.t("page.on_demand.loading")}</p>
    }
}

/// In the jobs bundle, before the router starts: `/jobs.html?route=/audit` becomes `/audit`
/// (`/jobs` when no route is named).
pub fn take_route() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    if location.pathname().ok().as_deref() != Some(JOBS_BUNDLE) {
        return;
    }
    let search = location.search().unwrap_or_default();
    let route = web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get("route"))
        .filter(|r| safe_route(r).is_some())
        .unwrap_or_else(|| "/jobs".to_string());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route));
    }
}
