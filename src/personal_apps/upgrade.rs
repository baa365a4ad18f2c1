//! The upgrade flow: from → to (the latest published definition), the permissions it adds and
//! drops, the consent step when the new set has application permissions, "Show request".

use leptos::prelude::*;
use portal_core::graph::apps::{
    catalog_app_of, installation_name, latest_published, ConsentRequirement, RscChange,
};
use portal_core::graph::ids::{CatalogAppId, InstallationId};
use portal_core::graph::models::{Installation, TeamsApp};
use portal_core::graph::personal_apps::can_submit;
use portal_core::graph::write::Write;

use super::consent_editor::{ConsentChoice, ConsentEditor};
use super::write_status::{use_flow_write, FlowWriteStatus, HeldStatus};
use super::Subject;
use crate::components::rsc_list::RscList;
use crate::components::show_request::ShowRequest;
use crate::context::use_config;
use crate::i18n::use_i18n;

#[component]
pub fn UpgradeFlow(
    installation: Installation,
    catalog: Vec<TeamsApp>,
    subject: Subject,
) -> impl IntoView {
    let i18n = use_i18n();
    let config = use_config();
    let app = catalog_app_of(&installation, &catalog).cloned();
    let name = installation_name(&installation);
    let from = installation.teams_app_definition.clone();
    let to = app.as_ref().and_then(latest_published).cloned();
    let (Some(from), Some(to), Some(app)) = (from, to, app) else {
        return view! { <p class="error" role="alert">{i18n.text("upgrade.not_possible")}</p> }
            .into_any();
    };
    let from_version = from.version.clone().unwrap_or_default();
    let to_version = to.version.clone().unwrap_or_default();
    let change = RscChange::between(&from, &to);
    let requirement = ConsentRequirement::of(&to);
    let required = to.required_permissions();
    let consent = ConsentChoice::new(Signal::stored(required.clone()));
    let proposal = consent.proposal;
    let (user, app_id, installation_id, version) = (
        subject.user.clone(),
        CatalogAppId::new(app.id.clone()),
        InstallationId::new(installation.id.clone()),
        to_version.clone(),
    );
    let write = Memo::new(move |_| {
        Write::upgrade(
            user.clone(),
            app_id.clone(),
            installation_id.clone(),
            version.clone(),
            proposal.get(),
        )
        // Checked against the target's whole required set: a 400 is read from that, never
        // from Graph's words.
        .checked_against(&required)
    });
    let (host, base, named) = (
        config.cloud.graph_host(),
        config.graph_base_url(),
        subject.named.clone(),
    );
    let commands = move || write.get().commands(host, &base, &named);
    let flow_write = use_flow_write();
    let blocked = {
        let requirement = requirement.clone();
        move || {
            can_submit(
                true,
                Some(&requirement),
                consent.invalid.with(Option::is_none),
                write.with(|w| flow_write.blocked(w)),
            )
            .err()
        }
    };
    let submit = {
        let (name, to_version, blocked) = (name.clone(), to_version.clone(), blocked.clone());
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            if blocked().is_some() {
                return;
            }
            flow_write.submit(
                write.get_untracked(),
                i18n.tf("upgrade.label", &[("app", &name), ("version", &to_version)]),
                i18n.tf("upgrade.done", &[("app", &name), ("version", &to_version)]),
            );
        }
    };
    let title_name = name.clone();
    let (fv, tv) = (from_version, to_version);
    view! {
        <form class="flow upgrade-flow" data-testid="upgrade-flow" on:submit=submit>
            <h3>{move || i18n.tf("upgrade.title", &[("app", &title_name)])}</h3>
            <p data-testid="upgrade-versions">{move || i18n.tf("upgrade.from_to", &[("from", &fv), ("to", &tv)])}</p>
            <RscChangeView change=change />
            {
                let (to, from, installation) = (to.clone(), from.clone(), installation.clone());
                move || {
                    // Re-rendered when the user's grants arrive (the choices live in `consent`).
                    let grants = super::grants::grants_of(
                        to.authorization.as_ref().and_then(|a| a.client_app_id.as_deref()),
                    );
                    view! {
                        <ConsentEditor target=to.clone() from=from.clone() installation=installation.clone() choice=consent grants=grants />
                    }
                }
            }
            {move || view! { <ShowRequest commands=commands() /> }}
            <p>
                <button type="submit" data-testid="submit-upgrade" disabled=move || blocked().is_some()
                    aria-describedby="consent-validity">
                    {i18n.text("upgrade.submit")}
                </button>
            </p>
            <HeldStatus write=flow_write of=Signal::derive(move || Some(write.get())) />
            <FlowWriteStatus write=flow_write />
        </form>
    }
    .into_any()
}

/// The permissions an upgrade adds and drops.
#[component]
fn RscChangeView(change: RscChange) -> impl IntoView {
    let i18n = use_i18n();
    if change.is_unchanged() {
        return view! { <p data-testid="rsc-change">{i18n.text("upgrade.rsc_unchanged")}</p> }
            .into_any();
    }
    let RscChange { added, removed, .. } = change;
    view! {
        <div data-testid="rsc-change">
            {(!added.is_empty()).then(|| view! { <p>{i18n.text("upgrade.rsc_added")}</p> <RscList permissions=added /> })}
            {(!removed.is_empty()).then(|| view! { <p>{i18n.text("upgrade.rsc_removed")}</p> <RscList permissions=removed /> })}
        </div>
    }
    .into_any()
}
