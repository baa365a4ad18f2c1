//! The account area of the header: sign in, who is signed in (with the admin hint), switch
//! account, sign out. A sign-out while the account has unfinished work in this browser (jobs,
//! writes not yet confirmed: the account's marker says how many) asks first whether to keep
//! it for the next sign-in or to discard it, and says so when some of it may have been applied.

use leptos::prelude::*;
use portal_core::ownership::{Marker, Owner};

use crate::auth::{use_session, AuthStatus};
use crate::context::try_config as use_config;
use crate::i18n::use_i18n;
use crate::job_store::{read_marker, signed_in_owner};

/// Account area.
#[component]
pub fn AccountArea() -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    // No configuration (the setup page): nobody to sign in with.
    let configured = use_config().is_some();
    let sign_in = move |prompt: Option<&'static str>| {
        if configured {
            session.start_sign_in(prompt);
        }
    };
    // The unfinished work a sign-out asks about (`None`: no question open).
    let asking = RwSignal::new(None::<(Owner, Marker)>);
    let sign_out = move |_| {
        let owner = signed_in_owner(&session.status.get_untracked());
        let work = owner.map(|o| {
            let marker = read_marker(&o);
            (o, marker)
        });
        match work {
            Some((owner, marker)) if !marker.is_empty() => asking.set(Some((owner, marker))),
            _ => leptos::task::spawn_local(session.sign_out()),
        }
    };
    view! {
        <div class="account-area" data-testid="account-area">
            {move || match session.status.get() {
                AuthStatus::Starting => view! { <span class="account-status">{i18n.t("account.starting")}</span> }.into_any(),
                AuthStatus::SignedIn(account) => {
                    let role = if account.is_admin() { i18n.t("account.role_admin") } else { i18n.t("account.role_member") };
                    let switch = sign_in;
                    view! {
                        <span class="account-name" data-testid="account-name" title=account.username.clone()>{account.name.clone()}</span>
                        <span class="tag" data-testid="account-role">{role}</span>
                        <button type="button" on:click=move |_| switch(Some("select_account"))>{i18n.t("account.switch")}</button>
                        <button type="button" data-testid="sign-out" on:click=sign_out>
                            {i18n.t("account.sign_out")}
                        </button>
                    }
                    .into_any()
                }
                _ => {
                    let go = sign_in;
                    view! {
                        <span class="account-status">{i18n.t("account.signed_out")}</span>
                        <button type="button" data-testid="sign-in" on:click=move |_| go(None)>{i18n.t("account.sign_in")}</button>
                    }
                    .into_any()
                }
            }}
            {move || asking.get().map(|(owner, marker)| view! { <SignOutQuestion owner=owner marker=marker asking=asking /> })}
        </div>
    }
}

/// "Keep for later" or "Discard" before a sign-out with unfinished work.
#[component]
fn SignOutQuestion(
    owner: Owner,
    marker: Marker,
    asking: RwSignal<Option<(Owner, Marker)>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let heading = NodeRef::<leptos::html::H2>::new();
    Effect::new(move |_| {
        if let Some(h) = heading.get() {
            let _ = h.focus();
        }
    });
    let (jobs, writes) = (marker.jobs.to_string(), marker.writes.to_string());
    let keep = move |_| {
        asking.set(None);
        leptos::task::spawn_local(session.sign_out());
    };
    let stop_work = work_stopper();
    let discard = move |_| {
        asking.set(None);
        stop_work();
        let owner = owner.clone();
        leptos::task::spawn_local(session.sign_out_with(Some(owner)));
    };
    view! {
        <div class="sign-out-question" role="alertdialog" aria-modal="false" aria-labelledby="sign-out-title"
            aria-describedby="sign-out-work" data-testid="sign-out-question"
            on:keydown=move |ev| if ev.key() == "Escape" { asking.set(None) }>
            <h2 id="sign-out-title" tabindex="-1" node_ref=heading>{i18n.text("account.sign_out_title")}</h2>
            <p id="sign-out-work" data-testid="sign-out-work">
                {move || i18n.tf("account.sign_out_work", &[("jobs", &jobs), ("writes", &writes)])}
            </p>
            {(marker.writes > 0).then(|| view! {
                <p class="notice" data-testid="sign-out-in-doubt">{i18n.text("account.sign_out_in_doubt")}</p>
            })}
            <p class="muted">{i18n.text("account.sign_out_kept")}</p>
            <p class="actions">
                <button type="button" data-testid="sign-out-keep" on:click=keep>{i18n.text("account.sign_out_keep")}</button>
                " "
                <button type="button" class="danger" data-testid="sign-out-discard" on:click=discard>{i18n.text("account.sign_out_discard")}</button>
                " "
                <button type="button" class="secondary" data-testid="sign-out-cancel" on:click=move |_| asking.set(None)>
                    {i18n.text("account.sign_out_cancel")}
                </button>
            </p>
        </div>
    }
}

/// What stops the job and write services from storing the account's work before it is
/// discarded (call at component creation).
fn work_stopper() -> impl Fn() + Clone + 'static {
    let jobs = use_context::<crate::jobs::JobService>();
    let writes = use_context::<crate::write_service::WriteService>();
    move || {
        if let Some(jobs) = jobs {
            jobs.close();
        }
        if let Some(writes) = writes {
            writes.close();
        }
    }
}
