//! Shows its children only to a signed-in user; others are asked to sign in (pages that call
//! Graph render nothing that would start a sign-in on their own).

use leptos::prelude::*;

use crate::auth::{use_session, AuthStatus};
use crate::i18n::use_i18n;

/// The children when signed in, else a sign-in prompt.
#[component]
pub fn SignedIn(children: ChildrenFn) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    // Only signing in or out re-creates the children: a renewed account (the background
    // renewal on a reload, a new scope) must not reset a page or drop what it is loading.
    let signed_in = Memo::new(move |_| matches!(session.status.get(), AuthStatus::SignedIn(_)));
    move || {
        if signed_in.get() {
            children().into_any()
        } else {
            view! { <p class="muted" data-testid="sign-in-needed">{i18n.t("common.sign_in_needed")}</p> }.into_any()
        }
    }
}
