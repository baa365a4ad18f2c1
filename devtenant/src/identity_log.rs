//! Logs every request of the identity origin (token form bodies with secrets masked).

use std::sync::Arc;
use std::time::Instant;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::ctx::{iso_time, Ctx};
use crate::graph_http::visible_headers;
use crate::log::{mask_form, LogEntry};

pub async fn log_identity(State(ctx): State<Arc<Ctx>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, 1024 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let is_form = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let grant_type = is_form
        .then(|| {
            form_urlencoded::parse(text.as_bytes())
                .find(|(k, _)| k == "grant_type")
                .map(|(_, v)| v.into_owned())
        })
        .flatten();
    let logged_body = if is_form { mask_form(&text) } else { text };
    let method = parts.method.to_string();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().map(str::to_string);
    let headers = visible_headers(&parts.headers);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let fault = response
        .extensions()
        .get::<crate::identity::FaultMark>()
        .map(|mark| mark.0);
    ctx.log.push(LogEntry {
        seq: 0,
        origin: "identity",
        method,
        path,
        query,
        headers,
        body: logged_body,
        status: response.status().as_u16(),
        time: iso_time(ctx.now()),
        duration_ms: started.elapsed().as_millis() as u64,
        dropped: false,
        fault,
        grant_type,
        batch: None,
    });
    response
}
