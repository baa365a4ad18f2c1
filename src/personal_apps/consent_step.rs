//! The RSC consent step of install and upgrade: an app needing any application permission is
//! consented as a whole set or not at all (Graph's rule), so the step explains that and asks for
//! one confirmation; a delegated-only requirement sends no consent and only says so.

use leptos::prelude::*;
use portal_core::graph::apps::ConsentRequirement;

use crate::components::rsc_list::RscList;
use crate::i18n::use_i18n;

/// The step for `requirement`; `confirmed` is the whole-set confirmation.
#[component]
pub fn ConsentStep(
    #[prop(into)] requirement: Signal<Option<ConsentRequirement>>,
    confirmed: RwSignal<bool>,
    /// The confirmation's label key (install and upgrade word it differently).
    confirm_key: &'static str,
) -> impl IntoView {
    let i18n = use_i18n();
    move || match requirement.get() {
        Some(ConsentRequirement::WholeSet(set)) => view! {
            <fieldset class="consent-step" data-testid="consent-step">
                <legend>{i18n.t("install.consent.title")}</legend>
                <p>{i18n.t("install.consent.whole_set")}</p>
                <RscList permissions=set />
                <p>
                    <input type="checkbox" id="consent-confirm" data-testid="consent-confirm"
                        prop:checked=move || confirmed.get()
                        on:change=move |ev| confirmed.set(event_target_checked(&ev)) />
                    " "
                    <label for="consent-confirm">{i18n.t(confirm_key)}</label>
                </p>
            </fieldset>
        }
        .into_any(),
        Some(ConsentRequirement::DelegatedOnly(set)) => view! {
            <div class="consent-step">
                <p>{i18n.t("install.consent.delegated_only")}</p>
                <RscList permissions=set />
            </div>
        }
        .into_any(),
        _ => ().into_any(),
    }
}
