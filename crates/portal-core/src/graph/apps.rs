//! What the portal concludes from catalog apps and installations: the latest published app
//! definition, version drift, the RSC a definition requires (summarised, and what must be
//! consented per the consent rule of facts.md), and how an upgrade changes it.

use std::cmp::Ordering;

pub use super::models::installation_name;
use super::models::{
    AppDefinition, DistributionMethod, Installation, PermissionType, PublishingState,
    ResourceSpecificPermission, TeamsApp,
};
use crate::auth::scopes::Operation;

/// Compares dotted versions numerically (`1.10.0` > `1.9.2`), falling back to text for parts
/// that are not numbers; missing parts count as zero (`1.2` == `1.2.0`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<String> {
        v.trim()
            .trim_start_matches(['v', 'V'])
            .split(['.', '-', '+'])
            .map(str::to_string)
            .collect()
    };
    let (left, right) = (parts(a), parts(b));
    for i in 0..left.len().max(right.len()) {
        let l = left.get(i).map(String::as_str).unwrap_or("0");
        let r = right.get(i).map(String::as_str).unwrap_or("0");
        let order = match (l.parse::<u64>(), r.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => l.cmp(r),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// Whether a definition is published.
pub fn is_published(definition: &AppDefinition) -> bool {
    definition.publishing_state == Some(PublishingState::Published)
}

/// The app's published definitions, newest version first.
pub fn published_definitions(app: &TeamsApp) -> Vec<&AppDefinition> {
    let mut published: Vec<&AppDefinition> = app
        .app_definitions
        .iter()
        .filter(|d| is_published(d))
        .collect();
    published.sort_by(|a, b| {
        compare_versions(
            b.version.as_deref().unwrap_or(""),
            a.version.as_deref().unwrap_or(""),
        )
    });
    published
}

/// The definition an install or upgrade moves to: the latest published one.
pub fn latest_published(app: &TeamsApp) -> Option<&AppDefinition> {
    published_definitions(app).into_iter().next()
}

/// How an installation's version stands against the catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// Installed at the latest published version.
    UpToDate { version: String },
    /// A newer published version exists: upgrade moves to it.
    Outdated { installed: String, latest: String },
    /// The app has no published definition any more (or is gone from the catalog).
    NotInCatalog { installed: String },
    /// A store or sideloaded app: the organisation catalog the portal reads does not list it,
    /// so its latest version is not known here (it is not "gone").
    OutsideOrganizationCatalog {
        installed: String,
        distribution: String,
    },
    /// The installed version is unknown (the answer carried no definition).
    Unknown,
}

impl Drift {
    /// Whether an upgrade is possible.
    pub fn can_upgrade(&self) -> bool {
        matches!(self, Drift::Outdated { .. })
    }
}

/// Drift of an installation, given the catalog app it belongs to (if the catalog has it).
pub fn drift(installation: &Installation, catalog_app: Option<&TeamsApp>) -> Drift {
    let Some(installed) = installation
        .teams_app_definition
        .as_ref()
        .and_then(|d| d.version.clone())
    else {
        return Drift::Unknown;
    };
    let distribution = installation
        .teams_app
        .as_ref()
        .and_then(|a| a.distribution_method.clone());
    if let (None, Some(distribution)) = (catalog_app, distribution) {
        if distribution != DistributionMethod::Organization {
            return Drift::OutsideOrganizationCatalog {
                installed,
                distribution: distribution.as_str().to_string(),
            };
        }
    }
    let Some(latest) = catalog_app.and_then(latest_published) else {
        return Drift::NotInCatalog { installed };
    };
    let latest_version = latest.version.clone().unwrap_or_default();
    match compare_versions(&installed, &latest_version) {
        Ordering::Less => Drift::Outdated {
            installed,
            latest: latest_version,
        },
        _ => Drift::UpToDate { version: installed },
    }
}

/// An RSC set split by kind, each sorted by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RscSummary {
    pub application: Vec<String>,
    pub delegated: Vec<String>,
    /// Kinds Graph may add later (`unknownFutureValue`).
    pub other: Vec<String>,
}

impl RscSummary {
    pub fn of(permissions: &[ResourceSpecificPermission]) -> RscSummary {
        let mut summary = RscSummary::default();
        for p in permissions {
            let list = match p.permission_type {
                PermissionType::Application => &mut summary.application,
                PermissionType::Delegated => &mut summary.delegated,
                PermissionType::UnknownFutureValue => &mut summary.other,
            };
            if !list.contains(&p.permission_value) {
                list.push(p.permission_value.clone());
            }
        }
        summary.application.sort();
        summary.delegated.sort();
        summary.other.sort();
        summary
    }

    pub fn is_empty(&self) -> bool {
        self.application.is_empty() && self.delegated.is_empty() && self.other.is_empty()
    }

    pub fn len(&self) -> usize {
        self.application.len() + self.delegated.len() + self.other.len()
    }
}

/// What an install or upgrade to a definition must consent to (the consent rule).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsentRequirement {
    /// The definition requires no RSC.
    None,
    /// Delegated permissions only: the consent may be omitted (the portal omits it).
    DelegatedOnly(Vec<ResourceSpecificPermission>),
    /// Application permissions among them: the whole set must be consented, all or nothing.
    WholeSet(Vec<ResourceSpecificPermission>),
}

impl ConsentRequirement {
    pub fn of(definition: &AppDefinition) -> ConsentRequirement {
        let required = definition.required_permissions();
        if required.is_empty() {
            ConsentRequirement::None
        } else if required
            .iter()
            .all(|p| p.permission_type == PermissionType::Delegated)
        {
            ConsentRequirement::DelegatedOnly(required)
        } else {
            ConsentRequirement::WholeSet(required)
        }
    }

    /// The `consentedPermissionSet` to send, if any.
    pub fn consent_to_send(&self) -> Option<&[ResourceSpecificPermission]> {
        match self {
            ConsentRequirement::WholeSet(set) => Some(set),
            _ => None,
        }
    }

    /// The least-privileged operation (and so scope) the write needs.
    pub fn operation(&self) -> Operation {
        super::consent::operation_for(self.consent_to_send())
    }

    /// Whether the tenant's personal-scope RSC switch matters (any RSC at all).
    pub fn needs_rsc(&self) -> bool {
        !matches!(self, ConsentRequirement::None)
    }
}

/// How the required RSC changes from one definition to another.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RscChange {
    pub added: Vec<ResourceSpecificPermission>,
    pub removed: Vec<ResourceSpecificPermission>,
    pub kept: Vec<ResourceSpecificPermission>,
}

impl RscChange {
    pub fn between(from: &AppDefinition, to: &AppDefinition) -> RscChange {
        let before = from.required_permissions();
        let after = to.required_permissions();
        let mut change = RscChange::default();
        for p in &after {
            if before.contains(p) {
                change.kept.push(p.clone());
            } else {
                change.added.push(p.clone());
            }
        }
        change.removed = before.into_iter().filter(|p| !after.contains(p)).collect();
        change.added.sort();
        change.removed.sort();
        change.kept.sort();
        change
    }

    pub fn is_unchanged(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }

    /// Whether the upgrade adds application permissions (the admin consents to more).
    pub fn adds_application(&self) -> bool {
        self.added
            .iter()
            .any(|p| p.permission_type == PermissionType::Application)
    }
}

/// The catalog app an installation belongs to, by catalog id.
pub fn catalog_app_of<'a>(
    installation: &Installation,
    catalog: &'a [TeamsApp],
) -> Option<&'a TeamsApp> {
    let id = installation.teams_app.as_ref().map(|a| a.id.as_str())?;
    catalog.iter().find(|a| a.id.eq_ignore_ascii_case(id))
}

/// Organisation apps a user can still install: published, not yet installed, sorted by name.
pub fn installable<'a>(
    catalog: &'a [TeamsApp],
    installations: &[Installation],
) -> Vec<&'a TeamsApp> {
    let mut apps: Vec<&TeamsApp> = catalog
        .iter()
        .filter(|app| latest_published(app).is_some())
        .filter(|app| {
            !installations.iter().any(|i| {
                i.teams_app
                    .as_ref()
                    .is_some_and(|a| a.id.eq_ignore_ascii_case(&app.id))
            })
        })
        .collect();
    apps.sort_by_key(|a| a.display_name.clone().unwrap_or_default().to_lowercase());
    apps
}

/// How many of some users have an app installed, at which version.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstallCounts {
    /// Users whose installations were looked at.
    pub users: usize,
    /// (version, users at it), newest version first.
    pub by_version: Vec<(String, usize)>,
    pub not_installed: usize,
}

/// Counts, over the users' installation lists given, who has the catalog app `app_id` at
/// which version.
pub fn install_counts<'a>(
    app_id: &str,
    users: impl IntoIterator<Item = &'a [Installation]>,
) -> InstallCounts {
    let mut counts = InstallCounts::default();
    let mut versions: Vec<(String, usize)> = Vec::new();
    for installations in users {
        counts.users += 1;
        let found = installations.iter().find(|i| {
            i.teams_app
                .as_ref()
                .is_some_and(|a| a.id.eq_ignore_ascii_case(app_id))
        });
        match found {
            None => counts.not_installed += 1,
            Some(installation) => {
                let version = installation
                    .teams_app_definition
                    .as_ref()
                    .and_then(|d| d.version.clone())
                    .unwrap_or_default();
                match versions.iter_mut().find(|(v, _)| *v == version) {
                    Some((_, n)) => *n += 1,
                    None => versions.push((version, 1)),
                }
            }
        }
    }
    versions.sort_by(|a, b| compare_versions(&b.0, &a.0));
    counts.by_version = versions;
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_counts_group_users_by_version_newest_first() {
        let at = |version: &str| Installation {
            id: format!("i-{version}"),
            consented_permission_set: None,
            teams_app: Some(TeamsApp {
                id: "APP".into(),
                external_id: None,
                display_name: None,
                distribution_method: None,
                app_definitions: vec![],
            }),
            teams_app_definition: Some(AppDefinition {
                id: version.into(),
                teams_app_id: None,
                display_name: None,
                version: Some(version.into()),
                publishing_state: None,
                description: None,
                last_modified_date_time: None,
                bot: None,
                authorization: None,
            }),
        };
        let lists: Vec<Vec<Installation>> = vec![
            vec![at("1.0.0")],
            vec![at("1.10.0")],
            vec![at("1.0.0")],
            vec![],
        ];
        let counts = install_counts("app", lists.iter().map(Vec::as_slice));
        assert_eq!(counts.users, 4);
        assert_eq!(counts.not_installed, 1);
        assert_eq!(
            counts.by_version,
            vec![("1.10.0".to_string(), 1), ("1.0.0".to_string(), 2)]
        );
    }

    #[test]
    fn store_and_sideloaded_apps_are_not_gone_from_the_catalog() {
        let mut installation = Installation {
            id: "i".into(),
            consented_permission_set: None,
            teams_app: Some(TeamsApp {
                id: "store-app".into(),
                external_id: None,
                display_name: Some("Polly".into()),
                distribution_method: Some(DistributionMethod::Store),
                app_definitions: vec![],
            }),
            teams_app_definition: Some(AppDefinition {
                id: "d".into(),
                teams_app_id: Some("store-app".into()),
                display_name: Some("Polly".into()),
                version: Some("4.2".into()),
                publishing_state: Some(PublishingState::Published),
                description: None,
                last_modified_date_time: None,
                bot: None,
                authorization: None,
            }),
        };
        assert_eq!(
            drift(&installation, None),
            Drift::OutsideOrganizationCatalog {
                installed: "4.2".into(),
                distribution: "store".into()
            }
        );
        assert_eq!(installation_name(&installation), "Polly");
        if let Some(app) = installation.teams_app.as_mut() {
            app.distribution_method = Some(DistributionMethod::Organization);
        }
        assert_eq!(
            drift(&installation, None),
            Drift::NotInCatalog {
                installed: "4.2".into()
            }
        );
    }
    use crate::graph::models::{Authorization, PermissionSet};

    fn rsc(value: &str, kind: PermissionType) -> ResourceSpecificPermission {
        ResourceSpecificPermission {
            permission_value: value.into(),
            permission_type: kind,
        }
    }

    fn definition(
        version: &str,
        state: &str,
        rsc: Vec<ResourceSpecificPermission>,
    ) -> AppDefinition {
        AppDefinition {
            id: format!("def-{version}"),
            teams_app_id: Some("app".into()),
            display_name: Some("Field Service".into()),
            version: Some(version.into()),
            publishing_state: Some(PublishingState::parse(state)),
            description: None,
            last_modified_date_time: None,
            bot: None,
            authorization: Some(Authorization {
                client_app_id: None,
                required_permission_set: Some(PermissionSet {
                    resource_specific_permissions: rsc,
                }),
            }),
        }
    }

    fn app(definitions: Vec<AppDefinition>) -> TeamsApp {
        TeamsApp {
            id: "app".into(),
            external_id: None,
            display_name: Some("Field Service".into()),
            distribution_method: Some(DistributionMethod::Organization),
            app_definitions: definitions,
        }
    }

    fn installed(version: &str) -> Installation {
        Installation {
            id: "inst".into(),
            consented_permission_set: None,
            teams_app: Some(app(vec![])),
            teams_app_definition: Some(definition(version, "published", vec![])),
        }
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("1.10.0", "1.9.2"), Ordering::Greater);
        assert_eq!(compare_versions("1.2", "1.2.0"), Ordering::Equal);
        assert_eq!(compare_versions("v2.0.0", "10.0"), Ordering::Less);
    }

    #[test]
    fn latest_published_ignores_submitted_and_rejected_and_order() {
        let app = app(vec![
            definition("1.3.0", "submitted", vec![]),
            definition("1.10.0", "published", vec![]),
            definition("1.9.0", "Published", vec![]),
            definition("2.0.0", "rejected", vec![]),
        ]);
        assert_eq!(
            latest_published(&app).unwrap().version.as_deref(),
            Some("1.10.0")
        );
        assert_eq!(published_definitions(&app).len(), 2);
    }

    #[test]
    fn drift_badges() {
        let catalog = app(vec![
            definition("1.0.0", "published", vec![]),
            definition("1.2.0", "published", vec![]),
        ]);
        assert_eq!(
            drift(&installed("1.0.0"), Some(&catalog)),
            Drift::Outdated {
                installed: "1.0.0".into(),
                latest: "1.2.0".into()
            }
        );
        assert!(drift(&installed("1.0.0"), Some(&catalog)).can_upgrade());
        assert_eq!(
            drift(&installed("1.2.0"), Some(&catalog)),
            Drift::UpToDate {
                version: "1.2.0".into()
            }
        );
        assert_eq!(
            drift(&installed("1.2.0"), None),
            Drift::NotInCatalog {
                installed: "1.2.0".into()
            }
        );
        let mut unknown = installed("1.0.0");
        unknown.teams_app_definition = None;
        assert_eq!(drift(&unknown, Some(&catalog)), Drift::Unknown);
    }

    #[test]
    fn consent_rule_whole_set_once_any_application_permission() {
        let none = definition("1.0.0", "published", vec![]);
        assert_eq!(ConsentRequirement::of(&none), ConsentRequirement::None);
        assert_eq!(
            ConsentRequirement::of(&none).operation(),
            Operation::WriteInstallations
        );
        let delegated = definition(
            "1.0.0",
            "published",
            vec![rsc("InAppPurchase.Allow.User", PermissionType::Delegated)],
        );
        let requirement = ConsentRequirement::of(&delegated);
        assert!(requirement.consent_to_send().is_none());
        assert!(requirement.needs_rsc());
        let mixed = definition(
            "1.0.0",
            "published",
            vec![
                rsc("TeamsActivity.Send.User", PermissionType::Application),
                rsc("InAppPurchase.Allow.User", PermissionType::Delegated),
            ],
        );
        let requirement = ConsentRequirement::of(&mixed);
        assert_eq!(requirement.consent_to_send().map(<[_]>::len), Some(2));
        assert_eq!(
            requirement.operation(),
            Operation::WriteInstallationsWithConsent
        );
    }

    #[test]
    fn upgrade_change_lists_added_and_removed() {
        let from = definition(
            "3.0.0",
            "published",
            vec![rsc("TeamsActivity.Send.User", PermissionType::Application)],
        );
        let to = definition(
            "3.1.0",
            "published",
            vec![
                rsc("TeamsActivity.Send.User", PermissionType::Application),
                rsc(
                    "TeamsAppInstallation.Read.User",
                    PermissionType::Application,
                ),
            ],
        );
        let change = RscChange::between(&from, &to);
        assert_eq!(change.added.len(), 1);
        assert_eq!(change.kept.len(), 1);
        assert!(change.removed.is_empty());
        assert!(change.adds_application());
        assert!(RscChange::between(&to, &to).is_unchanged());
        let back = RscChange::between(&to, &from);
        assert_eq!(
            back.removed[0].permission_value,
            "TeamsAppInstallation.Read.User"
        );
    }

    #[test]
    fn summary_splits_by_kind() {
        let summary = RscSummary::of(&[
            rsc("B", PermissionType::Application),
            rsc("A", PermissionType::Application),
            rsc("C", PermissionType::Delegated),
            rsc("A", PermissionType::Application),
        ]);
        assert_eq!(summary.application, ["A", "B"]);
        assert_eq!(summary.delegated, ["C"]);
        assert_eq!(summary.len(), 3);
    }

    #[test]
    fn installable_leaves_out_installed_and_unpublished() {
        let mut other = app(vec![definition("1.0.0", "submitted", vec![])]);
        other.id = "draft".into();
        let mut third = app(vec![definition("1.0.0", "published", vec![])]);
        third.id = "third".into();
        third.display_name = Some("Alpha".into());
        let catalog = vec![
            app(vec![definition("1.0.0", "published", vec![])]),
            other,
            third,
        ];
        let apps = installable(&catalog, &[installed("1.0.0")]);
        assert_eq!(apps.len(), 1);
        assert_eq!(apps[0].id, "third");
    }
}
