//! The Graph origin over HTTP: users, personal apps, catalog, grants, settings, `$batch`,
//! authorisation, errors, throttling, faults and persistence, against the running binary.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn value(body: &Value) -> Vec<Value> {
    body["value"].as_array().cloned().unwrap_or_default()
}

fn installation_of(tenant: &DevTenant, token: &str, user: &str, app: &str) -> Option<Value> {
    tenant
        .get_all(
            &format!(
                "/users/{}/teamwork/installedApps?$expand=teamsApp,teamsAppDefinition",
                encode(user)
            ),
            token,
        )
        .into_iter()
        .find(|i| i["teamsApp"]["id"] == app)
}

fn app_id(tenant: &DevTenant, token: &str, name: &str) -> String {
    tenant
        .get_all("/appCatalogs/teamsApps", token)
        .into_iter()
        .find(|a| a["displayName"] == name)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn errors_have_graphs_shape_and_echo_the_client_request_id() {
    let tenant = DevTenant::start(&[]);
    let (status, body) = tenant.get("/me", "");
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let inner = &body["error"]["innerError"];
    assert_eq!(
        inner["client-request-id"],
        "11111111-2222-3333-4444-555555555555"
    );
    assert!(inner["request-id"].as_str().unwrap().len() == 36);
    assert!(inner["date"].as_str().unwrap().ends_with('Z'));
    // A tampered token and a token for another audience are refused.
    let token = tenant.token(MEMBER, READ);
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(tenant.get("/me", &tampered).0, 401);
    let id_token = tenant.sign_in(MEMBER, READ)["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = tenant.get("/me", &id_token);
    assert_eq!(status, 401);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("audience"));
}

#[test]
fn users_search_filter_select_count_and_paging() {
    let tenant = DevTenant::start(&[]);
    let token = tenant.token(MEMBER, READ);
    let (status, body) = tenant.get(
        "/users?$filter=startswith(displayName,'Se%C3%A1n%20O''Brien')",
        &token,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(value(&body).len(), 1);
    assert_eq!(value(&body)[0]["userPrincipalName"], OBRIEN);
    // $search needs ConsistencyLevel: eventual.
    let (status, body) = tenant.get("/users?$search=%22displayName:zo%C3%AB%22", &token);
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    let response = tenant
        .graph_request(Method::GET, "/users?$search=%22displayName:zo%C3%AB%22%20OR%20%22mail:zoe%22&$count=true&$select=id,displayName,userType", &token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .unwrap();
    let (status, body) = status_json(response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["@odata.count"], 1);
    let zoe = &value(&body)[0];
    assert_eq!(zoe["displayName"], "Zoë Müller");
    assert_eq!(
        zoe["userType"],
        Value::Null,
        "User.ReadBasic.All gives the basic profile only"
    );
    assert!(zoe.get("mail").is_none(), "$select limits the properties");
    // Paging follows @odata.nextLink to the end, with no duplicates.
    let mut next = format!("{}/v1.0/users?$top=20", tenant.graph);
    let mut seen = Vec::new();
    while !next.is_empty() {
        let (_, page) = status_json(tenant.http.get(&next).bearer_auth(&token).send().unwrap());
        seen.extend(
            value(&page)
                .into_iter()
                .map(|u| u["id"].as_str().unwrap().to_string()),
        );
        next = page["@odata.nextLink"].as_str().unwrap_or("").to_string();
    }
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    assert!(seen.len() >= 50);
    // By UPN with + and # (percent-encoded) and by id.
    let (status, body) = tenant.get(
        &format!("/users/{}", encode("test+teams#1@contoso.onmicrosoft.com")),
        &token,
    );
    assert_eq!(status, 200);
    assert_eq!(body["displayName"], "Test Plus#Hash");
    let (status, body) = tenant.get("/users/00000000-0000-0000-0000-000000000000", &token);
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
}

#[test]
fn scopes_are_enforced_with_graphs_message() {
    let tenant = DevTenant::start(&[]);
    let token = tenant.token(MEMBER, "openid User.Read");
    let (status, body) = tenant.get("/me/teamwork/installedApps", &token);
    assert_eq!(status, 403);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Missing scope permissions on the request. API requires one of '"),
        "{message}"
    );
    assert!(message.contains("TeamsAppInstallation.ReadForUser"));
    assert!(message.contains("Scopes on the request 'User.Read'"));
    // A read scope does not allow an install.
    let token = tenant.token(MEMBER, READ);
    let (status, body) = tenant.post(
        "/me/teamwork/installedApps",
        &token,
        json!({"teamsApp@odata.bind": tenant.bind(SEED_APP_INSTALL)}),
    );
    assert_eq!(status, 403);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("TeamsAppInstallation.ReadWriteForUser"));
}

#[test]
fn install_upgrade_uninstall_and_grants() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let polls = app_id(&tenant, &admin, "Polls");
    let field = app_id(&tenant, &admin, "Field Service");
    let target = MEMBER;
    let path = format!("/users/{}/teamwork/installedApps", encode(target));
    // No RSC: install without consent → 201 with an empty body; the latest published version is pinned.
    let response = tenant
        .graph_request(Method::POST, &path, &admin)
        .json(&json!({"teamsApp@odata.bind": tenant.bind(&polls)}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 409, "Zoë already has Polls in the seed");
    let lee = "lee.gu@contoso.onmicrosoft.com";
    let lee_path = format!("/users/{}/teamwork/installedApps", encode(lee));
    let response = tenant
        .graph_request(Method::POST, &lee_path, &admin)
        .json(&json!({"teamsApp@odata.bind": tenant.bind(&polls)}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.text().unwrap(), "");
    let installed = installation_of(&tenant, &admin, lee, &polls).unwrap();
    assert_eq!(
        installed["teamsAppDefinition"]["version"], "1.2.0",
        "1.3.0 is only submitted"
    );
    // Application RSC: consent omitted or partial → 400; whole set, any case → 201, stored lowercase.
    let (status, _) = tenant.post(
        &lee_path,
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(&field)}),
    );
    assert_eq!(status, 400);
    let (status, _) = tenant.post(&lee_path, &admin, json!({"teamsApp@odata.bind": tenant.bind(&field),
        "consentedPermissionSet": {"resourceSpecificPermissions": [{"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"}]}}));
    assert_eq!(status, 400, "3.1.0 needs two application permissions");
    let full = json!({"resourceSpecificPermissions": [
        {"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"},
        {"permissionValue": "TeamsAppInstallation.Read.User", "permissionType": "APPLICATION"}]});
    let (status, body) = tenant.post(
        &lee_path,
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(&field), "consentedPermissionSet": full}),
    );
    assert_eq!(status, 201, "{body}");
    let installed = installation_of(&tenant, &admin, lee, &field).unwrap();
    let types: Vec<&str> = installed["consentedPermissionSet"]["resourceSpecificPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["permissionType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["application", "application"]);
    // The grants appear.
    let (_, grants) = tenant.get(
        &format!("/users/{}/permissionGrants", tenant.user_id(lee)),
        &admin,
    );
    let field_grants: Vec<Value> = value(&grants)
        .into_iter()
        .filter(|g| g["permission"] == "TeamsActivity.Send.User")
        .collect();
    assert_eq!(field_grants.len(), 1);
    assert_eq!(field_grants[0]["permissionType"], "Application");
    // permissionGrants takes no OData options.
    assert_eq!(
        tenant
            .get(
                &format!(
                    "/users/{}/permissionGrants?$filter=permission%20eq%20'x'",
                    tenant.user_id(lee)
                ),
                &admin
            )
            .0,
        400
    );
    // Upgrade: Séan's Field Service 3.0.0 → 3.1.0 needs the new full set.
    let sean_field = installation_of(&tenant, &admin, OBRIEN, &field).unwrap();
    let upgrade = format!(
        "/users/{}/teamwork/installedApps/{}/upgrade",
        encode(OBRIEN),
        sean_field["id"].as_str().unwrap()
    );
    let (status, _) = tenant.post(&upgrade, &admin, json!({}));
    assert_eq!(status, 400);
    let response = tenant
        .graph_request(Method::POST, &upgrade, &admin)
        .json(&json!({"consentedPermissionSet": full}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        installation_of(&tenant, &admin, OBRIEN, &field).unwrap()["teamsAppDefinition"]["version"],
        "3.1.0"
    );
    // Uninstall: 204, the installation and its grants are gone; a second uninstall is 404.
    let uninstall = format!("{lee_path}/{}", installed["id"].as_str().unwrap());
    assert_eq!(tenant.delete(&uninstall, &admin).0, 204);
    assert!(installation_of(&tenant, &admin, lee, &field).is_none());
    let (_, grants) = tenant.get(
        &format!("/users/{}/permissionGrants", tenant.user_id(lee)),
        &admin,
    );
    assert!(value(&grants)
        .iter()
        .all(|g| g["permission"] != "TeamsActivity.Send.User"));
    assert_eq!(
        tenant.delete(&uninstall, &admin).1["error"]["code"],
        "NotFound"
    );
    // Unknown app, manifest id instead of catalog id, unknown user.
    let (status, _) = tenant.post(
        &lee_path,
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind("00000000-0000-0000-0000-000000000000")}),
    );
    assert_eq!(status, 404);
    let (status, _) = tenant.post(
        &lee_path,
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind("ext-polls")}),
    );
    assert_eq!(status, 404);
    let (status, body) = tenant.post(
        "/users/nobody@contoso.onmicrosoft.com/teamwork/installedApps",
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(&polls)}),
    );
    assert_eq!(status, 404, "{body}");
}

#[test]
fn policy_block_rsc_switch_and_consent_scope() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let lee = format!(
        "/users/{}/teamwork/installedApps",
        encode("lee.gu@contoso.onmicrosoft.com")
    );
    let blocked = app_id(&tenant, &admin, "Crypto Miner Pro");
    let (status, body) = tenant.post(
        &lee,
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(&blocked)}),
    );
    assert_eq!(status, 403);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("App is blocked by app permission policy"));
    // The tenant switch off blocks RSC apps (and only them).
    tenant.admin(
        Method::PUT,
        "/tenant",
        Some(json!({"personalScopeRscEnabled": false})),
    );
    let (_, settings) = tenant.get("/teamwork/teamsAppSettings", &admin);
    assert_eq!(
        settings["isUserPersonalScopeResourceSpecificConsentEnabled"],
        false
    );
    let notify = SEED_APP_INSTALL;
    let consent = json!({"resourceSpecificPermissions": [{"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"}]});
    let (status, _) = tenant.post(
        &lee,
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(notify), "consentedPermissionSet": consent}),
    );
    assert_eq!(status, 403);
    tenant.admin(
        Method::PUT,
        "/tenant",
        Some(json!({"personalScopeRscEnabled": true})),
    );
    // Consenting to application RSC needs ReadWriteAndConsentForUser.
    let writer = tenant.token(GLOBAL_ADMIN, WRITE);
    let (status, body) = tenant.post(
        &lee,
        &writer,
        json!({"teamsApp@odata.bind": tenant.bind(notify), "consentedPermissionSet": consent}),
    );
    assert_eq!(status, 403);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("TeamsAppInstallation.ReadWriteAndConsentForUser"));
    let (status, _) = tenant.post(
        &lee,
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(notify), "consentedPermissionSet": consent}),
    );
    assert_eq!(status, 201);
}

#[test]
fn members_act_on_themselves_only() {
    let tenant = DevTenant::start(&[]);
    // An admin consents for the tenant, then a member gets the write scope.
    tenant.sign_in(ADMIN, WRITE);
    let member = tenant.token(MEMBER, WRITE);
    let (status, body) = tenant.get(
        &format!("/users/{}/teamwork/installedApps", encode(OBRIEN)),
        &member,
    );
    assert_eq!(status, 403, "{body}");
    let (status, body) = tenant.get("/me/teamwork/installedApps?$expand=teamsApp&$filter=teamsApp/externalId%20eq%20'ext-polls'", &member);
    assert_eq!(status, 200, "{body}");
    assert_eq!(value(&body).len(), 1);
    let learning = app_id(&tenant, &member, "Learning Hub");
    let (status, _) = tenant.post(
        "/me/teamwork/installedApps",
        &member,
        json!({"teamsApp@odata.bind": tenant.bind(&learning)}),
    );
    assert_eq!(status, 201);
}

#[test]
fn batch_runs_dependencies_and_mixed_results() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let polls = app_id(&tenant, &admin, "Polls");
    let batch = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/users/lee.gu@contoso.onmicrosoft.com/teamwork/installedApps",
         "headers": {"Content-Type": "application/json"}, "body": {"teamsApp@odata.bind": tenant.bind(&polls)}},
        {"id": "2", "method": "GET", "url": "/users/lee.gu@contoso.onmicrosoft.com/teamwork/installedApps?$expand=teamsApp", "dependsOn": ["1"]},
        {"id": "3", "method": "POST", "url": "/users/lee.gu@contoso.onmicrosoft.com/teamwork/installedApps",
         "headers": {"Content-Type": "application/json"}, "body": {"teamsApp@odata.bind": tenant.bind("00000000-0000-0000-0000-000000000000")}},
        {"id": "4", "method": "GET", "url": "/me", "dependsOn": ["3"]}
    ]});
    let (status, body) = tenant.post("/$batch", &admin, batch);
    assert_eq!(status, 200, "{body}");
    let responses = body["responses"].as_array().unwrap();
    let by_id = |id: &str| responses.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(by_id("1")["status"], 201);
    assert_eq!(by_id("2")["status"], 200);
    assert!(value(&by_id("2")["body"])
        .iter()
        .any(|i| i["teamsApp"]["id"] == polls.as_str()));
    assert_eq!(by_id("3")["status"], 404);
    assert_eq!(by_id("4")["status"], 424);
    // Malformed batches are refused whole.
    let too_many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me"}))
        .collect();
    assert_eq!(
        tenant
            .post("/$batch", &admin, json!({"requests": too_many}))
            .0,
        400
    );
    assert_eq!(tenant.post("/$batch", &admin, json!({"requests": [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}]})).0, 400);
    assert_eq!(
        tenant
            .post(
                "/$batch",
                &admin,
                json!({"requests": [{"id": "1", "method": "POST", "url": "/me", "body": {}}]})
            )
            .0,
        400
    );
}

#[test]
fn a_burst_is_throttled_with_retry_after_also_inside_batch() {
    let tenant = DevTenant::start(&["--throttle-rps", "3"]);
    let token = tenant.token(MEMBER, READ);
    let statuses: Vec<(u16, Option<String>)> = (0..8)
        .map(|_| {
            let response = tenant
                .graph_request(Method::GET, "/me/teamwork/installedApps", &token)
                .send()
                .unwrap();
            (
                response.status().as_u16(),
                response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string()),
            )
        })
        .collect();
    assert!(statuses.iter().any(|(s, _)| *s == 200));
    let throttled: Vec<_> = statuses.iter().filter(|(s, _)| *s == 429).collect();
    assert!(!throttled.is_empty(), "{statuses:?}");
    assert!(throttled.iter().all(|(_, retry)| retry
        .as_deref()
        .is_some_and(|r| r.parse::<u64>().unwrap() >= 1)));
    // Users are not a Teams call: not throttled by this bucket.
    assert_eq!(tenant.get("/me", &token).0, 200);
    // Inside $batch each request is throttled on its own, with its own Retry-After.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let requests: Vec<Value> = (0..6)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me/teamwork/installedApps"}))
        .collect();
    let (_, body) = tenant.post("/$batch", &token, json!({"requests": requests}));
    let inner: Vec<&Value> = body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 429)
        .collect();
    assert!(!inner.is_empty());
    assert!(inner
        .iter()
        .all(|r| r["headers"]["Retry-After"].is_string()));
}

#[test]
fn fault_modes() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let polls = app_id(&tenant, &admin, "Polls");
    // A 500, then a 503 with Retry-After, then normal service.
    tenant.set_faults(json!({"serverErrorNext": 1}));
    assert_eq!(tenant.get("/me", &admin).0, 500);
    assert_eq!(tenant.get("/me", &admin).0, 200);
    tenant.set_faults(json!({"serverErrorNext": 1, "serverErrorStatus": 503}));
    let response = tenant
        .graph_request(Method::GET, "/me", &admin)
        .send()
        .unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());
    // The transient 400 on install: nothing installed; the retry succeeds.
    let lee = format!(
        "/users/{}/teamwork/installedApps",
        encode("lee.gu@contoso.onmicrosoft.com")
    );
    tenant.set_faults(json!({"transientInstall400Next": 1}));
    assert_eq!(
        tenant
            .post(
                &lee,
                &admin,
                json!({"teamsApp@odata.bind": tenant.bind(&polls)})
            )
            .0,
        400
    );
    assert!(installation_of(&tenant, &admin, "lee.gu@contoso.onmicrosoft.com", &polls).is_none());
    // A dropped answer: the install is applied, the client sees a broken connection.
    tenant.set_faults(json!({"dropNext": 1}));
    let result = tenant
        .graph_request(Method::POST, &lee, &admin)
        .json(&json!({"teamsApp@odata.bind": tenant.bind(&polls)}))
        .send()
        .and_then(|r| r.text());
    assert!(result.is_err(), "the answer must be lost, got {result:?}");
    assert!(installation_of(&tenant, &admin, "lee.gu@contoso.onmicrosoft.com", &polls).is_some());
    assert!(tenant
        .log()
        .iter()
        .any(|e| e["dropped"] == true && e["method"] == "POST"));
    // Latency.
    tenant.set_faults(json!({"latencyMs": 300}));
    let started = std::time::Instant::now();
    tenant.get("/me", &admin);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    // Early token expiry.
    tenant.set_faults(json!({"tokenLifetimeSeconds": 1}));
    let short = tenant.sign_in(MEMBER, READ);
    assert_eq!(short["expires_in"], 1);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (status, body) = tenant.get("/me", short["access_token"].as_str().unwrap());
    assert_eq!(status, 401);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
    // JWKS rotation: new tokens carry a kid the old JWKS did not have.
    tenant.set_faults(json!({}));
    let before: Value = tenant
        .http
        .get(format!("{}/discovery/v2.0/keys", tenant.authority()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let rotated = tenant.admin(Method::POST, "/jwks/rotate", None);
    let kid = rotated["kid"].as_str().unwrap();
    assert!(before["keys"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["kid"] != kid));
    let after: Value = tenant
        .http
        .get(format!("{}/discovery/v2.0/keys", tenant.authority()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(after["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == kid));
    let fresh = tenant.sign_in(MEMBER, READ);
    let header = fresh["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .next()
        .unwrap()
        .to_string();
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], kid);
    assert_eq!(
        tenant.get("/me", fresh["access_token"].as_str().unwrap()).0,
        200
    );
}

#[test]
fn continuous_access_evaluation_challenges_cp1_clients_after_revocation() {
    let tenant = DevTenant::start(&["--cae"]);
    let (params, verifier) = tenant.authorize_params(READ);
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let code = find(&tenant.pick_account(&client, &params, MEMBER), "code").unwrap();
    let form = [
        ("client_id", tenant.client_id.as_str()),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", tenant.portal.as_str()),
        ("code_verifier", verifier.as_str()),
        (
            "claims",
            r#"{"access_token":{"xms_cc":{"values":["cp1"]}}}"#,
        ),
    ];
    let (_, tokens) = status_json(tenant.token_request(&form, Some(&tenant.origin())));
    let cp1 = tokens["access_token"].as_str().unwrap().to_string();
    let plain = tenant.token(MEMBER, READ);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    tenant.admin(Method::POST, &format!("/revoke/{MEMBER}"), None);
    let response = tenant
        .graph_request(Method::GET, "/me", &cp1)
        .send()
        .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("error=\"insufficient_claims\""),
        "{challenge}"
    );
    assert!(challenge.contains("claims=\""));
    // A client that did not declare cp1 is not challenged.
    assert_eq!(tenant.get("/me", &plain).0, 200);
}

#[test]
fn state_file_survives_a_restart_and_a_corrupt_one_is_refused() {
    let dir = std::env::temp_dir().join(format!("devtenant-state-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.json");
    let state_arg = state.to_str().unwrap().to_string();
    let mut tenant = DevTenant::start(&["--state", &state_arg]);
    let admin = tenant.token(ADMIN, CONSENT);
    let polls = app_id(&tenant, &admin, "Polls");
    let lee = "lee.gu@contoso.onmicrosoft.com";
    let (status, _) = tenant.post(
        &format!("/users/{}/teamwork/installedApps", encode(lee)),
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(&polls)}),
    );
    assert_eq!(status, 201);
    let dist = tenant.dist();
    tenant.kill();
    let tenant = DevTenant::start_in(dist.clone(), &["--state", &state_arg]);
    // Consent survived too: a member gets the admin-consented write scope without an admin.
    let admin = tenant.token(ADMIN, CONSENT);
    assert!(installation_of(&tenant, &admin, lee, &polls).is_some());
    drop(tenant);
    std::fs::write(&state, "{ corrupt").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_devtenant"))
        .args(["--dist", dist.to_str().unwrap(), "--state", &state_arg])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("corrupt"));
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{ corrupt");
}

#[test]
fn request_log_records_requests_without_authorization() {
    let tenant = DevTenant::start(&[]);
    let token = tenant.token(MEMBER, READ);
    tenant.get("/me/teamwork/installedApps?$expand=teamsApp", &token);
    let log = tenant.log();
    let entry = log
        .iter()
        .find(|e| e["origin"] == "graph" && e["path"] == "/v1.0/me/teamwork/installedApps")
        .unwrap();
    assert_eq!(entry["query"], "$expand=teamsApp");
    assert_eq!(entry["status"], 200);
    let headers = entry["headers"].as_array().unwrap();
    assert!(headers.iter().all(|h| h[0] != "authorization"));
    assert!(headers.iter().any(|h| h[0] == "client-request-id"));
    assert!(log
        .iter()
        .any(|e| e["origin"] == "identity" && e["grantType"] == "authorization_code"));
}

#[test]
fn catalog_and_delegated_consent_views() {
    // Megan is a Teams Administrator only: tenant-wide grants need `--audit-roles any`.
    let tenant = DevTenant::start(&["--audit-roles", "any"]);
    let admin = tenant.token(
        ADMIN,
        &format!("{CONSENT} Directory.Read.All Application.Read.All"),
    );
    let (apps, pages) = tenant.get_all_pages("/appCatalogs/teamsApps?$filter=distributionMethod%20eq%20'organization'&$expand=appDefinitions", &admin);
    assert!(apps.len() >= 11, "{}", apps.len());
    assert!(pages > 1, "the catalog is paged");
    assert!(apps
        .iter()
        .all(|a| a["distributionMethod"] == "organization"));
    assert!(apps.iter().all(|a| a["appDefinitions"].is_array()));
    let (_, one) = tenant.get(
        "/appCatalogs/teamsApps?$filter=externalId%20eq%20'ext-helpdesk'",
        &admin,
    );
    assert_eq!(value(&one).len(), 1);
    let (status, sp) = tenant.get(
        &format!("/servicePrincipals(appId='{}')", tenant.client_id),
        &admin,
    );
    assert_eq!(status, 200, "{sp}");
    let sp_id = sp["id"].as_str().unwrap();
    let (status, grants) = tenant.get(
        &format!("/oauth2PermissionGrants?$filter=clientId%20eq%20'{sp_id}'"),
        &admin,
    );
    assert_eq!(status, 200);
    assert!(value(&grants)
        .iter()
        .any(|g| g["consentType"] == "AllPrincipals"
            && g["scope"]
                .as_str()
                .unwrap()
                .contains("TeamsAppInstallation.ReadWriteAndConsentForUser")));
    let (status, assignments) = tenant.get(
        &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
        &admin,
    );
    assert_eq!(status, 200);
    assert!(assignments["value"].is_array());
}

#[test]
fn seeded_app_role_assignments_of_a_service_principal() {
    // Megan is a Teams Administrator only: tenant-wide grants need `--audit-roles any`.
    let tenant = DevTenant::start(&["--audit-roles", "any"]);
    let admin = tenant.token(ADMIN, &format!("{CONSENT} Directory.Read.All"));
    // Contoso Notify's service principal holds two of Microsoft Graph's application permissions.
    let notify_sp = "d0a57ef7-f531-52fb-98ab-da20d94e2abd";
    let (status, body) = tenant.get(
        &format!("/servicePrincipals/{notify_sp}/appRoleAssignments"),
        &admin,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body["@odata.context"].as_str().unwrap().ends_with(&format!(
        "/v1.0/$metadata#servicePrincipals('{notify_sp}')/appRoleAssignments"
    )));
    let (_, graph_sp) = tenant.get(
        "/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')",
        &admin,
    );
    let assignments = value(&body);
    let mut roles: Vec<&str> = assignments
        .iter()
        .map(|a| a["appRoleId"].as_str().unwrap())
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            "9ce09611-f4f7-4abd-a629-a05450422a97",
            "df021288-bdef-4463-88db-98f22de89214"
        ]
    );
    for a in &assignments {
        let mut keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "appRoleId",
                "createdDateTime",
                "deletedDateTime",
                "id",
                "principalDisplayName",
                "principalId",
                "principalType",
                "resourceDisplayName",
                "resourceId"
            ]
        );
        assert_eq!(a["principalId"], notify_sp);
        assert_eq!(a["principalType"], "ServicePrincipal");
        assert_eq!(a["principalDisplayName"], "Contoso Notify");
        assert_eq!(a["resourceId"], graph_sp["id"]);
        assert_eq!(a["resourceDisplayName"], "Microsoft Graph");
        assert!(a["deletedDateTime"].is_null());
        assert!(a["createdDateTime"].as_str().unwrap().ends_with('Z'));
    }
    // The same in the admin state.
    let state = tenant.admin(Method::GET, "/state", None);
    let in_state: Vec<&Value> = state["appRoleAssignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["principalId"] == notify_sp)
        .collect();
    assert_eq!(in_state.len(), 2);
    assert!(in_state
        .iter()
        .all(|a| assignments.iter().any(|b| b["id"] == a["id"])));
    // Another app's principal with none, an unknown one, and a missing scope.
    let (_, portal_sp) = tenant.get(
        &format!("/servicePrincipals(appId='{}')", tenant.client_id),
        &admin,
    );
    let (status, body) = tenant.get(
        &format!(
            "/servicePrincipals/{}/appRoleAssignments",
            portal_sp["id"].as_str().unwrap()
        ),
        &admin,
    );
    assert_eq!(status, 200);
    assert!(value(&body).is_empty());
    assert_eq!(
        tenant
            .get(
                "/servicePrincipals/00000000-0000-0000-0000-000000000001/appRoleAssignments",
                &admin
            )
            .0,
        404
    );
    let member = tenant.token(MEMBER, READ);
    assert_eq!(
        tenant
            .get(
                &format!("/servicePrincipals/{notify_sp}/appRoleAssignments"),
                &member
            )
            .0,
        403
    );
}

#[test]
fn chat_with_an_installed_app() {
    let tenant = DevTenant::start(&[]);
    let token = tenant.token(MEMBER, READ);
    let (_, apps) = tenant.get("/me/teamwork/installedApps", &token);
    let id = value(&apps)[0]["id"].as_str().unwrap().to_string();
    let (status, chat) = tenant.get(&format!("/me/teamwork/installedApps/{id}/chat"), &token);
    assert_eq!(status, 200, "{chat}");
    assert_eq!(chat["chatType"], "oneOnOne");
    assert!(chat["id"].as_str().unwrap().starts_with("19:"));
    assert_eq!(
        tenant
            .get(
                "/me/teamwork/installedApps/bm90LWFuLWluc3RhbGxhdGlvbg/chat",
                &token
            )
            .0,
        404
    );
}

#[test]
fn fault_rates_set_by_flags() {
    let tenant = DevTenant::start(&[
        "--server-error-rate",
        "1",
        "--latency-ms",
        "50",
        "--jitter-ms",
        "20",
    ]);
    let token = tenant.token(MEMBER, READ);
    let started = std::time::Instant::now();
    let statuses: Vec<u16> = (0..6).map(|_| tenant.get("/me", &token).0).collect();
    assert!(
        statuses.iter().all(|s| *s == 500 || *s == 503),
        "{statuses:?}"
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let faults = tenant.admin(Method::GET, "/faults", None);
    assert_eq!(faults["serverErrorRate"], 1.0);
    // Out-of-range values are refused, by flag and at run time.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_devtenant"))
        .args([
            "--dist",
            tenant.dist().to_str().unwrap(),
            "--drop-rate",
            "2",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let response = tenant
        .http
        .put(format!("{}/_devtenant/faults", tenant.graph))
        .json(&json!({"dropRate": -1}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
}

const STANDUP: &str = "061a77be-fb5e-5082-a688-dbd12930fe76";
const HELPDESK: &str = "b2c2a2ca-af4c-52d8-a348-519ac5d86dd6";
const STANDUP_BOT: &str = "00a51a22-d6e1-5ac8-863d-8c464b173ef7";
const NOTIFY_BOT: &str = "5cfd7c35-599f-5bfa-8d06-b112a0e4d6a4";
const HELPDESK_BOT: &str = "5194eb72-d417-5162-a2de-224b3fe914f8";

/// `(app, version) → bot` of every definition of `apps` (each must carry a `bot` member).
fn bots_of(apps: &[Value]) -> Vec<(String, String, Value)> {
    apps.iter()
        .flat_map(|app| {
            app["appDefinitions"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |d| {
                    let bot = d.get("bot").unwrap_or_else(|| panic!("no bot member: {d}"));
                    (
                        app["displayName"].as_str().unwrap().to_string(),
                        d["version"].as_str().unwrap().to_string(),
                        bot.clone(),
                    )
                })
        })
        .collect()
}

#[test]
fn catalog_expands_each_definitions_bot() {
    // Many catalog reads in a row: above the Teams limit of 30 a second, which is not the point.
    let tenant = DevTenant::start(&["--throttle-rps", "1000"]);
    let token = tenant.token(MEMBER, READ);
    let bot = |id: &str| json!({ "id": id });

    // The whole catalog, paged (2 a page), every definition with its bot or null.
    let nested = "/appCatalogs/teamsApps?$expand=appDefinitions($expand=bot)";
    let (apps, pages) = tenant.get_all_pages(nested, &token);
    assert_eq!(apps.len(), 14);
    assert!(pages > 1);
    let bots = bots_of(&apps);
    let with_bot: Vec<(&str, &str, &Value)> = bots
        .iter()
        .filter(|(_, _, b)| !b.is_null())
        .map(|(a, v, b)| (a.as_str(), v.as_str(), b))
        .collect();
    assert_eq!(
        with_bot,
        vec![
            ("Contoso Notify", "1.0.0", &bot(NOTIFY_BOT)),
            ("Standup Bot", "2.0.0", &bot(STANDUP_BOT)),
            ("Standup Bot", "2.1.0", &bot(STANDUP_BOT)),
            ("Helpdesk", "1.5.0", &bot(HELPDESK_BOT)),
            ("Helpdesk", "2.0.0", &bot(HELPDESK_BOT)),
        ]
    );
    assert!(bots.contains(&("Helpdesk".into(), "1.0.0".into(), Value::Null)));
    // The first page: Graph's context for the nested expansion, and a next link keeping the
    // query as sent.
    let (status, first) = tenant.get(nested, &token);
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        first["@odata.context"],
        format!(
            "{}/v1.0/$metadata#appCatalogs/teamsApps(appDefinitions(bot()))",
            tenant.graph
        )
    );
    assert!(first["@odata.nextLink"]
        .as_str()
        .unwrap()
        .starts_with(&format!(
            "{}/v1.0/appCatalogs/teamsApps?$expand=appDefinitions($expand=bot)&$skiptoken=",
            tenant.graph
        )));

    // With the organization filter, the option percent-encoded: kept raw in the links.
    let encoded = "/appCatalogs/teamsApps?$filter=distributionMethod%20eq%20'organization'&$expand=appDefinitions(%24expand%3Dbot)";
    let (_, first) = tenant.get(encoded, &token);
    let link = first["@odata.nextLink"].as_str().unwrap();
    assert!(
        link.contains("distributionMethod%20eq%20")
            && link.contains("&$expand=appDefinitions(%24expand%3Dbot)&$skiptoken="),
        "{link}"
    );
    let organization = tenant.get_all(encoded, &token);
    assert_eq!(organization.len(), 12);
    assert!(organization
        .iter()
        .all(|a| a["distributionMethod"] == "organization"));
    assert_eq!(bots_of(&organization).len(), bots_of(&apps).len() - 2);
    // A page link rebuilt without the nested expansion is refused (the token is bound to it).
    let token_part = link.split("$skiptoken=").nth(1).unwrap();
    let (status, _) = tenant.get(
        &format!("/appCatalogs/teamsApps?$filter=distributionMethod%20eq%20'organization'&$expand=appDefinitions&$skiptoken={token_part}"),
        &token,
    );
    assert_eq!(status, 400);

    // By id, either order of the options, and the other options in the parentheses accepted.
    for path in [
        format!("/appCatalogs/teamsApps?$filter=id%20eq%20'{STANDUP}'&$expand=appDefinitions($expand=bot)"),
        format!("/appCatalogs/teamsApps?$expand=appDefinitions($expand=bot)&$filter=id%20eq%20'{STANDUP}'"),
        format!("/appCatalogs/teamsApps?$filter=id%20eq%20'{STANDUP}'&$expand=AppDefinitions($select=id,version;$expand=Bot)"),
    ] {
        let (status, body) = tenant.get(&path, &token);
        assert_eq!(status, 200, "{path}: {body}");
        let apps = value(&body);
        assert_eq!(apps.len(), 1, "{path}");
        let bots: Vec<Value> = bots_of(&apps).into_iter().map(|(_, _, b)| b).collect();
        assert_eq!(bots, vec![bot(STANDUP_BOT), bot(STANDUP_BOT)], "{path}");
    }

    // One app: a definition without a bot has "bot": null.
    let (status, helpdesk) = tenant.get(
        &format!("/appCatalogs/teamsApps/{HELPDESK}?$expand=appDefinitions($expand=bot)"),
        &token,
    );
    assert_eq!(status, 200, "{helpdesk}");
    assert_eq!(
        helpdesk["@odata.context"],
        format!(
            "{}/v1.0/$metadata#appCatalogs/teamsApps(appDefinitions(bot()))/$entity",
            tenant.graph
        )
    );
    let bots: Vec<Value> = bots_of(std::slice::from_ref(&helpdesk))
        .into_iter()
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!(
        bots,
        vec![Value::Null, bot(HELPDESK_BOT), bot(HELPDESK_BOT)]
    );
    // The rest of a definition is as without the nested expansion.
    let (_, plain) = tenant.get(
        &format!("/appCatalogs/teamsApps/{HELPDESK}?$expand=appDefinitions"),
        &token,
    );
    let mut stripped = helpdesk.clone();
    for d in stripped["appDefinitions"].as_array_mut().unwrap() {
        d.as_object_mut().unwrap().remove("bot");
    }
    assert_eq!(stripped["appDefinitions"], plain["appDefinitions"]);

    // Without the nested expansion: no bot member, the context as before.
    let (_, plain) = tenant.get("/appCatalogs/teamsApps?$expand=appDefinitions", &token);
    assert_eq!(
        plain["@odata.context"],
        format!("{}/v1.0/$metadata#appCatalogs/teamsApps", tenant.graph)
    );
    let all = tenant.get_all("/appCatalogs/teamsApps?$expand=appDefinitions", &token);
    assert!(all
        .iter()
        .flat_map(|a| a["appDefinitions"].as_array().unwrap())
        .all(|d| d.get("bot").is_none()));
    let (_, one) = tenant.get(
        &format!("/appCatalogs/teamsApps/{STANDUP}?$expand=appDefinitions"),
        &token,
    );
    assert!(one["appDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d.get("bot").is_none()));
    let (_, bare) = tenant.get(&format!("/appCatalogs/teamsApps/{STANDUP}"), &token);
    assert!(bare.get("appDefinitions").is_none());

    // Inside $batch too.
    let (_, batch) = tenant.post(
        "/$batch",
        &token,
        json!({"requests": [{"id": "1", "method": "GET", "url": format!("/appCatalogs/teamsApps/{STANDUP}?$expand=appDefinitions($expand=bot)")}]}),
    );
    assert_eq!(batch["responses"][0]["status"], 200, "{batch}");
    assert_eq!(
        batch["responses"][0]["body"]["appDefinitions"][1]["bot"],
        bot(STANDUP_BOT)
    );

    // A property the type does not have, at any depth, or broken syntax: Graph's 400.
    for (expand, named) in [
        (
            "appDefinitions($expand=robot)",
            Some(("robot", "microsoft.graph.teamsAppDefinition")),
        ),
        (
            "appDefinitions($expand=bot($expand=owner))",
            Some(("owner", "microsoft.graph.teamworkBot")),
        ),
        (
            "appDefinitions($expand=version)",
            Some(("version", "microsoft.graph.teamsAppDefinition")),
        ),
        ("bot", Some(("bot", "microsoft.graph.teamsApp"))),
        ("appDefinitions($expand=bot", None),
        ("appDefinitions(expand=bot)", None),
    ] {
        for path in [
            format!("/appCatalogs/teamsApps?$expand={expand}"),
            format!("/appCatalogs/teamsApps/{STANDUP}?$expand={expand}"),
            format!("/appCatalogs/teamsApps?$filter=distributionMethod%20eq%20'organization'&$expand={expand}"),
        ] {
            let response = tenant
                .graph_request(Method::GET, &path, &token)
                .send()
                .unwrap();
            assert_eq!(
                response.headers()["client-request-id"],
                "11111111-2222-3333-4444-555555555555"
            );
            let (status, body) = status_json(response);
            assert_eq!(status, 400, "{path}: {body}");
            let error = &body["error"];
            assert_eq!(error["code"], "BadRequest", "{path}");
            let message = error["message"].as_str().unwrap();
            assert!(
                message.starts_with("Parsing OData Select and Expand failed: "),
                "{message}"
            );
            if let Some((property, on)) = named {
                assert!(
                    message.contains(&format!(
                        "Could not find a property named '{property}' on type '{on}'."
                    )),
                    "{message}"
                );
            }
            assert!(error["innerError"]["request-id"].is_string(), "{body}");
            assert_eq!(
                error["innerError"]["client-request-id"],
                "11111111-2222-3333-4444-555555555555"
            );
        }
    }
}
