//! The request builders produce the seed pages' install and upgrade requests (paths and bodies),
//! except `permissionType`, which the portal sends lowercase as Graph answers it. Reads
//! `../shared/seeds/` and skips, saying why, when it is absent.

use std::io::Write as _;
use std::path::PathBuf;

use portal_core::graph::encode::UserRef;
use portal_core::graph::ids::{CatalogAppId, InstallationId};
use portal_core::graph::models::{PermissionType, ResourceSpecificPermission};
use portal_core::graph::request::Method;
use portal_core::graph::write::Write;
use serde_json::Value;

fn seed(name: &str) -> Option<String> {
    let root = std::env::var_os("TAP_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = root.join("seeds").join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(_) => {
            let _ = writeln!(std::io::stderr(), "SKIPPED: {} is absent", path.display());
            None
        }
    }
}

/// (path after /v1.0, body) of each example `POST` in a seed page.
fn examples(text: &str) -> Vec<(String, Option<Value>)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(target) = line.trim().strip_prefix("POST ") else {
            continue;
        };
        let path = target
            .trim()
            .trim_start_matches("https://graph.microsoft.com/v1.0")
            .to_string();
        if path.contains('{') {
            continue;
        }
        let mut body = String::new();
        let mut started = false;
        for next in &lines[i + 1..] {
            if next.trim_start().starts_with("```") {
                break;
            }
            started |= next.trim_start().starts_with('{');
            if started {
                body.push_str(next);
                body.push('\n');
            }
        }
        out.push((path, serde_json::from_str(&body).ok()));
    }
    out
}

fn lowercase_types(mut body: Value) -> Value {
    if let Some(list) = body
        .pointer_mut("/consentedPermissionSet/resourceSpecificPermissions")
        .and_then(Value::as_array_mut)
    {
        for p in list {
            if let Some(t) = p["permissionType"].as_str() {
                p["permissionType"] = Value::String(t.to_ascii_lowercase());
            }
        }
    }
    body
}

fn send_user() -> Vec<ResourceSpecificPermission> {
    vec![ResourceSpecificPermission {
        permission_value: "TeamsActivity.Send.User".into(),
        permission_type: PermissionType::Application,
    }]
}

const USER: &str = "5b649834-7412-4cce-9e69-176e95a394f5";

#[test]
fn install_requests_match_the_seed() {
    let Some(text) = seed("000_82380499837557a7.txt") else {
        return;
    };
    let seeds = examples(&text);
    assert_eq!(seeds.len(), 2);
    let app = CatalogAppId::new("12345678-9abc-def0-123456789a");
    let user = UserRef::ObjectId(USER.into());
    let built = [
        Write::install(user.clone(), app.clone(), None).request("graph.microsoft.com"),
        Write::install(user, app, Some(send_user())).request("graph.microsoft.com"),
    ];
    for ((path, body), request) in seeds.into_iter().zip(built) {
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path, path);
        assert_eq!(request.body, body.map(lowercase_types));
    }
}

#[test]
fn upgrade_requests_match_the_seed() {
    let Some(text) = seed("001_4a4a08b8dc6dfa66.txt") else {
        return;
    };
    let seeds = examples(&text);
    assert_eq!(seeds.len(), 2);
    let id = InstallationId::new(seeds[0].0.split('/').nth(5).unwrap());
    let user = UserRef::ObjectId(USER.into());
    let app = CatalogAppId::new("any");
    let built = [
        Write::upgrade(user.clone(), app.clone(), id.clone(), "2", None),
        Write::upgrade(user, app, id, "2", Some(send_user())),
    ]
    .map(|w| w.request("graph.microsoft.com"));
    for ((path, body), request) in seeds.into_iter().zip(built) {
        assert_eq!(request.path, path);
        assert_eq!(request.body, body.map(lowercase_types));
    }
}
