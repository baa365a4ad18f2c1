//! Switches the portal's language at run time; the current one is marked `aria-pressed`.

use leptos::prelude::*;
use portal_core::Lang;

use crate::i18n::use_i18n;

/// One toggle button per language.
#[component]
pub fn LanguageSwitcher() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="language-switcher" role="group" aria-label=i18n.text("language.label")>
            {Lang::ALL
                .into_iter()
                .map(|lang| {
                    view! {
                        <button
                            type="button"
                            lang=lang.tag()
                            data-lang=lang.tag()
                            aria-pressed=move || (i18n.lang() == lang).to_string()
                            on:click=move |_| i18n.set_lang(lang)
                        >
                            {lang.native_name()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}
