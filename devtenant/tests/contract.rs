//! Contract tests: the dev tenant against the published contract in `../shared/graph/` and the
//! seed pages in `../shared/seeds/`. They read those files and skip, saying why, when absent.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn shared(path: &str) -> Option<PathBuf> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared")
        .join(path);
    if file.is_file() {
        Some(file)
    } else {
        // Written to stderr directly so libtest's capture does not hide the reason.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {} is absent (the shared contract lives beside the project checkout)",
            file.display()
        );
        None
    }
}

fn read_json(path: &PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A validator for one definition of a schema file (`$defs` kept so internal refs resolve).
struct Schemas {
    file: Value,
}

impl Schemas {
    fn check(&self, definition: &str, instance: &Value, what: &str) {
        let mut schema = self.file.clone();
        schema["$ref"] = json!(format!("#/$defs/{definition}"));
        let validator = jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("schema {definition}: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} does not match {definition}: {errors:?}\n{instance}"
        );
    }
}

#[test]
fn scope_table_matches_the_permission_catalogue() {
    let Some(path) = shared("graph/permissions-subset.json") else {
        return;
    };
    let catalogue = read_json(&path);
    let permissions = catalogue["permissions"].as_object().unwrap();
    let mut allowed: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut admin: BTreeMap<String, bool> = BTreeMap::new();
    for (name, permission) in permissions {
        if let Some(delegated) = permission["schemes"].get("DelegatedWork") {
            admin.insert(
                name.clone(),
                delegated["requiresAdminConsent"].as_bool().unwrap(),
            );
        }
        for set in permission["pathSets"].as_array().into_iter().flatten() {
            if !set["schemeKeys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == "DelegatedWork")
            {
                continue;
            }
            for method in set["methods"].as_array().unwrap() {
                for path in set["paths"].as_object().unwrap().keys() {
                    allowed
                        .entry((method.as_str().unwrap().to_string(), path.clone()))
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
    }
    for (method, path, scopes) in devtenant::scope_table::OPERATION_SCOPES {
        let expected = allowed
            .get(&(method.to_string(), path.to_string()))
            .cloned()
            .unwrap_or_default();
        let actual: BTreeSet<String> = scopes.iter().map(|s| s.to_string()).collect();
        assert_eq!(actual, expected, "{method} {path}");
    }
    let table: BTreeMap<String, bool> = devtenant::scope_table::DELEGATED_SCOPES
        .iter()
        .map(|(s, a)| (s.to_string(), *a))
        .collect();
    assert_eq!(table, admin);
}

#[test]
fn responses_validate_against_the_published_schemas() {
    let (Some(types), Some(envelopes), Some(extra)) = (
        shared("graph/graph-subset.schema.json"),
        shared("graph/envelopes.schema.json"),
        shared("graph/schemas.json"),
    ) else {
        return;
    };
    let types = Schemas {
        file: read_json(&types),
    };
    let envelopes = Schemas {
        file: read_json(&envelopes),
    };
    let extra = Schemas {
        file: read_json(&extra),
    };
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);

    let (_, me) = tenant.get("/me", &admin);
    envelopes.check("user", &me, "GET /me");
    let (_, users) = tenant.get(
        "/users?$top=5&$select=id,displayName,userPrincipalName,userType,accountEnabled",
        &admin,
    );
    envelopes.check("collection", &users, "GET /users");
    for user in users["value"].as_array().unwrap() {
        envelopes.check("user", user, "a user of GET /users");
    }
    let (_, catalog) = tenant.get("/appCatalogs/teamsApps?$expand=appDefinitions", &admin);
    envelopes.check("collection", &catalog, "GET appCatalogs");
    for app in catalog["value"].as_array().unwrap() {
        types.check("microsoft.graph.teamsApp", app, "a catalog app");
    }
    // Each definition's bot (`appDefinitions($expand=bot)`), on every page, by filter and by id.
    let (_, first) = tenant.get(
        "/appCatalogs/teamsApps?$expand=appDefinitions($expand=bot)",
        &admin,
    );
    envelopes.check("collection", &first, "GET appCatalogs with bots");
    let mut bots = Vec::new();
    for path in [
        "/appCatalogs/teamsApps?$expand=appDefinitions($expand=bot)".to_string(),
        "/appCatalogs/teamsApps?$filter=distributionMethod%20eq%20'organization'&$expand=appDefinitions($expand=bot)".to_string(),
        "/appCatalogs/teamsApps?$filter=id%20eq%20'b2c2a2ca-af4c-52d8-a348-519ac5d86dd6'&$expand=appDefinitions($expand=bot)".to_string(),
    ] {
        for app in tenant.get_all(&path, &admin) {
            types.check("microsoft.graph.teamsApp", &app, &path);
            for definition in app["appDefinitions"].as_array().unwrap() {
                bots.push(definition["bot"].clone());
            }
        }
    }
    let (_, helpdesk) = tenant.get(
        "/appCatalogs/teamsApps/b2c2a2ca-af4c-52d8-a348-519ac5d86dd6?$expand=appDefinitions($expand=bot)",
        &admin,
    );
    types.check(
        "microsoft.graph.teamsApp",
        &helpdesk,
        "GET one app with bots",
    );
    bots.extend(
        helpdesk["appDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["bot"].clone()),
    );
    // graph-subset leaves `bot` open ({}), and schemas.json refers to a `teamworkBot` it may not
    // define: a bot is then checked against teamworkBot as the CSDL has it (an entity with its
    // `id` only). `null` is a definition without a bot (a single-valued navigation property is
    // nullable unless the CSDL says otherwise).
    let csdl_bot = json!({"$defs": {"teamworkBot": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"], "additionalProperties": false}}});
    let bot_schema = if extra.file["$defs"].get("teamworkBot").is_some() {
        &extra
    } else {
        &Schemas { file: csdl_bot }
    };
    assert!(
        bots.iter().any(Value::is_null),
        "a definition without a bot"
    );
    assert!(bots.iter().any(Value::is_object), "a definition with a bot");
    for bot in bots.iter().filter(|b| !b.is_null()) {
        bot_schema.check("teamworkBot", bot, "a definition's bot");
    }
    // Install with consent so the installation carries a consented set, then read everything.
    let consent = json!({"resourceSpecificPermissions": [{"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"}]});
    let lee = encode("lee.gu@contoso.onmicrosoft.com");
    let (status, _) = tenant.post(&format!("/users/{lee}/teamwork/installedApps"), &admin,
        json!({"teamsApp@odata.bind": tenant.bind(SEED_APP_INSTALL), "consentedPermissionSet": consent}));
    assert_eq!(status, 201);
    let (_, installed) = tenant.get(
        &format!("/users/{lee}/teamwork/installedApps?$expand=teamsApp,teamsAppDefinition"),
        &admin,
    );
    envelopes.check("collection", &installed, "GET installedApps");
    for installation in installed["value"].as_array().unwrap() {
        types.check(
            "microsoft.graph.userScopeTeamsAppInstallation",
            installation,
            "an installation",
        );
        let id = installation["id"].as_str().unwrap();
        let (_, one) = tenant.get(
            &format!("/users/{lee}/teamwork/installedApps/{id}?$expand=teamsAppDefinition"),
            &admin,
        );
        types.check(
            "microsoft.graph.userScopeTeamsAppInstallation",
            &one,
            "GET one installation",
        );
    }
    // permissionGrants documents the object id only (`--grants-by-upn refuse`).
    let lee_id = tenant.user_id("lee.gu@contoso.onmicrosoft.com");
    let (_, grants) = tenant.get(&format!("/users/{lee_id}/permissionGrants"), &admin);
    envelopes.check("collection", &grants, "GET permissionGrants");
    assert!(!grants["value"].as_array().unwrap().is_empty());
    for grant in grants["value"].as_array().unwrap() {
        types.check(
            "microsoft.graph.resourceSpecificPermissionGrant",
            grant,
            "a grant",
        );
    }
    // The seeded users whose grants and installations differ (an orphan grant, a consent
    // behind, grant types in mixed case, an unknownFutureValue permission): Graph's shapes too.
    for upn in [
        "grants.orphan@contoso.onmicrosoft.com",
        "grants.behind@contoso.onmicrosoft.com",
        "grants.mixedcase@contoso.onmicrosoft.com",
        "grants.future@contoso.onmicrosoft.com",
    ] {
        let user = tenant.user_id(upn);
        let (_, grants) = tenant.get(&format!("/users/{user}/permissionGrants"), &admin);
        envelopes.check("collection", &grants, "GET permissionGrants");
        assert!(!grants["value"].as_array().unwrap().is_empty(), "{upn}");
        for grant in grants["value"].as_array().unwrap() {
            types.check(
                "microsoft.graph.resourceSpecificPermissionGrant",
                grant,
                upn,
            );
        }
        for installation in tenant.get_all(
            &format!("/users/{user}/teamwork/installedApps?$expand=teamsApp,teamsAppDefinition"),
            &admin,
        ) {
            types.check(
                "microsoft.graph.userScopeTeamsAppInstallation",
                &installation,
                upn,
            );
        }
    }
    let (_, settings) = tenant.get("/teamwork/teamsAppSettings", &admin);
    extra.check("teamsAppSettings", &settings, "GET teamsAppSettings");
    // Errors of every kind.
    for (status, error) in [
        tenant.get("/users/00000000-0000-0000-0000-000000000000", &admin),
        tenant.post(&format!("/users/{lee}/teamwork/installedApps"), &admin, json!({"teamsApp@odata.bind": tenant.bind(SEED_APP_INSTALL), "consentedPermissionSet": consent})),
        tenant.get("/me", ""),
    ] {
        assert!(status >= 400);
        envelopes.check("odataError", &error, "an error");
    }
    // $batch: our request and its answer.
    let batch = json!({"requests": [
        {"id": "a", "method": "GET", "url": "/me"},
        {"id": "b", "method": "GET", "url": "users/00000000-0000-0000-0000-000000000000", "dependsOn": ["a"]}
    ]});
    envelopes.check("batchRequest", &batch, "the batch request");
    let (_, answer) = tenant.post("/$batch", &admin, batch);
    envelopes.check("batchResponse", &answer, "the batch answer");
    for response in answer["responses"].as_array().unwrap() {
        if response["status"].as_u64().unwrap() >= 400 {
            envelopes.check("odataError", &response["body"], "an inner error");
        }
    }
}

/// The `POST https://graph.microsoft.com/v1.0/...` requests of a seed page with their JSON bodies.
fn seed_requests(text: &str) -> Vec<(String, Option<Value>)> {
    let mut requests = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(target) = line.trim().strip_prefix("POST ") else {
            continue;
        };
        let path = target
            .trim()
            .trim_start_matches("https://graph.microsoft.com/v1.0")
            .to_string();
        if path.contains('{') {
            continue; // the syntax line, not an example
        }
        // The body: the first `{` after the request line up to the code fence.
        let mut body = String::new();
        let mut started = false;
        for next in &lines[i + 1..] {
            if next.trim_start().starts_with("```") {
                break;
            }
            if next.trim_start().starts_with('{') {
                started = true;
            }
            if started {
                body.push_str(next);
                body.push('\n');
            }
        }
        requests.push((path, serde_json::from_str(&body).ok()));
    }
    requests
}

#[test]
fn seed_install_and_upgrade_requests_sent_verbatim() {
    let (Some(install), Some(upgrade)) = (
        shared("seeds/000_82380499837557a7.txt"),
        shared("seeds/001_4a4a08b8dc6dfa66.txt"),
    ) else {
        return;
    };
    let installs = seed_requests(&std::fs::read_to_string(install).unwrap());
    let upgrades = seed_requests(&std::fs::read_to_string(upgrade).unwrap());
    assert_eq!(installs.len(), 2, "{installs:?}");
    assert_eq!(upgrades.len(), 2, "{upgrades:?}");
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    let send = |(path, body): &(String, Option<Value>)| {
        let mut request = tenant.graph_request(Method::POST, path, &admin);
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().unwrap().status().as_u16()
    };
    // Both seed examples name the same catalog app, once without and once with consent: against
    // one app at most one can be right (facts.md). In the dev tenant that app requires
    // TeamsActivity.Send.User (application), so the example with consent gets the seed's 201 and
    // the one without is refused by the consent rule.
    assert_eq!(
        send(&installs[0]),
        400,
        "install without consent of an app needing application RSC"
    );
    assert_eq!(send(&installs[1]), 201, "the seed's install with consent");
    // Upgrade: the installation id from the seed is the dev tenant's id for the same user and app;
    // the latest published version needs TeamsActivity.Send.User, so the example with consent is
    // the one that gets the seed's 204.
    assert_eq!(
        send(&upgrades[0]),
        400,
        "upgrade without consent to a version needing application RSC"
    );
    assert_eq!(send(&upgrades[1]), 204, "the seed's upgrade with consent");
    // Then the installation is at the latest published version.
    let (_, installed) = tenant.get(&format!("/users/{SEED_USER}/teamwork/installedApps?$expand=teamsAppDefinition&$filter=teamsApp/id%20eq%20'{SEED_APP_UPGRADE}'"), &admin);
    assert_eq!(
        installed["value"][0]["teamsAppDefinition"]["version"],
        "2.0.0"
    );
}

#[test]
fn the_schema_check_rejects_what_graph_would_not_send() {
    let Some(types) = shared("graph/graph-subset.schema.json") else {
        return;
    };
    let types = Schemas {
        file: read_json(&types),
    };
    let capitalised =
        json!({"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"});
    let result = std::panic::catch_unwind(|| {
        types.check(
            "microsoft.graph.teamsAppResourceSpecificPermission",
            &capitalised,
            "probe",
        )
    });
    assert!(
        result.is_err(),
        "a capitalised permissionType must fail the enum"
    );
    types.check(
        "microsoft.graph.teamsAppResourceSpecificPermission",
        &json!({"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"}),
        "probe",
    );
}
