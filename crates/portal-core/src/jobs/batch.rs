//! `POST /v1.0/$batch` as data: up to 20 requests a batch, unique ids, relative URLs, a
//! `Content-Type` header with every body; and the answer's inner responses (in any order),
//! with each inner `Retry-After`. Each inner request is throttled on its own. Only a 200 is a
//! batch answer ([`outcome_of`]).

use serde_json::{json, Map, Value};

use crate::auth::challenge::{parse_claims_challenge, ClaimsChallenge};
use crate::graph::error::parse_error;
use crate::graph::request::GraphRequest;

/// How a batch came back (see [`outcome_of`]: only a 200 is a batch answer).
#[derive(Clone, Debug, PartialEq)]
pub enum BatchOutcome {
    /// `200` with the inner answers.
    Answered(Vec<InnerAnswer>),
    /// The batch itself was answered with an error (status, `Retry-After`, body, and the
    /// claims challenge of a 401). Any status below 400 here is taken as no answer.
    Refused {
        status: u16,
        retry_after_s: Option<u64>,
        body: Option<Value>,
        challenge: Option<ClaimsChallenge>,
    },
    /// No answer, or none that tells what ran (a 2xx other than 200): the inner requests may
    /// have run.
    Lost,
}

/// Graph's limit of requests in one batch.
pub const MAX_BATCH: usize = 20;

/// The body of a `$batch` of `requests` (id, request): ids must be unique, at most
/// [`MAX_BATCH`] requests (more is the caller's bug, refused).
pub fn batch_body(requests: &[(String, GraphRequest)]) -> Result<Value, String> {
    if requests.len() > MAX_BATCH {
        return Err(format!(
            "{} requests in one batch; Graph takes at most {MAX_BATCH}",
            requests.len()
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut items = Vec::with_capacity(requests.len());
    for (id, request) in requests {
        if !seen.insert(id.as_str()) {
            return Err(format!("the id {id:?} is used twice in one batch"));
        }
        // The URL is relative to the version: the path and query as `url` builds them.
        let url = request.url("");
        let mut headers = Map::new();
        for (name, value) in &request.headers {
            headers.insert(name.clone(), Value::String(value.clone()));
        }
        let mut item = json!({ "id": id, "method": request.method.as_str(), "url": url });
        if let Some(body) = &request.body {
            headers
                .entry("Content-Type")
                .or_insert_with(|| Value::String("application/json".into()));
            item["body"] = body.clone();
        }
        if !headers.is_empty() {
            item["headers"] = Value::Object(headers);
        }
        items.push(item);
    }
    Ok(json!({ "requests": items }))
}

/// One inner answer of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct InnerAnswer {
    pub id: String,
    pub status: u16,
    /// Seconds, from the inner `Retry-After` header.
    pub retry_after_s: Option<u64>,
    pub body: Option<Value>,
    /// The claims challenge of an inner 401 (its `WWW-Authenticate` header), for the renewal.
    pub challenge: Option<ClaimsChallenge>,
}

/// The inner answers of a batch's answer, whatever their order.
pub fn parse_batch_answer(answer: &Value) -> Result<Vec<InnerAnswer>, String> {
    let responses = answer
        .get("responses")
        .and_then(Value::as_array)
        .ok_or("the batch answer has no `responses` array")?;
    responses
        .iter()
        .map(|r| {
            let id = r
                .get("id")
                .and_then(Value::as_str)
                .ok_or("an inner response without an id")?
                .to_string();
            let status = r
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .ok_or_else(|| format!("inner response {id} has no status"))?;
            let header = |name: &str| {
                r.get("headers").and_then(Value::as_object).and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .map(|(_, v)| v)
                })
            };
            let challenge = header("www-authenticate")
                .and_then(Value::as_str)
                .and_then(parse_claims_challenge);
            let retry_after_s = header("retry-after").and_then(|v| {
                v.as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            });
            Ok(InnerAnswer {
                id,
                status,
                retry_after_s,
                body: r.get("body").cloned().filter(|b| !b.is_null()),
                challenge,
            })
        })
        .collect()
}

/// How a `$batch` came back, from its status, headers and body. Only a 200 is a batch answer:
/// its inner responses (a 200 whose body cannot be read is an answer cut short: the inner
/// requests may have run). Any other 2xx (or 1xx, 3xx) carries no batch answer, so whether the
/// inner requests ran cannot be told: as if no answer came (a write is read back, never taken
/// as applied). An error status is the batch refused, with its `Retry-After` and, on a 401,
/// its claims challenge.
pub fn outcome_of(status: u16, headers: &[(String, String)], body: &[u8]) -> BatchOutcome {
    match status {
        200 => std::str::from_utf8(body)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .and_then(|answer| parse_batch_answer(&answer).ok())
            .map_or(BatchOutcome::Lost, BatchOutcome::Answered),
        0..=399 => BatchOutcome::Lost,
        _ => {
            let error = parse_error(status, headers, body);
            BatchOutcome::Refused {
                status,
                retry_after_s: error.retry_after,
                body: std::str::from_utf8(body)
                    .ok()
                    .and_then(|text| serde_json::from_str(text).ok()),
                challenge: error.claims_challenge,
            }
        }
    }
}

/// When several inner requests were throttled, the failed ones are retried after the longest
/// `Retry-After` among them (seconds), if any said one.
pub fn longest_retry_after(answers: &[InnerAnswer]) -> Option<u64> {
    answers
        .iter()
        .filter(|a| a.status == 429 || a.status == 503)
        .filter_map(|a| a.retry_after_s)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::encode::UserRef;
    use crate::graph::ids::CatalogAppId;
    use crate::graph::write::Write;

    fn install(user: &str) -> GraphRequest {
        Write::install(
            UserRef::ObjectId(user.into()),
            CatalogAppId::new("app-1"),
            None,
        )
        .request("graph.microsoft.com")
    }

    #[test]
    fn the_body_has_relative_urls_unique_ids_and_a_content_type_with_each_body() {
        let body = batch_body(&[
            ("1".into(), install("u1")),
            (
                "2".into(),
                crate::graph::request::list_installations(&UserRef::ObjectId("u2".into()), None),
            ),
        ])
        .unwrap();
        let requests = body["requests"].as_array().unwrap();
        assert_eq!(requests[0]["method"], "POST");
        assert_eq!(requests[0]["url"], "/users/u1/teamwork/installedApps");
        assert_eq!(requests[0]["headers"]["Content-Type"], "application/json");
        assert!(requests[0]["body"]["teamsApp@odata.bind"]
            .as_str()
            .unwrap()
            .ends_with("/appCatalogs/teamsApps/app-1"));
        assert_eq!(requests[1]["method"], "GET");
        assert!(requests[1]["url"]
            .as_str()
            .unwrap()
            .starts_with("/users/u2/teamwork/installedApps?$expand="));
        assert!(requests[1].get("body").is_none());
    }

    #[test]
    fn more_than_twenty_or_a_repeated_id_is_refused() {
        let many: Vec<_> = (0..21).map(|i| (i.to_string(), install("u"))).collect();
        assert!(batch_body(&many).unwrap_err().contains("at most 20"));
        assert!(batch_body(&many[..20]).is_ok());
        let twice = vec![
            ("a".to_string(), install("u")),
            ("a".to_string(), install("v")),
        ];
        assert!(batch_body(&twice).unwrap_err().contains("used twice"));
    }

    #[test]
    fn answers_in_any_order_with_each_retry_after() {
        let answer = json!({"responses": [
            {"id": "3", "status": 429, "headers": {"Retry-After": "7"}, "body": {"error": {"code": "TooManyRequests"}}},
            {"id": "1", "status": 201, "headers": {}, "body": null},
            {"id": "2", "status": 429, "headers": {"retry-after": 3}},
            {"id": "4", "status": 424}
        ]});
        let inner = parse_batch_answer(&answer).unwrap();
        assert_eq!(inner.len(), 4);
        let by_id = |id: &str| inner.iter().find(|a| a.id == id).unwrap();
        assert_eq!(by_id("1").status, 201);
        assert_eq!(by_id("1").body, None);
        assert_eq!(by_id("3").retry_after_s, Some(7));
        assert_eq!(by_id("2").retry_after_s, Some(3));
        assert_eq!(by_id("4").status, 424);
        assert_eq!(longest_retry_after(&inner), Some(7));
        assert!(parse_batch_answer(&json!({"value": []})).is_err());
        assert!(parse_batch_answer(&json!({"responses": [{"status": 200}]})).is_err());
    }

    #[test]
    fn an_inner_401_carries_its_claims_challenge() {
        // CAE: `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`, base64.
        let header = "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", \
                      client_id=\"00000003-0000-0000-c000-000000000000\", error=\"insufficient_claims\", \
                      claims=\"eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzAwMDAwMDAwIn19fQ==\"";
        let answer = json!({"responses": [
            {"id": "1", "status": 401, "headers": {"WWW-Authenticate": header}},
            {"id": "2", "status": 401, "headers": {"WWW-Authenticate": "Bearer realm=\"\""}},
            {"id": "3", "status": 201}
        ]});
        let inner = parse_batch_answer(&answer).unwrap();
        let by_id = |id: &str| inner.iter().find(|a| a.id == id).unwrap();
        let challenge = by_id("1").challenge.as_ref().expect("the challenge");
        assert!(
            challenge.claims.contains("\"essential\":true"),
            "{}",
            challenge.claims
        );
        assert_eq!(
            by_id("2").challenge,
            None,
            "a 401 without insufficient_claims"
        );
        assert_eq!(by_id("3").challenge, None);
    }

    #[test]
    fn only_a_200_is_a_batch_answer() {
        let answer = br#"{"responses": [{"id": "1", "status": 201}]}"#;
        assert!(matches!(
            outcome_of(200, &[], answer),
            BatchOutcome::Answered(inner) if inner.len() == 1 && inner[0].status == 201
        ));
        // A 200 cut short: the inner requests may have run.
        assert_eq!(outcome_of(200, &[], b"{\"respon"), BatchOutcome::Lost);
        assert_eq!(outcome_of(200, &[], b""), BatchOutcome::Lost);
        // Any other 2xx, even with a body that looks like an answer, tells nothing.
        for status in [201, 202, 204, 206, 299, 304] {
            assert_eq!(
                outcome_of(status, &[], answer),
                BatchOutcome::Lost,
                "{status}"
            );
            assert_eq!(outcome_of(status, &[], b""), BatchOutcome::Lost, "{status}");
        }
    }

    #[test]
    fn a_refused_batch_carries_its_retry_after_and_claims_challenge() {
        let headers = vec![("Retry-After".to_string(), "7".to_string())];
        let body = br#"{"error": {"code": "TooManyRequests", "message": "slow down"}}"#;
        match outcome_of(429, &headers, body) {
            BatchOutcome::Refused {
                status,
                retry_after_s,
                body,
                challenge,
            } => {
                assert_eq!((status, retry_after_s, challenge), (429, Some(7), None));
                assert_eq!(body.unwrap()["error"]["code"], "TooManyRequests");
            }
            other => panic!("{other:?}"),
        }
        // `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`, base64.
        let claims = "eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxIn19fQ==";
        let headers = vec![(
            "WWW-Authenticate".to_string(),
            format!(r#"Bearer realm="", error="insufficient_claims", claims="{claims}""#),
        )];
        match outcome_of(401, &headers, b"") {
            BatchOutcome::Refused {
                status: 401,
                challenge: Some(challenge),
                ..
            } => assert!(challenge.claims.contains("essential")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            outcome_of(503, &[], b"<html>busy</html>"),
            BatchOutcome::Refused {
                status: 503,
                body: None,
                ..
            }
        ));
    }
}
