//! Says when the portal is interactive: a Performance API mark (read by `cargo xtask bench`) and
//! `data-portal-state` on `<html>` (waited on by the end-to-end tests). A leaf module.

/// Records that the page is interactive: a Performance API mark (read by `cargo xtask bench`)
/// and `data-portal-state` on `<html>` (waited on by the end-to-end tests).
pub fn mark_interactive(state: &str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Some(performance) = window.performance() {
        let _ = performance.mark("portal:interactive");
    }
    set_state(state);
}

/// Sets `data-portal-state` on `<html>` alone.
pub fn set_state(state: &str) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("data-portal-state", state);
    }
}
