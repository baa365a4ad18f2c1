//! `$batch` as bulk jobs meet it: every inner request in the request log (its own entry, pointing
//! at the outer one), and the faults each inner request meets on its own (server errors with an
//! inner `Retry-After`, throttling, applied-then-failed writes), and a batch's answer lost after
//! its writes ran.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const POLLS: &str = "321b182d-454e-50b3-bb11-3d323a34746b";
const LEE: &str = "lee.gu@contoso.onmicrosoft.com";
const ALEX: &str = "alex.wilber@contoso.onmicrosoft.com";
const DIEGO: &str = "diego.siciliani@contoso.onmicrosoft.com";

fn install(id: &str, user: &str, tenant: &DevTenant) -> Value {
    json!({"id": id, "method": "POST", "url": format!("/users/{user}/teamwork/installedApps"),
           "headers": {"Content-Type": "application/json"},
           "body": {"teamsApp@odata.bind": tenant.bind(POLLS)}})
}

fn by_id(body: &Value, id: &str) -> Value {
    body["responses"]
        .as_array()
        .unwrap_or_else(|| panic!("no responses in {body}"))
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no response {id} in {body}"))
        .clone()
}

/// Whether the dev tenant holds an installation of Polls for `user` (whatever the answers said).
fn has_polls(tenant: &DevTenant, user: &str) -> bool {
    let id = tenant.user_id(user);
    tenant.admin(Method::GET, "/state", None)["installations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["userId"] == id.as_str() && i["appId"] == POLLS)
}

/// Log entries of Graph requests that ran (alone or inside a batch), preflights left out.
fn graph_entries(tenant: &DevTenant) -> Vec<Value> {
    tenant
        .log()
        .into_iter()
        .filter(|e| {
            (e["origin"] == "graph" || e["origin"] == "graph-batch") && e["method"] != "OPTIONS"
        })
        .collect()
}

#[test]
fn every_inner_request_is_logged_after_its_batch_and_points_at_it() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    tenant.admin(Method::DELETE, "/log", None);
    let batch = json!({"requests": [
        install("1", LEE, &tenant),
        {"id": "2", "method": "GET", "url": format!("/users/{LEE}/teamwork/installedApps?$expand=teamsApp"), "dependsOn": ["1"]},
        {"id": "3", "method": "POST", "url": format!("/users/{LEE}/teamwork/installedApps"),
         "headers": {"Content-Type": "application/json"},
         "body": {"teamsApp@odata.bind": tenant.bind("00000000-0000-0000-0000-000000000000")}},
        {"id": "4", "method": "GET", "url": "/me", "dependsOn": ["3"]}
    ]});
    let response = tenant
        .graph_request(Method::POST, "/$batch", &admin)
        .json(&batch)
        .send()
        .unwrap();
    let request_id = response.headers()["request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, body) = status_json(response);
    assert_eq!(status, 200, "{body}");
    assert_eq!(by_id(&body, "1")["status"], 201);
    assert_eq!(by_id(&body, "4")["status"], 424);

    let log = graph_entries(&tenant);
    let outer = log
        .iter()
        .position(|e| e["path"] == "/v1.0/$batch")
        .expect("the outer entry is kept");
    assert_eq!(log[outer]["origin"], "graph");
    assert_eq!(log[outer]["status"], 200);
    assert!(log[outer].get("batch").is_none());
    let outer_seq = log[outer]["seq"].as_u64().unwrap();
    // The inner entries follow at once, in the order they ran.
    let inner: Vec<&Value> = log[outer + 1..].iter().collect();
    assert_eq!(inner.len(), 4, "{inner:#?}");
    for (n, entry) in inner.iter().enumerate() {
        assert_eq!(entry["origin"], "graph-batch");
        assert_eq!(entry["seq"].as_u64().unwrap(), outer_seq + 1 + n as u64);
        assert_eq!(entry["batch"]["seq"].as_u64().unwrap(), outer_seq);
        assert_eq!(entry["batch"]["requestId"], request_id.as_str());
        assert_eq!(entry["dropped"], false);
        assert!(entry["headers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h[0] != "authorization"));
    }
    let summary: Vec<(String, String, String, Value, u64)> = inner
        .iter()
        .map(|e| {
            (
                e["batch"]["id"].as_str().unwrap().to_string(),
                e["method"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
                e["query"].clone(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let installed = format!("/v1.0/users/{LEE}/teamwork/installedApps");
    assert_eq!(
        summary,
        [
            (
                "1".into(),
                "POST".into(),
                installed.clone(),
                Value::Null,
                201
            ),
            (
                "2".into(),
                "GET".into(),
                installed.clone(),
                json!("$expand=teamsApp"),
                200
            ),
            (
                "3".into(),
                "POST".into(),
                installed.clone(),
                Value::Null,
                404
            ),
            (
                "4".into(),
                "GET".into(),
                "/v1.0/me".into(),
                Value::Null,
                424
            ),
        ]
    );
    // The body as sent, and the inner request's own headers.
    let sent: Value = serde_json::from_str(inner[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(sent["teamsApp@odata.bind"], tenant.bind(POLLS));
    assert!(inner[0]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h[0] == "content-type" && h[1] == "application/json"));
    assert_eq!(inner[1]["body"], "");
}

#[test]
fn the_log_tells_how_many_installs_succeeded_per_user_alone_or_in_a_batch() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    // Alone, then again inside a batch (a 409), with another user's install beside it.
    let (status, _) = tenant.post(
        &format!("/users/{LEE}/teamwork/installedApps"),
        &admin,
        json!({"teamsApp@odata.bind": tenant.bind(POLLS)}),
    );
    assert_eq!(status, 201);
    let (_, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [install("a", LEE, &tenant), install("b", ALEX, &tenant)]}),
    );
    assert_eq!(by_id(&body, "a")["status"], 409);
    assert_eq!(by_id(&body, "b")["status"], 201);
    let successes = |user: &str| {
        graph_entries(&tenant)
            .iter()
            .filter(|e| {
                e["method"] == "POST"
                    && e["path"] == format!("/v1.0/users/{user}/teamwork/installedApps").as_str()
                    && (200..300).contains(&e["status"].as_u64().unwrap())
            })
            .count()
    };
    assert_eq!(successes(LEE), 1);
    assert_eq!(successes(ALEX), 1);
}

#[test]
fn an_inner_server_error_fails_that_request_alone_without_effect() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    tenant.set_faults(json!({"batchItemErrorNext": 2, "serverErrorStatus": 503}));
    let (status, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [install("1", LEE, &tenant), install("2", ALEX, &tenant), install("3", DIEGO, &tenant)]}),
    );
    assert_eq!(status, 200, "the batch itself is answered: {body}");
    for id in ["1", "2"] {
        let answer = by_id(&body, id);
        assert_eq!(answer["status"], 503, "{answer}");
        assert_eq!(answer["headers"]["Retry-After"], "1");
        assert_eq!(answer["body"]["error"]["code"], "serviceNotAvailable");
        assert!(answer["body"]["error"]["innerError"]["request-id"].is_string());
    }
    assert_eq!(by_id(&body, "3")["status"], 201);
    assert!(
        !has_polls(&tenant, LEE),
        "a failed inner request has no effect"
    );
    assert!(!has_polls(&tenant, ALEX));
    assert!(has_polls(&tenant, DIEGO));
    let faults: Vec<(String, Value)> = graph_entries(&tenant)
        .iter()
        .filter(|e| e["origin"] == "graph-batch")
        .map(|e| {
            (
                e["batch"]["id"].as_str().unwrap().to_string(),
                e["fault"].clone(),
            )
        })
        .collect();
    assert_eq!(
        faults,
        [
            ("1".into(), json!("serverError")),
            ("2".into(), json!("serverError")),
            ("3".into(), Value::Null)
        ]
    );
    // Spent: the next batch runs normally; a request alone does not use the counter.
    tenant.set_faults(json!({"batchItemErrorNext": 1}));
    assert_eq!(tenant.get("/me", &admin).0, 200);
    let (_, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [{"id": "1", "method": "GET", "url": "/me"}, {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]}]}),
    );
    assert_eq!(by_id(&body, "1")["status"], 500);
    assert!(by_id(&body, "1")["headers"].get("Retry-After").is_none());
    assert_eq!(by_id(&body, "2")["status"], 424);
    let (_, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [{"id": "1", "method": "GET", "url": "/me"}]}),
    );
    assert_eq!(by_id(&body, "1")["status"], 200);
}

#[test]
fn the_server_error_rate_fails_inner_requests_one_by_one() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    tenant.set_faults(json!({"serverErrorRate": 0.5}));
    let requests: Vec<Value> = (0..20)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me"}))
        .collect();
    // The batch as a whole draws first: it may fail whole (nothing run); retry until it runs.
    let body = (0..20)
        .map(|_| tenant.post("/$batch", &admin, json!({ "requests": requests })))
        .find_map(|(status, body)| {
            assert!([200, 500, 503].contains(&status), "{status}");
            (status == 200).then_some(body)
        })
        .expect("some batch got through at a rate of 0.5");
    let statuses: Vec<u64> = body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert!(statuses.contains(&200), "{statuses:?}");
    assert!(
        statuses.iter().any(|s| *s == 500 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| [200, 500, 503].contains(s)));
    for answer in body["responses"].as_array().unwrap() {
        if answer["status"] == 503 {
            assert_eq!(answer["headers"]["Retry-After"], "1", "{answer}");
        }
    }
}

#[test]
fn throttled_inner_requests_are_logged_with_their_429() {
    let tenant = DevTenant::start(&["--throttle-rps", "2"]);
    let admin = tenant.token(ADMIN, CONSENT);
    let requests: Vec<Value> = [LEE, ALEX, DIEGO, MEMBER, OBRIEN]
        .iter()
        .enumerate()
        .map(|(i, user)| install(&i.to_string(), user, &tenant))
        .collect();
    let (_, body) = tenant.post("/$batch", &admin, json!({ "requests": requests }));
    let throttled: Vec<Value> = body["responses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 429)
        .cloned()
        .collect();
    assert!(!throttled.is_empty(), "{body}");
    for answer in &throttled {
        let seconds: u64 = answer["headers"]["Retry-After"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(seconds >= 1);
        assert_eq!(answer["body"]["error"]["code"], "TooManyRequests");
    }
    let logged = graph_entries(&tenant)
        .iter()
        .filter(|e| e["origin"] == "graph-batch" && e["status"] == 429)
        .count();
    assert_eq!(logged, throttled.len());
}

#[test]
fn an_inner_write_can_be_applied_then_failed() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    tenant.set_faults(json!({"applyThenErrorNext": 1, "applyThenErrorStatus": 504}));
    let (status, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [
            {"id": "r", "method": "GET", "url": "/me"},
            install("1", LEE, &tenant),
            install("2", ALEX, &tenant)
        ]}),
    );
    assert_eq!(status, 200, "the batch itself is answered: {body}");
    assert_eq!(by_id(&body, "r")["status"], 200, "reads are not writes");
    // Requests run in the order given: the first install takes the fault.
    assert_eq!(by_id(&body, "1")["status"], 504);
    assert_eq!(by_id(&body, "1")["body"]["error"]["code"], "GatewayTimeout");
    assert_eq!(by_id(&body, "2")["status"], 201);
    assert!(has_polls(&tenant, LEE), "applied despite the 504");
    let entry = graph_entries(&tenant)
        .into_iter()
        .find(|e| e["origin"] == "graph-batch" && e["batch"]["id"] == "1")
        .unwrap();
    assert_eq!(entry["status"], 504);
    assert_eq!(entry["fault"], "applyThenError");
    // The retry meets the installation.
    let (_, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [install("1", LEE, &tenant)]}),
    );
    assert_eq!(by_id(&body, "1")["status"], 409);
}

#[test]
fn a_dropped_batch_answer_loses_every_inner_answer_after_the_writes_ran() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    tenant.set_faults(json!({"dropNext": 1}));
    let result = tenant
        .graph_request(Method::POST, "/$batch", &admin)
        .json(&json!({"requests": [install("1", LEE, &tenant), install("2", ALEX, &tenant)]}))
        .send()
        .and_then(|r| r.text());
    assert!(result.is_err(), "the answer is lost: {result:?}");
    assert!(has_polls(&tenant, LEE) && has_polls(&tenant, ALEX));
    let log = graph_entries(&tenant);
    let outer = log.iter().find(|e| e["path"] == "/v1.0/$batch").unwrap();
    assert_eq!(outer["dropped"], true);
    let inner: Vec<&Value> = log
        .iter()
        .filter(|e| e["origin"] == "graph-batch")
        .collect();
    assert_eq!(inner.len(), 2);
    assert!(inner
        .iter()
        .all(|e| e["status"] == 201 && e["dropped"] == true));
}

#[test]
fn a_whole_batch_can_fail_before_anything_runs() {
    let tenant = DevTenant::start(&[]);
    let admin = tenant.token(ADMIN, CONSENT);
    tenant.set_faults(json!({"serverErrorNext": 1, "serverErrorStatus": 503}));
    let (status, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [install("1", LEE, &tenant)]}),
    );
    assert_eq!(status, 503, "{body}");
    assert!(!has_polls(&tenant, LEE));
    let log = graph_entries(&tenant);
    let outer = log.iter().find(|e| e["path"] == "/v1.0/$batch").unwrap();
    assert_eq!(outer["fault"], "serverError");
    assert!(log.iter().all(|e| e["origin"] != "graph-batch"));
}

#[test]
fn the_log_keeps_the_last_log_capacity_entries() {
    let tenant = DevTenant::start(&["--log-capacity", "3"]);
    let admin = tenant.token(ADMIN, CONSENT);
    let (_, body) = tenant.post(
        "/$batch",
        &admin,
        json!({"requests": [{"id": "1", "method": "GET", "url": "/me"}, {"id": "2", "method": "GET", "url": "/me"}]}),
    );
    assert_eq!(by_id(&body, "2")["status"], 200);
    let log = tenant.log();
    assert_eq!(log.len(), 3);
    assert!(
        log[0]["seq"].as_u64().unwrap() > 1,
        "older entries went first"
    );
    assert_eq!(log[0]["path"], "/v1.0/$batch");
    assert!(log[1..].iter().all(|e| e["origin"] == "graph-batch"));
}
