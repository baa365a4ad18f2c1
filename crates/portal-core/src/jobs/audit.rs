//! The consent audit: for one app or all, across users, each installation with its version and
//! consented permission set against the latest published definition, the user's RSC grants of
//! the app (missing ones, and orphans: granted but not consented, or of an app not installed),
//! plus each app's tenant-wide delegated grants (`oauth2PermissionGrants`) and app-role
//! assignments through its service principal. Rows filter by app, user and state, and export
//! to CSV (formula-safe) and JSON.
//!
//! An audit never reports what it did not read: an audit of one app matches only that app's
//! grants (Graph answers all of the user's grants, but only the audited app's installations);
//! an installation whose consent Graph did not record (made outside this portal) makes its
//! grants "consent not recorded", not orphans. A listed user (id or UPN) is resolved first and
//! every later read addresses the object id (`/users/{user-id}/permissionGrants` documents
//! nothing else).

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use super::engine::{ErrorSummary, ReadTask};
use super::export::to_csv;
use crate::graph::apps::{compare_versions, latest_published};
use crate::graph::encode::UserRef;
use crate::graph::ids::CatalogAppId;
use crate::graph::models::{
    Installation, PermissionGrant, PermissionType, ResourceSpecificPermission, TeamsApp, User,
};
use crate::graph::request;

/// The labels of an audit's reads.
pub const READ_INSTALLATIONS: u8 = 0;
pub const READ_GRANTS: u8 = 1;
pub const READ_USER: u8 = 2;

/// A listed user's first read: `GET /users/{key}` with the key as listed (object id or UPN).
/// The object id it answers addresses the user's audit reads ([`audit_task`]).
pub fn resolve_task(key: &str, graph_base: &str) -> ReadTask {
    ReadTask::new(
        vec![(READ_USER, request::resolve_user(&UserRef::from_key(key)))],
        graph_base,
    )
}

/// The user a [`resolve_task`] read, or why there is none (Graph's error; a 404 when no user
/// has that id or UPN).
pub fn resolved_user(reads: &ReadTask) -> Result<User, ErrorSummary> {
    if let Some(error) = &reads.error {
        return Err(error.clone());
    }
    reads
        .object(READ_USER)
        .and_then(|v| serde_json::from_value::<User>(v.clone()).ok())
        .filter(|u| !u.id.trim().is_empty())
        .ok_or_else(|| ErrorSummary {
            status: Some(200),
            code: "noUserId".into(),
            message: "Graph's answer named no user id.".into(),
            request_id: None,
        })
}

/// One user's audit reads, addressed by object id: their installations (of `app`, or all) and
/// their RSC grants (all of them: `permissionGrants` takes no query option).
pub fn audit_task(user_id: &str, app: Option<&CatalogAppId>, graph_base: &str) -> ReadTask {
    let user = UserRef::ObjectId(user_id.trim().to_string());
    ReadTask::new(
        vec![
            (READ_INSTALLATIONS, request::list_installations(&user, app)),
            (READ_GRANTS, request::permission_grants(&user)),
        ],
        graph_base,
    )
}

/// The row of a listed user that could not be resolved: `key` as listed, Graph's error.
pub fn unresolved_row(key: &str, error: ErrorSummary) -> AuditRow {
    let mut row = AuditRow::empty(
        User {
            id: key.to_string(),
            display_name: None,
            user_principal_name: None,
            mail: None,
            user_type: None,
            job_title: None,
            account_enabled: None,
        },
        String::new(),
        String::new(),
    );
    row.flags.push(Flag::ReadFailed);
    row.error = Some(error);
    row
}

/// The Entra application id of an installation's definition (`authorization.clientAppId`).
fn client_app_id_of(installation: &Installation) -> Option<&str> {
    installation
        .teams_app_definition
        .as_ref()
        .and_then(|d| d.authorization.as_ref())
        .and_then(|a| a.client_app_id.as_deref())
}

/// Whether Graph left an installation's consent unrecorded although the user holds grants of
/// its app: `consentedPermissionSet` null (or absent) while `grants` (the user's, any app's)
/// hold some of the installation's Entra application. Installations made outside this portal
/// (from the Teams client, by a setup policy, by another tool) may come back so: their grants
/// are then "consent not recorded by Graph", neither orphans nor "no longer required".
pub fn consent_not_recorded(installation: &Installation, grants: &[PermissionGrant]) -> bool {
    installation.consented_permission_set.is_none()
        && client_app_id_of(installation)
            .is_some_and(|client| grants.iter().any(|g| g.is_for_application(client)))
}

/// The Entra application ids of a catalog app: its definitions' and its installations'.
fn client_app_ids(
    app: &CatalogAppId,
    catalog: &[TeamsApp],
    installations: &[Installation],
) -> Vec<String> {
    let mut ids: Vec<String> = catalog
        .iter()
        .filter(|a| app.matches(&a.id))
        .flat_map(|a| &a.app_definitions)
        .filter_map(|d| d.authorization.as_ref()?.client_app_id.clone())
        .chain(
            installations
                .iter()
                .filter_map(|i| client_app_id_of(i).map(str::to_string)),
        )
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// What is wrong with a row (none: as it should be).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The installed definition is older than the latest published one.
    VersionBehind,
    /// The consented set lacks permissions the latest published definition requires.
    ConsentBehind,
    /// A consented permission has no grant.
    MissingGrants,
    /// A grant with no consent behind it (or of an app the user has not installed).
    OrphanGrants,
    /// Graph did not record the installation's consent (`consentedPermissionSet` null) although
    /// the user holds grants of the app: installed outside this portal. Not a mismatch.
    ConsentNotRecorded,
    /// The user's installations or grants could not be read.
    ReadFailed,
}

impl Flag {
    pub const ALL: [Flag; 6] = [
        Flag::VersionBehind,
        Flag::ConsentBehind,
        Flag::MissingGrants,
        Flag::OrphanGrants,
        Flag::ConsentNotRecorded,
        Flag::ReadFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::VersionBehind => "version_behind",
            Flag::ConsentBehind => "consent_behind",
            Flag::MissingGrants => "missing_grants",
            Flag::OrphanGrants => "orphan_grants",
            Flag::ConsentNotRecorded => "consent_not_recorded",
            Flag::ReadFailed => "read_failed",
        }
    }

    /// A mismatch of consent (not merely an old version, nor a consent Graph did not record).
    pub fn is_mismatch(self) -> bool {
        !matches!(self, Flag::VersionBehind | Flag::ConsentNotRecorded)
    }
}

/// One user and one app (an installation, or orphan grants of an app not installed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub user_id: String,
    pub user_principal_name: String,
    pub display_name: String,
    /// The catalog app id; for orphan grants of an app not installed, the grant's client id.
    pub app_id: String,
    pub app_name: String,
    pub installation_id: Option<String>,
    pub installed_version: Option<String>,
    pub latest_version: Option<String>,
    /// `Value (Type)` sorted.
    pub consented: Vec<String>,
    pub required_latest: Vec<String>,
    pub granted: Vec<String>,
    pub missing_grants: Vec<String>,
    pub orphan_grants: Vec<String>,
    pub flags: Vec<Flag>,
    pub error: Option<ErrorSummary>,
}

impl AuditRow {
    /// A row of `user` and an app, nothing read into it yet.
    fn empty(user: User, app_id: String, app_name: String) -> AuditRow {
        AuditRow {
            user_principal_name: user.user_principal_name.unwrap_or_default(),
            display_name: user.display_name.unwrap_or_default(),
            user_id: user.id,
            app_id,
            app_name,
            installation_id: None,
            installed_version: None,
            latest_version: None,
            consented: Vec::new(),
            required_latest: Vec::new(),
            granted: Vec::new(),
            missing_grants: Vec::new(),
            orphan_grants: Vec::new(),
            flags: Vec::new(),
            error: None,
        }
    }

    /// Graph did not record this installation's consent (see [`consent_not_recorded`]).
    pub fn consent_not_recorded(&self) -> bool {
        self.flags.contains(&Flag::ConsentNotRecorded)
    }

    pub fn is_mismatch(&self) -> bool {
        self.flags.iter().any(|f| f.is_mismatch())
    }

    /// `ok`, or the flags joined with `;`.
    pub fn state(&self) -> String {
        if self.flags.is_empty() {
            "ok".into()
        } else {
            self.flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(";")
        }
    }
}

fn permission_label(p: &ResourceSpecificPermission) -> String {
    format!("{} ({})", p.permission_value, p.permission_type.as_str())
}

fn grant_label(g: &PermissionGrant) -> String {
    let kind = crate::graph::consent::grant_type(g);
    format!(
        "{} ({})",
        g.permission.as_deref().unwrap_or(""),
        kind.as_str()
    )
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// A user's rows from their audit reads; `catalog` gives each app's latest published
/// definition; `app` is the audited app (`None`: all apps). Only what was read is reported: in
/// an audit of one app, the grants of other apps (whose installations were not read) are left
/// out, and grants with no installation are orphans only when of the audited app.
pub fn rows_of_user(
    user: &User,
    reads: &ReadTask,
    catalog: &[TeamsApp],
    app: Option<&CatalogAppId>,
) -> Vec<AuditRow> {
    let base = |app_id: String, app_name: String| AuditRow::empty(user.clone(), app_id, app_name);
    if let Some(error) = &reads.error {
        let mut row = base(String::new(), String::new());
        row.flags.push(Flag::ReadFailed);
        row.error = Some(error.clone());
        return vec![row];
    }
    let installations: Vec<Installation> = reads
        .collection(READ_INSTALLATIONS)
        .into_iter()
        .filter_map(|v| serde_json::from_value::<Installation>(v).ok())
        // Graph filtered them to the audited app; one that slipped through was not asked for.
        .filter(|i| app.is_none_or(|a| i.teams_app.as_ref().is_some_and(|t| a.matches(&t.id))))
        .collect();
    let mut grants: Vec<PermissionGrant> = reads
        .collection(READ_GRANTS)
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    if let Some(app) = app {
        let clients = client_app_ids(app, catalog, &installations);
        grants.retain(|g| clients.iter().any(|c| g.is_for_application(c)));
    }
    let mut used = vec![false; grants.len()];
    let mut rows = Vec::new();
    for installation in &installations {
        let app_id = installation
            .teams_app
            .as_ref()
            .map(|a| a.id.clone())
            .unwrap_or_default();
        let definition = installation.teams_app_definition.as_ref();
        let mut row = base(
            app_id.clone(),
            crate::graph::apps::installation_name(installation),
        );
        row.installation_id = Some(installation.id.clone());
        row.installed_version = definition.and_then(|d| d.version.clone());
        let latest = catalog
            .iter()
            .find(|a| same(&a.id, &app_id))
            .and_then(latest_published);
        row.latest_version = latest.and_then(|d| d.version.clone());
        let unrecorded = consent_not_recorded(installation, &grants);
        let consented: Vec<ResourceSpecificPermission> = installation
            .consented_permission_set
            .as_ref()
            .map(|s| s.resource_specific_permissions.clone())
            .unwrap_or_default();
        let required_latest = latest.map(|d| d.required_permissions()).unwrap_or_default();
        row.consented = sorted(consented.iter().map(permission_label));
        row.required_latest = sorted(required_latest.iter().map(permission_label));
        let mut granted_values = BTreeSet::new();
        if let Some(client) = client_app_id_of(installation) {
            for (i, grant) in grants.iter().enumerate() {
                if grant.is_for_application(client) {
                    used[i] = true;
                    let value = grant.permission.clone().unwrap_or_default();
                    granted_values.insert(value.to_ascii_lowercase());
                    row.granted.push(grant_label(grant));
                    // Without a recorded consent, no grant can be said to lack one.
                    if !unrecorded && !consented.iter().any(|c| same(&c.permission_value, &value)) {
                        row.orphan_grants.push(grant_label(grant));
                    }
                }
            }
        }
        row.granted.sort();
        row.orphan_grants.sort();
        row.missing_grants = sorted(
            consented
                .iter()
                .filter(|c| !granted_values.contains(&c.permission_value.to_ascii_lowercase()))
                .map(permission_label),
        );
        if let (Some(installed), Some(latest)) = (&row.installed_version, &row.latest_version) {
            if compare_versions(installed, latest).is_lt() {
                row.flags.push(Flag::VersionBehind);
            }
        }
        let delegated_only = required_latest
            .iter()
            .all(|p| p.permission_type == PermissionType::Delegated);
        // What was consented: the recorded set, else (not recorded) what the grants show.
        let has = |value: &str| {
            if unrecorded {
                granted_values.contains(&value.to_ascii_lowercase())
            } else {
                consented.iter().any(|c| same(&c.permission_value, value))
            }
        };
        let lacks = required_latest.iter().any(|r| !has(&r.permission_value));
        let nothing_consented = if unrecorded {
            granted_values.is_empty()
        } else {
            consented.is_empty()
        };
        if lacks && !(delegated_only && nothing_consented) {
            row.flags.push(Flag::ConsentBehind);
        }
        if !row.missing_grants.is_empty() {
            row.flags.push(Flag::MissingGrants);
        }
        if !row.orphan_grants.is_empty() {
            row.flags.push(Flag::OrphanGrants);
        }
        if unrecorded {
            row.flags.push(Flag::ConsentNotRecorded);
        }
        rows.push(row);
    }
    // Grants of apps the user has no installation of, one row per app.
    let orphans = crate::graph::consent::by_client(
        grants
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(g, _)| g),
    );
    for (client, list) in orphans {
        let name = catalog
            .iter()
            .find(|a| {
                a.app_definitions.iter().any(|d| {
                    d.authorization
                        .as_ref()
                        .and_then(|x| x.client_app_id.as_deref())
                        .is_some_and(|c| list.iter().any(|g| g.is_for_application(c)))
                })
            })
            .and_then(|a| a.display_name.clone())
            .unwrap_or_else(|| client.clone());
        let mut row = base(client, name);
        row.granted = sorted(list.iter().map(|g| grant_label(g)));
        row.orphan_grants = row.granted.clone();
        row.flags.push(Flag::OrphanGrants);
        rows.push(row);
    }
    rows
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut list: Vec<String> = items.collect();
    list.sort();
    list
}

/// The filters of the audit table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Catalog app id (exact, any case).
    pub app: Option<String>,
    /// Part of the user's UPN, name or id.
    pub user: String,
    pub flag: Option<Flag>,
    pub mismatch_only: bool,
}

impl AuditFilter {
    pub fn keeps(&self, row: &AuditRow) -> bool {
        let user = self.user.trim().to_lowercase();
        self.app.as_deref().is_none_or(|a| same(a, &row.app_id))
            && (user.is_empty()
                || row.user_principal_name.to_lowercase().contains(&user)
                || row.display_name.to_lowercase().contains(&user)
                || row.user_id.to_lowercase().contains(&user))
            && self.flag.is_none_or(|f| row.flags.contains(&f))
            && (!self.mismatch_only || row.is_mismatch())
    }
}

/// The CSV header of the export.
pub const CSV_HEADER: [&str; 14] = [
    "userId",
    "userPrincipalName",
    "displayName",
    "appId",
    "appName",
    "installationId",
    "installedVersion",
    "latestVersion",
    "consentedPermissions",
    "requiredByLatest",
    "grantedPermissions",
    "missingGrants",
    "orphanGrants",
    "state",
];

/// The rows as CSV (lists joined with `; `, cells neutralised against formula injection).
pub fn to_csv_text(rows: &[&AuditRow]) -> Result<String, String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let records: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.user_id.clone(),
                r.user_principal_name.clone(),
                r.display_name.clone(),
                r.app_id.clone(),
                r.app_name.clone(),
                opt(&r.installation_id),
                opt(&r.installed_version),
                opt(&r.latest_version),
                r.consented.join("; "),
                r.required_latest.join("; "),
                r.granted.join("; "),
                r.missing_grants.join("; "),
                r.orphan_grants.join("; "),
                r.state(),
            ]
        })
        .collect();
    to_csv(&CSV_HEADER, &records)
}

/// One app's tenant-wide grants, through its service principal.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TenantGrants {
    pub app_id: String,
    pub app_name: String,
    /// The Entra application id (`authorization.clientAppId`).
    pub client_app_id: String,
    pub service_principal_id: Option<String>,
    /// `oauth2PermissionGrants`: `scope` per grant with its consent type.
    pub delegated: Vec<String>,
    /// `appRoleAssignments`: the resource and role id per assignment.
    pub app_roles: Vec<String>,
    /// The columns Graph would not read with the signed-in user's directory role: "not readable
    /// with your role", never empty lists.
    pub not_readable: Vec<TenantColumn>,
    pub error: Option<ErrorSummary>,
}

/// A column of the tenant-wide grants: each is one read that needs a directory role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TenantColumn {
    /// `GET /oauth2PermissionGrants?$filter=clientId eq '{sp}'`.
    Delegated,
    /// `GET /servicePrincipals/{id}/appRoleAssignments`.
    AppRoles,
}

impl TenantGrants {
    /// Whether `column` was refused for the signed-in user's role.
    pub fn is_readable(&self, column: TenantColumn) -> bool {
        !self.not_readable.contains(&column)
    }
}

/// The directory roles that can read delegated grants (`oauth2PermissionGrants`) and a service
/// principal's app-role assignments, least privileged first (Microsoft's lists for both reads
/// share these; Global Administrator can too). Teams Administrator is not among them.
pub const TENANT_GRANT_READER_ROLES: [&str; 4] = [
    "Directory Readers",
    "Global Reader",
    "Application Administrator",
    "Cloud Application Administrator",
];

/// Whether Graph refused a tenant-wide grant read for the signed-in user's directory role. The
/// portal always sends these reads with a token holding the operation's scope (it asks for the
/// scope first), so a 403 cannot be a missing scope: it is the role (Graph's code, usually
/// `Authorization_RequestDenied`, and its wording are not relied on).
pub fn refused_for_role(error: &ErrorSummary) -> bool {
    error.status == Some(403)
}

/// `oauth2PermissionGrant` values as `scope (consentType[, principalId])`.
pub fn delegated_grants(values: &[Value]) -> Vec<String> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    sorted(values.iter().map(|v| {
        let principal = text(v, "principalId");
        let consent = text(v, "consentType");
        if principal.is_empty() {
            format!("{} ({consent})", text(v, "scope").trim())
        } else {
            format!("{} ({consent}, {principal})", text(v, "scope").trim())
        }
    }))
}

/// `appRoleAssignment` values as `resourceDisplayName: appRoleId`.
pub fn app_role_assignments(values: &[Value]) -> Vec<String> {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    sorted(values.iter().map(|v| {
        format!(
            "{}: {}",
            text(v, "resourceDisplayName"),
            text(v, "appRoleId")
        )
    }))
}

/// The audit as JSON: rows and tenant-wide grants.
pub fn to_json_text(rows: &[&AuditRow], tenant: &[TenantGrants]) -> String {
    let value = serde_json::json!({ "rows": rows, "tenantGrants": tenant });
    crate::graph::write::pretty_json(&value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog() -> Vec<TeamsApp> {
        serde_json::from_value(json!([{
            "id": "app-1", "displayName": "Contoso Tasks", "distributionMethod": "organization",
            "appDefinitions": [
                {"id": "d1", "version": "1.0.0", "publishingState": "published",
                 "authorization": {"clientAppId": "client-1", "requiredPermissionSet": {"resourceSpecificPermissions": [
                    {"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"}]}}},
                {"id": "d2", "version": "2.0.0", "publishingState": "published",
                 "authorization": {"clientAppId": "client-1", "requiredPermissionSet": {"resourceSpecificPermissions": [
                    {"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"},
                    {"permissionValue": "Chat.Read.User", "permissionType": "Application"}]}}}
            ]
        }]))
        .expect("catalog parses")
    }

    fn reads(installations: Value, grants: Value) -> ReadTask {
        use super::super::engine::{Answer, Task};
        let mut task = audit_task("u1", None, "https://graph.microsoft.com/v1.0");
        for body in [installations, grants] {
            task.on_answer(
                Answer::Status {
                    status: 200,
                    retry_after_s: None,
                    body: Some(json!({ "value": body })),
                },
                0,
                0.0,
            );
        }
        task
    }

    fn user() -> User {
        serde_json::from_value(
            json!({"id": "u1", "userPrincipalName": "=cmd@contoso.com", "displayName": "Adele"}),
        )
        .expect("user parses")
    }

    #[test]
    fn an_installation_behind_with_a_missing_and_an_orphan_grant_is_flagged() {
        let installation = json!([{
            "id": "i1", "teamsApp": {"id": "APP-1", "displayName": "Contoso Tasks"},
            "teamsAppDefinition": {"id": "d1", "version": "1.0.0", "displayName": "Contoso Tasks",
                "authorization": {"clientAppId": "client-1"}},
            "consentedPermissionSet": {"resourceSpecificPermissions": [
                {"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"}]}
        }]);
        let grants = json!([
            {"id": "g1", "clientAppId": "client-1", "permission": "Chat.Read.User", "permissionType": "Application"},
            {"id": "g2", "clientId": "client-9", "permission": "Files.Read.User", "permissionType": "Application"}
        ]);
        let rows = rows_of_user(&user(), &reads(installation, grants), &catalog(), None);
        assert_eq!(rows.len(), 2);
        let row = &rows[0];
        assert_eq!(row.installed_version.as_deref(), Some("1.0.0"));
        assert_eq!(row.latest_version.as_deref(), Some("2.0.0"));
        assert_eq!(
            row.flags,
            vec![
                Flag::VersionBehind,
                Flag::ConsentBehind,
                Flag::MissingGrants,
                Flag::OrphanGrants
            ]
        );
        assert_eq!(
            row.missing_grants,
            vec!["TeamsActivity.Send.User (application)"]
        );
        assert_eq!(row.orphan_grants, vec!["Chat.Read.User (application)"]);
        let orphan = &rows[1];
        assert_eq!(orphan.app_id, "client-9");
        assert_eq!(orphan.flags, vec![Flag::OrphanGrants]);
        assert!(orphan.installation_id.is_none());

        let all = rows.iter().collect::<Vec<_>>();
        let csv = to_csv_text(&all).expect("csv");
        let first = csv.lines().nth(1).expect("a row");
        assert!(
            first.contains("'=cmd@contoso.com"),
            "formula neutralised: {first}"
        );
        assert!(first.ends_with("version_behind;consent_behind;missing_grants;orphan_grants"));
        let filter = AuditFilter {
            mismatch_only: true,
            flag: Some(Flag::OrphanGrants),
            ..AuditFilter::default()
        };
        assert_eq!(rows.iter().filter(|r| filter.keeps(r)).count(), 2);
        let filter = AuditFilter {
            app: Some("app-1".into()),
            user: "adele".into(),
            ..AuditFilter::default()
        };
        assert_eq!(rows.iter().filter(|r| filter.keeps(r)).count(), 1);
    }

    #[test]
    fn an_installation_in_order_is_ok_and_not_a_mismatch() {
        let installation = json!([{
            "id": "i1", "teamsApp": {"id": "app-1"},
            "teamsAppDefinition": {"id": "d2", "version": "2.0.0", "authorization": {"clientAppId": "client-1"}},
            "consentedPermissionSet": {"resourceSpecificPermissions": [
                {"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"},
                {"permissionValue": "Chat.Read.User", "permissionType": "Application"}]}
        }]);
        let grants = json!([
            {"id": "g1", "clientAppId": "client-1", "permission": "chat.read.user", "permissionType": "Application"},
            {"id": "g2", "clientAppId": "client-1", "permission": "TeamsActivity.Send.User", "permissionType": "Application"}
        ]);
        let rows = rows_of_user(&user(), &reads(installation, grants), &catalog(), None);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].flags.is_empty(), "{:?}", rows[0].flags);
        assert_eq!(rows[0].state(), "ok");
        assert!(!AuditFilter {
            mismatch_only: true,
            ..AuditFilter::default()
        }
        .keeps(&rows[0]));
    }

    /// Two apps of the catalog with RSC, and a third installed only.
    fn two_app_catalog() -> Vec<TeamsApp> {
        let mut apps = catalog();
        apps.extend(
            serde_json::from_value::<Vec<TeamsApp>>(json!([{
                "id": "app-2", "displayName": "Field Service", "distributionMethod": "organization",
                "appDefinitions": [
                    {"id": "e1", "version": "3.0.0", "publishingState": "published",
                     "authorization": {"clientAppId": "client-2", "requiredPermissionSet": {"resourceSpecificPermissions": [
                        {"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"}]}}}
                ]
            }]))
            .expect("catalog parses"),
        );
        apps
    }

    fn installation_of(
        app: &str,
        client: &str,
        definition: &str,
        version: &str,
        consent: Value,
    ) -> Value {
        json!({
            "id": format!("i-{app}"), "teamsApp": {"id": app},
            "teamsAppDefinition": {"id": definition, "version": version, "authorization": {"clientAppId": client}},
            "consentedPermissionSet": consent
        })
    }

    fn consent_of(values: &[&str]) -> Value {
        json!({"resourceSpecificPermissions": values.iter().map(|v| json!({"permissionValue": v, "permissionType": "application"})).collect::<Vec<_>>()})
    }

    /// The user's grants of both apps, each consented by its installation.
    fn grants_of_both() -> Value {
        json!([
            {"id": "g1", "clientAppId": "client-1", "clientId": "sp-1", "permission": "TeamsActivity.Send.User", "permissionType": "Application"},
            {"id": "g2", "clientAppId": "client-1", "clientId": "sp-1", "permission": "Chat.Read.User", "permissionType": "Application"},
            {"id": "g3", "clientAppId": "client-2", "clientId": "sp-2", "permission": "TeamsActivity.Send.User", "permissionType": "Application"}
        ])
    }

    #[test]
    fn an_audit_of_one_app_reports_no_grant_of_another_app_as_an_orphan() {
        // Graph answers the installations filtered to the audited app, and all the user's grants.
        let installations = json!([installation_of(
            "app-1",
            "client-1",
            "d2",
            "2.0.0",
            consent_of(&["TeamsActivity.Send.User", "Chat.Read.User"])
        )]);
        let reads = reads(installations, grants_of_both());
        let app = CatalogAppId::new("APP-1");
        let rows = rows_of_user(&user(), &reads, &two_app_catalog(), Some(&app));
        assert_eq!(rows.len(), 1, "{rows:#?}");
        assert_eq!(rows[0].app_id, "app-1");
        assert!(rows[0].flags.is_empty(), "{:?}", rows[0].flags);
        assert!(rows.iter().all(|r| r.orphan_grants.is_empty()));
    }

    #[test]
    fn an_audit_of_all_apps_reports_no_false_orphan() {
        // Both apps installed, one of them outside the portal: Graph did not record its consent.
        let installations = json!([
            installation_of(
                "app-1",
                "client-1",
                "d2",
                "2.0.0",
                consent_of(&["TeamsActivity.Send.User", "Chat.Read.User"])
            ),
            installation_of("app-2", "client-2", "e1", "3.0.0", Value::Null)
        ]);
        let reads = reads(installations, grants_of_both());
        let rows = rows_of_user(&user(), &reads, &two_app_catalog(), None);
        assert_eq!(rows.len(), 2, "{rows:#?}");
        assert!(
            rows.iter().all(|r| r.orphan_grants.is_empty()
                && !r.flags.contains(&Flag::OrphanGrants)
                && r.installation_id.is_some()),
            "{rows:#?}"
        );
        // The foreign installation: its grant shown, its consent said not recorded, and
        // nothing else (its grants cover what the latest definition requires).
        let foreign = rows.iter().find(|r| r.app_id == "app-2").expect("a row");
        assert_eq!(foreign.flags, vec![Flag::ConsentNotRecorded]);
        assert_eq!(
            foreign.granted,
            vec!["TeamsActivity.Send.User (application)"]
        );
        assert!(foreign.consented.is_empty() && foreign.missing_grants.is_empty());
        assert!(foreign.consent_not_recorded() && !foreign.is_mismatch());
        assert!(foreign.state().contains("consent_not_recorded"));
        let installed = rows.iter().find(|r| r.app_id == "app-1").expect("a row");
        assert!(installed.flags.is_empty(), "{:?}", installed.flags);
    }

    /// Answers every read of `task` in turn (`bodies` by label), and returns the paths sent.
    fn answer_all(task: &mut ReadTask, body: impl Fn(&str) -> Value) -> Vec<String> {
        use super::super::engine::{Answer, Task};
        let mut paths = Vec::new();
        while !task.is_done() {
            let path = task.request("graph.microsoft.com").path;
            task.on_answer(
                Answer::Status {
                    status: 200,
                    retry_after_s: None,
                    body: Some(body(&path)),
                },
                0,
                0.0,
            );
            paths.push(path);
        }
        paths
    }

    #[test]
    fn an_audit_of_listed_users_reads_by_object_id_once_resolved() {
        let base = "https://graph.microsoft.com/v1.0";
        let mut resolve = resolve_task("Adele.Vance@contoso.com", base);
        let paths = answer_all(
            &mut resolve,
            |_| json!({"id": "u1", "userPrincipalName": "adele.vance@contoso.com", "displayName": "Adele"}),
        );
        assert_eq!(paths, ["/users/Adele.Vance%40contoso.com"]);
        let user = resolved_user(&resolve).expect("resolved");
        assert_eq!(user.id, "u1");
        // One app audited for that user: every read by object id, and no false orphan.
        let app = CatalogAppId::new("app-1");
        let mut task = audit_task(&user.id, Some(&app), base);
        let paths = answer_all(&mut task, |path| {
            if path.ends_with("/permissionGrants") {
                json!({ "value": grants_of_both() })
            } else {
                json!({ "value": [installation_of(
                    "app-1",
                    "client-1",
                    "d2",
                    "2.0.0",
                    consent_of(&["TeamsActivity.Send.User", "Chat.Read.User"])
                )] })
            }
        });
        assert_eq!(
            paths,
            [
                "/users/u1/teamwork/installedApps",
                "/users/u1/permissionGrants"
            ]
        );
        let rows = rows_of_user(&user, &task, &two_app_catalog(), Some(&app));
        assert_eq!(rows.len(), 1, "{rows:#?}");
        assert_eq!(rows[0].user_principal_name, "adele.vance@contoso.com");
        assert!(rows[0].flags.is_empty(), "{:?}", rows[0].flags);
    }

    #[test]
    fn a_listed_user_graph_does_not_know_is_one_read_failed_row() {
        use super::super::engine::{Answer, Task};
        let mut resolve = resolve_task("nobody@contoso.com", "https://graph.microsoft.com/v1.0");
        resolve.on_answer(
            Answer::Status {
                status: 404,
                retry_after_s: None,
                body: Some(
                    json!({"error": {"code": "Request_ResourceNotFound", "message": "no",
                    "innerError": {"request-id": "r-404"}}}),
                ),
            },
            0,
            0.0,
        );
        let error = resolved_user(&resolve).expect_err("not resolved");
        assert_eq!(error.status, Some(404));
        let row = unresolved_row("nobody@contoso.com", error);
        assert_eq!(row.user_id, "nobody@contoso.com");
        assert_eq!(row.flags, vec![Flag::ReadFailed]);
        assert_eq!(
            row.error.as_ref().and_then(|e| e.request_id.as_deref()),
            Some("r-404")
        );
    }

    #[test]
    fn an_audit_of_one_app_keeps_that_apps_own_orphans() {
        // app-1 audited, not installed: its grant is an orphan; app-2's grant is not reported.
        let reads = reads(json!([]), grants_of_both());
        let app = CatalogAppId::new("app-1");
        let rows = rows_of_user(&user(), &reads, &two_app_catalog(), Some(&app));
        assert_eq!(rows.len(), 1, "{rows:#?}");
        assert_eq!(rows[0].app_name, "Contoso Tasks");
        assert_eq!(rows[0].flags, vec![Flag::OrphanGrants]);
        assert_eq!(rows[0].orphan_grants.len(), 2);
    }

    #[test]
    fn a_consent_not_recorded_is_judged_by_the_grants_it_left() {
        // Installed outside the portal at 1.0.0, consent not recorded, one grant: the latest
        // (2.0.0) requires one more permission, so the consent is behind; no orphan, nothing
        // missing.
        let installations = json!([installation_of(
            "app-1",
            "client-1",
            "d1",
            "1.0.0",
            Value::Null
        )]);
        let grants = json!([
            {"id": "g1", "clientAppId": "client-1", "permission": "TeamsActivity.Send.User", "permissionType": "Application"}
        ]);
        let rows = rows_of_user(
            &user(),
            &reads(installations.clone(), grants),
            &catalog(),
            None,
        );
        assert_eq!(
            rows[0].flags,
            vec![
                Flag::VersionBehind,
                Flag::ConsentBehind,
                Flag::ConsentNotRecorded
            ]
        );
        // No grant at all: nothing says it was installed outside the portal.
        let rows = rows_of_user(&user(), &reads(installations, json!([])), &catalog(), None);
        assert!(!rows[0].consent_not_recorded(), "{:?}", rows[0].flags);
        // The same with a recorded empty set is no "not recorded" either.
        let parsed: Installation = serde_json::from_value(installation_of(
            "app-1",
            "client-1",
            "d1",
            "1.0.0",
            json!({"resourceSpecificPermissions": []}),
        ))
        .expect("parses");
        let grant: PermissionGrant = serde_json::from_value(
            json!({"id": "g1", "clientId": "client-1", "permission": "X", "permissionType": "Application"}),
        )
        .expect("parses");
        assert!(!consent_not_recorded(&parsed, std::slice::from_ref(&grant)));
        let mut unrecorded = parsed.clone();
        unrecorded.consented_permission_set = None;
        assert!(consent_not_recorded(
            &unrecorded,
            std::slice::from_ref(&grant)
        ));
        let mut other = grant.clone();
        other.client_id = Some("client-9".into());
        assert!(!consent_not_recorded(&unrecorded, &[other]));
    }

    #[test]
    fn a_tenant_read_refused_with_403_is_the_role_not_an_empty_list() {
        let refused = ErrorSummary {
            status: Some(403),
            code: "Authorization_RequestDenied".into(),
            message: "Insufficient privileges to complete the operation.".into(),
            request_id: Some("r1".into()),
        };
        assert!(refused_for_role(&refused));
        // Whatever Graph's code or words.
        assert!(refused_for_role(&ErrorSummary {
            code: "Forbidden".into(),
            message: String::new(),
            ..refused.clone()
        }));
        assert!(!refused_for_role(&ErrorSummary {
            status: Some(404),
            ..refused.clone()
        }));
        assert!(!refused_for_role(&ErrorSummary::lost()));
        let grants = TenantGrants {
            not_readable: vec![TenantColumn::Delegated, TenantColumn::AppRoles],
            ..TenantGrants::default()
        };
        assert!(!grants.is_readable(TenantColumn::Delegated));
        let json = to_json_text(&[], &[grants]);
        let value: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(
            value["tenantGrants"][0]["not_readable"],
            json!(["delegated", "app_roles"])
        );
        assert!(TENANT_GRANT_READER_ROLES.contains(&"Directory Readers"));
        assert!(!TENANT_GRANT_READER_ROLES
            .iter()
            .any(|r| r.contains("Teams")));
    }

    #[test]
    fn tenant_wide_grants_read_as_scope_and_role() {
        let delegated = delegated_grants(&[
            json!({"scope": " User.Read openid ", "consentType": "AllPrincipals"}),
            json!({"scope": "Mail.Read", "consentType": "Principal", "principalId": "u1"}),
        ]);
        assert_eq!(
            delegated,
            vec![
                "Mail.Read (Principal, u1)",
                "User.Read openid (AllPrincipals)"
            ]
        );
        let roles = app_role_assignments(&[
            json!({"resourceDisplayName": "Microsoft Graph", "appRoleId": "r1"}),
        ]);
        assert_eq!(roles, vec!["Microsoft Graph: r1"]);
    }
}
