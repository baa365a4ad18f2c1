//! Code loaded on demand. The first load, paid by every administrator every day, carries the
//! shell and the pages a sign-in lands on (Home, and Users for administrators); every page is
//! built into a second bundle (`full.html`, the whole portal, with the `full` feature). In the
//! first load the other routes hand over to that bundle with
//! `location.replace("/full.html?route=…")`, once no token renewal is in flight (see
//! `auth::hand_over_to`); the full bundle puts the route back in the address bar before its
//! router starts, and from there every page is client-side again.
//! The session carries over: the refresh token and account live in this tab's sessionStorage,
//! and the access tokens are handed over through it (`portal_core::auth::hand_over`), so the
//! switch costs no token request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use leptos::prelude::*;

use crate::components::page_title::PageTitle;
use crate::i18n::use_i18n;

/// The full bundle's page.
pub const FULL_BUNDLE: &str = "/full.html";

/// The full bundle's address showing `route` (put back by [`take_route`]).
fn full_bundle_at(route: &str) -> String {
    let encoded = String::from(js_sys::encode_uri_component(route));
    format!("{FULL_BUNDLE}?route={encoded}")
}

/// A route that is safe to hand over: an absolute path on this origin.
pub fn safe_route(route: &str) -> Option<&str> {
    (route.starts_with('/') && !route.starts_with("//") && !route.contains('\\')).then_some(route)
}

/// The hand-over page of the first load: the page's title, a line saying its code is loading,
/// and the switch to the full bundle.
#[component]
pub fn OnDemand(title_key: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    // The router's location, not the address bar's: on a client-side navigation the router
    // renders the page before it updates the address bar.
    let routed = leptos_router::hooks::use_location();
    Effect::new(move |_| {
        crate::readiness::set_state("on-demand");
        let search = routed.search.get_untracked();
        let route = if search.is_empty() {
            routed.pathname.get_untracked()
        } else {
            format!("{}?{search}", routed.pathname.get_untracked())
        };
        // Still on this page once any renewal has settled (the user may have moved on).
        let left = Arc::new(AtomicBool::new(false));
        let on_leave = left.clone();
        on_cleanup(move || on_leave.store(true, Ordering::Relaxed));
        leptos::task::spawn_local(async move {
            let still_here = move || !left.load(Ordering::Relaxed);
            crate::auth::hand_over_to(&full_bundle_at(&route), still_here).await;
        });
    });
    view! {
        <PageTitle key=title_key />
        <p class="muted" role="status" data-testid="on-demand">{i18n.text("page.on_demand.loading")}</p>
    }
}

/// In the full bundle, before the router starts: `/full.html?route=/audit` becomes `/audit`
/// (`/` when no route is named).
pub fn take_route() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    if location.pathname().ok().as_deref() != Some(FULL_BUNDLE) {
        return;
    }
    let search = location.search().unwrap_or_default();
    let route = web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get("route"))
        .filter(|r| safe_route(r).is_some())
        .unwrap_or_else(|| "/".to_string());
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&route));
    }
}

/// The first load's answer to a `config.json` it cannot use: the setup page, which explains the
/// problem field by field, is in the full bundle (a misconfigured deployment is rare; every
/// administrator's first load need not carry it), so this switches there at once, keeping the
/// address. The full bundle loads `config.json` again and shows the setup page (or the portal,
/// if the file has been fixed meanwhile). No session exists without a configuration, so nothing
/// is handed over.
#[cfg(not(feature = "full"))]
#[component]
pub fn SetupOnDemand() -> impl IntoView {
    let i18n = use_i18n();
    let switched = switch_for_setup();
    let key = if switched {
        "page.on_demand.loading"
    } else {
        "page.on_demand.missing"
    };
    view! { <p class="app-loading" role="status" data-testid="on-demand">{i18n.text(key)}</p> }
}

/// Replaces this document with the full bundle at the same address; false (and nothing done)
/// when this document already is `/full.html`: a host that answers it with the first load (the
/// full bundle was not deployed) would otherwise reload forever.
#[cfg(not(feature = "full"))]
fn switch_for_setup() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let location = window.location();
    let path = location.pathname().unwrap_or_default();
    if path == FULL_BUNDLE {
        return false;
    }
    let route = format!("{path}{}", location.search().unwrap_or_default());
    let Some(route) = safe_route(&route) else {
        return false;
    };
    crate::readiness::set_state("on-demand");
    location.replace(&full_bundle_at(route)).is_ok()
}
