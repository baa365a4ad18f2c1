//! The account area of the header: sign in, who is signed in (with the admin hint), switch
//! account, sign out.

use leptos::prelude::*;

use crate::auth::{self, use_auth, AuthStatus};
use crate::context::try_config as use_config;
use crate::i18n::use_i18n;

/// Account area.
#[component]
pub fn AccountArea() -> impl IntoView {
    let i18n = use_i18n();
    let auth = use_auth();
    let config = use_config();
    let sign_in = {
        let config = config.clone();
        move |prompt: Option<&'static str>| {
            if let Some(config) = config.clone() {
                auth::start_sign_in(config, prompt);
            }
        }
    };
    let sign_in_again = sign_in.clone();
    view! {
        <div class="account-area" data-testid="account-area">
            {move || match auth.status.get() {
                AuthStatus::Starting => view! { <span class="account-status">{i18n.t("account.starting")}</span> }.into_any(),
                AuthStatus::SignedIn(account) => {
                    let role = if account.is_admin() { i18n.t("account.role_admin") } else { i18n.t("account.role_member") };
                    let switch = sign_in_again.clone();
                    view! {
                        <span class="account-name" data-testid="account-name" title=account.username.clone()>{account.name.clone()}</span>
                        <span class="tag" data-testid="account-role">{role}</span>
                        <button type="button" on:click=move |_| switch(Some("select_account"))>{i18n.t("account.switch")}</button>
                        <button type="button" data-testid="sign-out" on:click=move |_| leptos::task::spawn_local(auth::sign_out())>
                            {i18n.t("account.sign_out")}
                        </button>
                    }
                    .into_any()
                }
                _ => {
                    let go = sign_in.clone();
                    view! {
                        <span class="account-status">{i18n.t("account.signed_out")}</span>
                        <button type="button" data-testid="sign-in" on:click=move |_| go(None)>{i18n.t("account.sign_in")}</button>
                    }
                    .into_any()
                }
            }}
        </div>
    }
}
