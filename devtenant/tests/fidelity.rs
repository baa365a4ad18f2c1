//! Graph fidelity points a portal must not get wrong, against the running binary: the basic
//! profile under `User.ReadBasic.All`, the `users('…')` key form, server-sized pages with
//! `@odata.nextLink`, RSC grants' client ids (as named or as documented), and the strict
//! self-only flag.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const DANA: &str = "$dana.dollar@contoso.onmicrosoft.com";
const LEE: &str = "lee.gu@contoso.onmicrosoft.com";
const POLLS: &str = "321b182d-454e-50b3-bb11-3d323a34746b";
const NOTIFY: &str = "12345678-9abc-def0-123456789a";
const FIELD_SERVICE: &str = "5eeb84ab-9e80-5593-9b71-156c01ee8b9a";
const LEARNING_HUB: &str = "bfa2696f-f9ba-52cc-aef0-b64dd2ef0026";

fn value(body: &Value) -> Vec<Value> {
    body["value"].as_array().cloned().unwrap_or_default()
}

fn iid(user_id: &str, app: &str) -> String {
    base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        format!("{user_id}##{app}"),
    )
}

fn notify_consent() -> Value {
    json!({"resourceSpecificPermissions": [{"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"}]})
}

fn field_service_consent() -> Value {
    json!({"resourceSpecificPermissions": [
        {"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"},
        {"permissionValue": "TeamsAppInstallation.Read.User", "permissionType": "application"}]})
}

#[test]
fn user_read_basic_all_gives_the_basic_profile_only() {
    let tenant = DevTenant::start(&[]);
    // READ holds User.Read and User.ReadBasic.All: the basic profile of others, all of oneself.
    let member = tenant.token(MEMBER, READ);
    let sean = tenant.user_id(OBRIEN);
    for path in [
        format!("/users/{sean}"),
        format!("/users/{sean}?$select=id,displayName,userType,jobTitle,accountEnabled"),
    ] {
        let (status, body) = tenant.get(&path, &member);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["displayName"], "Seán O'Brien", "{path}");
        assert_eq!(body["jobTitle"], Value::Null, "{path}");
        if path.contains("$select") {
            assert_eq!(body["userType"], Value::Null, "{path}");
            assert_eq!(body["accountEnabled"], Value::Null, "{path}");
            assert!(body.get("mail").is_none(), "$select still limits: {body}");
        } else {
            assert_eq!(body["mail"], "sean.obrien@contoso.com");
            assert_eq!(body["userPrincipalName"], OBRIEN);
            assert_eq!(body["givenName"], "Seán");
            assert_eq!(body["officeLocation"], Value::Null);
            assert_eq!(body["businessPhones"], json!([]));
        }
    }
    let users = tenant.get_all("/users?$select=id,displayName,userType,jobTitle", &member);
    assert!(users.len() > 50);
    assert!(users
        .iter()
        .all(|u| u["userType"].is_null() && u["jobTitle"].is_null()));
    // Oneself with User.Read: everything, by /me or by id.
    let zoe = tenant.user_id(MEMBER);
    for path in [
        "/me?$select=id,userType,jobTitle".to_string(),
        format!("/users/{zoe}?$select=id,userType,jobTitle"),
    ] {
        let (_, me) = tenant.get(&path, &member);
        assert_eq!(me["userType"], "Member", "{path}");
        assert_eq!(me["jobTitle"], "Designer", "{path}");
    }
    // User.Read.All (admin-consented by the administrator's sign-in) reveals everything.
    let admin = tenant.token(ADMIN, &format!("{READ} User.Read.All"));
    let (_, body) = tenant.get(
        &format!("/users/{sean}?$select=id,userType,jobTitle"),
        &admin,
    );
    assert_eq!(body["userType"], "Member");
    assert_eq!(body["jobTitle"], "Sales Lead");
    let guests = tenant.get_all(
        "/users?$filter=userType%20eq%20'Guest'&$select=id,userType",
        &admin,
    );
    assert!(!guests.is_empty() && guests.iter().all(|u| u["userType"] == "Guest"));
}

#[test]
fn the_users_key_form_serves_every_user_route() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let dana = tenant.user_id(DANA);
    // A UPN starting with `$` is a system segment in the slash form: refused.
    let (status, body) = tenant.get(&format!("/users/{DANA}/teamwork/installedApps"), &admin);
    assert_eq!(status, 400, "{body}");
    assert_eq!(tenant.get(&format!("/users/{DANA}"), &admin).0, 400);
    // The key form, plain or percent-encoded, reaches every route.
    let key = format!("/users('{DANA}')");
    let (status, body) = tenant.get(&key, &admin);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], dana.as_str());
    let encoded = format!("/users(%27{}%27)", encode(DANA));
    assert_eq!(tenant.get(&encoded, &admin).1["id"], dana.as_str());
    let apps = tenant.get_all(
        &format!("{key}/teamwork/installedApps?$expand=teamsApp"),
        &admin,
    );
    assert!(
        apps.iter().any(|i| i["teamsApp"]["id"] == POLLS),
        "{apps:?}"
    );
    let (status, body) = tenant.post(
        &format!("{key}/teamwork/installedApps"),
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(NOTIFY), "consentedPermissionSet": notify_consent()}),
    );
    assert_eq!(status, 201, "{body}");
    let one = format!("{key}/teamwork/installedApps/{}", iid(&dana, NOTIFY));
    assert_eq!(tenant.get(&one, &admin).0, 200);
    // permissionGrants documents the object id only: its key form takes the id.
    let (_, grants) = tenant.get(&format!("/users('{dana}')/permissionGrants"), &admin);
    assert_eq!(value(&grants).len(), 1);
    let polls = format!("{key}/teamwork/installedApps/{}", iid(&dana, POLLS));
    assert_eq!(
        tenant
            .post(&format!("{polls}/upgrade"), &admin, json!({}))
            .0,
        204
    );
    assert_eq!(tenant.delete(&one, &admin).0, 204);
    // By id, with a doubled quote, and inside $batch.
    assert_eq!(tenant.get(&format!("/users('{dana}')"), &admin).0, 200);
    assert_eq!(
        tenant
            .get("/users('sean.o''brien@contoso.onmicrosoft.com')", &admin)
            .0,
        404,
        "the doubled quote is one quote: no such UPN"
    );
    let (_, batch) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [{"id": "1", "method": "GET", "url": format!("{key}/teamwork/installedApps")}]}),
    );
    assert_eq!(batch["responses"][0]["status"], 200, "{batch}");
    // An unquoted key is a syntax error.
    assert_eq!(tenant.get(&format!("/users({dana})"), &admin).0, 400);
}

#[test]
fn installed_apps_and_the_catalog_come_in_small_pages_with_next_links() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let lee = tenant.user_id(LEE);
    for app in [POLLS, LEARNING_HUB] {
        let (status, _) = tenant.post(
            &format!("/users/{lee}/teamwork/installedApps"),
            &admin,
            json!({"teamsApp@odata.bind": tenant.bind(app)}),
        );
        assert_eq!(status, 201);
    }
    // Three installations, two a page: the link is absolute on the Graph origin, keeps the
    // options as sent and adds an opaque $skiptoken.
    let first = format!("/users/{lee}/teamwork/installedApps?$expand=teamsApp,teamsAppDefinition");
    let (_, page) = tenant.get(&first, &admin);
    assert_eq!(value(&page).len(), 2);
    let link = page["@odata.nextLink"].as_str().unwrap().to_string();
    assert!(
        link.starts_with(&format!(
            "{}/v1.0/users/{lee}/teamwork/installedApps?$expand=teamsApp,teamsAppDefinition&$skiptoken=",
            tenant.graph
        )),
        "{link}"
    );
    let (installations, pages) = tenant.get_all_pages(&first, &admin);
    assert_eq!((installations.len(), pages), (3, 2));
    assert!(
        installations
            .iter()
            .all(|i| i["teamsApp"]["id"].is_string()
                && i["teamsAppDefinition"]["version"].is_string())
    );
    let ids: std::collections::BTreeSet<_> = installations
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    // A link rebuilt instead of followed (the expansion dropped) is refused.
    let token = link.split("$skiptoken=").nth(1).unwrap();
    let (status, body) = tenant.get(
        &format!("/users/{lee}/teamwork/installedApps?$skiptoken={token}"),
        &admin,
    );
    assert_eq!(status, 400, "{body}");
    // $filter and $expand hold across the catalog's pages.
    let (apps, pages) = tenant.get_all_pages(
        "/appCatalogs/teamsApps?$filter=distributionMethod%20eq%20'organization'&$expand=appDefinitions",
        &admin,
    );
    assert!(pages >= 5, "{pages}");
    assert_eq!(apps.len(), 12);
    assert!(apps
        .iter()
        .all(|a| a["distributionMethod"] == "organization" && a["appDefinitions"].is_array()));
    // Inside $batch the link is absolute too.
    let (_, batch) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [{"id": "1", "method": "GET", "url": "/appCatalogs/teamsApps"}]}),
    );
    let link = batch["responses"][0]["body"]["@odata.nextLink"]
        .as_str()
        .unwrap();
    assert!(link.starts_with(&format!(
        "{}/v1.0/appCatalogs/teamsApps?$skiptoken=",
        tenant.graph
    )));
    // The page size is a run-time option; 0 is one page.
    let options = tenant.admin(Method::PUT, "/options", Some(json!({"pageSize": 0})));
    assert_eq!(options["pageSize"], 0);
    let (_, all) = tenant.get("/appCatalogs/teamsApps", &admin);
    assert!(all.get("@odata.nextLink").is_none());
    assert_eq!(value(&all).len(), 14);
}

#[test]
fn rsc_grants_name_the_entra_app_and_its_service_principal_and_follow_the_consent() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, &format!("{CONSENT} Application.Read.All"));
    let lee = tenant.user_id(LEE);
    let sean = tenant.user_id(OBRIEN);
    let catalog = tenant.get_all("/appCatalogs/teamsApps?$expand=appDefinitions", &admin);
    let client_app_id = |app: &str| {
        let app = catalog.iter().find(|a| a["id"] == app).unwrap();
        app["appDefinitions"].as_array().unwrap().last().unwrap()["authorization"]["clientAppId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let grants = |user: &str| {
        let (status, body) = tenant.get(&format!("/users/{user}/permissionGrants"), &admin);
        assert_eq!(status, 200, "{body}");
        value(&body)
    };
    let path = format!("/users/{lee}/teamwork/installedApps");
    for (app, consent) in [
        (NOTIFY, notify_consent()),
        (FIELD_SERVICE, field_service_consent()),
    ] {
        let (status, body) = tenant.post(
            &path,
            &admin,
            json!({"teamsApp@odata.bind": tenant.bind(app), "consentedPermissionSet": consent}),
        );
        assert_eq!(status, 201, "{body}");
    }
    let lee_grants = grants(&lee);
    let mut principals = std::collections::BTreeSet::new();
    for (app, count) in [(NOTIFY, 1), (FIELD_SERVICE, 2)] {
        let client = client_app_id(app);
        let of_app: Vec<&Value> = lee_grants
            .iter()
            .filter(|g| g["clientAppId"] == client.as_str())
            .collect();
        assert_eq!(of_app.len(), count, "{lee_grants:?}");
        let (status, sp) = tenant.get(&format!("/servicePrincipals(appId='{client}')"), &admin);
        assert_eq!(status, 200, "{sp}");
        let sp_id = sp["id"].as_str().unwrap();
        assert_ne!(sp_id, client);
        for grant in of_app {
            assert_eq!(grant["clientId"], sp_id);
            assert_eq!(
                grant["resourceAppId"],
                "00000003-0000-0000-c000-000000000000"
            );
            assert_eq!(grant["permissionType"], "Application");
        }
        principals.insert(sp_id.to_string());
    }
    assert_eq!(principals.len(), 2, "one service principal per app");
    // Upgrade: the grants follow the new consented set; uninstall: they go.
    let field_client = client_app_id(FIELD_SERVICE);
    let count = |list: &[Value]| {
        list.iter()
            .filter(|g| g["clientAppId"] == field_client.as_str())
            .count()
    };
    assert_eq!(count(&grants(&sean)), 1);
    let sean_field = format!(
        "/users/{sean}/teamwork/installedApps/{}",
        iid(&sean, FIELD_SERVICE)
    );
    let (status, _) = tenant.post(
        &format!("{sean_field}/upgrade"),
        &admin,
        json!({"consentedPermissionSet": field_service_consent()}),
    );
    assert_eq!(status, 204);
    assert_eq!(count(&grants(&sean)), 2);
    assert_eq!(tenant.delete(&sean_field, &admin).0, 204);
    assert_eq!(count(&grants(&sean)), 0);
}

#[test]
fn grant_ids_follow_the_names_or_the_documentation() {
    // Which reading real Graph follows is unverified: the dev tenant plays both.
    let tenant = DevTenant::start(&["--grant-ids", "documented"]);
    assert_eq!(
        tenant.admin(Method::GET, "/options", None)["grantIds"],
        "documented"
    );
    let admin = tenant.token(ADMIN, &format!("{CONSENT} Application.Read.All"));
    let sean = tenant.user_id(OBRIEN);
    let catalog = tenant.get_all("/appCatalogs/teamsApps?$expand=appDefinitions", &admin);
    let app = catalog.iter().find(|a| a["id"] == FIELD_SERVICE).unwrap();
    let entra_app = app["appDefinitions"].as_array().unwrap().last().unwrap()["authorization"]
        ["clientAppId"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, sp) = tenant.get(&format!("/servicePrincipals(appId='{entra_app}')"), &admin);
    assert_eq!(status, 200, "{sp}");
    let sp_id = sp["id"].as_str().unwrap().to_string();
    assert_ne!(sp_id, entra_app);
    let grants = || {
        let (status, body) = tenant.get(&format!("/users/{sean}/permissionGrants"), &admin);
        assert_eq!(status, 200, "{body}");
        let grants: Vec<Value> = value(&body)
            .into_iter()
            .filter(|g| {
                g["clientId"] == entra_app.as_str() || g["clientAppId"] == entra_app.as_str()
            })
            .collect();
        assert_eq!(grants.len(), 1, "{body}");
        grants.into_iter().next().unwrap()
    };
    // documented: clientId the Entra app, clientAppId its service principal (the table's words).
    let grant = grants();
    assert_eq!(grant["clientId"], entra_app.as_str());
    assert_eq!(grant["clientAppId"], sp_id.as_str());
    // named (the default), set at run time: the other way round; only the field given changes.
    let options = tenant.admin(Method::PUT, "/options", Some(json!({"grantIds": "named"})));
    assert_eq!(options["grantIds"], "named");
    assert_eq!(options["pageSize"], 2);
    let grant = grants();
    assert_eq!(grant["clientAppId"], entra_app.as_str());
    assert_eq!(grant["clientId"], sp_id.as_str());
    // Back to documented through the admin endpoint; an unknown value is refused.
    tenant.admin(
        Method::PUT,
        "/options",
        Some(json!({"grantIds": "documented"})),
    );
    assert_eq!(grants()["clientId"], entra_app.as_str());
    let refused = tenant
        .http
        .put(format!("{}/_devtenant/options", tenant.graph))
        .json(&json!({"grantIds": "guessed"}))
        .send()
        .unwrap();
    assert!(refused.status().is_client_error());
    assert_eq!(grants()["clientId"], entra_app.as_str());
    // Without the flag it is named.
    let plain = DevTenant::start(&[]);
    assert_eq!(
        plain.admin(Method::GET, "/options", None)["grantIds"],
        "named"
    );
}

#[test]
fn strict_self_only_keeps_delegated_for_user_scopes_to_the_signed_in_user() {
    let tenant = DevTenant::start(&["--strict-self-only"]);
    assert_eq!(
        tenant.admin(Method::GET, "/options", None)["selfOnly"],
        true
    );
    let admin = tenant.token(ADMIN, CONSENT);
    let me = tenant.user_id(ADMIN);
    let lee = tenant.user_id(LEE);
    // Another user's apps, grants, install: 403 in Graph's shape, nothing applied.
    for (method, path, body) in [
        (
            Method::GET,
            format!("/users/{lee}/teamwork/installedApps"),
            None,
        ),
        (Method::GET, format!("/users/{lee}/permissionGrants"), None),
        (
            Method::POST,
            format!("/users/{}/teamwork/installedApps", encode(LEE)),
            Some(json!({"teamsApp@odata.bind": tenant.bind(POLLS)})),
        ),
        (
            Method::DELETE,
            format!("/users/{lee}/teamwork/installedApps/{}", iid(&lee, POLLS)),
            None,
        ),
    ] {
        let mut request = tenant.graph_request(method.clone(), &path, &admin);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let (status, body) = status_json(request.send().unwrap());
        assert_eq!(status, 403, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "Forbidden");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("another user's personal scope"),
            "{message}"
        );
        assert_eq!(
            body["error"]["innerError"]["request-id"]
                .as_str()
                .unwrap()
                .len(),
            36
        );
        assert!(body["error"]["innerError"]["date"].is_string());
    }
    let state = tenant.admin(Method::GET, "/state", None);
    assert!(!state["installations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["userId"] == lee.as_str() && i["appId"] == POLLS));
    // Oneself keeps working, by /me, by id and by the key form; profiles are not ForUser.
    assert_eq!(tenant.get("/me/teamwork/installedApps", &admin).0, 200);
    assert_eq!(
        tenant
            .get(&format!("/users/{me}/teamwork/installedApps"), &admin)
            .0,
        200
    );
    assert_eq!(
        tenant
            .get(&format!("/users('{me}')/permissionGrants"), &admin)
            .0,
        200
    );
    assert_eq!(
        tenant
            .post(
                "/me/teamwork/installedApps",
                &admin,
                json!({"teamsApp@odata.bind": tenant.bind(LEARNING_HUB)})
            )
            .0,
        201
    );
    assert_eq!(tenant.get(&format!("/users/{lee}"), &admin).0, 200);
    // Off at run time: the administrator reaches others again.
    let options = tenant.admin(Method::PUT, "/options", Some(json!({"selfOnly": false})));
    assert_eq!(options["selfOnly"], false);
    assert_eq!(
        tenant
            .get(&format!("/users/{lee}/teamwork/installedApps"), &admin)
            .0,
        200
    );
    tenant.admin(Method::PUT, "/options", Some(json!({"selfOnly": true})));
    assert_eq!(
        tenant
            .get(&format!("/users/{lee}/teamwork/installedApps"), &admin)
            .0,
        403
    );
}

#[test]
fn strict_self_only_is_off_by_default() {
    let tenant = DevTenant::start(&[]);
    assert_eq!(
        tenant.admin(Method::GET, "/options", None)["selfOnly"],
        false
    );
    let admin = tenant.token(ADMIN, CONSENT);
    let lee = tenant.user_id(LEE);
    assert_eq!(
        tenant
            .get(&format!("/users/{lee}/teamwork/installedApps"), &admin)
            .0,
        200
    );
}
