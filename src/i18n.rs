//! The browser side of i18n: the current language as a signal in context, chosen from the
//! stored preference or the browser's languages, and switchable at run time. The catalogues and
//! the rules live in `portal_core::i18n`; English is in the binary, other languages are fetched
//! (`fr.json` beside `index.html`) only when chosen, so nobody pays for a language they do not use.

use leptos::prelude::*;
use portal_core::Lang;

/// Where the chosen language is remembered. It holds a language tag and nothing else.
const PREFERENCE_KEY: &str = "teams-app-portal.lang";

/// The i18n handle every component reads messages through.
#[derive(Clone, Copy)]
pub struct I18n {
    lang: RwSignal<Lang>,
    /// The language chosen at start, before its catalogue is at hand.
    wanted: StoredValue<Lang>,
}

impl I18n {
    /// A handle starting in `lang` (not placed in context).
    pub fn new(lang: Lang) -> Self {
        I18n {
            lang: RwSignal::new(lang),
            wanted: StoredValue::new(lang),
        }
    }

    /// Fetches the language chosen at start if it is not built in, and switches to it (the
    /// start-up awaits this beside `config.json`, so the first paint is in that language).
    pub async fn load_preferred(&self) {
        let wanted = self.wanted.get_value();
        if wanted != self.lang.get_untracked() && load(wanted).await.is_ok() {
            self.lang.set(wanted);
            apply_document_lang(wanted);
        }
    }

    /// The current language (tracked).
    pub fn lang(&self) -> Lang {
        self.lang.get()
    }

    /// Switches language (fetching its catalogue first when needed), updates `<html lang>` and
    /// remembers the choice. If the catalogue cannot be fetched, the language stays as it is.
    pub fn set_lang(&self, lang: Lang) {
        let this = *self;
        if lang.is_loaded() {
            this.apply(lang);
            return;
        }
        leptos::task::spawn_local(async move {
            if load(lang).await.is_ok() {
                this.apply(lang);
            }
        });
    }

    fn apply(&self, lang: Lang) {
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

    /// The message for `key` as a reactive view (a text node or an attribute value that follows
    /// the language). Prefer it to `i18n.text(key)` in views: every call returns the same
    /// closure type, so Leptos's rendering code for it is built into the wasm once rather than
    /// once per message (issue #10).
    pub fn text(&self, key: &'static str) -> impl Fn() -> String + Copy + Send + Sync + 'static {
        let this = *self;
        move || this.t(key)
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

/// Fetches and installs `lang`'s catalogue if it is not at hand yet.
pub async fn load(lang: Lang) -> Result<(), String> {
    if lang.is_loaded() {
        return Ok(());
    }
    let response = gloo_net::http::Request::get(&lang.catalogue_file())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!(
            "{}: HTTP {}",
            lang.catalogue_file(),
            response.status()
        ));
    }
    let text = response.text().await.map_err(|e| e.to_string())?;
    lang.install(&text)
}

/// Creates the i18n handle from the browser's preferences and places it in context. A language
/// that is not built in starts as English until [`I18n::load_preferred`] has fetched it.
pub fn provide_i18n() -> I18n {
    let wanted = initial_lang();
    let i18n = provide_i18n_with(if wanted.is_loaded() { wanted } else { Lang::En });
    i18n.wanted.set_value(wanted);
    i18n
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
