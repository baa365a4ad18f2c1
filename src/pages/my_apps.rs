//! My apps (self-service, any signed-in user): their own personal apps and the organisation's
//! published apps, installed, upgraded and uninstalled for themselves through `/me`.

use leptos::prelude::*;
use portal_core::graph::encode::UserRef;
use portal_core::graph::preflight::Lookup;

use crate::auth::{use_session, AuthStatus};
use crate::i18n::use_i18n;
use crate::personal_apps::{PersonalApps, Subject};

/// My apps (self-service): the signed-in user's own personal apps, installed through /me.
#[component]
pub fn MyAppsPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    // The same person stays on the same page: a renewed account does not re-create it.
    let me = Memo::new(move |_| match session.status.get() {
        AuthStatus::SignedIn(account) => Some((account.oid.clone(), account.name.clone())),
        _ => None,
    });
    view! {
        <p class="lead">{i18n.text("page.my_apps.intro")}</p>
        {move || match me.get() {
            Some((oid, name)) => {
                let subject = Subject {
                    user: UserRef::Me,
                    named: UserRef::ObjectId(oid),
                    name,
                };
                view! { <PersonalApps subject=subject user_exists=Signal::stored(Lookup::Known(true)) /> }.into_any()
            }
            _ => view! { <p class="muted" data-testid="sign-in-needed">{i18n.t("common.sign_in_needed")}</p> }.into_any(),
        }}
    }
}
