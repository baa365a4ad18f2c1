//! The least-privileged delegated scope each Graph operation needs (from the permission
//! catalogue and facts.md), written with the cloud's Graph host, and the scopes of sign-in.

use crate::cloud::Cloud;

/// What the portal does with Graph, in the vocabulary of the permissions it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Read the signed-in user (`/me`).
    ReadProfile,
    /// Find users by name, UPN or mail.
    FindUsers,
    /// List a user's personal apps.
    ReadInstallations,
    /// Read the tenant app catalog.
    ReadCatalog,
    /// Read the tenant switch for personal-scope RSC.
    ReadTenantSettings,
    /// Read a user's RSC grants.
    ReadGrants,
    /// Install, upgrade or uninstall an app, sending no consented permission set.
    WriteInstallations,
    /// Install or upgrade an app sending a consented permission set (any RSC, delegated-only
    /// included: `graph::consent::operation_for`).
    WriteInstallationsWithConsent,
    /// Read users with what the basic profile hides (`accountEnabled`): a job flags disabled
    /// users.
    ReadUsers,
    /// Read an app's service principal and its app-role assignments (the consent audit).
    ReadServicePrincipals,
    /// Read tenant-wide delegated grants, `oauth2PermissionGrants` (the consent audit).
    ReadDelegatedGrants,
}

/// Every operation, least privileged first.
pub const ALL_OPERATIONS: [Operation; 11] = [
    Operation::ReadProfile,
    Operation::FindUsers,
    Operation::ReadInstallations,
    Operation::ReadCatalog,
    Operation::ReadTenantSettings,
    Operation::ReadGrants,
    Operation::WriteInstallations,
    Operation::WriteInstallationsWithConsent,
    Operation::ReadUsers,
    Operation::ReadServicePrincipals,
    Operation::ReadDelegatedGrants,
];

/// OpenID Connect scopes of every sign-in (`openid` is added by the openidconnect crate itself).
pub const OIDC_SCOPES: [&str; 2] = ["profile", "offline_access"];

/// The operations signing in asks for: reads only; writes are asked when an action needs them.
pub const SIGN_IN_OPERATIONS: [Operation; 5] = [
    Operation::ReadProfile,
    Operation::FindUsers,
    Operation::ReadInstallations,
    Operation::ReadCatalog,
    Operation::ReadTenantSettings,
];

impl Operation {
    /// The least-privileged delegated permission that allows the operation.
    pub fn permission(self) -> &'static str {
        match self {
            Operation::ReadProfile => "User.Read",
            Operation::FindUsers => "User.ReadBasic.All",
            Operation::ReadInstallations => "TeamsAppInstallation.ReadForUser",
            Operation::ReadCatalog => "AppCatalog.Read.All",
            Operation::ReadTenantSettings => "TeamworkAppSettings.Read.All",
            Operation::ReadGrants => "ResourceSpecificPermissionGrant.ReadForUser",
            Operation::WriteInstallations => "TeamsAppInstallation.ReadWriteForUser",
            Operation::WriteInstallationsWithConsent => {
                "TeamsAppInstallation.ReadWriteAndConsentForUser"
            }
            Operation::ReadUsers => "User.Read.All",
            Operation::ReadServicePrincipals => "Application.Read.All",
            // The catalogue's only delegated permission for `GET /oauth2PermissionGrants`.
            Operation::ReadDelegatedGrants => "Directory.Read.All",
        }
    }

    /// The operation whose least-privileged permission is `permission` (as Graph names it in a
    /// "Missing scope" answer), if the portal has one.
    pub fn from_permission(permission: &str) -> Option<Operation> {
        ALL_OPERATIONS
            .into_iter()
            .find(|op| op.permission().eq_ignore_ascii_case(permission.trim()))
    }

    /// Whether the permission needs an administrator's consent (per the catalogue).
    pub fn needs_admin_consent(self) -> bool {
        matches!(
            self,
            Operation::ReadGrants
                | Operation::WriteInstallations
                | Operation::WriteInstallationsWithConsent
                | Operation::ReadUsers
                | Operation::ReadServicePrincipals
                | Operation::ReadDelegatedGrants
        )
    }

    /// Whether the cloud can do this at all: in China the app installation APIs (listing
    /// included) and the RSC grants listing are unsupported; the US government clouds support
    /// every personal-app operation with delegated tokens, RSC consent included.
    pub fn available_in(self, cloud: Cloud) -> bool {
        use crate::cloud::PersonalInstallSupport::Unavailable;
        !matches!(
            (self, cloud.personal_install()),
            (
                Operation::ReadInstallations
                    | Operation::ReadGrants
                    | Operation::WriteInstallations
                    | Operation::WriteInstallationsWithConsent,
                Unavailable
            )
        )
    }
}

/// A set of operations as a sorted list without duplicates (the session's sets are a handful
/// of operations: a list keeps the bundle free of a B-tree for them, issue #10).
pub fn operation_set(operations: impl IntoIterator<Item = Operation>) -> Vec<Operation> {
    let mut ops: Vec<Operation> = operations.into_iter().collect();
    ops.sort();
    ops.dedup();
    ops
}

/// Whether every operation of `wanted` is in `set`.
pub fn covers(set: &[Operation], wanted: &[Operation]) -> bool {
    wanted.iter().all(|op| set.contains(op))
}

/// The scope string of a permission in a cloud: `https://{graph-host}/{permission}`.
pub fn graph_scope(cloud: Cloud, operation: Operation) -> String {
    format!("https://{}/{}", cloud.graph_host(), operation.permission())
}

/// The scopes to request for a set of operations (OIDC scopes first, no duplicates, stable order).
pub fn scopes_for(cloud: Cloud, operations: &[Operation]) -> Vec<String> {
    let ops = operation_set(operations.iter().copied());
    let mut scopes: Vec<String> = OIDC_SCOPES.iter().map(|s| s.to_string()).collect();
    scopes.extend(ops.into_iter().map(|op| graph_scope(cloud, op)));
    scopes
}

/// OpenID Connect scopes of a refresh: `openid` (a renewed ID token, to check it names the same
/// account) and `profile` (its name claims). Never `offline_access`: the refresh token in hand
/// already is the offline grant, and a standard OpenID provider refuses it on refresh; both are
/// part of the original grant, so a provider checking that a refresh asks for no more accepts
/// them.
pub const REFRESH_OIDC_SCOPES: [&str; 2] = ["openid", "profile"];

/// The scopes of a refresh-token request for `operations`: [`REFRESH_OIDC_SCOPES`] then the
/// Graph scopes, no duplicates, stable order, no `offline_access`.
pub fn refresh_scopes_for(cloud: Cloud, operations: &[Operation]) -> Vec<String> {
    let ops = operation_set(operations.iter().copied());
    let mut scopes: Vec<String> = REFRESH_OIDC_SCOPES.iter().map(|s| s.to_string()).collect();
    scopes.extend(ops.into_iter().map(|op| graph_scope(cloud, op)));
    scopes
}

/// The Graph permission names in a token response's `scope` (host prefixes removed).
pub fn granted_permissions(scope: &str) -> Vec<String> {
    scope
        .split_whitespace()
        .filter(|s| !["openid", "profile", "email", "offline_access"].contains(s))
        .map(|s| s.rsplit('/').next().unwrap_or(s).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_operation_set_is_sorted_without_duplicates_and_covers_its_subsets() {
        let set = operation_set([
            Operation::WriteInstallations,
            Operation::FindUsers,
            Operation::WriteInstallations,
        ]);
        assert_eq!(
            set,
            vec![Operation::FindUsers, Operation::WriteInstallations]
        );
        assert!(covers(&set, &[Operation::WriteInstallations]));
        assert!(covers(&set, &[]));
        assert!(!covers(
            &set,
            &[Operation::FindUsers, Operation::ReadCatalog]
        ));
    }

    use super::*;

    #[test]
    fn scopes_carry_the_clouds_graph_host() {
        assert_eq!(
            graph_scope(Cloud::Global, Operation::ReadInstallations),
            "https://graph.microsoft.com/TeamsAppInstallation.ReadForUser"
        );
        assert_eq!(
            graph_scope(Cloud::UsGovL5, Operation::WriteInstallations),
            "https://dod-graph.microsoft.us/TeamsAppInstallation.ReadWriteForUser"
        );
        assert_eq!(
            graph_scope(Cloud::China, Operation::ReadCatalog),
            "https://microsoftgraph.chinacloudapi.cn/AppCatalog.Read.All"
        );
    }

    #[test]
    fn sign_in_asks_for_reads_only_and_no_duplicates() {
        let scopes = scopes_for(
            Cloud::Global,
            &[SIGN_IN_OPERATIONS.as_slice(), &[Operation::ReadCatalog]].concat(),
        );
        assert_eq!(scopes[..2], ["profile", "offline_access"]);
        assert_eq!(scopes.len(), 2 + SIGN_IN_OPERATIONS.len());
        assert!(SIGN_IN_OPERATIONS
            .iter()
            .all(|op| !op.needs_admin_consent()));
        assert!(!scopes.iter().any(|s| s.contains("ReadWrite")));
    }

    #[test]
    fn refreshes_ask_only_for_what_they_need() {
        let table: &[(&[Operation], &[&str])] = &[
            (
                &[Operation::ReadProfile],
                &["openid", "profile", "https://graph.microsoft.com/User.Read"],
            ),
            (
                &[
                    Operation::WriteInstallations,
                    Operation::ReadProfile,
                    Operation::WriteInstallations,
                ],
                &[
                    "openid",
                    "profile",
                    "https://graph.microsoft.com/User.Read",
                    "https://graph.microsoft.com/TeamsAppInstallation.ReadWriteForUser",
                ],
            ),
            (&[], &["openid", "profile"]),
        ];
        for (operations, expected) in table {
            assert_eq!(refresh_scopes_for(Cloud::Global, operations), *expected);
        }
        let all = refresh_scopes_for(Cloud::Global, &ALL_OPERATIONS);
        assert!(!all.iter().any(|s| s == "offline_access"));
        assert!(
            scopes_for(Cloud::Global, &[])
                .iter()
                .any(|s| s == "offline_access"),
            "sign-in still asks for the refresh token"
        );
    }

    #[test]
    fn clouds_that_cannot_are_told_apart() {
        for op in [
            Operation::ReadInstallations,
            Operation::ReadGrants,
            Operation::WriteInstallations,
            Operation::WriteInstallationsWithConsent,
        ] {
            assert!(!op.available_in(Cloud::China), "{op:?} in China");
            for cloud in [Cloud::Global, Cloud::UsGovL4, Cloud::UsGovL5] {
                assert!(op.available_in(cloud), "{op:?} in {cloud:?}");
            }
        }
        assert!(Operation::ReadCatalog.available_in(Cloud::China));
        assert!(Operation::FindUsers.available_in(Cloud::China));
    }

    #[test]
    fn operations_are_found_by_permission_name() {
        assert_eq!(
            Operation::from_permission(" TeamsAppInstallation.ReadWriteForUser"),
            Some(Operation::WriteInstallations)
        );
        assert_eq!(Operation::from_permission("Directory.ReadWrite.All"), None);
    }

    #[test]
    fn granted_permissions_drop_hosts_and_oidc_scopes() {
        assert_eq!(
            granted_permissions("openid https://graph.microsoft.com/User.Read profile https://graph.microsoft.com/AppCatalog.Read.All"),
            ["User.Read", "AppCatalog.Read.All"]
        );
    }
}
