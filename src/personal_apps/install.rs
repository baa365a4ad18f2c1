//! The install flow: choose an app, the pre-flight checklist, the consent step, "Show request",
//! and the write handed to the write service.

use leptos::prelude::*;
use portal_core::graph::apps::{installable, latest_published, ConsentRequirement};
use portal_core::graph::ids::CatalogAppId;
use portal_core::graph::models::TeamsApp;
use portal_core::graph::personal_apps::{can_submit, installation_of};
use portal_core::graph::preflight::{self, Lookup};
use portal_core::graph::write::Write;

use super::consent_editor::{ConsentChoice, ConsentEditor};
use super::write_status::{use_flow_write, FlowWriteStatus, HeldStatus};
use super::{Snapshot, Subject};
use crate::auth::{use_session, AuthStatus};
use crate::components::preflight_checklist::PreflightChecklist;
use crate::components::show_request::ShowRequest;
use crate::context::use_config;
use crate::i18n::use_i18n;

#[component]
pub fn InstallFlow(
    app: Option<CatalogAppId>,
    snapshot: Snapshot,
    subject: Subject,
    user_exists: Signal<Lookup<bool>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let config = use_config();
    let cloud = config.cloud;
    let graph_base = config.graph_base_url();
    let host = cloud.graph_host();
    let installable_ids: Vec<String> = installable(&snapshot.catalog, &snapshot.installations)
        .iter()
        .map(|a| a.id.clone())
        .collect();
    let selected = RwSignal::new(
        app.map(|a| a.as_str().to_string())
            .or_else(|| installable_ids.first().cloned())
            .unwrap_or_default(),
    );
    let flow_write = use_flow_write();
    let choices = snapshot.catalog.clone();
    let snapshot = StoredValue::new(snapshot);
    let subject = StoredValue::new(subject);
    let chosen = Memo::new(move |_| {
        let id = selected.get();
        snapshot.with_value(|s| s.catalog.iter().find(|a| a.id == id).cloned())
    });
    let requirement = Memo::new(move |_| {
        chosen
            .get()
            .as_ref()
            .and_then(latest_published)
            .map(ConsentRequirement::of)
    });
    let is_admin = move || matches!(session.status.get(), AuthStatus::SignedIn(a) if a.is_admin());
    let items = Signal::derive(move || {
        let app = chosen.get();
        let already = app.as_ref().is_some_and(|app| {
            snapshot.with_value(|s| {
                installation_of(&s.installations, &CatalogAppId::new(app.id.clone())).is_some()
            })
        });
        preflight::evaluate(&preflight::Input {
            user_exists: user_exists.get(),
            definition: Lookup::Known(if app.is_some() {
                requirement.get()
            } else {
                None
            }),
            already_installed: Lookup::Known(already),
            rsc_switch: snapshot.with_value(|s| s.rsc_switch.clone()),
            granted: session.granted.get(),
            can_consent_for_tenant: is_admin(),
            cloud,
        })
    });
    let required = Memo::new(move |_| {
        chosen
            .get()
            .as_ref()
            .and_then(latest_published)
            .map(|d| d.required_permissions())
            .unwrap_or_default()
    });
    let consent = ConsentChoice::new(required.into());
    let proposal = consent.proposal;
    let write = Memo::new(move |_| {
        let app = chosen.get()?;
        requirement.get()?;
        let user = subject.with_value(|s| s.user.clone());
        // Checked against the definition's whole required set: a 400 is read from that,
        // never from Graph's words.
        Some(
            Write::install(user, CatalogAppId::new(app.id.clone()), proposal.get())
                .checked_against(&required.get()),
        )
    });
    let blocked = move || {
        can_submit(
            preflight::ready(&items.get()),
            requirement.get().as_ref(),
            consent.invalid.with(Option::is_none),
            write.with(|w| {
                w.as_ref()
                    .map_or(flow_write.in_flight(), |w| flow_write.blocked(w))
            }),
        )
        .err()
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if blocked().is_some() {
            return;
        }
        let (Some(write), Some(app)) = (write.get_untracked(), chosen.get_untracked()) else {
            return;
        };
        let name = subject.with_value(|s| s.name.clone());
        let app_name = app.display_name.clone().unwrap_or(app.id.clone());
        flow_write.submit(
            write,
            i18n.tf("install.label", &[("app", &app_name), ("user", &name)]),
            i18n.tf("install.done", &[("app", &app_name), ("user", &name)]),
        );
    };
    let subject_name = subject.with_value(|s| s.name.clone());
    view! {
        <form class="flow install-flow" data-testid="install-flow" on:submit=submit>
            <h3>{move || i18n.tf("install.title", &[("user", &subject_name)])}</h3>
            <p>
                <label for="install-app">{i18n.text("install.choose")}</label>
                " "
                <select id="install-app" data-testid="install-app" on:change=move |ev| {
                    selected.set(event_target_value(&ev));
                    consent.selected.set(Default::default());
                }>
                    <AppOptions choices=choices installable_ids=installable_ids selected=selected />
                </select>
                " "
                <span class="muted">{i18n.text("install.star_note")}</span>
            </p>
            {move || chosen.get().as_ref().and_then(latest_published).map(|d| {
                let version = d.version.clone().unwrap_or_default();
                view! { <p class="muted" data-testid="install-version">{move || i18n.tf("install.version", &[("version", &version)])}</p> }
            })}
            <PreflightChecklist items=items />
            {move || chosen.get().as_ref().and_then(latest_published).cloned().map(|target| {
                let grants = super::grants::grants_of(
                    target.authorization.as_ref().and_then(|a| a.client_app_id.as_deref()),
                );
                view! { <ConsentEditor target=target choice=consent grants=grants /> }
            })}
            {
                let graph_base = graph_base.clone();
                move || write.get().map(|write| {
                    let named = subject.with_value(|s| s.named.clone());
                    view! { <ShowRequest commands=write.commands(host, &graph_base, &named) /> }
                })
            }
            <p>
                <button type="submit" data-testid="submit-install" disabled=move || blocked().is_some()
                    aria-describedby="consent-validity">
                    {move || if flow_write.in_flight() { i18n.t("install.working") } else { i18n.t("install.submit") }}
                </button>
            </p>
            <HeldStatus write=flow_write of=write />
            <FlowWriteStatus write=flow_write />
        </form>
    }
}

/// The app choices: every organisation app, a star on those that cannot be installed.
#[component]
fn AppOptions(
    choices: Vec<TeamsApp>,
    installable_ids: Vec<String>,
    selected: RwSignal<String>,
) -> impl IntoView {
    choices
        .into_iter()
        .map(|app| {
            let installable = installable_ids.contains(&app.id);
            let name = app.display_name.clone().unwrap_or_else(|| app.id.clone());
            let id = app.id.clone();
            let selected_now = id.clone();
            view! {
                <option value=id selected=move || selected.get() == selected_now>
                    {name}
                    {(!installable).then_some(" *")}
                </option>
            }
        })
        .collect_view()
}
