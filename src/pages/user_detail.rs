//! User detail (admins): one user's personal apps, with installed and latest versions, drift,
//! consented RSC, and install, upgrade and uninstall. Addressed by object id or UPN.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use portal_core::auth::scopes::Operation;
use portal_core::graph::encode::UserRef;
use portal_core::graph::models::User;
use portal_core::graph::preflight::Lookup;
use portal_core::graph::request;

use crate::components::error_view::CallErrorView;
use crate::components::signed_in::SignedIn;
use crate::graph_client::{use_graph, CallError};
use crate::i18n::use_i18n;
use crate::personal_apps::{PersonalApps, Subject};
use crate::routes::Route;

/// User detail page, addressed by user id or UPN.
#[component]
pub fn UserDetailPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let user_id = move || params.read().get("user_id").unwrap_or_default();
    view! {
        <p><A href=Route::Users.href()>{i18n.text("page.user_detail.back")}</A></p>
        <p class="muted">
            {i18n.text("page.user_detail.addressed")} " " <code data-testid="route-user">{user_id}</code>
        </p>
        <SignedIn>
            {move || view! { <UserApps user_id=user_id() /> }}
        </SignedIn>
    }
}

/// The user (read before any write: the install call may not 404 for an unknown user) and their
/// apps. Addressed by object id, the apps are read beside the user (the installations route
/// takes the id or UPN; the name follows when the user read answers); addressed by UPN, once the
/// user read has resolved the object id (grants are read by object id only).
#[component]
fn UserApps(user_id: String) -> impl IntoView {
    let i18n = use_i18n();
    let graph = use_graph();
    let user_ref = UserRef::from_key(&user_id);
    let exists = RwSignal::new(Lookup::<bool>::Pending);
    let user = RwSignal::new(None::<Result<User, CallError>>);
    {
        let user_ref = user_ref.clone();
        leptos::task::spawn_local(async move {
            let answer = graph
                .get::<User>(&request::get_user(&user_ref), Operation::FindUsers)
                .await;
            exists.set(match &answer {
                Ok(_) => Lookup::Known(true),
                Err(CallError::Graph { error, .. }) if error.status == 404 => Lookup::Known(false),
                Err(e) => Lookup::Failed(e.to_string()),
            });
            if !matches!(answer, Err(CallError::Aborted)) {
                user.set(Some(answer));
            }
        });
    }
    let name = Signal::derive(move || match user.get() {
        Some(Ok(u)) => u.display_name.or(u.user_principal_name).unwrap_or_default(),
        _ => String::new(),
    });
    // Whose apps to read: the object id in the address at once, else the one the user read
    // resolves; none once the user read failed. The same id in other letter case is the same
    // user: the apps are not read again when the user read answers.
    let target = {
        let user_ref = user_ref.clone();
        let by_id = |id: &str| UserRef::ObjectId(id.trim().to_ascii_lowercase());
        Memo::new(move |_| match (user.get(), &user_ref) {
            (Some(Ok(u)), _) if !u.id.trim().is_empty() => Some(by_id(&u.id)),
            (Some(Ok(_)), given) => Some(given.clone()),
            (None, UserRef::ObjectId(id)) => Some(by_id(id)),
            _ => None,
        })
    };
    view! {
        {move || match user.get() {
            Some(Ok(u)) => view! {
                <section class="user-card" data-testid="user-card">
                    <h2>{u.display_name.clone().unwrap_or_default()}</h2>
                    <p>
                        <span data-testid="user-upn">{u.user_principal_name.clone().unwrap_or_default()}</span>
                        {u.mail.clone().map(|m| view! { " · " <span>{m}</span> })}
                        {u.is_guest().then(|| view! { " " <span class="tag">{i18n.t("page.users.guest")}</span> })}
                    </p>
                </section>
            }.into_any(),
            Some(Err(CallError::Graph { error, .. })) if error.status == 404 => view! {
                <p class="error" role="alert" data-testid="no-such-user">{i18n.t("page.user_detail.no_such_user")}</p>
            }.into_any(),
            Some(Err(e)) => view! { <CallErrorView error=e /> }.into_any(),
            None => ().into_any(),
        }}
        {move || target.get().map(|resolved| {
            // The user is read by object id (`permissionGrants` documents no other key);
            // commands shown keep the key as it was given.
            let named = user_ref.clone();
            let subject = Signal::derive(move || Subject {
                user: resolved.clone(),
                named: named.clone(),
                name: name.get(),
            });
            view! { <PersonalApps subject=subject user_exists=exists /> }
        })}
    }
}
