//! The rules the personal-apps views used to hold: how lists are sorted, whether an app is
//! already installed, what the tenant's RSC switch means when Graph leaves it out, and whether
//! an install or upgrade can be submitted now (and if not, why).

use super::apps::ConsentRequirement;
use super::ids::CatalogAppId;
use super::models::{Installation, TeamsApp, TeamsAppSettings};
use super::preflight::Lookup;

/// Installations by app name, case-insensitively (then by id, so the order is stable).
pub fn sort_installations(installations: &mut [Installation]) {
    installations.sort_by_cached_key(|i| {
        (
            super::apps::installation_name(i).to_lowercase(),
            i.id.clone(),
        )
    });
}

/// Catalog apps by display name, case-insensitively (then by id).
pub fn sort_apps(apps: &mut [TeamsApp]) {
    apps.sort_by_cached_key(|a| {
        (
            a.display_name.clone().unwrap_or_default().to_lowercase(),
            a.id.clone(),
        )
    });
}

/// The user's installation of `app`, if any.
pub fn installation_of<'a>(
    installations: &'a [Installation],
    app: &CatalogAppId,
) -> Option<&'a Installation> {
    installations
        .iter()
        .find(|i| i.teams_app.as_ref().is_some_and(|a| app.matches(&a.id)))
}

/// The tenant's personal-scope RSC switch as read. Graph documents the property's default as
/// enabled, so an answer without it means enabled; a failed read cannot pass a check.
pub fn rsc_switch(settings: Result<TeamsAppSettings, String>) -> Lookup<bool> {
    match settings {
        Ok(s) => Lookup::Known(
            s.is_user_personal_scope_resource_specific_consent_enabled
                .unwrap_or(true),
        ),
        Err(message) => Lookup::Failed(message),
    }
}

/// Why a write cannot be submitted yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitBlock {
    /// The pre-flight checklist has a failed or pending check.
    Checklist,
    /// No published definition to move to.
    NoDefinition,
    /// The consent chosen is not one Graph accepts (the editor says why).
    ConsentInvalid,
    /// The same write is already being sent.
    InFlight,
}

/// Whether an install or upgrade can be submitted, given the checklist, the target definition's
/// consent rule, whether the consent chosen is one Graph accepts, and whether it is already
/// being sent.
pub fn can_submit(
    checklist_ready: bool,
    requirement: Option<&ConsentRequirement>,
    consent_valid: bool,
    in_flight: bool,
) -> Result<(), SubmitBlock> {
    if in_flight {
        return Err(SubmitBlock::InFlight);
    }
    let Some(requirement) = requirement else {
        return Err(SubmitBlock::NoDefinition);
    };
    if !checklist_ready {
        return Err(SubmitBlock::Checklist);
    }
    if requirement.needs_rsc() && !consent_valid {
        return Err(SubmitBlock::ConsentInvalid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::models::{PermissionType, ResourceSpecificPermission};

    fn app(id: &str, name: Option<&str>) -> TeamsApp {
        TeamsApp {
            id: id.into(),
            external_id: None,
            display_name: name.map(str::to_string),
            distribution_method: None,
            app_definitions: vec![],
        }
    }

    fn installed(id: &str, app_id: &str, name: &str) -> Installation {
        Installation {
            id: id.into(),
            consented_permission_set: None,
            teams_app: Some(app(app_id, Some(name))),
            teams_app_definition: None,
        }
    }

    #[test]
    fn lists_sort_by_name_without_case_and_stably() {
        let mut apps = vec![
            app("2", Some("beta")),
            app("1", Some("Alpha")),
            app("0", None),
            app("3", Some("alpha")),
        ];
        sort_apps(&mut apps);
        let ids: Vec<_> = apps.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["0", "1", "3", "2"]);
        let mut list = vec![installed("b", "x", "Zeta"), installed("a", "y", "eta")];
        sort_installations(&mut list);
        assert_eq!(list[0].id, "a");
    }

    #[test]
    fn already_installed_compares_catalog_ids_without_case() {
        let list = vec![installed("i", "ABC", "Polls")];
        assert!(installation_of(&list, &CatalogAppId::new("abc")).is_some());
        assert!(installation_of(&list, &CatalogAppId::new("abd")).is_none());
    }

    #[test]
    fn the_rsc_switch_defaults_to_enabled_and_a_failed_read_stays_failed() {
        let absent = TeamsAppSettings {
            is_user_personal_scope_resource_specific_consent_enabled: None,
            allow_user_requests_for_app_access: None,
        };
        assert_eq!(rsc_switch(Ok(absent)), Lookup::Known(true));
        let off = TeamsAppSettings {
            is_user_personal_scope_resource_specific_consent_enabled: Some(false),
            allow_user_requests_for_app_access: None,
        };
        assert_eq!(rsc_switch(Ok(off)), Lookup::Known(false));
        assert_eq!(rsc_switch(Err("403".into())), Lookup::Failed("403".into()));
    }

    #[test]
    fn submit_needs_a_ready_checklist_a_definition_and_the_whole_set_confirmed() {
        let whole = ConsentRequirement::WholeSet(vec![ResourceSpecificPermission {
            permission_value: "TeamsActivity.Send.User".into(),
            permission_type: PermissionType::Application,
        }]);
        let none = ConsentRequirement::None;
        let cases = [
            (true, Some(&none), false, false, Ok(())),
            (
                true,
                Some(&whole),
                false,
                false,
                Err(SubmitBlock::ConsentInvalid),
            ),
            (true, Some(&whole), true, false, Ok(())),
            (false, Some(&none), true, false, Err(SubmitBlock::Checklist)),
            (true, None, true, false, Err(SubmitBlock::NoDefinition)),
            // A delegated-only requirement with an invalid (partial) choice is blocked too.
            (
                true,
                Some(&ConsentRequirement::DelegatedOnly(vec![])),
                false,
                false,
                Err(SubmitBlock::ConsentInvalid),
            ),
            (true, Some(&none), true, true, Err(SubmitBlock::InFlight)),
        ];
        for (ready, requirement, confirmed, in_flight, expected) in cases {
            assert_eq!(
                can_submit(ready, requirement, confirmed, in_flight),
                expected
            );
        }
    }
}
