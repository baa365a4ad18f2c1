//! The consent model (issue #11's pure half): an app's resource-specific permissions (RSC) as
//! required by a definition, consented by an installation and granted to the user, side by side,
//! with what an upgrade to the latest published definition changes; orphan grants; whether a
//! proposed consent is valid under Graph's rule (the whole required set, all or nothing, once
//! it holds any application permission; omitted only for a delegated-only requirement), why
//! not, the exact `consentedPermissionSet` body, and the delegated scope the action needs (the
//! consent scope for any consented set: [`operation_for`]).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::models::{
    AppDefinition, Installation, PermissionGrant, PermissionType, ResourceSpecificPermission,
};
use crate::auth::scopes::Operation;

/// A permission's identity: its value, compared without case (Graph's values are
/// `TeamsActivity.Send.User` and the like; a grant may spell them differently).
fn key(value: &str) -> String {
    value.to_ascii_lowercase()
}

/// A grant's `permissionType` (a plain string, `"Application"`), parsed like the enum.
pub fn grant_type(grant: &PermissionGrant) -> PermissionType {
    match grant
        .permission_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("application") => PermissionType::Application,
        Some("delegated") => PermissionType::Delegated,
        _ => PermissionType::UnknownFutureValue,
    }
}

/// What an upgrade to the latest published definition does to a permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpgradeChange {
    Added,
    Removed,
    Kept,
}

/// Where one permission stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PermissionState {
    /// Required, consented and granted: as it should be.
    InPlace,
    /// Consented and required, but no grant found (yet).
    ConsentedNotGranted,
    /// The definition requires it; the installation did not consent to it.
    RequiredNotConsented,
    /// Consented (or granted), but the installed definition no longer requires it.
    NoLongerRequired,
    /// Required and not consented, which is allowed: a delegated-only requirement may be
    /// omitted.
    NotConsentedOptional,
    /// Only the latest published definition requires it: the upgrade will ask for it.
    NotYetRequired,
}

/// One row of the editor: a permission with the three columns and the upgrade's effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionRow {
    /// The value as the definition (else the consent, else the grant) spells it.
    pub permission: String,
    pub kind: PermissionType,
    /// In the installed definition's required set (the target definition's for a new install).
    pub required: bool,
    pub consented: bool,
    pub granted: bool,
    pub state: PermissionState,
    /// What an upgrade to the latest published definition does, when it differs.
    pub upgrade: Option<UpgradeChange>,
}

/// The three columns of one app for one user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppConsent {
    pub rows: Vec<PermissionRow>,
}

fn set_of(perms: &[ResourceSpecificPermission]) -> BTreeMap<String, &ResourceSpecificPermission> {
    perms
        .iter()
        .map(|p| (key(&p.permission_value), p))
        .collect()
}

/// The rows for an app: `installed` is the installation's definition (or the definition about
/// to be installed), `latest` the latest published one, `installation` the user's installation
/// (none before an install), `grants` the user's RSC grants of this app (see
/// [`grants_of_app`]).
pub fn compare(
    installed: &AppDefinition,
    latest: Option<&AppDefinition>,
    installation: Option<&Installation>,
    grants: &[&PermissionGrant],
) -> AppConsent {
    let required = installed.required_permissions();
    let consented: Vec<ResourceSpecificPermission> = installation
        .and_then(|i| i.consented_permission_set.as_ref())
        .map(|s| s.resource_specific_permissions.clone())
        .unwrap_or_default();
    let next = latest
        .filter(|l| l.id != installed.id)
        .map(AppDefinition::required_permissions);
    let delegated_only = required
        .iter()
        .all(|p| p.permission_type == PermissionType::Delegated);
    let required_set = set_of(&required);
    let consented_set = set_of(&consented);
    let next_set = next.as_deref().map(set_of);
    let granted: BTreeMap<String, &PermissionGrant> = grants
        .iter()
        .filter_map(|g| g.permission.as_deref().map(|p| (key(p), *g)))
        .collect();
    let mut names: Vec<String> = required_set
        .keys()
        .chain(consented_set.keys())
        .chain(granted.keys())
        .chain(next_set.iter().flat_map(|s| s.keys()))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    let rows = names
        .into_iter()
        .map(|name| {
            let from = required_set
                .get(&name)
                .or_else(|| consented_set.get(&name))
                .or_else(|| next_set.as_ref().and_then(|s| s.get(&name)))
                .copied();
            let grant = granted.get(&name).copied();
            let permission = from
                .map(|p| p.permission_value.clone())
                .or_else(|| grant.and_then(|g| g.permission.clone()))
                .unwrap_or_else(|| name.clone());
            let kind = from
                .map(|p| p.permission_type)
                .or_else(|| grant.map(grant_type))
                .unwrap_or(PermissionType::UnknownFutureValue);
            let is_required = required_set.contains_key(&name);
            let is_consented = consented_set.contains_key(&name);
            let is_granted = grant.is_some();
            let state = match (is_required, is_consented, is_granted) {
                (true, true, true) => PermissionState::InPlace,
                (true, true, false) => PermissionState::ConsentedNotGranted,
                (true, false, _) if delegated_only && installation.is_some() => {
                    PermissionState::NotConsentedOptional
                }
                (true, false, _) => PermissionState::RequiredNotConsented,
                (false, false, false) => PermissionState::NotYetRequired,
                (false, _, _) => PermissionState::NoLongerRequired,
            };
            let upgrade =
                next_set
                    .as_ref()
                    .and_then(|next| match (is_required, next.contains_key(&name)) {
                        (false, true) => Some(UpgradeChange::Added),
                        (true, false) => Some(UpgradeChange::Removed),
                        (true, true) => Some(UpgradeChange::Kept),
                        (false, false) => None,
                    });
            PermissionRow {
                permission,
                kind,
                required: is_required,
                consented: is_consented,
                granted: is_granted,
                state,
                upgrade,
            }
        })
        .filter(|row| row.required || row.consented || row.granted || row.upgrade.is_some())
        .collect();
    AppConsent { rows }
}

/// The user's grants that belong to the app whose Entra application id is `client_app_id`
/// (either grant id field may name it: see `PermissionGrant::is_for_application`).
pub fn grants_of_app<'a>(
    grants: &'a [PermissionGrant],
    client_app_id: &str,
) -> Vec<&'a PermissionGrant> {
    grants
        .iter()
        .filter(|g| g.is_for_application(client_app_id))
        .collect()
}

/// Grants of apps the user has no installation of: orphans. `installed_client_app_ids` are
/// the Entra application ids of the user's installed definitions.
pub fn orphan_grants<'a>(
    grants: &'a [PermissionGrant],
    installed_client_app_ids: &[&str],
) -> Vec<&'a PermissionGrant> {
    grants
        .iter()
        .filter(|g| {
            !installed_client_app_ids
                .iter()
                .any(|id| g.is_for_application(id))
        })
        .collect()
}

/// Grants keyed by the id that names their application (`clientAppId`, else `clientId`): how
/// orphan grants (no installation to match them) are grouped.
pub fn by_client<'a>(
    grants: impl Iterator<Item = &'a PermissionGrant>,
) -> BTreeMap<String, Vec<&'a PermissionGrant>> {
    let mut groups: BTreeMap<String, Vec<&PermissionGrant>> = BTreeMap::new();
    for grant in grants {
        let id = grant
            .client_app_id
            .clone()
            .or_else(|| grant.client_id.clone())
            .unwrap_or_default();
        groups.entry(id).or_default().push(grant);
    }
    groups
}

/// A user's grants of one app, against that app's installation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantGroup {
    /// The app's name (its installed definition's), or the grant's client id for an orphan.
    pub app: String,
    /// The Entra application id the grants name.
    pub client_app_id: String,
    /// No installation of this app for the user: the grants are orphans.
    pub orphan: bool,
    /// One row per granted permission, with its state against the installation.
    pub rows: Vec<PermissionRow>,
}

/// The user's grants grouped by app, matched to installations through each installed
/// definition's `authorization.clientAppId`; grants of apps the user has not installed come
/// last, flagged as orphans.
pub fn group_grants(grants: &[PermissionGrant], installations: &[Installation]) -> Vec<GrantGroup> {
    let mut groups = Vec::new();
    let mut matched = vec![false; grants.len()];
    for installation in installations {
        let Some(definition) = installation.teams_app_definition.as_ref() else {
            continue;
        };
        let Some(client_app_id) = definition
            .authorization
            .as_ref()
            .and_then(|a| a.client_app_id.clone())
        else {
            continue;
        };
        let mine: Vec<&PermissionGrant> = grants
            .iter()
            .enumerate()
            .filter(|(_, g)| g.is_for_application(&client_app_id))
            .map(|(i, g)| {
                matched[i] = true;
                g
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        let rows = compare(definition, None, Some(installation), &mine)
            .rows
            .into_iter()
            .filter(|r| r.granted)
            .collect();
        groups.push(GrantGroup {
            app: super::models::installation_name(installation),
            client_app_id,
            orphan: false,
            rows,
        });
    }
    let orphans = by_client(
        grants
            .iter()
            .zip(&matched)
            .filter(|(_, m)| !**m)
            .map(|(g, _)| g),
    );
    for (client_app_id, list) in orphans {
        let rows = list
            .iter()
            .map(|g| PermissionRow {
                permission: g.permission.clone().unwrap_or_default(),
                kind: grant_type(g),
                required: false,
                consented: false,
                granted: true,
                state: PermissionState::NoLongerRequired,
                upgrade: None,
            })
            .collect();
        groups.push(GrantGroup {
            app: client_app_id.clone(),
            client_app_id,
            orphan: true,
            rows,
        });
    }
    groups
}

/// Why a proposed consent would be refused by Graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Invalid {
    /// Application permissions are required, so the whole set must be consented: these are
    /// missing from the proposal.
    Missing(Vec<ResourceSpecificPermission>),
    /// The proposal holds permissions the definition does not require.
    Extra(Vec<ResourceSpecificPermission>),
    /// Both at once.
    MissingAndExtra {
        missing: Vec<ResourceSpecificPermission>,
        extra: Vec<ResourceSpecificPermission>,
    },
}

impl Invalid {
    /// The i18n key of the reason, in words a user understands.
    pub fn reason_key(&self) -> &'static str {
        match self {
            Invalid::Missing(_) => "consent.invalid.missing",
            Invalid::Extra(_) => "consent.invalid.extra",
            Invalid::MissingAndExtra { .. } => "consent.invalid.missing_and_extra",
        }
    }
}

fn same(a: &ResourceSpecificPermission, b: &ResourceSpecificPermission) -> bool {
    a.permission_type == b.permission_type && key(&a.permission_value) == key(&b.permission_value)
}

/// Whether `proposed` is a consent Graph accepts for `required` (a definition's whole set):
/// equal to it, or, for a delegated-only requirement (or none), omitted.
pub fn validate(
    required: &[ResourceSpecificPermission],
    proposed: Option<&[ResourceSpecificPermission]>,
) -> Result<(), Invalid> {
    let delegated_only = required
        .iter()
        .all(|p| p.permission_type == PermissionType::Delegated);
    let Some(proposed) = proposed else {
        return if delegated_only {
            Ok(())
        } else {
            Err(Invalid::Missing(required.to_vec()))
        };
    };
    let missing: Vec<_> = required
        .iter()
        .filter(|r| !proposed.iter().any(|p| same(p, r)))
        .cloned()
        .collect();
    let extra: Vec<_> = proposed
        .iter()
        .filter(|p| !required.iter().any(|r| same(p, r)))
        .cloned()
        .collect();
    match (missing.is_empty(), extra.is_empty()) {
        (true, true) => Ok(()),
        (false, true) => Err(Invalid::Missing(missing)),
        (true, false) => Err(Invalid::Extra(extra)),
        (false, false) => Err(Invalid::MissingAndExtra { missing, extra }),
    }
}

/// The exact `consentedPermissionSet` body (types lowercase, as Graph answers them).
pub fn consent_body(proposed: &[ResourceSpecificPermission]) -> Value {
    json!({
        "resourceSpecificPermissions": proposed.iter().map(|p| json!({
            "permissionValue": p.permission_value,
            "permissionType": p.permission_type,
        })).collect::<Vec<_>>()
    })
}

/// The delegated scope an install or upgrade sending `proposed` needs: any consented
/// permission set that consents to something (application or delegated permissions alike) is
/// sent with `…ReadWriteAndConsentForUser`; no set (or an empty one) with `…ReadWriteForUser`.
///
/// Why not only for application permissions: the one rule Microsoft writes down (footnote 1 of
/// `team-post-installedapps.md`) says the non-consent scopes cannot install apps that need *any*
/// RSC consent; the personal-scope pages are silent, and real Graph may go either way (the dev
/// tenant plays both: `--consent-scope-rule application|any`). Asking up front is right under
/// both readings, costs nothing once an administrator consented the scope for the
/// organisation (it is admin-consented, tenant-wide), and is still asked only when an action
/// sends a consent. The other way, sending with the lesser scope and recovering from Graph's
/// 403 through incremental consent, would cost a refused write per page and a consent prompt
/// in the middle of a bulk job. The portal omits the set for a delegated-only requirement
/// unless the administrator chooses to consent (see `apps::ConsentRequirement`), so installs
/// of such apps keep the lesser scope.
pub fn operation_for(proposed: Option<&[ResourceSpecificPermission]>) -> Operation {
    if proposed.is_some_and(|set| !set.is_empty()) {
        Operation::WriteInstallationsWithConsent
    } else {
        Operation::WriteInstallations
    }
}

/// What a user-scope RSC permission allows, in plain words (an i18n key), and the Graph
/// resources it reaches (from the permission catalogue's paths). `None`: a permission this
/// portal has no description of (shown by name, with "no description").
pub fn describe(permission: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match key(permission).as_str() {
        "teamsactivity.send.user" => (
            "rsc.describe.teams_activity_send_user",
            &["the user's Teams activity feed"][..],
        ),
        "teamsappinstallation.read.user" => (
            "rsc.describe.teams_app_installation_read_user",
            &[
                "/users/{id}/teamwork/installedApps",
                "/users/{id}/teamwork/installedApps/{id}",
                "/users/{id}/teamwork/installedApps/{id}/chat",
                "/appCatalogs/teamsApps/{id}/installations",
            ][..],
        ),
        "inapppurchase.allow.user" => (
            "rsc.describe.in_app_purchase_allow_user",
            &["in-app purchase offers shown to the user"][..],
        ),
        "meetingstage.write.chat" => (
            "rsc.describe.meeting_stage_write_chat",
            &["the meeting stage of the user's chat meetings"][..],
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
