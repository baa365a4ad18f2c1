//! The faults a write model must survive, against the running binary: "apply, then answer
//! 500/502/504" and "read-after-write lag", set at run time and by flags.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const LEE: &str = "lee.gu@contoso.onmicrosoft.com";
const POLLS: &str = "321b182d-454e-50b3-bb11-3d323a34746b";
const FIELD_SERVICE: &str = "5eeb84ab-9e80-5593-9b71-156c01ee8b9a";

fn installed_path(user: &str) -> String {
    format!("/users/{}/teamwork/installedApps", encode(user))
}

/// The user's installations as reads see them, by catalog app id.
fn installed(tenant: &DevTenant, token: &str, user: &str) -> Vec<Value> {
    tenant.get_all(
        &format!(
            "{}?$expand=teamsApp,teamsAppDefinition",
            installed_path(user)
        ),
        token,
    )
}

fn find_app<'a>(list: &'a [Value], app: &str) -> Option<&'a Value> {
    list.iter().find(|i| i["teamsApp"]["id"] == app)
}

/// What the store holds, whatever reads see.
fn applied(tenant: &DevTenant, user_id: &str, app: &str) -> Option<Value> {
    let state = tenant.admin(Method::GET, "/state", None);
    state["installations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["userId"] == user_id && i["appId"] == app)
        .cloned()
}

fn iid(user_id: &str, app: &str) -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        format!("{user_id}##{app}"),
    )
}

fn assert_graph_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    let inner = &body["error"]["innerError"];
    assert_eq!(inner["request-id"].as_str().unwrap().len(), 36, "{body}");
    assert!(inner["date"].as_str().unwrap().ends_with('Z'), "{body}");
    assert_eq!(
        inner["client-request-id"],
        "11111111-2222-3333-4444-555555555555"
    );
}

fn field_service_consent() -> Value {
    json!({"resourceSpecificPermissions": [
        {"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"},
        {"permissionValue": "TeamsAppInstallation.Read.User", "permissionType": "application"}]})
}

#[test]
fn apply_then_error_applies_each_write_then_answers_the_chosen_5xx() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let lee = tenant.user_id(LEE);
    let sean = tenant.user_id(OBRIEN);
    // Install, answered 504: applied all the same; the resend meets a 409.
    tenant.set_faults(json!({"applyThenErrorNext": 1, "applyThenErrorStatus": 504}));
    // Reads are not writes: they do not use the fault up.
    assert_eq!(tenant.get(&installed_path(LEE), &admin).0, 200);
    let (status, body) = tenant.post(
        &installed_path(LEE),
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(POLLS)}),
    );
    assert_eq!(status, 504, "{body}");
    assert_graph_error(&body, "GatewayTimeout");
    assert!(applied(&tenant, &lee, POLLS).is_some());
    assert!(find_app(&installed(&tenant, &admin, LEE), POLLS).is_some());
    let (status, body) = tenant.post(
        &installed_path(LEE),
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(POLLS)}),
    );
    assert_eq!(status, 409, "{body}");
    // A write that fails does not use the fault up: nothing was applied.
    tenant.set_faults(json!({"applyThenErrorNext": 1, "applyThenErrorStatus": 502}));
    assert_eq!(
        tenant
            .post(
                &installed_path(LEE),
                &admin,
                json!({"teamsApp@odata.bind": tenant.bind(POLLS)})
            )
            .0,
        409
    );
    assert_eq!(
        tenant.admin(Method::GET, "/faults", None)["applyThenErrorNext"],
        1
    );
    // Upgrade, answered 502: Séan's Field Service moved to 3.1.0 all the same.
    let upgrade = format!(
        "{}/{}/upgrade",
        installed_path(OBRIEN),
        iid(&sean, FIELD_SERVICE)
    );
    let (status, body) = tenant.post(
        &upgrade,
        &admin,
        json!({"consentedPermissionSet": field_service_consent()}),
    );
    assert_eq!(status, 502, "{body}");
    assert_graph_error(&body, "BadGateway");
    let field = find_app(&installed(&tenant, &admin, OBRIEN), FIELD_SERVICE)
        .cloned()
        .unwrap();
    assert_eq!(field["teamsAppDefinition"]["version"], "3.1.0");
    // Uninstall, answered 500 (the default status): gone all the same; the resend is a 404.
    tenant.set_faults(json!({"applyThenErrorNext": 1}));
    let uninstall = format!("{}/{}", installed_path(LEE), iid(&lee, POLLS));
    let (status, body) = tenant.delete(&uninstall, &admin);
    assert_eq!(status, 500, "{body}");
    assert_graph_error(&body, "InternalServerError");
    assert!(applied(&tenant, &lee, POLLS).is_none());
    assert_eq!(tenant.delete(&uninstall, &admin).0, 404);
    // The request log shows what the client got and that the write was applied.
    let faulted: Vec<(String, u64)> = tenant
        .log()
        .iter()
        .filter(|e| e["fault"] == "applyThenError")
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_string(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        faulted,
        [
            ("POST".to_string(), 504),
            ("POST".to_string(), 502),
            ("DELETE".to_string(), 500)
        ]
    );
    // Statuses other than 500, 502 and 504 are refused.
    let response = tenant
        .http
        .put(format!("{}/_devtenant/faults", tenant.graph))
        .json(&json!({"applyThenErrorStatus": 503}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[test]
fn apply_then_error_and_lag_by_flags() {
    let tenant = DevTenant::start(&[
        "--apply-then-error-rate",
        "1",
        "--apply-then-error-status",
        "504",
        "--read-after-write-lag-ms",
        "1500",
    ]);
    let faults = tenant.admin(Method::GET, "/faults", None);
    assert_eq!(faults["applyThenErrorRate"], 1.0);
    assert_eq!(faults["applyThenErrorStatus"], 504);
    assert_eq!(faults["readAfterWriteLagMs"], 1500);
    let admin = tenant.token(ADMIN, CONSENT);
    let lee = tenant.user_id(LEE);
    // The acceptance scenario: the install is applied, answered 504, and not visible yet; the
    // resend is a 409, not a second installation.
    let started = Instant::now();
    let (status, _) = tenant.post(
        &installed_path(LEE),
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(POLLS)}),
    );
    assert_eq!(status, 504);
    assert!(applied(&tenant, &lee, POLLS).is_some());
    let list = installed(&tenant, &admin, LEE);
    assert!(started.elapsed() < Duration::from_millis(1500), "too slow");
    assert!(find_app(&list, POLLS).is_none(), "visible too early");
    let (status, _) = tenant.post(
        &installed_path(LEE),
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(POLLS)}),
    );
    assert_eq!(status, 409);
    std::thread::sleep(Duration::from_millis(1600).saturating_sub(started.elapsed()));
    assert!(find_app(&installed(&tenant, &admin, LEE), POLLS).is_some());
    // Out of range by flag: refused at start.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_devtenant"))
        .args([
            "--dist",
            tenant.dist().to_str().unwrap(),
            "--apply-then-error-status",
            "503",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn a_fresh_write_is_invisible_to_reads_until_the_lag_has_passed() {
    const LAG: Duration = Duration::from_millis(1500);
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let lee = tenant.user_id(LEE);
    let sean = tenant.user_id(OBRIEN);
    let grants = |user: &str| {
        let (status, body) = tenant.get(
            &format!("/users/{}/permissionGrants", tenant.user_id(user)),
            &admin,
        );
        assert_eq!(status, 200, "{body}");
        body["value"].as_array().cloned().unwrap()
    };
    let lee_grants = grants(LEE);
    let sean_grants = grants(OBRIEN);
    tenant.set_faults(json!({"readAfterWriteLagMs": LAG.as_millis() as u64}));

    // Install: applied at once (a second install is a 409), invisible to the list, to the
    // installation itself and to the grants until the lag has passed.
    let started = Instant::now();
    let (status, body) = tenant.post(&installed_path(LEE), &admin, json!({
        "teamsApp@odata.bind": tenant.bind(FIELD_SERVICE), "consentedPermissionSet": field_service_consent()}));
    assert_eq!(status, 201, "{body}");
    let one = format!("{}/{}", installed_path(LEE), iid(&lee, FIELD_SERVICE));
    assert_eq!(tenant.get(&one, &admin).0, 404);
    assert!(find_app(&installed(&tenant, &admin, LEE), FIELD_SERVICE).is_none());
    assert_eq!(grants(LEE), lee_grants);
    let (status, _) = tenant.post(&installed_path(LEE), &admin, json!({
        "teamsApp@odata.bind": tenant.bind(FIELD_SERVICE), "consentedPermissionSet": field_service_consent()}));
    assert_eq!(status, 409, "the write is applied, only not visible");
    assert!(applied(&tenant, &lee, FIELD_SERVICE).is_some());
    // Inside $batch too.
    let (_, batch) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [{"id": "1", "method": "GET", "url": format!("{}?$expand=teamsApp", installed_path(LEE))}]}),
    );
    assert!(batch["responses"][0]["body"]["value"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["teamsApp"]["id"] != FIELD_SERVICE));
    assert!(
        started.elapsed() < LAG,
        "the checks took longer than the lag"
    );
    std::thread::sleep(LAG.saturating_sub(started.elapsed()) + Duration::from_millis(100));
    assert_eq!(tenant.get(&one, &admin).0, 200);
    assert_eq!(grants(LEE).len(), lee_grants.len() + 2);

    // Upgrade: reads show the old version, consented set and grants meanwhile.
    let started = Instant::now();
    let sean_field = format!("{}/{}", installed_path(OBRIEN), iid(&sean, FIELD_SERVICE));
    let (status, body) = tenant.post(
        &format!("{sean_field}/upgrade"),
        &admin,
        json!({"consentedPermissionSet": field_service_consent()}),
    );
    assert_eq!(status, 204, "{body}");
    let (_, seen) = tenant.get(&format!("{sean_field}?$expand=teamsAppDefinition"), &admin);
    assert_eq!(seen["teamsAppDefinition"]["version"], "3.0.0");
    assert_eq!(
        seen["consentedPermissionSet"]["resourceSpecificPermissions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(grants(OBRIEN), sean_grants);
    assert!(
        started.elapsed() < LAG,
        "the checks took longer than the lag"
    );
    std::thread::sleep(LAG.saturating_sub(started.elapsed()) + Duration::from_millis(100));
    let (_, seen) = tenant.get(&format!("{sean_field}?$expand=teamsAppDefinition"), &admin);
    assert_eq!(seen["teamsAppDefinition"]["version"], "3.1.0");
    assert_eq!(grants(OBRIEN).len(), sean_grants.len() + 1);

    // Uninstall: a tombstone; the installation still reads, a second uninstall is a 404.
    let started = Instant::now();
    assert_eq!(tenant.delete(&one, &admin).0, 204);
    assert_eq!(tenant.get(&one, &admin).0, 200);
    assert!(find_app(&installed(&tenant, &admin, LEE), FIELD_SERVICE).is_some());
    assert_eq!(grants(LEE).len(), lee_grants.len() + 2);
    assert_eq!(tenant.delete(&one, &admin).0, 404);
    assert!(applied(&tenant, &lee, FIELD_SERVICE).is_none());
    assert!(
        started.elapsed() < LAG,
        "the checks took longer than the lag"
    );
    std::thread::sleep(LAG.saturating_sub(started.elapsed()) + Duration::from_millis(100));
    assert_eq!(tenant.get(&one, &admin).0, 404);
    assert!(find_app(&installed(&tenant, &admin, LEE), FIELD_SERVICE).is_none());
    assert_eq!(grants(LEE), lee_grants);
}
