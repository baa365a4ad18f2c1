//! Explains a sign-in failure above the page: what happened, the identity provider's code, and
//! what to do next (sign in again, or ask an administrator to consent, with the link).

use leptos::prelude::*;

use crate::auth::{use_session, AuthStatus};
use crate::i18n::use_i18n;

/// The banner; renders nothing when there is nothing to say.
#[component]
pub fn AuthBanner() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    move || {
        match session.status.get() {
        AuthStatus::Failed(error) => {
            let (key, detail, next) = (error.message_key(), error.detail(), error.next_key());
            let code = error.aadsts();
            view! {
                <section class="banner error" role="alert" data-testid="auth-error" data-error-key=key>
                    <p><strong>{i18n.text(key)}</strong></p>
                    {code.map(|c| view! { <p>{i18n.text("auth.error.code")} " " <code data-testid="auth-error-code">{c.clone()}</code></p> })}
                    {(!detail.is_empty()).then(|| view! { <p class="muted detail">{detail.clone()}</p> })}
                    <p>{i18n.text(next)}</p>
                </section>
            }
            .into_any()
        }
        AuthStatus::ConsentRequired { description, admin_consent_url } => view! {
            <section class="banner warning" role="alert" data-testid="consent-required">
                <p><strong>{i18n.text("auth.consent.title")}</strong></p>
                <p>{i18n.text("auth.consent.body")}</p>
                <p class="muted detail">{description.clone()}</p>
                <p>
                    {i18n.text("auth.consent.link_label")} " "
                    <a href=admin_consent_url.clone() data-testid="admin-consent-link">{i18n.text("auth.consent.link")}</a>
                </p>
            </section>
        }
        .into_any(),
        _ => ().into_any(),
    }
    }
}
