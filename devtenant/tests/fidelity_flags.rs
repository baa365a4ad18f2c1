//! The flags for Graph behaviour nobody has verified against a live tenant (issue #23), each
//! under every value, against the running binary: `--grants-by-upn` (a UPN in
//! `/users/{user-id}/permissionGrants`), `--consent-set-on-foreign-installs` (the
//! `consentedPermissionSet` of installations made outside the portal) and `--audit-roles` (the
//! directory role tenant-wide grant reads need).

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const FOREIGN: &str = "foreign.installs@contoso.onmicrosoft.com";
const READER: &str = "teams.reader@contoso.onmicrosoft.com";
/// A user with RSC grants (Field Service 3.0.0).
const BEHIND: &str = "grants.behind@contoso.onmicrosoft.com";
const NOTIFY: &str = "12345678-9abc-def0-123456789a";
const NOTIFY_CLIENT: &str = "8277b975-0f70-5a39-9a56-49995d2c49a4";
const NOTIFY_SP: &str = "d0a57ef7-f531-52fb-98ab-da20d94e2abd";
const FIELD_SERVICE: &str = "5eeb84ab-9e80-5593-9b71-156c01ee8b9a";
const FIELD_SERVICE_CLIENT: &str = "10453649-3bf0-5981-8f5e-86e972387807";

fn value(body: &Value) -> Vec<Value> {
    body["value"].as_array().cloned().unwrap_or_default()
}

/// Graph's error shape, with the code given and a request id.
fn assert_graph_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert!(
        body["error"]["innerError"]["request-id"].is_string(),
        "{body}"
    );
}

/// One inner request through `$batch`: its status and body.
fn batched(tenant: &DevTenant, token: &str, url: &str) -> (u64, Value) {
    let response = tenant
        .graph_request(Method::POST, "/$batch", token)
        .json(&json!({"requests": [{"id": "1", "method": "GET", "url": url}]}))
        .send()
        .unwrap();
    let (status, body) = status_json(response);
    assert_eq!(status, 200, "{body}");
    let inner = body["responses"][0].clone();
    (inner["status"].as_u64().unwrap(), inner["body"].clone())
}

#[test]
fn grants_by_upn_are_refused_by_default_and_accepted_on_demand() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let behind = tenant.user_id(BEHIND);
    let (status, by_id) = tenant.get(&format!("/users/{behind}/permissionGrants"), &admin);
    assert_eq!(status, 200, "{by_id}");
    assert!(!value(&by_id).is_empty());
    // A UPN, plain, percent-encoded, in the key form or inside $batch: Graph's 400 for a key
    // that is not an object id, before anything else is looked at (an unknown UPN too).
    for path in [
        format!("/users/{BEHIND}/permissionGrants"),
        format!("/users/{}/permissionGrants", encode(BEHIND)),
        format!("/users('{BEHIND}')/permissionGrants"),
        "/users/nobody@contoso.onmicrosoft.com/permissionGrants".to_string(),
    ] {
        let (status, body) = tenant.get(&path, &admin);
        assert_graph_error(status, &body, 400, "Request_BadRequest");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid object identifier"),
            "{body}"
        );
    }
    let (status, body) = batched(
        &tenant,
        &admin,
        &format!("/users/{BEHIND}/permissionGrants"),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "Request_BadRequest");
    // The routes documented with a UPN still take one; /me and the id key form work.
    assert_eq!(
        tenant
            .get(&format!("/users/{BEHIND}/teamwork/installedApps"), &admin)
            .0,
        200
    );
    assert_eq!(tenant.get("/me/permissionGrants", &admin).0, 200);
    assert_eq!(
        tenant
            .get(&format!("/users('{behind}')/permissionGrants"), &admin)
            .0,
        200
    );

    let tenant = DevTenant::start(&["--grants-by-upn", "accept"]);
    let admin = tenant.token(ADMIN, CONSENT);
    let behind = tenant.user_id(BEHIND);
    let (_, by_id) = tenant.get(&format!("/users/{behind}/permissionGrants"), &admin);
    let (status, by_upn) = tenant.get(&format!("/users/{BEHIND}/permissionGrants"), &admin);
    assert_eq!(status, 200, "{by_upn}");
    assert_eq!(value(&by_upn), value(&by_id));
    let (status, _) = batched(
        &tenant,
        &admin,
        &format!("/users/{BEHIND}/permissionGrants"),
    );
    assert_eq!(status, 200);
    // An unknown UPN is then the user's 404.
    let (status, body) = tenant.get(
        "/users/nobody@contoso.onmicrosoft.com/permissionGrants",
        &admin,
    );
    assert_graph_error(status, &body, 404, "Request_ResourceNotFound");
}

/// The foreign user's installations (app id → `consentedPermissionSet`) and grants.
fn foreign_view(tenant: &DevTenant, token: &str) -> (Vec<(String, Value)>, Vec<Value>) {
    let id = tenant.user_id(FOREIGN);
    let mut installations: Vec<(String, Value)> = tenant
        .get_all(
            &format!("/users/{id}/teamwork/installedApps?$expand=teamsApp"),
            token,
        )
        .into_iter()
        .map(|i| {
            (
                i["teamsApp"]["id"].as_str().unwrap().to_string(),
                i["consentedPermissionSet"].clone(),
            )
        })
        .collect();
    installations.sort_by(|a, b| a.0.cmp(&b.0));
    let (status, grants) = tenant.get(&format!("/users/{id}/permissionGrants"), token);
    assert_eq!(status, 200, "{grants}");
    (installations, value(&grants))
}

fn grant_clients(grants: &[Value]) -> Vec<String> {
    let mut clients: Vec<String> = grants
        .iter()
        .map(|g| g["clientAppId"].as_str().unwrap().to_string())
        .collect();
    clients.sort();
    clients
}

#[test]
fn foreign_installs_answer_a_null_consent_set_by_default_with_their_grants() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let (installations, grants) = foreign_view(&tenant, &admin);
    let apps: Vec<&str> = installations.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(apps, [NOTIFY, FIELD_SERVICE]);
    assert!(
        installations.iter().all(|(_, set)| set.is_null()),
        "{installations:?}"
    );
    // The grants are there all the same, one per permission consented from the Teams client.
    assert_eq!(
        grant_clients(&grants),
        [FIELD_SERVICE_CLIENT, NOTIFY_CLIENT]
    );
    assert!(grants
        .iter()
        .all(|g| g["permission"] == "TeamsActivity.Send.User"
            && g["permissionType"] == "Application"));
    // The one installation read alone says the same.
    let id = tenant.user_id(FOREIGN);
    let iid = base64_id(&id, NOTIFY);
    let (status, one) = tenant.get(&format!("/users/{id}/teamwork/installedApps/{iid}"), &admin);
    assert_eq!(status, 200, "{one}");
    assert!(one["consentedPermissionSet"].is_null());
    // Installations made through Graph keep their consented set.
    let behind = tenant.user_id(BEHIND);
    let theirs = tenant.get_all(&format!("/users/{behind}/teamwork/installedApps"), &admin);
    assert!(theirs
        .iter()
        .all(|i| i["consentedPermissionSet"]["resourceSpecificPermissions"].is_array()));
    // An upgrade through Graph records its consent: Field Service 3.0.0 → 3.1.0.
    let field = base64_id(&id, FIELD_SERVICE);
    let full = json!({"resourceSpecificPermissions": [
        {"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"},
        {"permissionValue": "TeamsAppInstallation.Read.User", "permissionType": "application"}]});
    let (status, body) = tenant.post(
        &format!("/users/{id}/teamwork/installedApps/{field}/upgrade"),
        &admin,
        json!({"consentedPermissionSet": full}),
    );
    assert_eq!(status, 204, "{body}");
    let (installations, _) = foreign_view(&tenant, &admin);
    let field_set = &installations
        .iter()
        .find(|(a, _)| a == FIELD_SERVICE)
        .unwrap()
        .1;
    assert_eq!(
        field_set["resourceSpecificPermissions"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // Uninstalled and installed again through Graph: no longer foreign.
    assert_eq!(
        tenant
            .delete(&format!("/users/{id}/teamwork/installedApps/{iid}"), &admin)
            .0,
        204
    );
    let (status, body) = tenant.post(
        &format!("/users/{id}/teamwork/installedApps"),
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(NOTIFY), "consentedPermissionSet": {"resourceSpecificPermissions": [
            {"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"}]}}),
    );
    assert_eq!(status, 201, "{body}");
    let (installations, _) = foreign_view(&tenant, &admin);
    assert!(installations.iter().all(|(_, set)| !set.is_null()));
    let state = tenant.admin(Method::GET, "/state", None);
    assert_eq!(state["foreignInstallations"], json!([]));
}

#[test]
fn foreign_installs_answer_their_consent_set_when_present() {
    let tenant = DevTenant::start(&["--consent-set-on-foreign-installs", "present"]);
    let admin = tenant.token(ADMIN, CONSENT);
    let (installations, grants) = foreign_view(&tenant, &admin);
    assert_eq!(installations.len(), 2);
    for (_, set) in &installations {
        assert_eq!(
            set["resourceSpecificPermissions"],
            json!([{"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"}])
        );
    }
    assert_eq!(
        grant_clients(&grants),
        [FIELD_SERVICE_CLIENT, NOTIFY_CLIENT]
    );
    // The state marks them all the same (the flag only changes how they read).
    let state = tenant.admin(Method::GET, "/state", None);
    assert_eq!(
        state["foreignInstallations"].as_array().map(Vec::len),
        Some(2)
    );
}

/// The installation id the dev tenant gives (base64 of `{user}##{app}`, no padding).
fn base64_id(user: &str, app: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(format!("{user}##{app}"))
}

/// Both tenant-wide grant reads as `upn`: their statuses and bodies.
fn tenant_reads(tenant: &DevTenant, upn: &str) -> [(u16, Value); 2] {
    let token = tenant.token(
        upn,
        &format!("{CONSENT} Directory.Read.All Application.Read.All"),
    );
    [
        tenant.get(
            &format!("/oauth2PermissionGrants?$filter=clientId%20eq%20'{NOTIFY_SP}'"),
            &token,
        ),
        tenant.get(
            &format!("/servicePrincipals/{NOTIFY_SP}/appRoleAssignments"),
            &token,
        ),
    ]
}

#[test]
fn tenant_wide_grants_need_a_reader_role_under_strict_audit_roles() {
    let tenant = DevTenant::start(&[]);
    tenant.admin(Method::POST, "/adminConsent", Some(json!({})));
    // A Teams Administrator without a reader role: the directory's 403, both reads.
    for (status, body) in tenant_reads(&tenant, ADMIN) {
        assert_graph_error(status, &body, 403, "Authorization_RequestDenied");
    }
    // A Teams Administrator who is also a Directory Reader, and a Global Administrator: read.
    for upn in [READER, GLOBAL_ADMIN] {
        let [(status, delegated), (roles_status, roles)] = tenant_reads(&tenant, upn);
        assert_eq!(status, 200, "{upn}: {delegated}");
        assert_eq!(roles_status, 200, "{upn}: {roles}");
        assert_eq!(value(&roles).len(), 2, "{roles}");
    }
    // The scope is checked first: without Directory.Read.All, "Missing scope" as ever.
    let token = tenant.token(READER, CONSENT);
    let (status, body) = tenant.get("/oauth2PermissionGrants", &token);
    assert_graph_error(status, &body, 403, "Forbidden");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Missing scope permissions"));
    // The reader role does not change what a Teams Administrator may do elsewhere, nor make a
    // reader an administrator: the Directory Reader acts on another user's apps as a Teams
    // Administrator does.
    let reader = tenant.token(READER, CONSENT);
    let behind = tenant.user_id(BEHIND);
    assert_eq!(
        tenant
            .get(&format!("/users/{behind}/teamwork/installedApps"), &reader)
            .0,
        200
    );
    // Under $batch, the same refusal inside.
    let megan = tenant.token(ADMIN, &format!("{CONSENT} Directory.Read.All"));
    let (status, body) = batched(
        &tenant,
        &megan,
        &format!("/servicePrincipals/{NOTIFY_SP}/appRoleAssignments"),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
}

#[test]
fn tenant_wide_grants_need_the_scope_only_under_any_audit_roles() {
    let tenant = DevTenant::start(&["--audit-roles", "any"]);
    tenant.admin(Method::POST, "/adminConsent", Some(json!({})));
    for upn in [ADMIN, READER] {
        let [(status, delegated), (roles_status, roles)] = tenant_reads(&tenant, upn);
        assert_eq!(status, 200, "{upn}: {delegated}");
        assert_eq!(roles_status, 200, "{upn}: {roles}");
    }
}

#[test]
fn the_seeded_roles_give_their_wids() {
    let tenant = DevTenant::start(&[]);
    let id = claims(tenant.sign_in(READER, READ)["id_token"].as_str().unwrap());
    assert_eq!(
        id["wids"],
        json!([
            "69091246-20e8-4a56-aa4d-066075b2a7a8",
            "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
        ])
    );
}

/// The flags can be switched on a running dev tenant (`PUT /_devtenant/options`), so one
/// instance serves a test under each value; `GET` names them all, and a misspelled option is
/// refused rather than ignored.
#[test]
fn the_fidelity_flags_switch_at_run_time() {
    let tenant = DevTenant::start(&[]);
    let options = tenant.admin(Method::GET, "/options", None);
    assert_eq!(options["grantsByUpn"], "refuse", "{options}");
    assert_eq!(options["consentSetOnForeignInstalls"], "null", "{options}");
    assert_eq!(options["auditRoles"], "strict", "{options}");
    assert_eq!(options["consentScopeRule"], "any", "{options}");
    assert_eq!(options["consentErrorText"], Value::Null, "{options}");

    tenant.admin(Method::POST, "/adminConsent", Some(json!({})));
    let admin = tenant.token(ADMIN, CONSENT);
    let by_upn = format!("/users/{BEHIND}/permissionGrants");
    let (status, body) = tenant.get(&by_upn, &admin);
    assert_graph_error(status, &body, 400, "Request_BadRequest");
    // A Teams Administrator without a reader role, strict: the directory's 403.
    let [(status, body), _] = tenant_reads(&tenant, ADMIN);
    assert_graph_error(status, &body, 403, "Authorization_RequestDenied");

    let changed = tenant.admin(
        Method::PUT,
        "/options",
        Some(json!({"grantsByUpn": "accept", "auditRoles": "any", "consentErrorText": "mismatch"})),
    );
    assert_eq!(changed["grantsByUpn"], "accept", "{changed}");
    assert_eq!(changed["consentScopeRule"], "any", "untouched: {changed}");
    assert_eq!(changed["consentErrorText"], "mismatch", "{changed}");
    let (status, body) = tenant.get(&by_upn, &admin);
    assert_eq!(status, 200, "{body}");
    assert!(!value(&body).is_empty(), "{body}");
    let [(status, body), _] = tenant_reads(&tenant, ADMIN);
    assert_eq!(status, 200, "any: {body}");

    let cleared = tenant.admin(
        Method::PUT,
        "/options",
        Some(json!({"consentErrorText": ""})),
    );
    assert_eq!(cleared["consentErrorText"], Value::Null, "{cleared}");
    let refused = reqwest::blocking::Client::new()
        .put(format!("{}/_devtenant/options", tenant.graph))
        .json(&json!({"grantsByUPN": "accept"}))
        .send()
        .unwrap();
    assert!(refused.status().is_client_error(), "{}", refused.status());
}
