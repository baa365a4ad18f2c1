//! Seeded users whose RSC grants and installations differ (issue #11), against the running
//! binary: an orphan grant, a consent behind the latest published definition, grant types in
//! mixed case, and a permission of type `unknownFutureValue`. Grants of installations follow
//! install, upgrade and uninstall; grants declared apart (`extraGrants`) stay until an uninstall
//! of their app.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const ORPHAN: &str = "grants.orphan@contoso.onmicrosoft.com";
const ORPHAN_ID: &str = "90c21843-98a3-527a-9821-01da9647d190";
const BEHIND: &str = "grants.behind@contoso.onmicrosoft.com";
const BEHIND_ID: &str = "88378495-ffea-5c49-95d0-9e7a17c9b2d9";
const MIXED: &str = "grants.mixedcase@contoso.onmicrosoft.com";
const MIXED_ID: &str = "d37dcced-2598-5232-a541-0f65fb8653bd";
const FUTURE_USER: &str = "grants.future@contoso.onmicrosoft.com";
const FUTURE_USER_ID: &str = "559eff36-ec6a-5d76-bc69-6a630e9ce158";

const POLLS: &str = "321b182d-454e-50b3-bb11-3d323a34746b";
const NOTIFY: &str = "12345678-9abc-def0-123456789a";
const NOTIFY_CLIENT: &str = "8277b975-0f70-5a39-9a56-49995d2c49a4";
const FIELD_SERVICE: &str = "5eeb84ab-9e80-5593-9b71-156c01ee8b9a";
const FIELD_SERVICE_CLIENT: &str = "10453649-3bf0-5981-8f5e-86e972387807";
const SHIFT_HELPER: &str = "84db6b89-3b41-563c-a8fd-9ae6b1b3c54e";
const SHIFT_HELPER_CLIENT: &str = "914b6db2-cae8-5e57-9d5e-7ed4c290f6af";
const HELPDESK: &str = "b2c2a2ca-af4c-52d8-a348-519ac5d86dd6";
const HELPDESK_CLIENT: &str = "052f8295-e985-5a95-83f0-45a7d5962bd3";
const HELPDESK_SP: &str = "3b617d2a-c937-507b-827f-c2e6c914eac9";
const FUTURE: &str = "cba766ca-d1c6-572d-ac50-aa09eeb9bc9f";
const FUTURE_DEFINITION: &str = "8feded9c-e859-5479-97f5-6d5d00e1d250";
const FUTURE_CLIENT: &str = "5b9d8271-6c9e-53a9-bbba-9cf1d110969c";
const FUTURE_SP: &str = "b088037c-6a87-5107-a806-653913faaaad";

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

fn value(body: &Value) -> Vec<Value> {
    body["value"].as_array().cloned().unwrap_or_default()
}

fn iid(user_id: &str, app: &str) -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        format!("{user_id}##{app}"),
    )
}

fn set(pairs: &[(&str, &str)]) -> Value {
    json!({"resourceSpecificPermissions": pairs
        .iter()
        .map(|(value, kind)| json!({"permissionValue": value, "permissionType": kind}))
        .collect::<Vec<_>>()})
}

fn send_user() -> Value {
    set(&[("TeamsActivity.Send.User", "application")])
}

fn future_consent() -> Value {
    set(&[
        ("TeamsActivity.Send.User", "application"),
        ("Future.Capability.User", "unknownFutureValue"),
    ])
}

/// `(clientAppId, permission, permissionType)` of each grant, sorted: what the portal's three
/// columns are built from.
fn shape(grants: &[Value]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = grants
        .iter()
        .map(|g| {
            let s = |k: &str| {
                g[k].as_str()
                    .unwrap_or_else(|| panic!("{k}: {g}"))
                    .to_string()
            };
            (s("clientAppId"), s("permission"), s("permissionType"))
        })
        .collect();
    out.sort();
    out
}

fn triples(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = list
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    out.sort();
    out
}

struct Reader<'a> {
    tenant: &'a DevTenant,
    token: String,
}

impl Reader<'_> {
    fn grants(&self, user_id: &str) -> Vec<Value> {
        let (status, body) = self
            .tenant
            .get(&format!("/users/{user_id}/permissionGrants"), &self.token);
        assert_eq!(status, 200, "{body}");
        let grants = value(&body);
        // Every grant has Graph's shape whatever its origin: a GUID id (distinct), the Graph
        // resource, no deletion, the Entra app and its service principal in the two id fields.
        let ids: std::collections::BTreeSet<_> =
            grants.iter().map(|g| g["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), grants.len(), "{body}");
        for g in &grants {
            assert!(
                uuid::Uuid::parse_str(g["id"].as_str().unwrap()).is_ok(),
                "{g}"
            );
            assert_eq!(g["resourceAppId"], GRAPH_APP_ID, "{g}");
            assert_eq!(g["deletedDateTime"], Value::Null, "{g}");
            assert_ne!(g["clientId"], g["clientAppId"], "{g}");
        }
        grants
    }

    fn installations(&self, user_id: &str) -> Vec<Value> {
        self.tenant.get_all(
            &format!("/users/{user_id}/teamwork/installedApps?$expand=teamsApp,teamsAppDefinition"),
            &self.token,
        )
    }

    fn installation_of(&self, user_id: &str, app: &str) -> Option<Value> {
        self.installations(user_id)
            .into_iter()
            .find(|i| i["teamsApp"]["id"] == app)
    }

    fn install(&self, user_id: &str, app: &str, consent: Option<Value>) -> (u16, Value) {
        let mut body = json!({"teamsApp@odata.bind": self.tenant.bind(app)});
        if let Some(consent) = consent {
            body["consentedPermissionSet"] = consent;
        }
        self.tenant.post(
            &format!("/users/{user_id}/teamwork/installedApps"),
            &self.token,
            body,
        )
    }

    fn upgrade(&self, user_id: &str, app: &str, consent: Value) -> u16 {
        self.tenant
            .post(
                &format!(
                    "/users/{user_id}/teamwork/installedApps/{}/upgrade",
                    iid(user_id, app)
                ),
                &self.token,
                json!({"consentedPermissionSet": consent}),
            )
            .0
    }

    fn uninstall(&self, user_id: &str, app: &str) -> u16 {
        self.tenant
            .delete(
                &format!(
                    "/users/{user_id}/teamwork/installedApps/{}",
                    iid(user_id, app)
                ),
                &self.token,
            )
            .0
    }
}

fn reader(tenant: &DevTenant) -> Reader<'_> {
    Reader {
        tenant,
        token: tenant.token(ADMIN, &format!("{CONSENT} Application.Read.All")),
    }
}

#[test]
fn the_seeded_users_ids_are_stable() {
    let tenant = DevTenant::start(&[]);
    for (upn, id) in [
        (ORPHAN, ORPHAN_ID),
        (BEHIND, BEHIND_ID),
        (MIXED, MIXED_ID),
        (FUTURE_USER, FUTURE_USER_ID),
    ] {
        assert_eq!(tenant.user_id(upn), id, "{upn}");
    }
}

#[test]
fn an_orphan_grant_names_an_app_the_user_has_not_installed() {
    let tenant = DevTenant::start(&[]);
    let r = reader(&tenant);
    let installed: Vec<Value> = r.installations(ORPHAN_ID);
    let apps: Vec<&str> = installed
        .iter()
        .map(|i| i["teamsApp"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(apps.len(), 2, "{apps:?}");
    assert!(apps.contains(&POLLS) && apps.contains(&NOTIFY), "{apps:?}");
    let grants = r.grants(ORPHAN_ID);
    assert_eq!(
        shape(&grants),
        triples(&[
            (NOTIFY_CLIENT, "TeamsActivity.Send.User", "Application"),
            (HELPDESK_CLIENT, "TeamsActivity.Send.User", "Application"),
        ])
    );
    // The orphan's client is Helpdesk's Entra app and its service principal, as Graph resolves it.
    let orphan = grants
        .iter()
        .find(|g| g["clientAppId"] == HELPDESK_CLIENT)
        .unwrap();
    assert_eq!(orphan["clientId"], HELPDESK_SP);
    let (status, sp) = tenant.get(
        &format!("/servicePrincipals(appId='{HELPDESK_CLIENT}')"),
        &r.token,
    );
    assert_eq!(status, 200, "{sp}");
    assert_eq!(sp["id"], HELPDESK_SP);

    // Installs and uninstalls of other apps leave it; installing its app joins it (one grant
    // per permission, not two); uninstalling that app removes it with the installation's.
    assert_eq!(r.uninstall(ORPHAN_ID, NOTIFY), 204);
    assert_eq!(
        shape(&r.grants(ORPHAN_ID)),
        triples(&[(HELPDESK_CLIENT, "TeamsActivity.Send.User", "Application")])
    );
    assert_eq!(r.install(ORPHAN_ID, NOTIFY, Some(send_user())).0, 201);
    let (status, body) = r.install(ORPHAN_ID, HELPDESK, Some(send_user()));
    assert_eq!(status, 201, "{body}");
    let grants = r.grants(ORPHAN_ID);
    assert_eq!(
        shape(&grants),
        triples(&[
            (NOTIFY_CLIENT, "TeamsActivity.Send.User", "Application"),
            (HELPDESK_CLIENT, "TeamsActivity.Send.User", "Application"),
        ])
    );
    assert_eq!(
        grants.iter().find(|g| g["clientAppId"] == HELPDESK_CLIENT),
        Some(orphan),
        "the declared grant stands in for the installation's"
    );
    assert_eq!(r.uninstall(ORPHAN_ID, HELPDESK), 204);
    assert_eq!(
        shape(&r.grants(ORPHAN_ID)),
        triples(&[(NOTIFY_CLIENT, "TeamsActivity.Send.User", "Application")])
    );
    let state = tenant.admin(Method::GET, "/state", None);
    assert!(
        !state["extraGrants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["userId"] == ORPHAN_ID),
        "{}",
        state["extraGrants"]
    );
    // Installed again, the grant is the installation's own.
    assert_eq!(r.install(ORPHAN_ID, HELPDESK, Some(send_user())).0, 201);
    let grants = r.grants(ORPHAN_ID);
    let again = grants
        .iter()
        .find(|g| g["clientAppId"] == HELPDESK_CLIENT)
        .unwrap();
    assert_ne!(again["id"], orphan["id"]);
}

#[test]
fn a_consent_behind_the_latest_definition_and_its_upgrade() {
    let tenant = DevTenant::start(&[]);
    let r = reader(&tenant);
    // Installed at 3.0.0, consented to its set; 3.1.0 (the latest published) adds an
    // application permission.
    let installation = r.installation_of(BEHIND_ID, FIELD_SERVICE).unwrap();
    assert_eq!(installation["teamsAppDefinition"]["version"], "3.0.0");
    assert_eq!(
        installation["consentedPermissionSet"],
        set(&[("TeamsActivity.Send.User", "application")])
    );
    let (_, app) = tenant.get(
        &format!("/appCatalogs/teamsApps/{FIELD_SERVICE}?$expand=appDefinitions"),
        &r.token,
    );
    let latest = app["appDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|d| d["publishingState"] == "published")
        .unwrap()
        .clone();
    assert_eq!(latest["version"], "3.1.0");
    assert_eq!(
        latest["authorization"]["requiredPermissionSet"]["resourceSpecificPermissions"],
        set(&[
            ("TeamsActivity.Send.User", "application"),
            ("TeamsAppInstallation.Read.User", "application"),
        ])["resourceSpecificPermissions"]
    );
    let before = triples(&[(
        FIELD_SERVICE_CLIENT,
        "TeamsActivity.Send.User",
        "Application",
    )]);
    assert_eq!(shape(&r.grants(BEHIND_ID)), before);
    // An upgrade consenting to the old set only is refused and changes nothing.
    assert_eq!(r.upgrade(BEHIND_ID, FIELD_SERVICE, send_user()), 400);
    assert_eq!(shape(&r.grants(BEHIND_ID)), before);
    // With the whole new set: the grants follow it; uninstall: they go.
    let whole = set(&[
        ("TeamsActivity.Send.User", "application"),
        ("TeamsAppInstallation.Read.User", "application"),
    ]);
    assert_eq!(r.upgrade(BEHIND_ID, FIELD_SERVICE, whole), 204);
    assert_eq!(
        shape(&r.grants(BEHIND_ID)),
        triples(&[
            (
                FIELD_SERVICE_CLIENT,
                "TeamsActivity.Send.User",
                "Application"
            ),
            (
                FIELD_SERVICE_CLIENT,
                "TeamsAppInstallation.Read.User",
                "Application"
            ),
        ])
    );
    assert_eq!(r.uninstall(BEHIND_ID, FIELD_SERVICE), 204);
    assert!(r.grants(BEHIND_ID).is_empty());
}

#[test]
fn grant_types_in_mixed_case_stand_in_for_the_installations_grants() {
    let tenant = DevTenant::start(&[]);
    let r = reader(&tenant);
    for app in [NOTIFY, SHIFT_HELPER] {
        assert!(r.installation_of(MIXED_ID, app).is_some(), "{app}");
    }
    // One grant per consented permission, spelt as the seed declares: no second grant in
    // Graph's usual spelling beside it.
    let seeded = triples(&[
        (NOTIFY_CLIENT, "TeamsActivity.Send.User", "APPLICATION"),
        (
            SHIFT_HELPER_CLIENT,
            "TeamsActivity.Send.User",
            "application",
        ),
        (SHIFT_HELPER_CLIENT, "InAppPurchase.Allow.User", "delegated"),
    ]);
    assert_eq!(shape(&r.grants(MIXED_ID)), seeded);
    // The installation's consented set is Graph's lowercase enum all the same.
    assert_eq!(
        r.installation_of(MIXED_ID, SHIFT_HELPER).unwrap()["consentedPermissionSet"],
        set(&[
            ("TeamsActivity.Send.User", "application"),
            ("InAppPurchase.Allow.User", "delegated"),
        ])
    );
    // Uninstalling Notify takes its declared grant; installed again, Graph's spelling.
    assert_eq!(r.uninstall(MIXED_ID, NOTIFY), 204);
    assert_eq!(shape(&r.grants(MIXED_ID)), seeded[1..].to_vec());
    assert_eq!(r.install(MIXED_ID, NOTIFY, Some(send_user())).0, 201);
    assert_eq!(
        shape(&r.grants(MIXED_ID)),
        triples(&[
            (NOTIFY_CLIENT, "TeamsActivity.Send.User", "Application"),
            (
                SHIFT_HELPER_CLIENT,
                "TeamsActivity.Send.User",
                "application"
            ),
            (SHIFT_HELPER_CLIENT, "InAppPurchase.Allow.User", "delegated"),
        ])
    );
}

#[test]
fn a_permission_of_type_unknown_future_value_is_required_consented_and_granted() {
    let tenant = DevTenant::start(&[]);
    let r = reader(&tenant);
    let (status, app) = tenant.get(
        &format!("/appCatalogs/teamsApps/{FUTURE}?$expand=appDefinitions"),
        &r.token,
    );
    assert_eq!(status, 200, "{app}");
    assert_eq!(app["displayName"], "Contoso Future");
    let definition = &app["appDefinitions"][0];
    assert_eq!(definition["id"], FUTURE_DEFINITION);
    assert_eq!(definition["publishingState"], "published");
    assert_eq!(definition["authorization"]["clientAppId"], FUTURE_CLIENT);
    assert_eq!(
        definition["authorization"]["requiredPermissionSet"]["resourceSpecificPermissions"],
        future_consent()["resourceSpecificPermissions"]
    );
    let installation = r.installation_of(FUTURE_USER_ID, FUTURE).unwrap();
    assert_eq!(installation["teamsAppDefinition"]["id"], FUTURE_DEFINITION);
    assert_eq!(installation["consentedPermissionSet"], future_consent());
    let granted = triples(&[
        (FUTURE_CLIENT, "TeamsActivity.Send.User", "Application"),
        (
            FUTURE_CLIENT,
            "Future.Capability.User",
            "unknownFutureValue",
        ),
    ]);
    let grants = r.grants(FUTURE_USER_ID);
    assert_eq!(shape(&grants), granted);
    assert!(grants.iter().all(|g| g["clientId"] == FUTURE_SP));
    let (status, sp) = tenant.get(
        &format!("/servicePrincipals(appId='{FUTURE_CLIENT}')"),
        &r.token,
    );
    assert_eq!(status, 200, "{sp}");
    assert_eq!(sp["id"], FUTURE_SP);
    // Uninstall and install again: the consent must name the unknownFutureValue permission too
    // (any case), and the grants follow.
    assert_eq!(r.uninstall(FUTURE_USER_ID, FUTURE), 204);
    assert!(r.grants(FUTURE_USER_ID).is_empty());
    let (status, body) = r.install(FUTURE_USER_ID, FUTURE, Some(send_user()));
    assert_eq!(status, 400, "{body}");
    assert!(r.grants(FUTURE_USER_ID).is_empty());
    let (status, body) = r.install(
        FUTURE_USER_ID,
        FUTURE,
        Some(set(&[
            ("TeamsActivity.Send.User", "Application"),
            ("Future.Capability.User", "UnknownFutureValue"),
        ])),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(shape(&r.grants(FUTURE_USER_ID)), granted);
    // Recorded as Graph spells the members (the order of a set is not kept).
    let mut consented = r.installation_of(FUTURE_USER_ID, FUTURE).unwrap()
        ["consentedPermissionSet"]["resourceSpecificPermissions"]
        .as_array()
        .unwrap()
        .clone();
    consented.sort_by_key(|p| p["permissionValue"].as_str().unwrap().to_string());
    assert_eq!(
        consented,
        set(&[
            ("Future.Capability.User", "unknownFutureValue"),
            ("TeamsActivity.Send.User", "application"),
        ])["resourceSpecificPermissions"]
            .as_array()
            .unwrap()
            .clone()
    );
}

#[test]
fn declared_grants_swap_their_ids_as_documented_too() {
    let tenant = DevTenant::start(&["--grant-ids", "documented"]);
    let r = reader(&tenant);
    let grants = r.grants(ORPHAN_ID);
    let orphan = grants
        .iter()
        .find(|g| g["clientId"] == HELPDESK_CLIENT)
        .unwrap_or_else(|| panic!("{grants:?}"));
    assert_eq!(orphan["clientAppId"], HELPDESK_SP);
    let grants = r.grants(MIXED_ID);
    let notify = grants
        .iter()
        .find(|g| g["clientId"] == NOTIFY_CLIENT)
        .unwrap_or_else(|| panic!("{grants:?}"));
    assert_eq!(notify["permissionType"], "APPLICATION");
}

#[test]
fn a_declared_grant_removed_by_an_uninstall_lags_with_it() {
    let tenant = DevTenant::start(&[]);
    let r = reader(&tenant);
    const LAG: Duration = Duration::from_millis(1500);
    tenant.set_faults(json!({"readAfterWriteLagMs": LAG.as_millis() as u64}));
    let notify = |grants: &[Value]| {
        grants
            .iter()
            .filter(|g| g["clientAppId"] == NOTIFY_CLIENT)
            .map(|g| g["permissionType"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let started = Instant::now();
    assert_eq!(r.uninstall(MIXED_ID, NOTIFY), 204);
    // Reads still see the installation, so its declared grant too.
    assert_eq!(notify(&r.grants(MIXED_ID)), ["APPLICATION"]);
    assert!(r.installation_of(MIXED_ID, NOTIFY).is_some());
    assert!(
        started.elapsed() < LAG,
        "the checks took longer than the lag"
    );
    std::thread::sleep(LAG.saturating_sub(started.elapsed()) + Duration::from_millis(100));
    assert!(notify(&r.grants(MIXED_ID)).is_empty());
    assert!(r.installation_of(MIXED_ID, NOTIFY).is_none());
    assert_eq!(r.grants(MIXED_ID).len(), 2, "Shift Helper's stay");
}
