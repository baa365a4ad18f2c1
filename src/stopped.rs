//! When the portal stops. A release panic is a bare wasm trap (`RuntimeError: unreachable`, see
//! xtask's `RELEASE_WASM_ENV`), and a wasm that fails to load never starts: either would leave a
//! dead page. `index.html` installs, before the wasm starts, a listener for uncaught errors and
//! unhandled rejections that then shows "The portal stopped" with a report to copy and a Reload
//! button (`data-testid="portal-stopped"`, `data-portal-state="stopped"` on `<html>`). Once the
//! portal runs, only a wasm trap stops it; other errors are its own to report.
//!
//! The panel's text comes from the catalogues: [`provide_texts`] writes it onto `<html>` as
//! `data-stopped-*` attributes at start and on every language change; the script's built-in
//! English (checked against `en.json` by the tests) covers a failure before the portal starts.
//! Where panics are not compiled to a trap (debug builds, tests), [`install_panic_hook`] puts the
//! panic's message and location in the report too.

use leptos::prelude::*;
use wasm_bindgen::prelude::*;

use crate::i18n::I18n;

/// The panel's messages: catalogue key, and the `data-stopped-*` name the script reads.
pub const TEXTS: [(&str, &str); 6] = [
    ("stopped.title", "title"),
    ("stopped.body", "body"),
    ("stopped.report", "report"),
    ("stopped.copy", "copy"),
    ("stopped.copied", "copied"),
    ("stopped.reload", "reload"),
];

/// Keeps the panel's text in the current language on `<html>` (call once, at start).
pub fn provide_texts(i18n: I18n) {
    Effect::new(move |_| {
        let root = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element());
        if let Some(root) = root {
            for (key, name) in TEXTS {
                let _ = root.set_attribute(&format!("data-stopped-{name}"), &i18n.t(key));
            }
        }
    });
}

/// Where a panic is not a bare trap: the console gets it (as before), and the report its
/// message and location (`window.__portalPanic`, read by `index.html`'s script).
#[cfg(not(portal_immediate_abort))]
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let _ = js_sys::Reflect::set(
            &js_sys::global(),
            &JsValue::from_str("__portalPanic"),
            &JsValue::from_str(&info.to_string()),
        );
    }));
}

/// For the end-to-end test of the panel only: panics in a task of the portal, as a bug would.
/// Reachable from a script (`window.wasmBindings.portal_test_panic()`, e.g. the browser's
/// console), never from the portal's own pages.
#[wasm_bindgen]
pub fn portal_test_panic() {
    leptos::task::spawn_local(async {
        panic!("portal_test_panic: a panic asked for by a test");
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use portal_core::i18n::parse_catalogue;
    use portal_core::Lang;

    /// `index.html`'s script names every message by its attribute, with `en.json`'s English as
    /// the fallback: `t("title", "The portal stopped")`.
    #[test]
    fn the_script_falls_back_to_the_catalogue_english() {
        let index = include_str!("../index.html");
        let en = parse_catalogue(Lang::En.source().unwrap_or_default()).unwrap_or_default();
        for (key, name) in TEXTS {
            let english = en.get(key).cloned().unwrap_or_default();
            assert!(!english.is_empty(), "{key} is not in en.json");
            let call = format!(
                "t({}, {})",
                serde_json::to_string(name).unwrap_or_default(),
                serde_json::to_string(&english).unwrap_or_default()
            );
            assert!(index.contains(&call), "index.html lacks {call}");
        }
    }
}
