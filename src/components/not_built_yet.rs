//! The honest placeholder for a page whose capability a later issue delivers.

use leptos::prelude::*;

use crate::i18n::use_i18n;

/// Says that the page is not built yet, which issue brings it, and what it will do.
#[component]
pub fn NotBuiltYet(
    /// The issue that delivers the page, when it is filed.
    #[prop(optional)]
    issue: Option<u32>,
    /// i18n key describing what the page will do.
    what_key: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="not-built-yet" data-testid="not-built-yet">
            <p class="badge">{i18n.text("placeholder.badge")}</p>
            <p>{i18n.text(what_key)}</p>
            <p class="muted">
                {move || match issue {
                    Some(n) => i18n.tf("placeholder.arrives_with_issue", &[("issue", &n.to_string())]),
                    None => i18n.t("placeholder.arrives_later"),
                }}
            </p>
        </section>
    }
}
