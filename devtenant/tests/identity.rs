//! The identity origin over HTTP: PKCE, codes, redirect URIs, CORS, refresh rotation, the
//! 24-hour cliff, consent and discovery, each against the running binary.

mod common;

use common::*;
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::json;

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[test]
fn pkce_happy_path_returns_entra_shaped_tokens() {
    let tenant = DevTenant::start(&[]);
    let (params, verifier) = tenant.authorize_params(READ);
    let page = tenant.authorize(
        &client(),
        &params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>(),
    );
    assert_eq!(page.status(), 200);
    assert!(page.text().unwrap().contains("Pick an account"));
    let query = tenant.pick_account(&client(), &params, ADMIN);
    assert_eq!(find(&query, "state").as_deref(), Some("state-123"));
    let code = find(&query, "code").unwrap();
    let response = tenant.redeem(&code, &verifier);
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        tenant.origin().as_str()
    );
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].is_string());
    let id = claims(body["id_token"].as_str().unwrap());
    assert_eq!(
        id["iss"],
        format!("{}/{}/v2.0", tenant.identity, tenant.tenant)
    );
    assert_eq!(id["aud"], tenant.client_id);
    assert_eq!(id["nonce"], "nonce-456");
    assert_eq!(id["tid"], tenant.tenant);
    assert_eq!(id["ver"], "2.0");
    assert_eq!(id["preferred_username"], ADMIN);
    assert_eq!(id["wids"], json!(["69091246-20e8-4a56-aa4d-066075b2a7a8"]));
    assert!(id["oid"].is_string() && id["sub"].is_string() && id["name"].is_string());
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["aud"], "https://graph.microsoft.com");
    assert_eq!(access["tid"], tenant.tenant);
    assert!(access["scp"]
        .as_str()
        .unwrap()
        .split(' ')
        .any(|s| s == "TeamsAppInstallation.ReadForUser"));
    // The token's kid is published in the JWKS.
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            body["id_token"]
                .as_str()
                .unwrap()
                .split('.')
                .next()
                .unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let jwks: serde_json::Value = tenant
        .http
        .get(format!("{}/discovery/v2.0/keys", tenant.authority()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"] == header["kid"]));
    // A member's ID token has no wids.
    let member = tenant.sign_in(MEMBER, READ);
    assert!(claims(member["id_token"].as_str().unwrap())
        .get("wids")
        .is_none());
}

#[test]
fn wrong_verifier_is_refused_and_burns_the_code() {
    let tenant = DevTenant::start(&[]);
    let (params, verifier) = tenant.authorize_params(READ);
    let code = find(&tenant.pick_account(&client(), &params, MEMBER), "code").unwrap();
    let (status, body) =
        status_json(tenant.redeem(&code, "not-the-verifier-not-the-verifier-not-the-verifier"));
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS501481"));
    let (status, body) = status_json(tenant.redeem(&code, &verifier));
    assert_eq!(status, 400);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS54005"));
}

#[test]
fn replayed_code_is_refused() {
    let tenant = DevTenant::start(&[]);
    let (params, verifier) = tenant.authorize_params(READ);
    let code = find(&tenant.pick_account(&client(), &params, MEMBER), "code").unwrap();
    assert_eq!(tenant.redeem(&code, &verifier).status(), 200);
    let (status, body) = status_json(tenant.redeem(&code, &verifier));
    assert_eq!(status, 400);
    assert_eq!(body["error_codes"], json!([54005]));
}

#[test]
fn plain_and_missing_challenges_are_refused_back_to_the_client() {
    let tenant = DevTenant::start(&[]);
    let (params, _) = tenant.authorize_params(READ);
    let mut plain: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    plain.retain(|(k, _)| *k != "code_challenge_method");
    plain.push(("code_challenge_method", "plain"));
    let response = tenant.authorize(&client(), &plain);
    assert_eq!(response.status(), 303);
    let query = redirect_query(&response);
    assert_eq!(find(&query, "error").as_deref(), Some("invalid_request"));
    assert_eq!(find(&query, "state").as_deref(), Some("state-123"));
    let missing: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| !k.starts_with("code_challenge"))
        .collect();
    let query = redirect_query(&tenant.authorize(&client(), &missing));
    assert!(find(&query, "error_description")
        .unwrap()
        .starts_with("AADSTS9002325"));
}

#[test]
fn unregistered_redirect_uri_is_shown_not_redirected() {
    let tenant = DevTenant::start(&[]);
    let (params, _) = tenant.authorize_params(READ);
    let mut evil: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .filter(|(k, _)| *k != "redirect_uri")
        .collect();
    evil.push(("redirect_uri", "https://evil.example/"));
    let response = tenant.authorize(&client(), &evil);
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    assert!(response.text().unwrap().contains("AADSTS50011"));
    let unknown_client: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| {
            (
                k.as_str(),
                if k == "client_id" {
                    "00000000-0000-0000-0000-000000000000"
                } else {
                    v.as_str()
                },
            )
        })
        .collect();
    assert!(tenant
        .authorize(&client(), &unknown_client)
        .text()
        .unwrap()
        .contains("AADSTS700016"));
}

#[test]
fn token_endpoint_cors_and_missing_origin() {
    let tenant = DevTenant::start(&[]);
    let preflight = tenant
        .http
        .request(
            Method::OPTIONS,
            format!("{}/oauth2/v2.0/token", tenant.authority()),
        )
        .header("Origin", tenant.origin())
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type")
        .send()
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        tenant.origin().as_str()
    );
    let foreign = tenant
        .http
        .request(
            Method::OPTIONS,
            format!("{}/oauth2/v2.0/token", tenant.authority()),
        )
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .unwrap();
    assert!(foreign
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    let (params, verifier) = tenant.authorize_params(READ);
    let code = find(&tenant.pick_account(&client(), &params, MEMBER), "code").unwrap();
    let form = [
        ("client_id", tenant.client_id.as_str()),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", tenant.portal.as_str()),
        ("code_verifier", verifier.as_str()),
    ];
    let (status, body) = status_json(tenant.token_request(&form, None));
    assert_eq!(status, 400);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS9002327"));
}

#[test]
fn refresh_tokens_rotate_and_die_24_hours_after_sign_in() {
    let tenant = DevTenant::start(&[]);
    let first = tenant.sign_in(MEMBER, READ);
    let refresh = |token: &str| {
        tenant.token_request(
            &[
                ("client_id", &tenant.client_id),
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("scope", READ),
            ],
            Some(&tenant.origin()),
        )
    };
    let (status, second) = status_json(refresh(first["refresh_token"].as_str().unwrap()));
    assert_eq!(status, 200);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    // The rotated-away token is dead.
    assert_eq!(
        refresh(first["refresh_token"].as_str().unwrap()).status(),
        400
    );
    // 23 hours later the newest one still works...
    tenant.admin(
        Method::PUT,
        "/clock",
        Some(json!({"offsetSeconds": 23 * 3600})),
    );
    let (status, third) = status_json(refresh(second["refresh_token"].as_str().unwrap()));
    assert_eq!(status, 200);
    // ...and past 24 hours from the first sign-in the family is over, rotation or not.
    tenant.admin(
        Method::PUT,
        "/clock",
        Some(json!({"offsetSeconds": 24 * 3600 + 1})),
    );
    let (status, body) = status_json(refresh(third["refresh_token"].as_str().unwrap()));
    assert_eq!(status, 400);
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .starts_with("AADSTS700084"));
    // The refresh grants are in the request log, with the token masked.
    let refreshes: Vec<_> = tenant
        .log()
        .into_iter()
        .filter(|e| e["grantType"] == "refresh_token")
        .collect();
    assert_eq!(refreshes.len(), 4);
    assert!(!refreshes[0]["body"]
        .as_str()
        .unwrap()
        .contains(first["refresh_token"].as_str().unwrap()));
}

#[test]
fn token_error_next_answers_503_and_uses_nothing_up() {
    let tenant = DevTenant::start(&[]);
    let first = tenant.sign_in(MEMBER, READ);
    let token = first["refresh_token"].as_str().unwrap();
    let refresh = |token: &str| {
        tenant.token_request(
            &[
                ("client_id", &tenant.client_id),
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("scope", READ),
            ],
            Some(&tenant.origin()),
        )
    };
    // Exactly the shape the e2e tests send.
    tenant.set_faults(json!({ "tokenErrorNext": { "count": 1, "status": 503 } }));
    assert_eq!(
        tenant.admin(Method::GET, "/faults", None)["tokenErrorNext"],
        json!({ "count": 1, "status": 503 })
    );
    // A CORS preflight is not a token request: answered as always, the fault still pending.
    let preflight = tenant
        .http
        .request(
            Method::OPTIONS,
            format!("{}/oauth2/v2.0/token", tenant.authority()),
        )
        .header("Origin", tenant.origin())
        .header("Access-Control-Request-Method", "POST")
        .send()
        .unwrap();
    assert_eq!(preflight.status(), 200);
    assert_eq!(
        tenant.admin(Method::GET, "/faults", None)["tokenErrorNext"]["count"],
        1
    );
    // The first refresh meets the 503: Entra's error shape, readable by the portal's origin,
    // with Retry-After.
    let response = refresh(token);
    assert_eq!(response.status(), 503);
    let headers = response.headers().clone();
    assert_eq!(
        headers["access-control-allow-origin"],
        tenant.origin().as_str()
    );
    assert_eq!(headers["vary"], "Origin");
    assert_eq!(headers["retry-after"], "1");
    let body: serde_json::Value = response.json().unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with("AADSTS90006: The service is temporarily unavailable."),
        "{description}"
    );
    assert!(description.contains("Trace ID: ") && description.contains("Correlation ID: "));
    assert_eq!(body["error_codes"], json!([90006]));
    for field in ["timestamp", "trace_id", "correlation_id"] {
        assert!(body[field].is_string(), "{field}: {body}");
    }
    // Spent: the fault is off again.
    assert!(tenant.admin(Method::GET, "/faults", None)["tokenErrorNext"].is_null());
    // Nothing was used up: the same refresh token works, once, and rotates as usual.
    let (status, second) = status_json(refresh(token));
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(refresh(token).status(), 400);
    // The log has the refreshes with their grant type and status; the 503 names its fault.
    let refreshes: Vec<_> = tenant
        .log()
        .into_iter()
        .filter(|e| e["grantType"] == "refresh_token")
        .collect();
    let statuses: Vec<_> = refreshes.iter().map(|e| e["status"].clone()).collect();
    assert_eq!(statuses, [json!(503), json!(200), json!(400)]);
    assert_eq!(refreshes[0]["fault"], "tokenError");
    assert!(refreshes[1].get("fault").is_none());
}

#[test]
fn token_error_next_spares_codes_and_has_flags() {
    // The flags: the first token request of any grant type (here a code) is answered 429.
    let tenant = DevTenant::start(&["--token-error-next", "1", "--token-error-status", "429"]);
    let (params, verifier) = tenant.authorize_params(READ);
    let code = find(&tenant.pick_account(&client(), &params, ADMIN), "code").unwrap();
    let response = tenant.redeem(&code, &verifier);
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        tenant.origin().as_str()
    );
    assert_eq!(response.headers()["retry-after"], "1");
    // The code was not used up.
    let (status, body) = status_json(tenant.redeem(&code, &verifier));
    assert_eq!(status, 200, "{body}");
    let redemptions: Vec<_> = tenant
        .log()
        .into_iter()
        .filter(|e| e["grantType"] == "authorization_code")
        .map(|e| (e["status"].clone(), e["fault"].clone()))
        .collect();
    assert_eq!(
        redemptions,
        [
            (json!(429), json!("tokenError")),
            (json!(200), serde_json::Value::Null)
        ]
    );
    // 500, 502 and 504 carry no Retry-After; `count` requests fail, then the code still works.
    for status in [500, 502, 504] {
        tenant.set_faults(json!({ "tokenErrorNext": { "count": 2, "status": status } }));
        let (params, verifier) = tenant.authorize_params(READ);
        let code = find(&tenant.pick_account(&client(), &params, MEMBER), "code").unwrap();
        for _ in 0..2 {
            let response = tenant.redeem(&code, &verifier);
            assert_eq!(response.status(), status);
            assert!(response.headers().get("retry-after").is_none());
        }
        assert_eq!(tenant.redeem(&code, &verifier).status(), 200);
    }
    // A status outside the list is refused; a PUT without the field turns it off.
    let refused = tenant
        .http
        .put(format!("{}/_devtenant/faults", tenant.graph))
        .json(&json!({ "tokenErrorNext": { "count": 1, "status": 400 } }))
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400);
    tenant.set_faults(json!({ "tokenErrorNext": { "count": 5, "status": 503 } }));
    tenant.set_faults(json!({}));
    tenant.sign_in(MEMBER, READ);
}

#[test]
fn admin_only_scopes_need_admin_consent_first() {
    let tenant = DevTenant::start(&[]);
    let (params, _) = tenant.authorize_params(WRITE);
    let query = tenant.pick_account(&client(), &params, MEMBER);
    assert_eq!(find(&query, "error").as_deref(), Some("consent_required"));
    assert!(find(&query, "error_description")
        .unwrap()
        .starts_with("AADSTS65001"));
    // An admin grants consent for the organization through the admin-consent endpoint.
    let consent_params = vec![
        ("client_id".to_string(), tenant.client_id.clone()),
        (
            "scope".into(),
            "https://graph.microsoft.com/.default".into(),
        ),
        ("redirect_uri".into(), tenant.portal.clone()),
        ("state".into(), "consent-1".into()),
        ("account".into(), tenant.user_id(GLOBAL_ADMIN)),
    ];
    let response = tenant
        .http
        .post(format!("{}/v2.0/adminconsent", tenant.authority()))
        .form(&consent_params)
        .send()
        .unwrap();
    let query = redirect_query(&response);
    assert_eq!(find(&query, "admin_consent").as_deref(), Some("True"));
    assert_eq!(find(&query, "state").as_deref(), Some("consent-1"));
    // Now the member gets the write scope.
    let token = tenant.sign_in(MEMBER, WRITE);
    assert!(claims(token["access_token"].as_str().unwrap())["scp"]
        .as_str()
        .unwrap()
        .contains("TeamsAppInstallation.ReadWriteForUser"));
    // A member cannot grant admin consent.
    let mut member_params = consent_params.clone();
    member_params.retain(|(k, _)| k != "account");
    member_params.push(("account".into(), tenant.user_id(MEMBER)));
    let response = tenant
        .http
        .post(format!("{}/v2.0/adminconsent", tenant.authority()))
        .form(&member_params)
        .send()
        .unwrap();
    assert_eq!(
        find(&redirect_query(&response), "error").as_deref(),
        Some("access_denied")
    );
}

#[test]
fn discovery_for_organizations_uses_the_tenantid_template() {
    let tenant = DevTenant::start(&[]);
    let specific: serde_json::Value = tenant
        .http
        .get(format!(
            "{}/v2.0/.well-known/openid-configuration",
            tenant.authority()
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        specific["issuer"],
        format!("{}/{}/v2.0", tenant.identity, tenant.tenant)
    );
    assert!(specific["msgraph_host"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(specific["end_session_endpoint"].is_string());
    let orgs: serde_json::Value = tenant
        .http
        .get(format!(
            "{}/organizations/v2.0/.well-known/openid-configuration",
            tenant.identity
        ))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        orgs["issuer"],
        format!("{}/{{tenantid}}/v2.0", tenant.identity)
    );
    let unknown = tenant
        .http
        .get(format!(
            "{}/fabrikam.com/v2.0/.well-known/openid-configuration",
            tenant.identity
        ))
        .send()
        .unwrap();
    assert_eq!(unknown.status(), 400);
}

#[test]
fn discovery_and_keys_are_cacheable_for_a_day_as_entra_s_are() {
    let tenant = DevTenant::start(&[]);
    for url in [
        format!(
            "{}/v2.0/.well-known/openid-configuration",
            tenant.authority()
        ),
        format!(
            "{}/organizations/v2.0/.well-known/openid-configuration",
            tenant.identity
        ),
        format!("{}/discovery/v2.0/keys", tenant.authority()),
    ] {
        let response = tenant.http.get(&url).send().unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(
            header("cache-control").as_deref(),
            Some("max-age=86400, private"),
            "{url}"
        );
        assert_eq!(header("access-control-allow-origin").as_deref(), Some("*"));
        assert_eq!(
            header("access-control-allow-methods").as_deref(),
            Some("GET, OPTIONS")
        );
    }
}

#[test]
fn prompt_none_needs_a_session_and_uses_it() {
    let tenant = DevTenant::start(&[]);
    let (params, _) = tenant.authorize_params(READ);
    let mut silent: Vec<(String, String)> = params.clone();
    silent.push(("prompt".into(), "none".into()));
    let pairs: Vec<(&str, &str)> = silent
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let query = redirect_query(&tenant.authorize(&client(), &pairs));
    assert_eq!(find(&query, "error").as_deref(), Some("login_required"));
    // Sign in once to get the session cookie, then a silent request succeeds.
    let mut form = params.clone();
    form.push(("account".into(), tenant.user_id(MEMBER)));
    let response = client()
        .post(format!("{}/oauth2/v2.0/authorize", tenant.authority()))
        .form(&form)
        .send()
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let silent_response = client()
        .get(format!("{}/oauth2/v2.0/authorize", tenant.authority()))
        .query(&pairs)
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert!(find(&redirect_query(&silent_response), "code").is_some());
    // A login_hint for someone else is not silently honoured.
    let mut other = pairs.clone();
    other.push(("login_hint", ADMIN));
    let response = client()
        .get(format!("{}/oauth2/v2.0/authorize", tenant.authority()))
        .query(&other)
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(
        find(&redirect_query(&response), "error").as_deref(),
        Some("login_required")
    );
    // Logout ends the session.
    client()
        .get(format!("{}/oauth2/v2.0/logout", tenant.authority()))
        .query(&[("post_logout_redirect_uri", tenant.portal.as_str())])
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    let response = client()
        .get(format!("{}/oauth2/v2.0/authorize", tenant.authority()))
        .query(&pairs)
        .header("Cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(
        find(&redirect_query(&response), "error").as_deref(),
        Some("login_required")
    );
}

#[test]
fn an_admin_with_prompt_consent_consents_for_the_organization() {
    let tenant = DevTenant::start(&[]);
    let (mut params, _) = tenant.authorize_params(READ);
    params.push(("prompt".into(), "consent".into()));
    let query = tenant.pick_account(&client(), &params, ADMIN);
    assert!(find(&query, "code").is_some());
    let state = tenant.admin(Method::GET, "/state", None);
    let consented = state["adminConsents"][&tenant.client_id]
        .as_array()
        .unwrap();
    assert!(
        consented
            .iter()
            .any(|s| s == "TeamsAppInstallation.ReadForUser"),
        "{consented:?}"
    );
    // Without prompt=consent, a member's user-consentable scopes stay the member's own.
    let other = DevTenant::start(&[]);
    other.sign_in(MEMBER, READ);
    let state = other.admin(Method::GET, "/state", None);
    assert!(state["adminConsents"].as_object().unwrap().is_empty());
    assert!(!state["userConsents"].as_object().unwrap().is_empty());
}
