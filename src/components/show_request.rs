//! "Show request": a write action's exact HTTP request and the equivalent Microsoft Graph
//! PowerShell and CLI for Microsoft 365 commands, in tabs, each with a copy button.

use leptos::prelude::*;
use portal_core::graph::write::Commands;

use crate::components::copy_button::CopyButton;
use crate::i18n::use_i18n;

/// A disclosure showing a write's `commands` (`Write::commands`).
#[component]
pub fn ShowRequest(commands: Commands) -> impl IntoView {
    let i18n = use_i18n();
    let texts = [
        ("http", "request.http", commands.http),
        ("powershell", "request.powershell", commands.powershell),
        ("cli", "request.cli", commands.cli),
    ];
    let selected = RwSignal::new(0usize);
    let tabs = texts
        .iter()
        .enumerate()
        .map(|(i, (name, key, _))| {
            let key = *key;
            view! {
                <button
                    type="button"
                    role="tab"
                    id=format!("request-tab-{name}")
                    data-tab=*name
                    aria-selected=move || (selected.get() == i).to_string()
                    aria-controls=format!("request-panel-{name}")
                    tabindex=move || if selected.get() == i { "0" } else { "-1" }
                    on:click=move |_| selected.set(i)
                    on:keydown=move |ev| {
                        let next = match ev.key().as_str() {
                            "ArrowRight" => Some((i + 1) % 3),
                            "ArrowLeft" => Some((i + 2) % 3),
                            _ => None,
                        };
                        if let Some(next) = next {
                            selected.set(next);
                            if let Some(el) = web_sys::window()
                                .and_then(|w| w.document())
                                .and_then(|d| d.get_element_by_id(&format!("request-tab-{}", ["http", "powershell", "cli"][next])))
                            {
                                use wasm_bindgen::JsCast;
                                let _ = el.unchecked_into::<web_sys::HtmlElement>().focus();
                            }
                        }
                    }
                >
                    {i18n.text(key)}
                </button>
            }
        })
        .collect_view();
    let panels = texts
        .into_iter()
        .enumerate()
        .map(|(i, (name, _, text))| {
            view! {
                <div
                    role="tabpanel"
                    id=format!("request-panel-{name}")
                    aria-labelledby=format!("request-tab-{name}")
                    hidden=move || selected.get() != i
                    data-panel=name
                >
                    <pre tabindex="0"><code>{text.clone()}</code></pre>
                    <CopyButton text=text />
                </div>
            }
        })
        .collect_view();
    view! {
        <details class="show-request" data-testid="show-request">
            <summary>{i18n.text("request.show")}</summary>
            <div role="tablist" aria-label=i18n.text("request.show")>{tabs}</div>
            {panels}
        </details>
    }
}
