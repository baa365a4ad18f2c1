//! The install pre-flight checklist: one line per check with its state (checking, OK, not
//! needed, a warning or a failure) and, when it is not plain OK, why.

use leptos::prelude::*;
use portal_core::graph::preflight::{Check, CheckState, Item, Note};

use crate::i18n::use_i18n;

fn check_key(check: Check) -> &'static str {
    match check {
        Check::UserExists => "preflight.user_exists",
        Check::PublishedDefinition => "preflight.published",
        Check::NotInstalled => "preflight.not_installed",
        Check::RscSwitch => "preflight.rsc_switch",
        Check::Scope => "preflight.scope",
    }
}

fn check_name(check: Check) -> &'static str {
    match check {
        Check::UserExists => "user-exists",
        Check::PublishedDefinition => "published-definition",
        Check::NotInstalled => "not-installed",
        Check::RscSwitch => "rsc-switch",
        Check::Scope => "scope",
    }
}

fn note_text(i18n: crate::i18n::I18n, note: &Note) -> String {
    match note {
        Note::NoSuchUser => i18n.t("preflight.note.no_such_user"),
        Note::NoPublishedDefinition => i18n.t("preflight.note.no_published"),
        Note::AlreadyInstalled => i18n.t("preflight.note.already_installed"),
        Note::RscDisabled => i18n.t("preflight.note.rsc_disabled"),
        Note::ScopeWillBeAsked(p) => i18n.tf("preflight.note.will_ask", &[("permission", p)]),
        Note::ScopeNeedsAdmin(p) => i18n.tf("preflight.note.needs_admin", &[("permission", p)]),
        Note::UnavailableInCloud => i18n.t("preflight.note.cloud"),
        Note::ReadFailed(message) => i18n.tf("preflight.note.read_failed", &[("message", message)]),
    }
}

/// The checklist for `items` (reactive).
#[component]
pub fn PreflightChecklist(#[prop(into)] items: Signal<Vec<Item>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="preflight" aria-labelledby="preflight-title">
            <h3 id="preflight-title">{i18n.text("preflight.title")}</h3>
            <ul class="checklist" data-testid="preflight">
                {move || {
                    items
                        .get()
                        .into_iter()
                        .map(|item| {
                            let (state, mark, state_key, note) = match &item.state {
                                CheckState::Pending => ("pending", "…", "preflight.state.pending", None),
                                CheckState::Passed => ("passed", "✓", "preflight.state.passed", None),
                                CheckState::NotNeeded => ("not-needed", "–", "preflight.state.not_needed", None),
                                CheckState::Warning(note) => ("warning", "!", "preflight.state.warning", Some(note.clone())),
                                CheckState::Failed(note) => ("failed", "✗", "preflight.state.failed", Some(note.clone())),
                            };
                            view! {
                                <li data-check=check_name(item.check) data-state=state>
                                    <span class="check-mark" aria-hidden="true">{mark}</span>
                                    <span class="check-label">{i18n.t(check_key(item.check))}</span>
                                    " "
                                    <span class="check-state">{i18n.t(state_key)}</span>
                                    {note.map(|n| view! { <span class="check-note">{note_text(i18n, &n)}</span> })}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </section>
    }
}
