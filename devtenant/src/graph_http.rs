//! The Graph origin over HTTP: CORS as Graph answers it, request ids, fault injection (latency,
//! server errors, dropped answers), the request log, and `$batch`.
//!
//! Inside a `$batch` each inner request meets the faults a request alone would: the server-error
//! fault (`serverErrorRate`, and `batchItemErrorNext` for exact tests) answers it 500, or 503
//! with `Retry-After` in its inner headers, without running it; throttling answers it 429 with
//! its own inner `Retry-After`; an applied personal-app write may be answered a 5xx
//! (`applyThenError*`). The batch as a whole draws the server-error fault once first (a 5xx for
//! the whole batch, nothing run), and, being a write, may have its answer dropped after its inner
//! requests ran (`dropRate`, `dropNext`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::ctx::{iso_time, lock, Ctx};
use crate::graph::{dispatch, GraphRequest, GraphResponse};
use crate::graph_error::{GraphError, RequestIds};
use crate::log::{BatchRef, LogEntry, HIDDEN_HEADERS};

const EXPOSED: &str =
    "request-id, client-request-id, Retry-After, WWW-Authenticate, Location, x-ms-ags-diagnostic";
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Handles every request of the Graph origin not under `/_devtenant`.
pub async fn handle(State(ctx): State<Arc<Ctx>>, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let origin = parts.headers.get(header::ORIGIN).cloned();
    if parts.method == Method::OPTIONS {
        // Logged too: how many preflights a client sends is part of what it costs.
        let response = preflight(&parts.headers, origin);
        ctx.log.push(LogEntry {
            seq: 0,
            origin: "graph",
            method: "OPTIONS".into(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers: visible_headers(&parts.headers),
            body: String::new(),
            status: response.status().as_u16(),
            time: iso_time(ctx.now()),
            duration_ms: started.elapsed().as_millis() as u64,
            dropped: false,
            fault: None,
            grant_type: None,
            batch: None,
        });
        return response;
    }
    let body = to_bytes(body, MAX_BODY).await.unwrap_or_default().to_vec();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let ids = RequestIds::from_headers(&parts.headers, iso_time(ctx.now()));

    inject_latency(&ctx).await;
    let mut fault = None;
    // The entries of a batch's inner requests, logged right after the batch's own.
    let mut inner_entries = Vec::new();
    let outcome = if let Some(error) = injected_server_error(&ctx) {
        fault = Some("serverError");
        Err(error)
    } else if let Some(rest) = path.strip_prefix("/v1.0") {
        let graph_request = GraphRequest {
            method: parts.method.clone(),
            path: rest.to_string(),
            query: query.clone(),
            headers: parts.headers.clone(),
            body: body.clone(),
        };
        if rest.eq_ignore_ascii_case("/$batch") && parts.method == Method::POST {
            batch(&ctx, &graph_request, &ids.request_id, &mut inner_entries)
        } else {
            dispatch(&ctx, &graph_request)
        }
    } else {
        Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Invalid version: the path must start with /v1.0, not '{path}'."),
        ))
    };
    let write = parts.method == Method::POST || parts.method == Method::DELETE;
    let mut response = match outcome {
        Ok(graph_response) => {
            let applied = graph_response.status.as_u16() < 400;
            match (write && applied && is_personal_app_write(&path))
                .then(|| apply_then_error(&ctx))
                .flatten()
            {
                Some(error) => {
                    fault = Some("applyThenError");
                    ids.error(error)
                }
                None => to_http(graph_response),
            }
        }
        Err(error) => ids.error(error),
    };
    decorate(&mut response, &ids, origin);
    let status = response.status().as_u16();
    let dropped = write && status < 400 && should_drop(&ctx);
    // The inner answers of a dropped batch were lost with it.
    for entry in &mut inner_entries {
        entry.dropped = dropped;
    }
    let outer = LogEntry {
        seq: 0,
        origin: "graph",
        method: parts.method.to_string(),
        path,
        query: (!query.is_empty()).then_some(query),
        headers: visible_headers(&parts.headers),
        body: String::from_utf8_lossy(&body).into_owned(),
        status,
        time: ids.date.clone(),
        duration_ms: started.elapsed().as_millis() as u64,
        dropped,
        fault,
        grant_type: None,
        batch: None,
    };
    ctx.log.push_batch(outer, inner_entries);
    if dropped {
        return lost_mid_answer(response);
    }
    response
}

/// The change is applied; the answer is lost mid-way: the status line and headers go out, then
/// the connection breaks inside the body. (Closing before any byte would let a browser replay
/// the request on a fresh connection, which is not the fault under test.)
fn lost_mid_answer(response: Response) -> Response {
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_TYPE);
    let body = futures_util::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((Ok(axum::body::Bytes::from_static(b"{\"value\":")), 1)),
            1 => {
                // Let the first chunk reach the client before the connection breaks.
                tokio::time::sleep(Duration::from_millis(100)).await;
                Some((
                    Err(std::io::Error::other("dropped answer (fault injection)")),
                    2,
                ))
            }
            _ => None,
        }
    });
    Response::from_parts(parts, axum::body::Body::from_stream(body))
}

/// Request headers as logged (no Authorization, no cookies).
pub fn visible_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| !HIDDEN_HEADERS.contains(&name.as_str()))
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn preflight(headers: &HeaderMap, origin: Option<HeaderValue>) -> Response {
    let mut response = StatusCode::OK.into_response();
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        origin.unwrap_or(HeaderValue::from_static("*")),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    let requested = headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static("authorization, content-type"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("3600"),
    );
    response
}

fn decorate(response: &mut Response, ids: &RequestIds, origin: Option<HeaderValue>) {
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        origin.unwrap_or(HeaderValue::from_static("*")),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED),
    );
    if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
        h.insert(HeaderName::from_static("request-id"), v);
    }
    if let Some(v) = ids
        .client_request_id
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        h.insert(HeaderName::from_static("client-request-id"), v);
    }
    h.insert(HeaderName::from_static("x-ms-ags-diagnostic"), HeaderValue::from_static(r#"{"ServerInfo":{"DataCenter":"devtenant","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"devtenant"}}"#));
}

fn to_http(graph_response: GraphResponse) -> Response {
    let mut response = match graph_response.body {
        Some(body) => (graph_response.status, axum::Json(body)).into_response(),
        None => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = graph_response.status;
            r
        }
    };
    for (name, value) in graph_response.headers {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

async fn inject_latency(ctx: &Ctx) {
    let (latency, jitter) = {
        let faults = lock(&ctx.faults);
        (faults.latency_ms, faults.jitter_ms)
    };
    let extra = if jitter > 0 {
        (lock(&ctx.dice).roll() * (jitter + 1) as f64) as u64
    } else {
        0
    };
    if latency + extra > 0 {
        tokio::time::sleep(Duration::from_millis(latency + extra)).await;
    }
}

/// The server-error fault for a request alone or a whole `$batch`: `serverErrorNext` first
/// (with `serverErrorStatus`), then `serverErrorRate` (500 or 503 at random).
fn injected_server_error(ctx: &Ctx) -> Option<GraphError> {
    let mut faults = lock(&ctx.faults);
    let status = if faults.server_error_next > 0 {
        faults.server_error_next -= 1;
        faults.server_error_status.unwrap_or(500)
    } else {
        drawn_server_error(ctx, faults.server_error_rate)?
    };
    Some(server_error(status))
}

/// The server-error fault for a request inside a `$batch`: `batchItemErrorNext` first (with
/// `serverErrorStatus`), then `serverErrorRate` (500 or 503 at random).
fn injected_inner_server_error(ctx: &Ctx) -> Option<GraphError> {
    let mut faults = lock(&ctx.faults);
    let status = if faults.batch_item_error_next > 0 {
        faults.batch_item_error_next -= 1;
        faults.server_error_status.unwrap_or(500)
    } else {
        drawn_server_error(ctx, faults.server_error_rate)?
    };
    Some(server_error(status))
}

/// A draw against `rate`: `Some(500 or 503)` when it hits.
fn drawn_server_error(ctx: &Ctx, rate: f64) -> Option<u16> {
    let mut dice = lock(&ctx.dice);
    if rate > 0.0 && dice.roll() < rate {
        Some(if dice.roll() < 0.5 { 500 } else { 503 })
    } else {
        None
    }
}

/// Graph's 503 (with `Retry-After: 1`) or 500.
fn server_error(status: u16) -> GraphError {
    if status == 503 {
        GraphError {
            retry_after: Some(1),
            ..GraphError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Please retry later.",
            )
        }
    } else {
        GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal server error occurred (fault injection).",
        )
    }
}

/// Install (`POST …/installedApps`), upgrade (`POST …/installedApps/{id}/upgrade`) or uninstall
/// (`DELETE …/installedApps/{id}`), by path (the method is checked by the caller).
fn is_personal_app_write(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.starts_with("/v1.0/") && lower.contains("/teamwork/installedapps")
}

/// The apply-then-error fault: `Some(error)` when this applied write is to be answered with a
/// 5xx instead of its success (`applyThenErrorNext` first, then `applyThenErrorRate`).
fn apply_then_error(ctx: &Ctx) -> Option<GraphError> {
    let mut faults = lock(&ctx.faults);
    if faults.apply_then_error_next > 0 {
        faults.apply_then_error_next -= 1;
    } else if !(faults.apply_then_error_rate > 0.0
        && lock(&ctx.dice).roll() < faults.apply_then_error_rate)
    {
        return None;
    }
    Some(match faults.apply_then_error_status.unwrap_or(500) {
        502 => GraphError::new(
            StatusCode::BAD_GATEWAY,
            "BadGateway",
            "The server, while acting as a gateway, received an invalid response from the upstream server.",
        ),
        504 => GraphError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "GatewayTimeout",
            "The operation timed out while waiting for a response from the upstream service.",
        ),
        _ => GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "An internal server error occurred while processing the request.",
        ),
    })
}

fn should_drop(ctx: &Ctx) -> bool {
    let mut faults = lock(&ctx.faults);
    if faults.drop_next > 0 {
        faults.drop_next -= 1;
        return true;
    }
    faults.drop_rate > 0.0 && lock(&ctx.dice).roll() < faults.drop_rate
}

// ---------------------------------------------------------------- $batch

/// Runs a `$batch`: checks it whole (400 for a malformed one, nothing run), then runs its
/// requests in dependency order, each through [`run_inner`]. `log` receives one entry per inner
/// request, 424s included (`batch.seq` is filled in when the outer entry is logged).
fn batch(
    ctx: &Ctx,
    outer: &GraphRequest,
    outer_request_id: &str,
    log: &mut Vec<LogEntry>,
) -> Result<GraphResponse, GraphError> {
    let body: Value = serde_json::from_slice(&outer.body)
        .map_err(|e| GraphError::bad_request(format!("Invalid batch payload: {e}")))?;
    let requests = body
        .get("requests")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            GraphError::bad_request("Invalid batch payload: 'requests' must be an array.")
        })?;
    if requests.is_empty() || requests.len() > 20 {
        return Err(GraphError::bad_request(
            "Invalid batch payload: a batch holds between 1 and 20 requests.",
        ));
    }
    let mut ids = BTreeSet::new();
    for request in requests {
        let id = request.get("id").and_then(Value::as_str).unwrap_or("");
        if id.is_empty() || !ids.insert(id.to_string()) {
            return Err(GraphError::bad_request(format!(
                "Invalid batch payload: request ids must be present and unique ('{id}')."
            )));
        }
        let method = request.get("method").and_then(Value::as_str).unwrap_or("");
        if !["GET", "POST", "PATCH", "PUT", "DELETE"].contains(&method) {
            return Err(GraphError::bad_request(format!(
                "Invalid batch payload: request '{id}' has an invalid method."
            )));
        }
        if request
            .get("url")
            .and_then(Value::as_str)
            .is_none_or(|u| u.is_empty() || u.contains("://"))
        {
            return Err(GraphError::bad_request(format!(
                "Invalid batch payload: request '{id}' needs a relative url."
            )));
        }
        if request.get("body").is_some_and(|b| !b.is_null()) {
            let has_content_type = request
                .get("headers")
                .and_then(Value::as_object)
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
            if !has_content_type {
                return Err(GraphError::bad_request(format!(
                    "Invalid batch payload: request '{id}' has a body but no Content-Type header."
                )));
            }
        }
    }
    for request in requests {
        for dependency in request
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let dependency = dependency.as_str().unwrap_or("");
            if !ids.contains(dependency) {
                return Err(GraphError::bad_request(format!(
                    "Invalid batch payload: dependsOn names unknown request '{dependency}'."
                )));
            }
        }
    }
    let mut statuses: BTreeMap<String, u16> = BTreeMap::new();
    let mut responses = Vec::new();
    // Run in dependency order: repeatedly take requests whose dependencies have run.
    let mut pending: Vec<&Value> = requests.iter().collect();
    while !pending.is_empty() {
        let ready = pending.iter().position(|r| {
            r.get("dependsOn")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .all(|d| statuses.contains_key(d.as_str().unwrap_or("")))
        });
        let Some(index) = ready else {
            return Err(GraphError::bad_request(
                "Invalid batch payload: dependsOn forms a cycle.",
            ));
        };
        let request = pending.remove(index);
        let started = Instant::now();
        let id = request["id"].as_str().unwrap_or("").to_string();
        let inner = inner_request(outer, request);
        let failed_dependency = request
            .get("dependsOn")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|d| {
                statuses
                    .get(d.as_str().unwrap_or(""))
                    .is_some_and(|s| *s >= 400)
            });
        let request_ids = RequestIds::from_headers(&outer.headers, iso_time(ctx.now()));
        let answer = if let Some(dependency) = failed_dependency {
            InnerAnswer::error(
                GraphError::new(
                    StatusCode::FAILED_DEPENDENCY,
                    "FailedDependency",
                    format!(
                        "The request depends on '{}', which failed.",
                        dependency.as_str().unwrap_or("")
                    ),
                ),
                &request_ids,
                None,
            )
        } else {
            run_inner(ctx, &inner, &request_ids)
        };
        statuses.insert(id.clone(), answer.status);
        log.push(LogEntry {
            seq: 0,
            origin: "graph-batch",
            method: inner.method.to_string(),
            path: format!("/v1.0{}", inner.path),
            query: (!inner.query.is_empty()).then(|| inner.query.clone()),
            headers: visible_headers(&inner.headers),
            body: String::from_utf8_lossy(&inner.body).into_owned(),
            status: answer.status,
            time: request_ids.date.clone(),
            duration_ms: started.elapsed().as_millis() as u64,
            dropped: false,
            fault: answer.fault,
            grant_type: None,
            batch: Some(BatchRef {
                seq: 0,
                request_id: outer_request_id.to_string(),
                id: id.clone(),
            }),
        });
        let mut entry = json!({ "id": id, "status": answer.status, "headers": answer.headers });
        if let Some(body) = answer.body {
            entry["body"] = body;
        }
        responses.push(entry);
    }
    // Graph answers in any order; this dev tenant answers in reverse so clients cannot rely on it.
    responses.reverse();
    Ok(GraphResponse {
        status: StatusCode::OK,
        headers: Vec::new(),
        body: Some(json!({ "responses": responses })),
    })
}

/// One inner answer of a `$batch`.
struct InnerAnswer {
    status: u16,
    headers: Value,
    body: Option<Value>,
    /// The fault that made this answer, for the log.
    fault: Option<&'static str>,
}

impl InnerAnswer {
    /// An error answer: Graph's error body, and `Retry-After` among the inner headers when the
    /// error carries one.
    fn error(error: GraphError, ids: &RequestIds, fault: Option<&'static str>) -> InnerAnswer {
        let mut headers = serde_json::Map::new();
        headers.insert("content-type".into(), json!("application/json"));
        if let Some(seconds) = error.retry_after {
            headers.insert("Retry-After".into(), json!(seconds.to_string()));
        }
        InnerAnswer {
            status: error.status.as_u16(),
            headers: Value::Object(headers),
            body: Some(error.body(&ids.request_id, ids.client_request_id.as_deref(), &ids.date)),
            fault,
        }
    }
}

/// An inner request as a Graph request: its relative URL split into path and query, the outer
/// request's `Authorization`, its own headers, its body (a JSON value sent as JSON text).
fn inner_request(outer: &GraphRequest, request: &Value) -> GraphRequest {
    let url = request["url"].as_str().unwrap_or("");
    let url = if url.starts_with('/') {
        url.to_string()
    } else {
        format!("/{url}")
    };
    let (path, query) = url
        .split_once('?')
        .map(|(p, q)| (p.to_string(), q.to_string()))
        .unwrap_or((url.clone(), String::new()));
    let mut headers = HeaderMap::new();
    if let Some(auth) = outer.headers.get(header::AUTHORIZATION) {
        headers.insert(header::AUTHORIZATION, auth.clone());
    }
    for (name, value) in request
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let (Ok(n), Some(v)) = (
            HeaderName::try_from(name.to_ascii_lowercase()),
            value.as_str().and_then(|v| HeaderValue::from_str(v).ok()),
        ) {
            headers.insert(n, v);
        }
    }
    let body = match request.get("body") {
        Some(Value::Null) | None => Vec::new(),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => other.to_string().into_bytes(),
    };
    let method = Method::from_bytes(request["method"].as_str().unwrap_or("GET").as_bytes())
        .unwrap_or(Method::GET);
    GraphRequest {
        method,
        path,
        query,
        headers,
        body,
    }
}

/// Runs one inner request as Graph runs a request alone: the server-error fault first (500, or
/// 503 with `Retry-After`, nothing run), then the request (throttling answers 429 with its own
/// `Retry-After`), then, for an applied personal-app write, the apply-then-error fault.
fn run_inner(ctx: &Ctx, inner: &GraphRequest, ids: &RequestIds) -> InnerAnswer {
    if let Some(error) = injected_inner_server_error(ctx) {
        return InnerAnswer::error(error, ids, Some("serverError"));
    }
    match dispatch(ctx, inner) {
        Ok(response) => {
            let write = inner.method == Method::POST || inner.method == Method::DELETE;
            let applied = response.status.as_u16() < 400;
            if write && applied && is_personal_app_write(&format!("/v1.0{}", inner.path)) {
                if let Some(error) = apply_then_error(ctx) {
                    return InnerAnswer::error(error, ids, Some("applyThenError"));
                }
            }
            let mut headers = serde_json::Map::new();
            if response.body.is_some() {
                headers.insert("content-type".into(), json!("application/json"));
            }
            for (k, v) in response.headers {
                headers.insert(k, json!(v));
            }
            InnerAnswer {
                status: response.status.as_u16(),
                headers: Value::Object(headers),
                body: response.body,
                fault: None,
            }
        }
        Err(error) => InnerAnswer::error(error, ids, None),
    }
}
