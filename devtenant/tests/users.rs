//! Tenants sized for bulk jobs and audits: `--users N` adds generated users (resolvable by id and
//! UPN, with no installations), and `/users` pages at Graph's largest `$top` (999).

mod common;

use std::collections::BTreeSet;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const DIRECTORY: &str = "openid profile offline_access User.Read Directory.Read.All TeamsAppInstallation.ReadWriteAndConsentForUser AppCatalog.Read.All";

fn value(body: &Value) -> Vec<Value> {
    body["value"].as_array().cloned().unwrap_or_default()
}

#[test]
fn users_flag_adds_generated_users_resolvable_by_id_and_upn_without_installations() {
    let plain = DevTenant::start(&[]);
    let seeded = plain.admin(Method::GET, "/state", None)["users"]
        .as_array()
        .unwrap()
        .len();
    drop(plain);
    let tenant = DevTenant::start(&["--users", "200"]);
    let state = tenant.admin(Method::GET, "/state", None);
    let users = state["users"].as_array().unwrap();
    assert_eq!(users.len(), seeded + 200);
    let generated: Vec<&Value> = users
        .iter()
        .filter(|u| u["userPrincipalName"].as_str().unwrap().starts_with("user"))
        .collect();
    assert_eq!(generated.len(), 200);
    assert_eq!(
        generated[0]["userPrincipalName"],
        "user00001@contoso.onmicrosoft.com"
    );
    assert_eq!(
        generated[199]["userPrincipalName"],
        "user00200@contoso.onmicrosoft.com"
    );
    let generated_ids: BTreeSet<&str> = generated
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert!(state["installations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| !generated_ids.contains(i["userId"].as_str().unwrap())));

    let admin = tenant.token(ADMIN, DIRECTORY);
    let last = generated[199];
    let id = last["id"].as_str().unwrap();
    for key in [
        id,
        "user00200@contoso.onmicrosoft.com",
        "USER00200@contoso.onmicrosoft.com",
    ] {
        let (status, body) = tenant.get(&format!("/users/{key}"), &admin);
        assert_eq!(status, 200, "{key}: {body}");
        assert_eq!(body["id"], id);
        assert_eq!(body["displayName"], "Generated User 00200");
    }
    let (status, body) = tenant.get(&format!("/users('{id}')/teamwork/installedApps"), &admin);
    assert_eq!(status, 200, "{body}");
    assert!(value(&body).is_empty());
    // An install for a generated user works, by UPN inside a batch too.
    let (_, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [{"id": "1", "method": "POST",
            "url": "/users/user00007@contoso.onmicrosoft.com/teamwork/installedApps",
            "headers": {"Content-Type": "application/json"},
            "body": {"teamsApp@odata.bind": tenant.bind("321b182d-454e-50b3-bb11-3d323a34746b")}}]}),
    );
    assert_eq!(body["responses"][0]["status"], 201, "{body}");
    // Out of range is refused by the flag.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_devtenant"))
        .args([
            "--dist",
            tenant.dist().to_str().unwrap(),
            "--users",
            "100001",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
}

#[test]
fn users_page_at_top_999_for_an_audit_of_everyone() {
    let tenant = DevTenant::start(&["--users", "1500"]);
    let admin = tenant.token(ADMIN, DIRECTORY);
    let total = tenant.admin(Method::GET, "/state", None)["users"]
        .as_array()
        .unwrap()
        .len();
    assert!(total > 1500);
    let mut next = format!(
        "{}/v1.0/users?$top=999&$select=id,userPrincipalName,accountEnabled",
        tenant.graph
    );
    let mut pages = Vec::new();
    let mut seen = Vec::new();
    while !next.is_empty() {
        let (status, page) =
            status_json(tenant.http.get(&next).bearer_auth(&admin).send().unwrap());
        assert_eq!(status, 200, "{next}: {page}");
        let items = value(&page);
        pages.push(items.len());
        seen.extend(items);
        next = page["@odata.nextLink"].as_str().unwrap_or("").to_string();
        if !next.is_empty() {
            assert!(next.contains("$top=999"), "{next}");
            assert!(next.contains("$select=id,userPrincipalName,accountEnabled"));
        }
    }
    assert_eq!(pages, [999, total - 999]);
    let ids: BTreeSet<&str> = seen.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), total, "every user once");
    // $select with a directory scope gives accountEnabled: the disabled account shows.
    let disabled: Vec<&Value> = seen
        .iter()
        .filter(|u| u["accountEnabled"] == false)
        .collect();
    assert_eq!(disabled.len(), 1);
    assert_eq!(
        disabled[0]["userPrincipalName"],
        "former.employee@contoso.onmicrosoft.com"
    );
    assert!(seen.iter().all(|u| u.as_object().unwrap().len() == 3));
    // Beyond Graph's maximum, or zero, is a 400.
    for top in ["1000", "0", "x"] {
        let (status, body) = tenant.get(&format!("/users?$top={top}"), &admin);
        assert_eq!(status, 400, "{top}: {body}");
    }
    // Inside $batch too (an audit may batch its reads).
    let (_, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [{"id": "1", "method": "GET", "url": "/users?$top=999&$select=id"}]}),
    );
    let answer = &body["responses"][0];
    assert_eq!(answer["status"], 200, "{body}");
    assert_eq!(answer["body"]["value"].as_array().unwrap().len(), 999);
    assert!(answer["body"]["@odata.nextLink"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/v1.0/users?", tenant.graph)));
}
