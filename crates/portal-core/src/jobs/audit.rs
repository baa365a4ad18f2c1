//! The consent audit: for one app or all, across users, each installation with its version and
//! consented permission set against the latest published definition, the user's RSC grants of
//! the app (missing ones, and orphans: granted but not consented, or of an app not installed),
//! plus each app's tenant-wide delegated grants (`oauth2PermissionGrants`) and app-role
//! assignments through its service principal. Rows filter by app, user and state, and export
//! to CSV (formula-safe) and JSON.

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

/// One user's audit reads: the user first when `resolve` (a listed id or UPN; users from the
/// tenant's list are known already), their installations (of `app`, or all) and RSC grants.
pub fn audit_task(
    key: &str,
    app: Option<&CatalogAppId>,
    graph_base: &str,
    resolve: bool,
) -> ReadTask {
    let user = UserRef::from_key(key);
    let mut reads = Vec::with_capacity(3);
    if resolve {
        reads.push((READ_USER, request::resolve_user(&user)));
    }
    reads.push((READ_INSTALLATIONS, request::list_installations(&user, app)));
    reads.push((READ_GRANTS, request::permission_grants(&user)));
    ReadTask::new(reads, graph_base)
}

/// The user a task resolved, else `known`, else one named by `key` alone.
pub fn user_of(reads: &ReadTask, known: Option<&User>, key: &str) -> User {
    reads
        .object(READ_USER)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .or_else(|| known.cloned())
        .unwrap_or_else(|| User {
            id: key.to_string(),
            display_name: None,
            user_principal_name: None,
            mail: None,
            user_type: None,
            job_title: None,
            account_enabled: None,
        })
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
    /// The user's installations or grants could not be read.
    ReadFailed,
}

impl Flag {
    pub const ALL: [Flag; 5] = [
        Flag::VersionBehind,
        Flag::ConsentBehind,
        Flag::MissingGrants,
        Flag::OrphanGrants,
        Flag::ReadFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Flag::VersionBehind => "version_behind",
            Flag::ConsentBehind => "consent_behind",
            Flag::MissingGrants => "missing_grants",
            Flag::OrphanGrants => "orphan_grants",
            Flag::ReadFailed => "read_failed",
        }
    }

    /// A mismatch of consent (not merely an old version).
    pub fn is_mismatch(self) -> bool {
        !matches!(self, Flag::VersionBehind)
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
/// definition.
pub fn rows_of_user(user: &User, reads: &ReadTask, catalog: &[TeamsApp]) -> Vec<AuditRow> {
    let base = |app_id: String, app_name: String| AuditRow {
        user_id: user.id.clone(),
        user_principal_name: user.user_principal_name.clone().unwrap_or_default(),
        display_name: user.display_name.clone().unwrap_or_default(),
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
    };
    if let Some(error) = &reads.error {
        let mut row = base(String::new(), String::new());
        row.flags.push(Flag::ReadFailed);
        row.error = Some(error.clone());
        return vec![row];
    }
    let installations: Vec<Installation> = reads
        .collection(READ_INSTALLATIONS)
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    let grants: Vec<PermissionGrant> = reads
        .collection(READ_GRANTS)
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
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
        let consented: Vec<ResourceSpecificPermission> = installation
            .consented_permission_set
            .as_ref()
            .map(|s| s.resource_specific_permissions.clone())
            .unwrap_or_default();
        let required_latest = latest.map(|d| d.required_permissions()).unwrap_or_default();
        row.consented = sorted(consented.iter().map(permission_label));
        row.required_latest = sorted(required_latest.iter().map(permission_label));
        let client_app_id = definition
            .and_then(|d| d.authorization.as_ref())
            .and_then(|a| a.client_app_id.clone());
        let mut granted_values = BTreeSet::new();
        if let Some(client) = client_app_id.as_deref() {
            for (i, grant) in grants.iter().enumerate() {
                if grant.is_for_application(client) {
                    used[i] = true;
                    let value = grant.permission.clone().unwrap_or_default();
                    granted_values.insert(value.to_ascii_lowercase());
                    row.granted.push(grant_label(grant));
                    if !consented.iter().any(|c| same(&c.permission_value, &value)) {
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
        let lacks = required_latest.iter().any(|r| {
            !consented
                .iter()
                .any(|c| same(&c.permission_value, &r.permission_value))
        });
        if lacks && !(delegated_only && consented.is_empty()) {
            row.flags.push(Flag::ConsentBehind);
        }
        if !row.missing_grants.is_empty() {
            row.flags.push(Flag::MissingGrants);
        }
        if !row.orphan_grants.is_empty() {
            row.flags.push(Flag::OrphanGrants);
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
    pub error: Option<ErrorSummary>,
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
        let mut task = audit_task("u1", None, "https://graph.microsoft.com/v1.0", false);
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
        let rows = rows_of_user(&user(), &reads(installation, grants), &catalog());
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
        let rows = rows_of_user(&user(), &reads(installation, grants), &catalog());
        assert_eq!(rows.len(), 1);
        assert!(rows[0].flags.is_empty(), "{:?}", rows[0].flags);
        assert_eq!(rows[0].state(), "ok");
        assert!(!AuditFilter {
            mismatch_only: true,
            ..AuditFilter::default()
        }
        .keeps(&rows[0]));
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
