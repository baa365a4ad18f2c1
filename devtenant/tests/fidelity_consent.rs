//! The consent flags for Graph behaviour nobody has verified against a live tenant (issue #23),
//! against the running binary: `--consent-scope-rule application|any` (which consented sets need
//! `TeamsAppInstallation.ReadWriteAndConsentForUser`), `--consent-error-text` (the words of the
//! consent-mismatch 400), and the admin endpoint that publishes a new version of an app.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Standup Bot: its latest published definition (2.1.0) requires two delegated permissions.
const STANDUP: &str = "061a77be-fb5e-5082-a688-dbd12930fe76";
/// Contoso Notify: requires `TeamsActivity.Send.User` (application).
const NOTIFY: &str = "12345678-9abc-def0-123456789a";

fn set(permissions: &[(&str, &str)]) -> Value {
    json!({"resourceSpecificPermissions": permissions.iter().map(|(v, t)| json!({
        "permissionValue": v, "permissionType": t,
    })).collect::<Vec<_>>()})
}

fn standup_set() -> Value {
    set(&[
        ("InAppPurchase.Allow.User", "delegated"),
        ("MeetingStage.Write.Chat", "delegated"),
    ])
}

fn install(
    tenant: &DevTenant,
    token: &str,
    user: &str,
    app: &str,
    consent: Option<Value>,
) -> (u16, Value) {
    let mut body = json!({"teamsApp@odata.bind": tenant.bind(app)});
    if let Some(consent) = consent {
        body["consentedPermissionSet"] = consent;
    }
    tenant.post(
        &format!("/users/{user}/teamwork/installedApps"),
        token,
        body,
    )
}

fn installation_of(tenant: &DevTenant, token: &str, user: &str, app: &str) -> Option<Value> {
    tenant
        .get_all(
            &format!("/users/{user}/teamwork/installedApps?$expand=teamsApp"),
            token,
        )
        .into_iter()
        .find(|i| i["teamsApp"]["id"] == app)
}

#[test]
fn a_delegated_only_consent_needs_the_consent_scope_under_any_not_under_application() {
    for (args, refused) in [
        (&[][..], true),
        (&["--consent-scope-rule", "any"][..], true),
        (&["--consent-scope-rule", "application"][..], false),
    ] {
        let tenant = DevTenant::start(args);
        let write = tenant.token(ADMIN, WRITE);
        let consent = tenant.token(ADMIN, CONSENT);
        let user = tenant.user_id(OBRIEN);
        // The delegated-only set, with the lesser scope.
        let (status, body) = install(&tenant, &write, &user, STANDUP, Some(standup_set()));
        if refused {
            assert_eq!(status, 403, "{args:?}: {body}");
            assert_eq!(body["error"]["code"], "Forbidden", "{body}");
            let message = body["error"]["message"].as_str().unwrap();
            assert!(
                message.starts_with("Missing scope permissions on the request.")
                    && message.contains("TeamsAppInstallation.ReadWriteAndConsentForUser"),
                "{message}"
            );
            assert!(body["error"]["innerError"]["request-id"].is_string());
            // A 403 was not applied.
            assert!(installation_of(&tenant, &write, &user, STANDUP).is_none());
            // With the consent scope: installed, the set recorded.
            let (status, body) = install(&tenant, &consent, &user, STANDUP, Some(standup_set()));
            assert_eq!(status, 201, "{args:?}: {body}");
        } else {
            assert_eq!(status, 201, "{args:?}: {body}");
        }
        let installed = installation_of(&tenant, &write, &user, STANDUP).expect("installed");
        assert_eq!(
            installed["consentedPermissionSet"]["resourceSpecificPermissions"]
                .as_array()
                .map(Vec::len),
            Some(2),
            "{installed}"
        );
        // Under every rule: no consented set needs the lesser scope only, an application
        // permission needs the consent scope.
        let other = tenant.user_id(MEMBER);
        let (status, body) = install(
            &tenant,
            &write,
            &other,
            NOTIFY,
            Some(set(&[("TeamsActivity.Send.User", "application")])),
        );
        assert_eq!(status, 403, "{args:?}: {body}");
        let (status, body) = install(
            &tenant,
            &write,
            &user,
            "fdea01e0-cd55-500a-8d2c-9b8b24499da7",
            None,
        );
        assert_eq!(status, 201, "{args:?}: {body}");
    }
}

#[test]
fn the_consent_mismatch_says_the_text_given_whatever_the_mismatch() {
    for text in [
        None,
        Some("Bad request."),
        Some("Invalid RSC grant request."),
    ] {
        let args: Vec<&str> = match text {
            Some(text) => vec!["--consent-error-text", text],
            None => vec![],
        };
        let tenant = DevTenant::start(&args);
        let consent = tenant.token(ADMIN, CONSENT);
        let user = tenant.user_id(OBRIEN);
        // Omitted where an application permission is required, a partial set, a set of
        // another app: each a 400 with the text given (or the dev tenant's own).
        for sent in [
            None,
            Some(set(&[])),
            Some(set(&[("InAppPurchase.Allow.User", "delegated")])),
        ] {
            let (status, body) = install(&tenant, &consent, &user, NOTIFY, sent.clone());
            assert_eq!(status, 400, "{sent:?}: {body}");
            assert_eq!(body["error"]["code"], "BadRequest");
            let message = body["error"]["message"].as_str().unwrap();
            match text {
                Some(text) => assert_eq!(message, text),
                None => assert!(message.contains("TeamsActivity.Send.User"), "{message}"),
            }
        }
        // The whole set goes through whatever the text.
        let (status, body) = install(
            &tenant,
            &consent,
            &user,
            NOTIFY,
            Some(set(&[("TeamsActivity.Send.User", "application")])),
        );
        assert_eq!(status, 201, "{body}");
    }
}

#[test]
fn a_version_published_meanwhile_is_what_an_install_must_consent_to() {
    let tenant = DevTenant::start(&["--consent-error-text", "Bad request."]);
    let consent = tenant.token(ADMIN, CONSENT);
    let user = tenant.user_id(OBRIEN);
    let definition = tenant.admin(
        Method::POST,
        &format!("/teamsApps/{NOTIFY}/appDefinitions"),
        Some(json!({"version": "1.1.0", "resourceSpecificPermissions": [
            {"permissionValue": "TeamsActivity.Send.User", "permissionType": "Application"},
            {"permissionValue": "TeamsAppInstallation.Read.User", "permissionType": "application"},
        ]})),
    );
    assert_eq!(definition["version"], "1.1.0");
    assert_eq!(definition["publishingState"], "published");
    // The catalog shows it as the latest published version.
    let (status, app) = tenant.get(
        &format!("/appCatalogs/teamsApps/{NOTIFY}?$expand=appDefinitions"),
        &consent,
    );
    assert_eq!(status, 200, "{app}");
    assert_eq!(
        app["appDefinitions"]
            .as_array()
            .and_then(|d| d.last())
            .map(|d| d["version"].clone()),
        Some(json!("1.1.0"))
    );
    // The set of the version before is now partial.
    let (status, body) = install(
        &tenant,
        &consent,
        &user,
        NOTIFY,
        Some(set(&[("TeamsActivity.Send.User", "application")])),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["message"], "Bad request.");
    let (status, body) = install(
        &tenant,
        &consent,
        &user,
        NOTIFY,
        Some(set(&[
            ("TeamsActivity.Send.User", "application"),
            ("TeamsAppInstallation.Read.User", "application"),
        ])),
    );
    assert_eq!(status, 201, "{body}");
}
