//! The seed: the tenant the dev tenant starts with (users, the portal's app registration, the
//! Teams app catalog with versions and RSC requirements, existing installations), read from a
//! JSON file, or generated large for benchmarks.

use serde::{Deserialize, Serialize};

/// Role names a seeded user may have, with their Entra role template ids (`wids`).
pub const ROLE_TEMPLATES: [(&str, &str); 6] = [
    ("teamsAdministrator", "69091246-20e8-4a56-aa4d-066075b2a7a8"),
    (
        "globalAdministrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    ("globalReader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"),
    ("directoryReaders", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"),
    (
        "applicationAdministrator",
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    ),
    (
        "cloudApplicationAdministrator",
        "158c047a-c907-4556-b7ef-446551a6b5f7",
    ),
];

/// The roles that act on anyone's personal apps (and consent for the organisation).
pub const ADMIN_ROLES: [&str; 2] = ["teamsAdministrator", "globalAdministrator"];

/// The roles that may read tenant-wide grants (`oauth2PermissionGrants`, a service principal's
/// `appRoleAssignments`) with a delegated token, of those the seed knows (Microsoft's lists for
/// both reads: Directory Readers, Global Reader, Application and Cloud Application
/// Administrator; Global Administrator holds every permission). Teams Administrator is not one.
pub const TENANT_GRANT_READER_ROLES: [&str; 5] = [
    "globalAdministrator",
    "globalReader",
    "directoryReaders",
    "applicationAdministrator",
    "cloudApplicationAdministrator",
];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seed {
    pub tenant: SeedTenant,
    pub applications: Vec<SeedApplication>,
    pub users: Vec<SeedUser>,
    pub teams_apps: Vec<SeedTeamsApp>,
    #[serde(default)]
    pub installations: Vec<SeedInstallation>,
    /// RSC grants a user holds that no installation gives (orphans, or a grant spelt otherwise
    /// than the dev tenant spells the ones it derives).
    #[serde(default)]
    pub extra_grants: Vec<SeedGrant>,
    /// Application permissions of Microsoft Graph granted to the service principals of catalog
    /// apps (`GET /servicePrincipals/{id}/appRoleAssignments`).
    #[serde(default)]
    pub app_role_assignments: Vec<SeedAppRoleAssignment>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedTenant {
    pub id: String,
    pub domain: String,
    pub display_name: String,
    pub personal_scope_rsc_enabled: bool,
}

/// An app registration (a client of the identity endpoints).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedApplication {
    pub display_name: String,
    pub app_id: String,
    #[serde(default)]
    pub spa_redirect_uris: Vec<String>,
    /// Also register the portal origin the dev tenant serves (its port is only known at start).
    #[serde(default)]
    pub register_portal_origin: bool,
    /// Redirect URIs registered as "Web": the token endpoint refuses them from a browser.
    #[serde(default)]
    pub web_redirect_uris: Vec<String>,
    /// Graph delegated permissions configured on the registration (what `.default` means).
    #[serde(default)]
    pub required_scopes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeedUser {
    pub id: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub user_principal_name: String,
    pub mail: Option<String>,
    pub job_title: Option<String>,
    pub user_type: String,
    pub account_enabled: bool,
    pub preferred_language: Option<String>,
    pub office_location: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

impl SeedUser {
    /// Role template ids for the `wids` claim.
    pub fn wids(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter_map(|role| {
                ROLE_TEMPLATES
                    .iter()
                    .find(|(name, _)| name == role)
                    .map(|(_, id)| id.to_string())
            })
            .collect()
    }

    /// Teams Administrator or Global Administrator: may act on anyone.
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| ADMIN_ROLES.contains(&r.as_str()))
    }

    /// Holds a role that may read tenant-wide grants (see [`TENANT_GRANT_READER_ROLES`]).
    pub fn reads_tenant_grants(&self) -> bool {
        self.roles
            .iter()
            .any(|r| TENANT_GRANT_READER_ROLES.contains(&r.as_str()))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeedTeamsApp {
    pub id: String,
    pub external_id: String,
    pub display_name: String,
    pub distribution_method: String,
    #[serde(default)]
    pub blocked_by_policy: bool,
    /// Oldest first.
    pub definitions: Vec<SeedDefinition>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SeedDefinition {
    pub id: String,
    pub version: String,
    pub publishing_state: String,
    pub display_name: String,
    pub description: Option<String>,
    pub short_description: Option<String>,
    pub last_modified_date_time: Option<String>,
    pub client_app_id: Option<String>,
    /// The object id of the Entra app's service principal in this tenant (what RSC grants call
    /// `clientId`); derived from `clientAppId` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_principal_id: Option<String>,
    /// The Microsoft app id of the definition's bot (`teamsAppDefinition.bot`, a `teamworkBot`
    /// whose `id` this is), for definitions that have one: a GUID, used by one app only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_id: Option<String>,
    #[serde(default)]
    pub resource_specific_permissions: Vec<Rsc>,
}

/// The UUID namespace of generated users and apps (`--large`, `--users`).
const GENERATED_NAMESPACE: u128 = 0x5eed_0000_0000_4000_8000_0000_0000_0001;

/// Whether `text` is a GUID in its hyphenated form (`8-4-4-4-12` hex digits).
pub fn is_guid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

/// The members of `teamsAppResourceSpecificPermissionType`, as Graph spells them.
pub const PERMISSION_TYPES: [&str; 3] = ["delegated", "application", "unknownFutureValue"];

/// `kind` spelt as the member of [`PERMISSION_TYPES`] it names without regard to case.
pub fn canonical_permission_type(kind: &str) -> Option<&'static str> {
    PERMISSION_TYPES
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(kind))
}

/// One resource-specific permission (`teamsAppResourceSpecificPermission`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Rsc {
    pub permission_value: String,
    /// `delegated`, `application` or `unknownFutureValue`, stored as spelt in
    /// [`PERMISSION_TYPES`].
    pub permission_type: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedInstallation {
    /// User id or UPN.
    pub user: String,
    /// Catalog app id.
    pub app: String,
    /// Installed version of a definition of that app.
    pub version: String,
    /// Installed outside the portal (from the Teams client, by a setup policy, by another
    /// tool): its grants exist, and `--consent-set-on-foreign-installs` says whether Graph
    /// answers its `consentedPermissionSet` (default: null).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub foreign: bool,
}

/// A grant declared for a user, apart from any installation: returned by
/// `/users/{id}/permissionGrants` as written here (`permissionType` verbatim), next to the grants
/// of the user's installations; one with the same app, permission and type (without regard to
/// case) stands in for the installation's. An uninstall of `app` by the user removes it;
/// installs and upgrades leave it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedGrant {
    /// User id or UPN.
    pub user: String,
    /// Catalog app id: the grant's client is that app's Entra application (`clientAppId` of its
    /// latest definition that has one).
    pub app: String,
    /// `permission` of the grant, e.g. `TeamsActivity.Send.User`.
    pub permission: String,
    /// `permissionType` of the grant, verbatim: `delegated`, `application` or
    /// `unknownFutureValue` in any case (Graph answers `Application`, `Delegated`).
    pub permission_type: String,
}

/// An app role of Microsoft Graph (an application permission) assigned to the service principal
/// of a catalog app's Entra application: answered as Graph's `appRoleAssignment` with that
/// service principal as the principal (`principalType` `ServicePrincipal`) and Microsoft Graph's
/// service principal as the resource.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedAppRoleAssignment {
    /// Catalog app id: the principal is the service principal of its Entra application
    /// (`clientAppId` of its latest definition that has one).
    pub app: String,
    /// The id of the app role of Microsoft Graph (an application permission's id), a GUID.
    pub app_role_id: String,
    /// That permission's name, for people reading the seed (Graph does not answer it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission: Option<String>,
    /// When it was granted (RFC 3339, UTC).
    pub created_date_time: String,
}

impl SeedTeamsApp {
    /// The Entra application id of the app: `clientAppId` of its latest definition that has one.
    pub fn client_app_id(&self) -> Option<&str> {
        self.definitions
            .iter()
            .rev()
            .find_map(|d| d.client_app_id.as_deref())
    }
}

impl Seed {
    /// Reads and checks a seed file; every inconsistency is an error naming it.
    pub fn load(path: &std::path::Path) -> Result<Seed, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read seed {}: {e}", path.display()))?;
        let seed: Seed = serde_json::from_str(&text)
            .map_err(|e| format!("seed {} is not valid: {e}", path.display()))?;
        seed.check()?;
        Ok(seed)
    }

    /// The seed shipped in the repository.
    pub fn builtin() -> Result<Seed, String> {
        let seed: Seed = serde_json::from_str(include_str!("../seed/tenant.json"))
            .map_err(|e| format!("built-in seed is not valid: {e}"))?;
        seed.check()?;
        Ok(seed)
    }

    fn check(&self) -> Result<(), String> {
        for user in &self.users {
            for role in &user.roles {
                if !ROLE_TEMPLATES.iter().any(|(name, _)| name == role) {
                    return Err(format!(
                        "user {} has unknown role {role}",
                        user.user_principal_name
                    ));
                }
            }
        }
        let mut service_principals: std::collections::BTreeMap<String, String> =
            std::collections::BTreeMap::new();
        // Bot id (lowercase) → the app that has it.
        let mut bots: std::collections::BTreeMap<String, &str> = std::collections::BTreeMap::new();
        for app in &self.teams_apps {
            for definition in &app.definitions {
                if let Some(bot) = &definition.bot_id {
                    if !is_guid(bot) {
                        return Err(format!(
                            "app {} {}: botId {bot} is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
                            app.display_name, definition.version
                        ));
                    }
                    let owner = bots.entry(bot.to_ascii_lowercase()).or_insert(&app.id);
                    if *owner != app.id {
                        return Err(format!(
                            "app {} {}: botId {bot} is already the bot of app {owner} (a bot belongs to one app)",
                            app.display_name, definition.version
                        ));
                    }
                }
                if let Some(sp) = &definition.service_principal_id {
                    let Some(client) = &definition.client_app_id else {
                        return Err(format!(
                            "app {} {}: servicePrincipalId without clientAppId",
                            app.display_name, definition.version
                        ));
                    };
                    if sp.eq_ignore_ascii_case(client) {
                        return Err(format!(
                            "app {} {}: servicePrincipalId must differ from clientAppId (an object id, not the app id)",
                            app.display_name, definition.version
                        ));
                    }
                    let known = service_principals
                        .entry(client.to_ascii_lowercase())
                        .or_insert_with(|| sp.clone());
                    if !known.eq_ignore_ascii_case(sp) {
                        return Err(format!(
                            "app {} {}: clientAppId {client} has two servicePrincipalIds",
                            app.display_name, definition.version
                        ));
                    }
                }
                for rsc in &definition.resource_specific_permissions {
                    if !PERMISSION_TYPES.contains(&rsc.permission_type.as_str()) {
                        return Err(format!(
                            "app {} {}: permissionType {} must be delegated, application or unknownFutureValue",
                            app.display_name, definition.version, rsc.permission_type
                        ));
                    }
                }
            }
        }
        let user_ok = |user: &str| {
            self.users
                .iter()
                .any(|u| u.id == user || u.user_principal_name.eq_ignore_ascii_case(user))
        };
        for installation in &self.installations {
            let user_ok = user_ok(&installation.user);
            let app = self.teams_apps.iter().find(|a| a.id == installation.app);
            let version_ok = app.is_some_and(|a| {
                a.definitions
                    .iter()
                    .any(|d| d.version == installation.version)
            });
            if !user_ok || !version_ok {
                return Err(format!(
                    "installation of {} {} for {} names an unknown user, app or version",
                    installation.app, installation.version, installation.user
                ));
            }
        }
        for grant in &self.extra_grants {
            let what = format!(
                "extra grant {} ({}) of app {} for {}",
                grant.permission, grant.permission_type, grant.app, grant.user
            );
            if !user_ok(&grant.user) {
                return Err(format!("{what} names an unknown user"));
            }
            let Some(app) = self.teams_apps.iter().find(|a| a.id == grant.app) else {
                return Err(format!("{what} names an unknown app"));
            };
            if app.client_app_id().is_none() {
                return Err(format!(
                    "{what}: the app has no clientAppId (an Entra application) to grant to"
                ));
            }
            if grant.permission.trim().is_empty() {
                return Err(format!("{what}: permission is empty"));
            }
            if canonical_permission_type(&grant.permission_type).is_none() {
                return Err(format!(
                    "{what}: permissionType must be delegated, application or unknownFutureValue (any case)"
                ));
            }
        }
        let mut assigned = std::collections::BTreeSet::new();
        for assignment in &self.app_role_assignments {
            let what = format!(
                "app role assignment {} of app {}",
                assignment.app_role_id, assignment.app
            );
            let Some(app) = self.teams_apps.iter().find(|a| a.id == assignment.app) else {
                return Err(format!("{what} names an unknown app"));
            };
            if app.client_app_id().is_none() {
                return Err(format!(
                    "{what}: the app has no clientAppId (an Entra application whose service principal is assigned)"
                ));
            }
            if !is_guid(&assignment.app_role_id) {
                return Err(format!("{what}: appRoleId is not a GUID"));
            }
            if time::OffsetDateTime::parse(
                &assignment.created_date_time,
                &time::format_description::well_known::Rfc3339,
            )
            .is_err()
            {
                return Err(format!(
                    "{what}: createdDateTime {} is not an RFC 3339 time",
                    assignment.created_date_time
                ));
            }
            if !assigned.insert((
                assignment.app.to_ascii_lowercase(),
                assignment.app_role_id.to_ascii_lowercase(),
            )) {
                return Err(format!("{what} is assigned twice"));
            }
        }
        Ok(())
    }

    /// Adds generated users and apps until there are `users` and `apps` of each (benchmarks).
    pub fn enlarge(&mut self, users: usize, apps: usize) {
        self.add_generated_users(users.saturating_sub(self.users.len()));
        self.add_generated_apps(apps);
    }

    /// Adds `count` generated users: `user{n:05}@{domain}` ("Generated User {n:05}"), numbered
    /// from 1 on, skipping numbers already taken (so calls add up), each an enabled member with
    /// no role, no installation and no grant, whose id is derived from the UPN (stable across
    /// runs).
    pub fn add_generated_users(&mut self, count: usize) {
        let namespace = uuid::Uuid::from_u128(GENERATED_NAMESPACE);
        let domain = self.tenant.domain.clone();
        let mut taken: std::collections::HashSet<String> = self
            .users
            .iter()
            .map(|u| u.user_principal_name.to_ascii_lowercase())
            .collect();
        let mut n = 0;
        let mut added = 0;
        while added < count {
            n += 1;
            let upn = format!("user{n:05}@{domain}");
            if !taken.insert(upn.to_ascii_lowercase()) {
                continue;
            }
            added += 1;
            self.users.push(SeedUser {
                id: uuid::Uuid::new_v5(&namespace, upn.as_bytes()).to_string(),
                display_name: format!("Generated User {n:05}"),
                given_name: Some("Generated".into()),
                surname: Some(format!("User {n:05}")),
                mail: Some(upn.replace(".onmicrosoft.com", ".com")),
                user_principal_name: upn,
                job_title: Some("Generated".into()),
                user_type: "Member".into(),
                account_enabled: true,
                preferred_language: Some("en-US".into()),
                office_location: None,
                roles: Vec::new(),
            });
        }
    }

    /// Adds generated apps until there are `apps`.
    fn add_generated_apps(&mut self, apps: usize) {
        let namespace = uuid::Uuid::from_u128(GENERATED_NAMESPACE);
        let mut n = 0;
        while self.teams_apps.len() < apps {
            n += 1;
            let external = format!("generated-app-{n:03}");
            let id = uuid::Uuid::new_v5(&namespace, external.as_bytes()).to_string();
            let definitions = (0..3)
                .map(|v| SeedDefinition {
                    id: uuid::Uuid::new_v5(&namespace, format!("{external}:{v}").as_bytes())
                        .to_string(),
                    version: format!("1.{v}.0"),
                    publishing_state: "published".into(),
                    display_name: format!("Generated App {n:03}"),
                    description: None,
                    short_description: None,
                    last_modified_date_time: Some("2026-01-01T00:00:00Z".into()),
                    client_app_id: None,
                    service_principal_id: None,
                    bot_id: None,
                    // The first generated app asks for the manifest's maximum of 16 RSC
                    // permissions (the consent editor's benchmark).
                    resource_specific_permissions: if n == 1 {
                        (1..=16)
                            .map(|i| Rsc {
                                permission_value: format!("Generated.Permission{i:02}.User"),
                                permission_type: if i % 4 == 0 {
                                    "delegated".into()
                                } else {
                                    "application".into()
                                },
                            })
                            .collect()
                    } else {
                        Vec::new()
                    },
                })
                .collect();
            self.teams_apps.push(SeedTeamsApp {
                id,
                external_id: external,
                display_name: format!("Generated App {n:03}"),
                distribution_method: "organization".into(),
                blocked_by_policy: false,
                definitions,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_seed_is_realistic() {
        let seed = Seed::builtin().unwrap();
        assert!(seed.users.len() >= 45, "{}", seed.users.len());
        assert!(seed.teams_apps.len() >= 12);
        assert!(seed
            .users
            .iter()
            .any(|u| u.display_name.contains("O'Brien")));
        assert!(seed.users.iter().any(|u| u.display_name.contains("Zoë")));
        assert!(seed
            .users
            .iter()
            .any(|u| u.user_principal_name.contains('+') && u.user_principal_name.contains('#')));
        assert!(seed.users.iter().any(|u| u.user_type == "Guest"));
        // A disabled account (bulk jobs and audits must flag it).
        let disabled: Vec<&SeedUser> = seed.users.iter().filter(|u| !u.account_enabled).collect();
        assert_eq!(disabled.len(), 1);
        assert_eq!(
            disabled[0].user_principal_name,
            "former.employee@contoso.onmicrosoft.com"
        );
        assert_eq!(disabled[0].id, "92500eda-dd37-5969-a470-22fea8ea7227");
        assert!(
            seed.users
                .iter()
                .any(|u| u.user_principal_name.starts_with('$')),
            "a UPN only the key form users('…') can address"
        );
        // Every Entra app of the catalog has a service principal distinct from it and from the
        // others.
        let mut principals = std::collections::BTreeMap::new();
        for d in seed.teams_apps.iter().flat_map(|a| &a.definitions) {
            if let Some(client) = &d.client_app_id {
                let sp = d.service_principal_id.clone().expect("servicePrincipalId");
                assert_ne!(&sp, client);
                principals.insert(client.clone(), sp);
            }
        }
        let distinct: std::collections::BTreeSet<_> = principals.values().collect();
        assert_eq!(distinct.len(), principals.len());
        assert!(seed.users.iter().filter(|u| u.is_admin()).count() >= 2);
        assert!(seed.teams_apps.iter().any(|a| a.blocked_by_policy));
        let states: Vec<&str> = seed
            .teams_apps
            .iter()
            .flat_map(|a| a.definitions.iter().map(|d| d.publishing_state.as_str()))
            .collect();
        for state in ["published", "submitted", "rejected"] {
            assert!(states.contains(&state), "{state}");
        }
    }

    #[test]
    fn service_principal_ids_are_checked() {
        let mut seed = Seed::builtin().unwrap();
        let definition = seed
            .teams_apps
            .iter_mut()
            .flat_map(|a| a.definitions.iter_mut())
            .find(|d| d.client_app_id.is_some())
            .unwrap();
        definition.service_principal_id = definition.client_app_id.clone();
        assert!(seed.check().unwrap_err().contains("must differ"));
        let mut seed = Seed::builtin().unwrap();
        let definition = seed
            .teams_apps
            .iter_mut()
            .flat_map(|a| a.definitions.iter_mut())
            .find(|d| d.client_app_id.is_none())
            .unwrap();
        definition.service_principal_id = Some("b8c1ad1e-0000-4000-8000-000000000001".into());
        assert!(seed.check().unwrap_err().contains("without clientAppId"));
    }

    #[test]
    fn seeded_grants_apart_from_installations_and_unknown_future_value() {
        let seed = Seed::builtin().unwrap();
        assert!(seed
            .teams_apps
            .iter()
            .flat_map(|a| &a.definitions)
            .flat_map(|d| &d.resource_specific_permissions)
            .any(|r| r.permission_type == "unknownFutureValue"));
        // An orphan: a grant of an app its user has no installation of.
        assert!(seed.extra_grants.iter().any(|g| !seed
            .installations
            .iter()
            .any(|i| i.user == g.user && i.app == g.app)));
        // A type spelt otherwise than Graph's `Application` / `Delegated`.
        assert!(seed
            .extra_grants
            .iter()
            .any(|g| !["Application", "Delegated"].contains(&g.permission_type.as_str())));
    }

    #[test]
    fn extra_grants_are_checked() {
        let grant = |user: &str, app: &str, kind: &str| SeedGrant {
            user: user.into(),
            app: app.into(),
            permission: "TeamsActivity.Send.User".into(),
            permission_type: kind.into(),
        };
        let notify = "12345678-9abc-def0-123456789a";
        let polls = "321b182d-454e-50b3-bb11-3d323a34746b";
        let upn = "lee.gu@contoso.onmicrosoft.com";
        for (bad, error) in [
            (
                grant("nobody@contoso.onmicrosoft.com", notify, "Application"),
                "unknown user",
            ),
            (grant(upn, "no-such-app", "Application"), "unknown app"),
            (grant(upn, polls, "Application"), "no clientAppId"),
            (grant(upn, notify, "Aplication"), "permissionType"),
        ] {
            let mut seed = Seed::builtin().unwrap();
            seed.extra_grants.push(bad);
            let message = seed.check().unwrap_err();
            assert!(message.contains(error), "{message}");
        }
        let mut seed = Seed::builtin().unwrap();
        seed.extra_grants.push(grant(upn, notify, "DELEGATED"));
        seed.extra_grants
            .push(grant(upn, notify, "unknownfuturevalue"));
        seed.check().unwrap();
        let mut seed = Seed::builtin().unwrap();
        seed.teams_apps[0].definitions[0].resource_specific_permissions[0].permission_type =
            "Application".into();
        assert!(seed
            .check()
            .unwrap_err()
            .contains("permissionType Application"));
    }

    #[test]
    fn bot_ids_are_guids_of_one_app_each() {
        let seed = Seed::builtin().unwrap();
        let bots: Vec<(&str, &str, Option<&str>)> = seed
            .teams_apps
            .iter()
            .flat_map(|a| {
                a.definitions.iter().map(move |d| {
                    (
                        a.display_name.as_str(),
                        d.version.as_str(),
                        d.bot_id.as_deref(),
                    )
                })
            })
            .collect();
        // Some definitions have a bot, most have none, and one app gained its bot in a later
        // version (Helpdesk 1.0.0 has none, 1.5.0 has one).
        assert!(bots.iter().filter(|(_, _, b)| b.is_some()).count() >= 3);
        assert!(bots.iter().any(|(_, _, b)| b.is_none()));
        assert!(bots.contains(&("Helpdesk", "1.0.0", None)));
        assert!(bots
            .iter()
            .any(|(app, version, b)| *app == "Helpdesk" && *version == "1.5.0" && b.is_some()));

        let mut seed = Seed::builtin().unwrap();
        seed.teams_apps
            .iter_mut()
            .flat_map(|a| a.definitions.iter_mut())
            .find(|d| d.bot_id.is_none())
            .unwrap()
            .bot_id = Some("not-a-guid".into());
        assert!(seed.check().unwrap_err().contains("is not a GUID"));
        // The bot of one app given to another.
        let mut seed = Seed::builtin().unwrap();
        let taken = seed.teams_apps[0].definitions[0].bot_id.clone().unwrap();
        let other = seed
            .teams_apps
            .iter_mut()
            .find(|a| a.definitions.iter().all(|d| d.bot_id.is_none()))
            .unwrap();
        other.definitions[0].bot_id = Some(taken.to_uppercase());
        assert!(seed.check().unwrap_err().contains("belongs to one app"));
        assert!(is_guid("00a51a22-d6e1-5ac8-863d-8c464b173ef7"));
        assert!(!is_guid("00a51a22d6e15ac8863d8c464b173ef7"));
        assert!(!is_guid("{00a51a22-d6e1-5ac8-863d-8c464b173ef7}"));
    }

    #[test]
    fn app_role_assignments_are_seeded_and_checked() {
        let seed = Seed::builtin().unwrap();
        let notify = "12345678-9abc-def0-123456789a";
        assert!(
            seed.app_role_assignments
                .iter()
                .filter(|a| a.app == notify)
                .count()
                >= 2
        );
        let assignment = |app: &str, role: &str, created: &str| SeedAppRoleAssignment {
            app: app.into(),
            app_role_id: role.into(),
            permission: None,
            created_date_time: created.into(),
        };
        let user_read_all = "df021288-bdef-4463-88db-98f22de89214";
        let polls = "321b182d-454e-50b3-bb11-3d323a34746b";
        let created = "2026-01-01T00:00:00Z";
        for (bad, error) in [
            (
                assignment("no-such-app", user_read_all, created),
                "unknown app",
            ),
            (assignment(polls, user_read_all, created), "no clientAppId"),
            (assignment(notify, "User.Read.All", created), "not a GUID"),
            (
                assignment(notify, "b2a1c3d4-0000-4000-8000-000000000001", "yesterday"),
                "RFC 3339",
            ),
            (
                assignment(notify, &user_read_all.to_uppercase(), created),
                "assigned twice",
            ),
        ] {
            let mut seed = Seed::builtin().unwrap();
            seed.app_role_assignments.push(bad);
            let message = seed.check().unwrap_err();
            assert!(message.contains(error), "{message}");
        }
        // Seeds without the member still load.
        let mut value = serde_json::to_value(Seed::builtin().unwrap()).unwrap();
        value.as_object_mut().unwrap().remove("appRoleAssignments");
        let seed: Seed = serde_json::from_value(value).unwrap();
        assert!(seed.app_role_assignments.is_empty());
    }

    #[test]
    fn enlarge_gives_one_app_the_manifests_sixteen_permissions() {
        let mut seed = Seed::builtin().unwrap();
        seed.enlarge(60, 20);
        let most = seed
            .teams_apps
            .iter()
            .flat_map(|a| &a.definitions)
            .map(|d| d.resource_specific_permissions.len())
            .max();
        assert_eq!(most, Some(16));
    }

    #[test]
    fn generated_users_add_up_without_clashing() {
        let mut seed = Seed::builtin().unwrap();
        let seeded = seed.users.len();
        let first_ids: Vec<String> = {
            let mut probe = Seed::builtin().unwrap();
            probe.add_generated_users(3);
            probe.users[seeded..].iter().map(|u| u.id.clone()).collect()
        };
        seed.add_generated_users(3);
        seed.add_generated_users(2);
        assert_eq!(seed.users.len(), seeded + 5);
        let generated = &seed.users[seeded..];
        let upns: Vec<&str> = generated
            .iter()
            .map(|u| u.user_principal_name.as_str())
            .collect();
        assert_eq!(
            upns,
            [
                "user00001@contoso.onmicrosoft.com",
                "user00002@contoso.onmicrosoft.com",
                "user00003@contoso.onmicrosoft.com",
                "user00004@contoso.onmicrosoft.com",
                "user00005@contoso.onmicrosoft.com"
            ]
        );
        // Stable ids, derived from the UPN.
        let ids: Vec<&str> = generated[..3].iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, first_ids);
        assert!(generated
            .iter()
            .all(|u| is_guid(&u.id) && u.account_enabled && u.roles.is_empty()));
        let distinct: std::collections::BTreeSet<&str> =
            seed.users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(distinct.len(), seed.users.len());
        seed.check().unwrap();
        // After --large, --users adds on top.
        let mut seed = Seed::builtin().unwrap();
        seed.enlarge(200, 14);
        seed.add_generated_users(10);
        assert_eq!(seed.users.len(), 210);
        let distinct: std::collections::BTreeSet<&str> = seed
            .users
            .iter()
            .map(|u| u.user_principal_name.as_str())
            .collect();
        assert_eq!(distinct.len(), 210);
    }

    #[test]
    fn reader_roles_read_tenant_grants_without_making_an_administrator() {
        let seed = Seed::builtin().unwrap();
        let user = |upn: &str| {
            seed.users
                .iter()
                .find(|u| u.user_principal_name == upn)
                .unwrap()
                .clone()
        };
        let megan = user("megan.bowen@contoso.onmicrosoft.com");
        assert!(megan.is_admin() && !megan.reads_tenant_grants());
        let rhea = user("teams.reader@contoso.onmicrosoft.com");
        assert!(rhea.is_admin() && rhea.reads_tenant_grants());
        let adele = user("adele.vance@contoso.onmicrosoft.com");
        assert!(adele.is_admin() && adele.reads_tenant_grants());
        let mut reader = user("zoe.muller@contoso.onmicrosoft.com");
        reader.roles = vec!["globalReader".into()];
        assert!(!reader.is_admin() && reader.reads_tenant_grants());
        assert_eq!(reader.wids(), ["f2ef992c-3afb-46b9-b7cf-a126ee74c451"]);
        // Foreign installations are seeded, and only those.
        assert_eq!(seed.installations.iter().filter(|i| i.foreign).count(), 2);
    }

    #[test]
    fn enlarge_reaches_the_requested_size() {
        let mut seed = Seed::builtin().unwrap();
        seed.enlarge(10_000, 100);
        assert_eq!(seed.users.len(), 10_000);
        assert_eq!(seed.teams_apps.len(), 100);
    }
}
