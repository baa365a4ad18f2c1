//! The uninstall flow: what goes (the app and its consented RSC), "Show request", the write.

use leptos::prelude::*;
use portal_core::graph::apps::installation_name;
use portal_core::graph::ids::{CatalogAppId, InstallationId};
use portal_core::graph::models::Installation;
use portal_core::graph::write::Write;

use super::write_status::{use_flow_write, FlowWriteStatus, HeldStatus};
use super::Subject;
use crate::components::rsc_list::RscList;
use crate::components::show_request::ShowRequest;
use crate::context::use_config;
use crate::i18n::use_i18n;

#[component]
pub fn UninstallFlow(installation: Installation, subject: Subject) -> impl IntoView {
    let i18n = use_i18n();
    let config = use_config();
    let name = installation_name(&installation);
    let consented = installation
        .consented_permission_set
        .as_ref()
        .map(|s| s.resource_specific_permissions.clone())
        .unwrap_or_default();
    let app_id = installation
        .teams_app
        .as_ref()
        .map(|a| a.id.clone())
        .unwrap_or_default();
    let write = Write::uninstall(
        subject.user.clone(),
        CatalogAppId::new(app_id),
        InstallationId::new(installation.id.clone()),
    );
    let commands = write.commands(
        config.cloud.graph_host(),
        &config.graph_base_url(),
        &subject.named,
    );
    let flow_write = use_flow_write();
    let blocked = {
        let write = write.clone();
        move || flow_write.blocked(&write)
    };
    let held_of = {
        let write = write.clone();
        Signal::derive(move || Some(write.clone()))
    };
    let submit = {
        let (name, user_name) = (name.clone(), subject.name.clone());
        let blocked = blocked.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            if blocked() {
                return;
            }
            flow_write.submit(
                write.clone(),
                i18n.tf("uninstall.label", &[("app", &name), ("user", &user_name)]),
                i18n.tf("uninstall.done", &[("app", &name), ("user", &user_name)]),
            );
        }
    };
    let (title_name, body_name, user_name) = (name.clone(), name, subject.name.clone());
    let has_rsc = !consented.is_empty();
    view! {
        <form class="flow uninstall-flow" data-testid="uninstall-flow" on:submit=submit>
            <h3>{move || i18n.tf("uninstall.title", &[("app", &title_name)])}</h3>
            <p>{move || i18n.tf("uninstall.body", &[("app", &body_name), ("user", &user_name)])}</p>
            <Show when=move || has_rsc fallback=move || view! { <p class="muted">{i18n.text("uninstall.no_rsc")}</p> }>
                <RscList permissions=consented.clone() />
            </Show>
            <ShowRequest commands=commands />
            <p>
                <button type="submit" class="danger" data-testid="submit-uninstall" disabled=blocked>
                    {i18n.text("uninstall.submit")}
                </button>
            </p>
            <HeldStatus write=flow_write of=held_of />
            <FlowWriteStatus write=flow_write />
        </form>
    }
}
