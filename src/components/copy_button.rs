//! A button that copies a text (a request id, a request, a command) to the clipboard and says
//! so politely to screen readers.

use leptos::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::i18n::use_i18n;

/// Copies `text`; the label turns to "Copied" for a moment.
#[component]
pub fn CopyButton(
    /// What to copy.
    #[prop(into)]
    text: Signal<String>,
    /// Accessible name, e.g. "Copy request id".
    #[prop(optional, into)]
    label: Option<Signal<String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let state = RwSignal::new(None::<bool>);
    let copy = move |_| {
        let value = text.get_untracked();
        leptos::task::spawn_local(async move {
            let done = match web_sys::window().map(|w| w.navigator().clipboard()) {
                Some(clipboard) => JsFuture::from(clipboard.write_text(&value)).await.is_ok(),
                None => false,
            };
            state.set(Some(done));
            gloo_timers::future::TimeoutFuture::new(2_000).await;
            state.set(None);
        });
    };
    view! {
        <button
            type="button"
            class="copy-button"
            aria-label=move || label.map(|l| l.get()).unwrap_or_else(|| i18n.t("copy.button"))
            on:click=copy
        >
            {i18n.text("copy.button")}
        </button>
        <span class="copy-state" role="status">
            {move || match state.get() {
                Some(true) => i18n.t("copy.done"),
                Some(false) => i18n.t("copy.failed"),
                None => String::new(),
            }}
        </span>
    }
}
