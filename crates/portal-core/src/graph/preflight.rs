//! The install pre-flight checklist, decided from what the portal has read: the user exists,
//! the app has a published definition and is not installed yet, the tenant's personal-scope RSC
//! switch allows it when RSC is needed, and the write scope is held or will be asked for.

use super::apps::ConsentRequirement;
use crate::auth::scopes::Operation;
use crate::cloud::Cloud;

/// What one read produced so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup<T> {
    Pending,
    Known(T),
    /// The read failed (message shown; the check cannot pass).
    Failed(String),
}

/// The checks, in the order they are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    UserExists,
    PublishedDefinition,
    NotInstalled,
    RscSwitch,
    Scope,
}

/// Where a check stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckState {
    Pending,
    Passed,
    /// Does not apply (for instance the RSC switch for an app without RSC).
    NotNeeded,
    /// Passes, with something the user should know (a scope that will be asked for).
    Warning(Note),
    /// Blocks the install.
    Failed(Note),
}

/// Why a check failed or warns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Note {
    NoSuchUser,
    NoPublishedDefinition,
    AlreadyInstalled,
    RscDisabled,
    /// The scope is not held yet: the portal asks for it (incremental consent).
    ScopeWillBeAsked(&'static str),
    /// The scope needs an administrator's consent the user cannot give.
    ScopeNeedsAdmin(&'static str),
    /// The national cloud cannot do this.
    UnavailableInCloud,
    /// A read failed.
    ReadFailed(String),
}

/// One line of the checklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub check: Check,
    pub state: CheckState,
}

/// Everything the checklist is decided from.
#[derive(Clone, Debug)]
pub struct Input {
    /// Whether the user exists (`/me` always does).
    pub user_exists: Lookup<bool>,
    /// The consent requirement of the latest published definition, if there is one.
    pub definition: Lookup<Option<ConsentRequirement>>,
    pub already_installed: Lookup<bool>,
    /// `isUserPersonalScopeResourceSpecificConsentEnabled`.
    pub rsc_switch: Lookup<bool>,
    /// Graph permissions the signed-in user holds now.
    pub granted: Vec<String>,
    /// Whether the signed-in user can consent to admin-only scopes (an administrator).
    pub can_consent_for_tenant: bool,
    pub cloud: Cloud,
}

fn from_lookup<T>(lookup: &Lookup<T>, decide: impl FnOnce(&T) -> CheckState) -> CheckState {
    match lookup {
        Lookup::Pending => CheckState::Pending,
        Lookup::Failed(message) => CheckState::Failed(Note::ReadFailed(message.clone())),
        Lookup::Known(value) => decide(value),
    }
}

/// The checklist.
pub fn evaluate(input: &Input) -> Vec<Item> {
    let requirement = match &input.definition {
        Lookup::Known(Some(requirement)) => Some(requirement.clone()),
        _ => None,
    };
    let user = from_lookup(&input.user_exists, |exists| {
        if *exists {
            CheckState::Passed
        } else {
            CheckState::Failed(Note::NoSuchUser)
        }
    });
    let definition = from_lookup(&input.definition, |d| match d {
        Some(_) => CheckState::Passed,
        None => CheckState::Failed(Note::NoPublishedDefinition),
    });
    let not_installed = from_lookup(&input.already_installed, |installed| {
        if *installed {
            CheckState::Failed(Note::AlreadyInstalled)
        } else {
            CheckState::Passed
        }
    });
    let rsc = match &requirement {
        None if matches!(input.definition, Lookup::Pending) => CheckState::Pending,
        None => CheckState::NotNeeded,
        Some(r) if !r.needs_rsc() => CheckState::NotNeeded,
        Some(_) => from_lookup(&input.rsc_switch, |enabled| {
            if *enabled {
                CheckState::Passed
            } else {
                CheckState::Failed(Note::RscDisabled)
            }
        }),
    };
    let scope = match &requirement {
        None if matches!(input.definition, Lookup::Pending) => CheckState::Pending,
        None => CheckState::NotNeeded,
        Some(r) => scope_state(r.operation(), input),
    };
    vec![
        Item {
            check: Check::UserExists,
            state: user,
        },
        Item {
            check: Check::PublishedDefinition,
            state: definition,
        },
        Item {
            check: Check::NotInstalled,
            state: not_installed,
        },
        Item {
            check: Check::RscSwitch,
            state: rsc,
        },
        Item {
            check: Check::Scope,
            state: scope,
        },
    ]
}

/// Whether the scope for `operation` is held, will be asked for, or cannot be had.
pub fn scope_state(operation: Operation, input: &Input) -> CheckState {
    let permission = operation.permission();
    if !operation.available_in(input.cloud) {
        CheckState::Failed(Note::UnavailableInCloud)
    } else if input.granted.iter().any(|g| g == permission) {
        CheckState::Passed
    } else if operation.needs_admin_consent() && !input.can_consent_for_tenant {
        CheckState::Warning(Note::ScopeNeedsAdmin(permission))
    } else {
        CheckState::Warning(Note::ScopeWillBeAsked(permission))
    }
}

/// Whether the install may go ahead: nothing pending, nothing failed.
pub fn ready(items: &[Item]) -> bool {
    items
        .iter()
        .all(|i| !matches!(i.state, CheckState::Pending | CheckState::Failed(_)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::models::{PermissionType, ResourceSpecificPermission};

    fn application() -> ConsentRequirement {
        ConsentRequirement::WholeSet(vec![ResourceSpecificPermission {
            permission_value: "TeamsActivity.Send.User".into(),
            permission_type: PermissionType::Application,
        }])
    }

    fn input() -> Input {
        Input {
            user_exists: Lookup::Known(true),
            definition: Lookup::Known(Some(ConsentRequirement::None)),
            already_installed: Lookup::Known(false),
            rsc_switch: Lookup::Known(true),
            granted: vec!["TeamsAppInstallation.ReadWriteForUser".into()],
            can_consent_for_tenant: true,
            cloud: Cloud::Global,
        }
    }

    fn state(items: &[Item], check: Check) -> CheckState {
        items
            .iter()
            .find(|i| i.check == check)
            .unwrap()
            .state
            .clone()
    }

    #[test]
    fn all_clear_without_rsc() {
        let items = evaluate(&input());
        assert!(ready(&items));
        assert_eq!(state(&items, Check::RscSwitch), CheckState::NotNeeded);
        assert_eq!(state(&items, Check::Scope), CheckState::Passed);
    }

    #[test]
    fn application_rsc_needs_the_switch_and_the_consent_scope() {
        let items = evaluate(&Input {
            definition: Lookup::Known(Some(application())),
            rsc_switch: Lookup::Known(false),
            ..input()
        });
        assert_eq!(
            state(&items, Check::RscSwitch),
            CheckState::Failed(Note::RscDisabled)
        );
        assert_eq!(
            state(&items, Check::Scope),
            CheckState::Warning(Note::ScopeWillBeAsked(
                "TeamsAppInstallation.ReadWriteAndConsentForUser"
            ))
        );
        assert!(!ready(&items));
    }

    #[test]
    fn a_member_is_told_an_admin_must_consent() {
        let items = evaluate(&Input {
            granted: vec![],
            can_consent_for_tenant: false,
            ..input()
        });
        assert_eq!(
            state(&items, Check::Scope),
            CheckState::Warning(Note::ScopeNeedsAdmin(
                "TeamsAppInstallation.ReadWriteForUser"
            ))
        );
        assert!(ready(&items), "a warning does not block");
    }

    #[test]
    fn missing_user_unpublished_app_installed_and_pending() {
        let items = evaluate(&Input {
            user_exists: Lookup::Known(false),
            definition: Lookup::Known(None),
            already_installed: Lookup::Known(true),
            ..input()
        });
        assert_eq!(
            state(&items, Check::UserExists),
            CheckState::Failed(Note::NoSuchUser)
        );
        assert_eq!(
            state(&items, Check::PublishedDefinition),
            CheckState::Failed(Note::NoPublishedDefinition)
        );
        assert_eq!(
            state(&items, Check::NotInstalled),
            CheckState::Failed(Note::AlreadyInstalled)
        );
        let pending = evaluate(&Input {
            rsc_switch: Lookup::Pending,
            definition: Lookup::Pending,
            ..input()
        });
        assert_eq!(state(&pending, Check::Scope), CheckState::Pending);
        assert!(!ready(&pending));
        let failed = evaluate(&Input {
            user_exists: Lookup::Failed("HTTP 500".into()),
            ..input()
        });
        assert!(!ready(&failed));
    }

    #[test]
    fn china_fails_the_scope_check_and_us_government_clouds_consent() {
        let items = evaluate(&Input {
            definition: Lookup::Known(Some(application())),
            cloud: Cloud::China,
            ..input()
        });
        assert_eq!(
            state(&items, Check::Scope),
            CheckState::Failed(Note::UnavailableInCloud)
        );
        for cloud in [Cloud::UsGovL4, Cloud::UsGovL5] {
            let items = evaluate(&Input {
                definition: Lookup::Known(Some(application())),
                cloud,
                ..input()
            });
            assert_ne!(
                state(&items, Check::Scope),
                CheckState::Failed(Note::UnavailableInCloud)
            );
        }
    }
}
