//! The browser side of i18n: the current language as a signal in context, chosen from the
//! stored preference or the browser's languages, and switchable at run time. The catalogues and
//! the rules live in `portal_core::i18n`.

use leptos::prelude::*;
use portal_core::Lang;

/// Where the chosen language is remembered. It holds a language tag and nothing else.
const PREFERENCE_KEY: &str = "teams-app-portal.lang";

/// The i18n handle every component reads messages through.
#[derive(Clone, Copy)]
pub struct I18n {
    lang: RwSignal<Lang>,
}

impl I18n {
    /// A handle starting in `lang` (not placed in context).
    pub fn new(lang: Lang) -> Self {
        I18n {
            lang: RwSignal::new(lang),
        }
    }

    /// The current language (tracked).
    pub fn lang(&self) -> Lang {
        self.lang.get()
    }

    /// Switches language, updates `<html lang>` and remembers the choice.
    pub fn set_lang(&self, lang: Lang) {
        self.lang.set(lang);
        apply_document_lang(lang);
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            let _ = storage.set_item(PREFERENCE_KEY, lang.tag());
        }
    }

    /// The message for `key` in the current language (tracked).
    pub fn t(&self, key: &str) -> String {
        self.lang.get().t(key).to_string()
    }

    /// The message for `key` with `{name}` placeholders filled (tracked).
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.lang.get().tf(key, args)
    }
}

fn apply_document_lang(lang: Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.tag());
    }
}

/// The language to start in: the remembered choice, else the browser's preference list.
pub fn initial_lang() -> Lang {
    let Some(window) = web_sys::window() else {
        return Lang::En;
    };
    let stored = window
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item(PREFERENCE_KEY).ok().flatten())
        .and_then(|tag| Lang::from_tag(&tag));
    if let Some(lang) = stored {
        return lang;
    }
    let navigator = window.navigator();
    let mut preferences: Vec<String> = navigator
        .languages()
        .iter()
        .filter_map(|value| value.as_string())
        .collect();
    if let Some(language) = navigator.language() {
        preferences.push(language);
    }
    Lang::negotiate(&preferences)
}

/// Creates the i18n handle from the browser's preferences and places it in context.
pub fn provide_i18n() -> I18n {
    provide_i18n_with(initial_lang())
}

/// Creates the i18n handle in `lang` and places it in context (tests use this).
pub fn provide_i18n_with(lang: Lang) -> I18n {
    let i18n = I18n::new(lang);
    apply_document_lang(lang);
    provide_context(i18n);
    i18n
}

/// The i18n handle from context; English if none was provided.
pub fn use_i18n() -> I18n {
    use_context::<I18n>().unwrap_or_else(|| I18n::new(Lang::En))
}
