//! The consent editor of install and upgrade: one row per permission with required /
//! consented / granted side by side, what it allows and what it reaches, the upgrade's diff, a
//! choice per permission, and, recomputed in the same tick as any change, the validity (with
//! the reason in words), the exact `consentedPermissionSet` body and the delegated scope the
//! action needs. Graph's rule (the whole set, all or nothing, once any application permission
//! is required) is explained rather than offered as a choice it would refuse. An installation
//! whose consent Graph did not record (made outside this portal, grants in place) shows its
//! consented column as "not recorded by Graph", never as "no".

use std::collections::BTreeSet;

use leptos::prelude::*;
use portal_core::graph::consent::{
    compare, consent_body, describe, operation_for, validate, Invalid, PermissionRow, UpgradeChange,
};
use portal_core::graph::models::{
    AppDefinition, Installation, PermissionGrant, PermissionType, ResourceSpecificPermission,
};
use portal_core::jobs::audit::consent_not_recorded;

use crate::auth::use_session;
use crate::i18n::use_i18n;

/// The consent a choice proposes: the required permissions checked, `None` when none is
/// (the consent is omitted).
fn proposal_of(
    required: &[ResourceSpecificPermission],
    selected: &BTreeSet<String>,
) -> Option<Vec<ResourceSpecificPermission>> {
    if selected.is_empty() {
        return None;
    }
    Some(
        required
            .iter()
            .filter(|p| selected.contains(&p.permission_value))
            .cloned()
            .collect(),
    )
}

fn names(list: &[ResourceSpecificPermission]) -> String {
    list.iter()
        .map(|p| p.permission_value.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A flow's consent choice: what it sends and why Graph would refuse it (if it would), from
/// the target definition's required set and the permissions checked. The flow owns these; the
/// editor shows them.
#[derive(Clone, Copy)]
pub struct ConsentChoice {
    pub selected: RwSignal<BTreeSet<String>>,
    pub proposal: Memo<Option<Vec<ResourceSpecificPermission>>>,
    pub invalid: Memo<Option<Invalid>>,
}

impl ConsentChoice {
    /// A choice (nothing checked yet) over `required`.
    pub fn new(required: Signal<Vec<ResourceSpecificPermission>>) -> ConsentChoice {
        let selected = RwSignal::new(BTreeSet::new());
        let proposal = Memo::new(move |_| required.with(|r| proposal_of(r, &selected.get())));
        let invalid = Memo::new(move |_| {
            let proposal = proposal.get();
            required.with(|r| validate(r, proposal.as_deref())).err()
        });
        ConsentChoice {
            selected,
            proposal,
            invalid,
        }
    }
}

/// The words for an invalid choice.
pub fn invalid_text(i18n: crate::i18n::I18n, invalid: &Invalid) -> String {
    match invalid {
        Invalid::Missing(list) | Invalid::Extra(list) => {
            i18n.tf(invalid.reason_key(), &[("permissions", &names(list))])
        }
        Invalid::MissingAndExtra { missing, extra } => i18n.tf(
            invalid.reason_key(),
            &[("missing", &names(missing)), ("extra", &names(extra))],
        ),
    }
}

/// The editor for moving to `target` (from `from`, the installed definition, on an upgrade).
/// `grants`: the user's grants of this app, `None` when not read.
#[component]
pub fn ConsentEditor(
    target: AppDefinition,
    #[prop(optional)] from: Option<AppDefinition>,
    #[prop(optional)] installation: Option<Installation>,
    #[prop(optional_no_strip)] grants: Option<Vec<PermissionGrant>>,
    /// The flow's choice, which the editor changes and shows.
    choice: ConsentChoice,
) -> impl IntoView {
    let i18n = use_i18n();
    let session = use_session();
    let required = target.required_permissions();
    let grants_read = grants.is_some();
    // Graph answered no consented set for this installation, yet its grants are there.
    let unrecorded = installation
        .as_ref()
        .zip(grants.as_deref())
        .is_some_and(|(i, g)| consent_not_recorded(i, g));
    let grant_list = grants.unwrap_or_default();
    let grant_refs: Vec<&PermissionGrant> = grant_list.iter().collect();
    let rows: Vec<PermissionRow> = match &from {
        Some(from) => compare(from, Some(&target), installation.as_ref(), &grant_refs).rows,
        None => compare(&target, None, installation.as_ref(), &grant_refs).rows,
    };
    let upgrading = from.is_some();
    let has_application = required
        .iter()
        .any(|p| p.permission_type == PermissionType::Application);
    let ConsentChoice {
        selected,
        proposal,
        invalid,
    } = choice;
    if required.is_empty() {
        return view! { <p class="muted" data-testid="consent-none">{i18n.text("consent.editor.none")}</p> }
            .into_any();
    }
    let all: Vec<String> = required
        .iter()
        .map(|p| p.permission_value.clone())
        .collect();
    let all_for_toggle = all.clone();
    let whole_set = Memo::new(move |_| selected.with(|s| all.iter().all(|p| s.contains(p))));
    let body = move || {
        proposal
            .get()
            .map(|p| portal_core::graph::write::pretty_json(&consent_body(&p)))
    };
    let scope = move || operation_for(proposal.get().as_deref());
    let held = move || {
        session
            .granted
            .with(|g| g.iter().any(|p| p == scope().permission()))
    };
    let rows = StoredValue::new(rows);
    // The rows are re-rendered as a whole when the language changes (their text is plain, not a
    // closure per cell: smaller); the choices live in `selected` and survive that.
    let table_rows = move || {
        i18n.lang();
        rows.with_value(|rows| {
            rows.iter()
                .map(|row| {
                    let target_required = match (upgrading, row.upgrade) {
                        (true, Some(UpgradeChange::Added | UpgradeChange::Kept)) => true,
                        (true, _) => false,
                        (false, _) => row.required,
                    };
                    view! { <EditorRow row=row.clone() target_required=target_required grants_read=grants_read unrecorded=unrecorded upgrading=upgrading selected=selected /> }
                })
                .collect_view()
        })
    };
    view! {
        <fieldset class="consent-editor" data-testid="consent-editor">
            <legend>{i18n.text("consent.editor.title")}</legend>
            <p data-testid="consent-rule">{move || if has_application { i18n.t("consent.editor.all_or_nothing") } else { i18n.t("consent.editor.delegated_only") }}</p>
            {unrecorded.then(|| view! { <p class="notice" data-testid="consent-not-recorded">{i18n.text("consent.editor.consent_not_recorded")}</p> })}
            <p>
                <input type="checkbox" id="consent-confirm" data-testid="consent-confirm"
                    prop:checked=move || whole_set.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        let all = all_for_toggle.clone();
                        selected.set(if on { all.into_iter().collect() } else { BTreeSet::new() });
                    } />
                " "
                <label for="consent-confirm">{i18n.text("consent.editor.whole_set")}</label>
            </p>
            <table class="data-table consent-table" data-testid="consent-rows">
                <thead>
                    <tr>
                        <th scope="col">{i18n.text("consent.editor.col.permission")}</th>
                        <th scope="col">{i18n.text("consent.editor.col.allows")}</th>
                        <th scope="col">{i18n.text("consent.editor.col.required")}</th>
                        <th scope="col">{i18n.text("consent.editor.col.consented")}</th>
                        <th scope="col">{i18n.text("consent.editor.col.granted")}</th>
                        {upgrading.then(|| view! { <th scope="col">{i18n.text("consent.editor.col.change")}</th> })}
                        <th scope="col">{i18n.text("consent.editor.col.consent")}</th>
                    </tr>
                </thead>
                <tbody>{table_rows}</tbody>
            </table>
            <p id="consent-validity" data-testid="consent-validity" role="status" class=move || if invalid.get().is_some() { "error" } else { "muted" }>
                {move || match invalid.get() {
                    Some(reason) => invalid_text(i18n, &reason),
                    None => i18n.t("consent.editor.valid"),
                }}
            </p>
            <p data-testid="consent-scope">
                {move || i18n.tf("consent.editor.scope", &[("permission", scope().permission())])}
                " "
                {move || if held() { i18n.t("consent.editor.scope_held") } else { i18n.t("consent.editor.scope_asked") }}
            </p>
            <p>{i18n.text("consent.editor.body")}</p>
            {move || match body() {
                Some(text) => view! { <pre tabindex="0" data-testid="consent-body"><code>{text}</code></pre> }.into_any(),
                None => view! { <p class="muted" data-testid="consent-body">{i18n.t("consent.editor.no_body")}</p> }.into_any(),
            }}
        </fieldset>
    }
    .into_any()
}

/// One permission: its name and kind, what it allows, the three columns, the upgrade's
/// change, and its consent choice (only for what the target definition requires).
/// `unrecorded`: Graph did not record the installation's consent (its column says so).
#[component]
fn EditorRow(
    row: PermissionRow,
    target_required: bool,
    grants_read: bool,
    unrecorded: bool,
    upgrading: bool,
    selected: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let yes_no = |v: bool| {
        if v {
            i18n.t("consent.editor.yes")
        } else {
            i18n.t("consent.editor.no")
        }
    };
    let kind = i18n.t(row.kind.label_key());
    let allows = match describe(&row.permission) {
        Some((key, reaches)) => format!(
            "{} {}: {}",
            i18n.t(key),
            i18n.t("consent.editor.reaches"),
            reaches.join(", ")
        ),
        None => i18n.t("consent.editor.no_description"),
    };
    let granted = if grants_read {
        yes_no(row.granted)
    } else {
        i18n.t("consent.editor.unknown")
    };
    let change = row.upgrade.map(|c| match c {
        UpgradeChange::Added => ("added", i18n.t("consent.editor.added")),
        UpgradeChange::Removed => ("removed", i18n.t("consent.editor.removed")),
        UpgradeChange::Kept => ("kept", i18n.t("consent.editor.kept")),
    });
    let label = i18n.tf(
        "consent.editor.consent_label",
        &[("permission", &row.permission)],
    );
    let value = StoredValue::new(row.permission.clone());
    view! {
        <tr data-permission=row.permission.clone() data-state=format!("{:?}", row.state)>
            <th scope="row"><code>{row.permission.clone()}</code> " " <span class="tag">{kind}</span></th>
            <td>{allows}</td>
            <td data-col="required">{yes_no(target_required)}</td>
            <td data-col="consented" data-recorded=(!unrecorded).to_string()>
                {if unrecorded { i18n.t("consent.editor.not_recorded") } else { yes_no(row.consented) }}
            </td>
            <td data-col="granted">{granted}</td>
            {upgrading.then(|| {
                let (name, text) = change.clone().unzip();
                view! { <td data-col="change" data-change=name>{text}</td> }
            })}
            <td>
                {target_required.then(|| view! {
                    <input type="checkbox" data-testid="consent-choice" aria-label=label
                        prop:checked=move || value.with_value(|v| selected.with(|s| s.contains(v)))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            let v = value.get_value();
                            selected.update(|s| {
                                if on {
                                    s.insert(v);
                                } else {
                                    s.remove(&v);
                                }
                            });
                        } />
                })}
            </td>
        </tr>
    }
}
