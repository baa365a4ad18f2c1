//! The tenant's mutable state (directory, catalog, installations, consents) behind one lock,
//! optionally persisted: with `--state FILE` every change is written atomically (write, fsync,
//! rename), and a file that does not parse is refused rather than replaced.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::seed::{Rsc, Seed, SeedApplication, SeedDefinition, SeedTeamsApp, SeedTenant, SeedUser};

/// A personal-scope installation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Installation {
    pub id: String,
    pub user_id: String,
    pub app_id: String,
    pub definition_id: String,
    /// The consented set as recorded at install or upgrade (lowercase types).
    pub consented: Option<Vec<Rsc>>,
}

/// An RSC grant a user holds that no installation gives (declared in the seed's `extraGrants`):
/// answered as written, removed only by an uninstall of `app_id` by `user_id`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExtraGrant {
    pub user_id: String,
    /// Catalog app id.
    pub app_id: String,
    /// The app's Entra application id.
    pub client_app_id: String,
    pub permission: String,
    /// Verbatim, as the seed spells it.
    pub permission_type: String,
}

/// An app role assigned to a service principal, in Graph's `appRoleAssignment` shape (as
/// `GET /servicePrincipals/{principalId}/appRoleAssignments` answers it, less the
/// `deletedDateTime` every directory object has, always null here).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    /// Opaque, in the form Graph's take (43 base64url characters).
    pub id: String,
    pub app_role_id: String,
    pub created_date_time: String,
    pub principal_display_name: String,
    pub principal_id: String,
    /// `ServicePrincipal` (`User` and `Group` are not seeded).
    pub principal_type: String,
    pub resource_display_name: String,
    pub resource_id: String,
}

/// Everything that changes while the dev tenant runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantState {
    pub format: u32,
    pub tenant: SeedTenant,
    pub applications: Vec<SeedApplication>,
    pub users: Vec<SeedUser>,
    pub teams_apps: Vec<SeedTeamsApp>,
    pub installations: Vec<Installation>,
    /// Grants apart from installations (absent from state files written before they existed).
    #[serde(default)]
    pub extra_grants: Vec<ExtraGrant>,
    /// Application permissions granted to service principals (absent from state files written
    /// before they existed).
    #[serde(default)]
    pub app_role_assignments: Vec<AppRoleAssignment>,
    /// Ids of the installations made outside the portal (seeded `"foreign": true`: from the
    /// Teams client, by a setup policy, by another tool): their `consentedPermissionSet` reads
    /// as `--consent-set-on-foreign-installs` says, their grants follow `consented` all the
    /// same. An install, upgrade or uninstall through Graph ends the mark (absent from state
    /// files written before it existed).
    #[serde(default)]
    pub foreign_installations: BTreeSet<String>,
    /// Tenant-wide (admin) consent: client id → scope names.
    pub admin_consents: BTreeMap<String, BTreeSet<String>>,
    /// A user's own consent: "client id|user id" → scope names.
    pub user_consents: BTreeMap<String, BTreeSet<String>>,
    /// Continuous access evaluation: user id → time (unix seconds) of the last revocation event.
    pub revocations: BTreeMap<String, i64>,
}

/// The installation id Graph uses (observed: base64 of `{userId}##{teamsAppId}`, without padding
/// as in the seed pages).
pub fn installation_id(user_id: &str, app_id: &str) -> String {
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{user_id}##{app_id}"))
}

impl TenantState {
    /// The state a seed describes.
    pub fn from_seed(seed: Seed) -> TenantState {
        let mut state = TenantState {
            format: 1,
            tenant: seed.tenant,
            applications: seed.applications,
            users: seed.users,
            teams_apps: seed.teams_apps,
            installations: Vec::new(),
            extra_grants: Vec::new(),
            app_role_assignments: Vec::new(),
            foreign_installations: BTreeSet::new(),
            admin_consents: BTreeMap::new(),
            user_consents: BTreeMap::new(),
            revocations: BTreeMap::new(),
        };
        for seeded in seed.installations {
            let Some(user_id) = state.find_user(&seeded.user).map(|u| u.id.clone()) else {
                continue;
            };
            let Some(app) = state.teams_apps.iter().find(|a| a.id == seeded.app) else {
                continue;
            };
            let Some(definition) = app.definitions.iter().find(|d| d.version == seeded.version)
            else {
                continue;
            };
            let required = definition.resource_specific_permissions.clone();
            state.installations.push(Installation {
                id: installation_id(&user_id, &app.id),
                user_id,
                app_id: app.id.clone(),
                definition_id: definition.id.clone(),
                consented: (!required.is_empty()).then_some(required),
            });
            if seeded.foreign {
                let id = state.installations.last().map(|i| i.id.clone());
                state.foreign_installations.extend(id);
            }
        }
        for seeded in seed.extra_grants {
            let Some(user_id) = state.find_user(&seeded.user).map(|u| u.id.clone()) else {
                continue;
            };
            let Some(app) = state.teams_apps.iter().find(|a| a.id == seeded.app) else {
                continue;
            };
            let Some(client_app_id) = app.client_app_id().map(str::to_string) else {
                continue;
            };
            state.extra_grants.push(ExtraGrant {
                user_id,
                app_id: app.id.clone(),
                client_app_id,
                permission: seeded.permission,
                permission_type: seeded.permission_type,
            });
        }
        let graph = state.service_principal_of(GRAPH_APP_ID);
        for seeded in seed.app_role_assignments {
            let Some(app) = state.teams_apps.iter().find(|a| a.id == seeded.app) else {
                continue;
            };
            let Some(client_app_id) = app.client_app_id() else {
                continue;
            };
            let principal_id = state.service_principal_of(client_app_id);
            state.app_role_assignments.push(AppRoleAssignment {
                id: app_role_assignment_id(&principal_id, &seeded.app_role_id, &graph),
                app_role_id: seeded.app_role_id.to_ascii_lowercase(),
                created_date_time: seeded.created_date_time,
                principal_display_name: app.display_name.clone(),
                principal_id,
                principal_type: "ServicePrincipal".into(),
                resource_display_name: GRAPH_DISPLAY_NAME.into(),
                resource_id: graph.clone(),
            });
        }
        state
    }

    /// A user by id (case-insensitive GUID) or UPN (case-insensitive).
    pub fn find_user(&self, id_or_upn: &str) -> Option<&SeedUser> {
        self.users.iter().find(|u| {
            u.id.eq_ignore_ascii_case(id_or_upn)
                || u.user_principal_name.eq_ignore_ascii_case(id_or_upn)
        })
    }

    pub fn find_app(&self, app_id: &str) -> Option<&SeedTeamsApp> {
        self.teams_apps
            .iter()
            .find(|a| a.id.eq_ignore_ascii_case(app_id))
    }

    pub fn find_definition(&self, definition_id: &str) -> Option<(&SeedTeamsApp, &SeedDefinition)> {
        self.teams_apps.iter().find_map(|a| {
            a.definitions
                .iter()
                .find(|d| d.id == definition_id)
                .map(|d| (a, d))
        })
    }

    /// The object id of the service principal of Entra application `app_id` in this tenant: as
    /// the seed gives it on a definition (`servicePrincipalId`), otherwise one derived from the
    /// app id (stable, distinct per app).
    pub fn service_principal_of(&self, app_id: &str) -> String {
        self.teams_apps
            .iter()
            .flat_map(|a| &a.definitions)
            .filter(|d| {
                d.client_app_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(app_id))
            })
            .find_map(|d| d.service_principal_id.clone())
            .unwrap_or_else(|| derived_service_principal_id(app_id))
    }

    pub fn application(&self, client_id: &str) -> Option<&SeedApplication> {
        self.applications
            .iter()
            .find(|a| a.app_id.eq_ignore_ascii_case(client_id))
    }
}

/// Graph's application id (a resource identifier for scopes and tokens).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The display name of Microsoft Graph's service principal.
pub const GRAPH_DISPLAY_NAME: &str = "Microsoft Graph";

/// An app role assignment's id: opaque, stable, in the form Graph's take (43 base64url
/// characters: 32 bytes, the first 16 the principal's object id).
pub fn app_role_assignment_id(principal_id: &str, app_role_id: &str, resource_id: &str) -> String {
    let principal = uuid::Uuid::parse_str(principal_id).unwrap_or_default();
    let rest = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!(
            "devtenant-app-role-assignment:{}:{}",
            app_role_id.to_ascii_lowercase(),
            resource_id.to_ascii_lowercase()
        )
        .as_bytes(),
    );
    let mut bytes = principal.to_bytes_le().to_vec();
    bytes.extend_from_slice(rest.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A service principal object id derived from an app id, for apps the seed gives none.
pub fn derived_service_principal_id(app_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("devtenant-sp:{}", app_id.to_ascii_lowercase()).as_bytes(),
    )
    .to_string()
}

/// Latest published definition of an app.
pub fn latest_published(app: &SeedTeamsApp) -> Option<&SeedDefinition> {
    app.definitions
        .iter()
        .rev()
        .find(|d| d.publishing_state == "published")
}

/// The state and where it is persisted.
pub struct Store {
    state: Mutex<TenantState>,
    path: Option<PathBuf>,
}

impl Store {
    /// A store that lives in memory only.
    pub fn in_memory(state: TenantState) -> Store {
        Store {
            state: Mutex::new(state),
            path: None,
        }
    }

    /// Opens `path`: reads it when it exists (refusing a corrupt file), otherwise writes `initial`.
    pub fn open(path: &Path, initial: impl FnOnce() -> TenantState) -> Result<Store, String> {
        let state = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str::<TenantState>(&text).map_err(|e| {
                format!(
                    "state file {} is corrupt ({e}); refusing to replace it. Move it aside or delete it to start from the seed.",
                    path.display()
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let state = initial();
                write_atomically(path, &state)?;
                state
            }
            Err(e) => return Err(format!("cannot read state file {}: {e}", path.display())),
        };
        Ok(Store {
            state: Mutex::new(state),
            path: Some(path.to_path_buf()),
        })
    }

    /// Read access.
    pub fn read(&self) -> MutexGuard<'_, TenantState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Applies a change and persists it before returning; a failed write undoes the change.
    pub fn write<T>(&self, change: impl FnOnce(&mut TenantState) -> T) -> Result<T, String> {
        let mut guard = self.read();
        let before = self.path.as_ref().map(|_| guard.clone());
        let result = change(&mut guard);
        if let Some(path) = &self.path {
            if let Err(e) = write_atomically(path, &guard) {
                if let Some(before) = before {
                    *guard = before;
                }
                return Err(e);
            }
        }
        Ok(result)
    }
}

fn write_atomically(path: &Path, state: &TenantState) -> Result<(), String> {
    let text = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
    let tmp = path.with_extension("tmp");
    let fail = |e: std::io::Error| format!("cannot write state file {}: {e}", path.display());
    let mut file = std::fs::File::create(&tmp).map_err(fail)?;
    file.write_all(&text).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(fail)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_installation_ids_match_graphs_observed_form() {
        let state = TenantState::from_seed(Seed::builtin().unwrap());
        let id = installation_id(
            "5b649834-7412-4cce-9e69-176e95a394f5",
            "a6b63365-31a4-4f43-92ec-710b71557af9",
        );
        assert_eq!(
            id,
            "NWI2NDk4MzQtNzQxMi00Y2NlLTllNjktMTc2ZTk1YTM5NGY1IyNhNmI2MzM2NS0zMWE0LTRmNDMtOTJlYy03MTBiNzE1NTdhZjk"
        );
        assert!(state.installations.iter().any(|i| i.id == id));
    }

    #[test]
    fn seeded_extra_grants_resolve_to_the_user_and_the_apps_entra_id() {
        let state = TenantState::from_seed(Seed::builtin().unwrap());
        let orphan = state
            .find_user("grants.orphan@contoso.onmicrosoft.com")
            .unwrap();
        let grants: Vec<&ExtraGrant> = state
            .extra_grants
            .iter()
            .filter(|g| g.user_id == orphan.id)
            .collect();
        assert_eq!(grants.len(), 1);
        let app = state.find_app(&grants[0].app_id).unwrap();
        assert_eq!(app.display_name, "Helpdesk");
        assert_eq!(Some(grants[0].client_app_id.as_str()), app.client_app_id());
        assert!(!state
            .installations
            .iter()
            .any(|i| i.user_id == orphan.id && i.app_id == app.id));
        // State files written before extra grants existed still load.
        let mut old = serde_json::to_value(&state).unwrap();
        old.as_object_mut().unwrap().remove("extraGrants");
        let reloaded: TenantState = serde_json::from_value(old).unwrap();
        assert!(reloaded.extra_grants.is_empty());
    }

    #[test]
    fn seeded_app_role_assignments_have_graphs_shape() {
        let state = TenantState::from_seed(Seed::builtin().unwrap());
        let notify_sp = "d0a57ef7-f531-52fb-98ab-da20d94e2abd";
        let notify: Vec<&AppRoleAssignment> = state
            .app_role_assignments
            .iter()
            .filter(|a| a.principal_id == notify_sp)
            .collect();
        assert_eq!(notify.len(), 2);
        let graph = state.service_principal_of(GRAPH_APP_ID);
        for a in &notify {
            assert_eq!(a.principal_type, "ServicePrincipal");
            assert_eq!(a.principal_display_name, "Contoso Notify");
            assert_eq!(a.resource_id, graph);
            assert_eq!(a.resource_display_name, "Microsoft Graph");
            assert_eq!(a.id.len(), 43);
            assert!(a.id.starts_with(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(uuid::Uuid::parse_str(notify_sp).unwrap().to_bytes_le())[..21]
            ));
        }
        assert_ne!(notify[0].id, notify[1].id);
        let json = serde_json::to_value(notify[0]).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "appRoleId",
                "createdDateTime",
                "id",
                "principalDisplayName",
                "principalId",
                "principalType",
                "resourceDisplayName",
                "resourceId"
            ]
        );
        // State files written before app role assignments existed still load.
        let mut old = serde_json::to_value(&state).unwrap();
        old.as_object_mut().unwrap().remove("appRoleAssignments");
        let reloaded: TenantState = serde_json::from_value(old).unwrap();
        assert!(reloaded.app_role_assignments.is_empty());
    }

    #[test]
    fn corrupt_state_file_is_refused_and_kept() {
        let dir = std::env::temp_dir().join(format!("devtenant-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        std::fs::write(&path, "{ not json").unwrap();
        let error = Store::open(&path, || unreachable!()).err().unwrap();
        assert!(error.contains("corrupt"), "{error}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn changes_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("devtenant-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        let store =
            Store::open(&path, || TenantState::from_seed(Seed::builtin().unwrap())).unwrap();
        store.write(|s| s.installations.clear()).unwrap();
        drop(store);
        let reopened = Store::open(&path, || unreachable!()).unwrap();
        assert!(reopened.read().installations.is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
