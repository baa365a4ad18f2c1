//! The address bar, for leaving the portal for the identity provider and coming back: where to
//! return, the callback and admin-consent return read from it, replacing it, and leaving. A
//! leaf: the session decides when to leave (after the writes in flight, once per page).

fn location() -> Option<web_sys::Location> {
    web_sys::window().map(|w| w.location())
}

/// The current path and query (where to come back to).
pub(super) fn current_path() -> String {
    location()
        .map(|l| {
            format!(
                "{}{}",
                l.pathname().unwrap_or_default(),
                l.search().unwrap_or_default()
            )
        })
        .unwrap_or_else(crate::routes::home)
}

/// Replaces the address (no history entry): code and state never stay visible.
pub(super) fn replace_url(path: &str) {
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
}

/// The query parameters of the address bar.
pub(super) fn query_params() -> Vec<(String, String)> {
    let Some(search) = location().and_then(|l| l.search().ok()) else {
        return Vec::new();
    };
    let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else {
        return Vec::new();
    };
    [
        "code",
        "state",
        "error",
        "error_description",
        "admin_consent",
        "tenant",
        "scope",
    ]
    .iter()
    .filter_map(|k| params.get(k).map(|v| (k.to_string(), v)))
    .collect()
}

/// Whether the parameters are a sign-in callback (a `state` with a `code` or an `error`).
pub(super) fn is_callback(params: &[(String, String)]) -> bool {
    let has = |k: &str| params.iter().any(|(key, _)| key == k);
    has("state") && (has("code") || has("error"))
}

/// Sends the tab to `url` (the session decides when: after the writes in flight, once).
pub(super) fn assign(url: &str) {
    if let Some(location) = location() {
        let _ = location.assign(url);
    }
}
