//! Says when the portal is interactive: a Performance API mark (read by `cargo xtask bench`) and
//! `data-portal-state` and `data-portal-bundle` on `<html>` (waited on by the end-to-end tests).
//! A leaf module.

/// Records that the page is interactive: a Performance API mark (read by `cargo xtask bench`)
/// and `data-portal-state` on `<html>` (waited on by the end-to-end tests).
pub fn mark_interactive(state: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let root = window.document().and_then(|d| d.document_element());
    if root
        .as_ref()
        .and_then(|r| r.get_attribute("data-portal-state"))
        .as_deref()
        == Some("on-demand")
    {
        // Leaving for the full bundle: interactive there, not here.
        return;
    }
    if let Some(performance) = window.performance() {
        let _ = performance.mark("portal:interactive");
    }
    if let Some(root) = root {
        // Which build is interactive: the first load or the full bundle (`full.html`).
        let bundle = if cfg!(feature = "full") {
            "full"
        } else {
            "first-load"
        };
        let _ = root.set_attribute("data-portal-bundle", bundle);
    }
    set_state(state);
}

/// Sets `data-portal-state` on `<html>` alone (`on-demand`: this page is leaving for the full
/// bundle, so the tests wait for that bundle's shell instead).
pub fn set_state(state: &str) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-portal-state", state);
    }
}
