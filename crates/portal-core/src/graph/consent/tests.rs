//! The consent model, table-driven: no RSC, delegated only, application only, mixed, upgrades
//! that add or remove permissions, mixed-case and unknown permission types, orphan grants, and
//! proposals that are strict subsets or supersets.

use super::*;
use crate::graph::models::{Authorization, PermissionSet, TeamsApp};
use PermissionType::{Application as A, Delegated as D, UnknownFutureValue as U};

fn rsc(value: &str, kind: PermissionType) -> ResourceSpecificPermission {
    ResourceSpecificPermission {
        permission_value: value.into(),
        permission_type: kind,
    }
}

fn definition(id: &str, required: Vec<ResourceSpecificPermission>) -> AppDefinition {
    AppDefinition {
        id: id.into(),
        teams_app_id: Some("app".into()),
        display_name: Some("App".into()),
        version: Some(id.into()),
        publishing_state: None,
        description: None,
        last_modified_date_time: None,
        bot: None,
        authorization: Some(Authorization {
            client_app_id: Some(APP_ID.into()),
            required_permission_set: Some(PermissionSet {
                resource_specific_permissions: required,
            }),
        }),
    }
}

fn installation(
    def: &AppDefinition,
    consented: Option<Vec<ResourceSpecificPermission>>,
) -> Installation {
    Installation {
        id: "inst".into(),
        consented_permission_set: consented.map(|c| PermissionSet {
            resource_specific_permissions: c,
        }),
        teams_app: Some(TeamsApp {
            id: "app".into(),
            external_id: None,
            display_name: None,
            distribution_method: None,
            app_definitions: vec![],
        }),
        teams_app_definition: Some(def.clone()),
    }
}

const APP_ID: &str = "0d5c5a3b-8c7e-4a1e-9f3b-2b1f0c9d8e7a";
const SP_ID: &str = "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918";

fn grant(permission: &str, kind: &str) -> PermissionGrant {
    PermissionGrant {
        id: format!("g-{permission}"),
        client_id: Some(SP_ID.into()),
        client_app_id: Some(APP_ID.into()),
        resource_app_id: Some("00000003-0000-0000-c000-000000000000".into()),
        permission_type: Some(kind.into()),
        permission: Some(permission.into()),
    }
}

/// (permission, kind, required, consented, granted, state, upgrade)
type Row = (
    &'static str,
    PermissionType,
    bool,
    bool,
    bool,
    PermissionState,
    Option<UpgradeChange>,
);

/// (name, installed definition, latest, the installation's consent (`None`: not installed),
/// grants, expected rows)
type RowCase = (
    &'static str,
    AppDefinition,
    Option<AppDefinition>,
    Option<Option<Vec<ResourceSpecificPermission>>>,
    Vec<PermissionGrant>,
    Vec<Row>,
);

/// (name, required set, proposal, verdict)
type ProposalCase = (
    &'static str,
    Vec<ResourceSpecificPermission>,
    Option<Vec<ResourceSpecificPermission>>,
    Result<(), Invalid>,
);

fn rows(consent: &AppConsent) -> Vec<Row> {
    consent
        .rows
        .iter()
        .map(|r| {
            let name: &'static str = Box::leak(r.permission.clone().into_boxed_str());
            (
                name,
                r.kind,
                r.required,
                r.consented,
                r.granted,
                r.state,
                r.upgrade,
            )
        })
        .collect()
}

#[test]
fn rows_show_required_consented_and_granted_side_by_side() {
    use PermissionState::*;
    use UpgradeChange::*;
    let send = || rsc("TeamsActivity.Send.User", A);
    let read = || rsc("TeamsAppInstallation.Read.User", A);
    let purchase = || rsc("InAppPurchase.Allow.User", D);
    let cases: Vec<RowCase> = vec![
        (
            "no RSC",
            definition("1", vec![]),
            None,
            Some(None),
            vec![],
            vec![],
        ),
        (
            "delegated only, consent omitted: allowed",
            definition("1", vec![purchase()]),
            None,
            Some(None),
            vec![],
            vec![(
                "InAppPurchase.Allow.User",
                D,
                true,
                false,
                false,
                NotConsentedOptional,
                None,
            )],
        ),
        (
            "application only, consented and granted",
            definition("1", vec![send()]),
            None,
            Some(Some(vec![send()])),
            vec![grant("TeamsActivity.Send.User", "Application")],
            vec![(
                "TeamsActivity.Send.User",
                A,
                true,
                true,
                true,
                InPlace,
                None,
            )],
        ),
        (
            "mixed, consented, one grant missing",
            definition("1", vec![send(), purchase()]),
            None,
            Some(Some(vec![send(), purchase()])),
            vec![grant("TeamsActivity.Send.User", "Application")],
            vec![
                (
                    "InAppPurchase.Allow.User",
                    D,
                    true,
                    true,
                    false,
                    ConsentedNotGranted,
                    None,
                ),
                (
                    "TeamsActivity.Send.User",
                    A,
                    true,
                    true,
                    true,
                    InPlace,
                    None,
                ),
            ],
        ),
        (
            "an upgrade that adds application RSC",
            definition("1", vec![send()]),
            Some(definition("2", vec![send(), read()])),
            Some(Some(vec![send()])),
            vec![grant("TeamsActivity.Send.User", "Application")],
            vec![
                (
                    "TeamsActivity.Send.User",
                    A,
                    true,
                    true,
                    true,
                    InPlace,
                    Some(Kept),
                ),
                (
                    "TeamsAppInstallation.Read.User",
                    A,
                    false,
                    false,
                    false,
                    NotYetRequired,
                    Some(Added),
                ),
            ],
        ),
        (
            "an upgrade that removes some",
            definition("1", vec![send(), read()]),
            Some(definition("2", vec![send()])),
            Some(Some(vec![send(), read()])),
            vec![],
            vec![
                (
                    "TeamsActivity.Send.User",
                    A,
                    true,
                    true,
                    false,
                    ConsentedNotGranted,
                    Some(Kept),
                ),
                (
                    "TeamsAppInstallation.Read.User",
                    A,
                    true,
                    true,
                    false,
                    ConsentedNotGranted,
                    Some(Removed),
                ),
            ],
        ),
        (
            "a required application permission never consented",
            definition("1", vec![send()]),
            None,
            Some(None),
            vec![],
            vec![(
                "TeamsActivity.Send.User",
                A,
                true,
                false,
                false,
                RequiredNotConsented,
                None,
            )],
        ),
        (
            "mixed-case grant type and value, a grant the definition no longer requires",
            definition("1", vec![send()]),
            None,
            Some(Some(vec![send()])),
            vec![
                grant("teamsactivity.send.user", "APPLICATION"),
                grant("Chat.Read.User", "Delegated"),
            ],
            vec![
                (
                    "Chat.Read.User",
                    D,
                    false,
                    false,
                    true,
                    NoLongerRequired,
                    None,
                ),
                (
                    "TeamsActivity.Send.User",
                    A,
                    true,
                    true,
                    true,
                    InPlace,
                    None,
                ),
            ],
        ),
        (
            "an unknownFutureValue permission is kept, never dropped",
            definition("1", vec![send(), rsc("Future.Thing.User", U)]),
            None,
            Some(Some(vec![send(), rsc("Future.Thing.User", U)])),
            vec![grant("Future.Thing.User", "somethingNew")],
            vec![
                ("Future.Thing.User", U, true, true, true, InPlace, None),
                (
                    "TeamsActivity.Send.User",
                    A,
                    true,
                    true,
                    false,
                    ConsentedNotGranted,
                    None,
                ),
            ],
        ),
        (
            "before an install: required, nothing consented or granted",
            definition("1", vec![send()]),
            None,
            None,
            vec![],
            vec![(
                "TeamsActivity.Send.User",
                A,
                true,
                false,
                false,
                RequiredNotConsented,
                None,
            )],
        ),
    ];
    for (name, installed, latest, consented, grants, expected) in cases {
        let inst = consented.map(|c| installation(&installed, c));
        let refs: Vec<&PermissionGrant> = grants.iter().collect();
        let consent = compare(&installed, latest.as_ref(), inst.as_ref(), &refs);
        assert_eq!(rows(&consent), expected, "{name}");
    }
}

#[test]
fn grants_are_sorted_by_app_and_orphans_found() {
    let mut other = grant("TeamsActivity.Send.User", "Application");
    other.client_app_id = Some("11111111-2222-3333-4444-555555555555".into());
    other.client_id = Some("99999999-2222-3333-4444-555555555555".into());
    let ours = grant("TeamsActivity.Send.User", "Application");
    let grants = vec![ours.clone(), other.clone()];
    assert_eq!(grants_of_app(&grants, APP_ID), vec![&ours]);
    assert_eq!(orphan_grants(&grants, &[APP_ID]), vec![&other]);
    assert_eq!(orphan_grants(&grants, &[]).len(), 2);
    // Under the documented reading of the ids (clientId = the application), the same.
    let mut documented = ours.clone();
    documented.client_id = Some(APP_ID.into());
    documented.client_app_id = Some(SP_ID.into());
    assert_eq!(
        grants_of_app(std::slice::from_ref(&documented), APP_ID).len(),
        1
    );
}

#[test]
fn proposals_are_valid_only_as_graph_accepts_them() {
    let send = rsc("TeamsActivity.Send.User", A);
    let read = rsc("TeamsAppInstallation.Read.User", A);
    let purchase = rsc("InAppPurchase.Allow.User", D);
    let mixed = vec![send.clone(), purchase.clone()];
    let cases: Vec<ProposalCase> = vec![
        ("no RSC, nothing sent", vec![], None, Ok(())),
        ("no RSC, an empty set sent", vec![], Some(vec![]), Ok(())),
        (
            "delegated only may be omitted",
            vec![purchase.clone()],
            None,
            Ok(()),
        ),
        (
            "delegated only may be sent whole",
            vec![purchase.clone()],
            Some(vec![purchase.clone()]),
            Ok(()),
        ),
        (
            "application: omitted is refused",
            vec![send.clone()],
            None,
            Err(Invalid::Missing(vec![send.clone()])),
        ),
        (
            "mixed: the whole set",
            mixed.clone(),
            Some(vec![purchase.clone(), send.clone()]),
            Ok(()),
        ),
        (
            "mixed: a strict subset",
            mixed.clone(),
            Some(vec![send.clone()]),
            Err(Invalid::Missing(vec![purchase.clone()])),
        ),
        (
            "a strict superset",
            vec![send.clone()],
            Some(vec![send.clone(), read.clone()]),
            Err(Invalid::Extra(vec![read.clone()])),
        ),
        (
            "both",
            vec![send.clone(), purchase.clone()],
            Some(vec![send.clone(), read.clone()]),
            Err(Invalid::MissingAndExtra {
                missing: vec![purchase.clone()],
                extra: vec![read.clone()],
            }),
        ),
        (
            "a type mismatch is not the same permission",
            vec![send.clone()],
            Some(vec![rsc("TeamsActivity.Send.User", D)]),
            Err(Invalid::MissingAndExtra {
                missing: vec![send.clone()],
                extra: vec![rsc("TeamsActivity.Send.User", D)],
            }),
        ),
        (
            "values compare without case",
            vec![send.clone()],
            Some(vec![rsc("teamsactivity.send.user", A)]),
            Ok(()),
        ),
    ];
    for (name, required, proposed, expected) in cases {
        assert_eq!(validate(&required, proposed.as_deref()), expected, "{name}");
    }
    assert_eq!(
        Invalid::Missing(vec![]).reason_key(),
        "consent.invalid.missing"
    );
}

#[test]
fn the_body_is_lowercase_and_any_consented_set_is_sent_with_the_consent_scope() {
    let set = vec![
        rsc("TeamsActivity.Send.User", A),
        rsc("InAppPurchase.Allow.User", D),
    ];
    assert_eq!(
        consent_body(&set),
        json!({"resourceSpecificPermissions": [
            {"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"},
            {"permissionValue": "InAppPurchase.Allow.User", "permissionType": "delegated"},
        ]})
    );
    assert_eq!(
        operation_for(Some(&set)),
        Operation::WriteInstallationsWithConsent
    );
    // A delegated-only set consents too: the only written rule (footnote 1 of
    // team-post-installedapps.md) refuses the non-consent scopes any RSC consent, so the
    // portal asks for the consent scope whatever the set holds.
    assert_eq!(
        operation_for(Some(&set[1..])),
        Operation::WriteInstallationsWithConsent
    );
    assert_eq!(
        operation_for(Some(&[rsc("Future.Capability.User", U)])),
        Operation::WriteInstallationsWithConsent
    );
    // Nothing consented: the lesser scope.
    assert_eq!(operation_for(Some(&[])), Operation::WriteInstallations);
    assert_eq!(operation_for(None), Operation::WriteInstallations);
}

#[test]
fn grants_are_grouped_by_installed_app_and_orphans_come_last() {
    let send = rsc("TeamsActivity.Send.User", A);
    let def = definition("1", vec![send.clone()]);
    let installed = installation(&def, Some(vec![send]));
    let mut orphan = grant("TeamsActivity.Send.User", "Application");
    orphan.client_app_id = Some("11111111-2222-3333-4444-555555555555".into());
    orphan.client_id = Some("99999999-2222-3333-4444-555555555555".into());
    let grants = vec![orphan, grant("teamsactivity.send.user", "APPLICATION")];
    let groups = group_grants(&grants, std::slice::from_ref(&installed));
    assert_eq!(groups.len(), 2);
    assert!(!groups[0].orphan);
    assert_eq!(groups[0].client_app_id, APP_ID);
    assert_eq!(groups[0].rows.len(), 1);
    assert_eq!(groups[0].rows[0].state, PermissionState::InPlace);
    assert!(groups[1].orphan);
    assert_eq!(groups[1].app, "11111111-2222-3333-4444-555555555555");
    assert_eq!(groups[1].rows[0].kind, A);
    assert!(group_grants(&[], &[installed]).is_empty());
}
