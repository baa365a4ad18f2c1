//! Sends Graph requests built by `portal_core::graph::request`: the token for the operation's
//! least-privileged scope, a fresh `client-request-id`, the retry policy's decisions (waits,
//! one token renewal, one replay after a claims challenge), and errors parsed into `GraphError`.
//! A POST whose answer was lost is reported as such: the caller reconciles before any retry.

use gloo_net::http::{Method as HttpMethod, RequestBuilder};
use portal_core::auth::scopes::Operation;
use portal_core::graph::error::{parse_error, GraphError};
use portal_core::graph::request::{GraphRequest, Method};
use portal_core::graph::retry::{Decision, GiveUp, Outcome, Progress, RetryPolicy};
use serde_json::Value;
use web_sys::RequestCache;

use crate::auth::{self, AuthError};

/// A successful answer.
#[derive(Clone, Debug)]
pub struct GraphAnswer {
    pub status: u16,
    pub request_id: Option<String>,
    pub body: Option<Value>,
}

/// Why a call failed.
#[derive(Clone, Debug)]
pub enum CallError {
    /// Graph answered with an error (after any retries), with what was tried.
    Graph {
        error: GraphError,
        attempts: u32,
        gave_up: Option<GiveUp>,
    },
    /// No token: sign-in is needed or failed.
    Auth(AuthError),
    /// No answer; `maybe_applied` when a write may have reached Graph (reconcile before retrying).
    AnswerLost { maybe_applied: bool, detail: String },
}

fn client_request_id() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("{:x}", (js_sys::Math::random() * 1e16) as u64))
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

async fn send_once(
    graph_base: &str,
    request: &GraphRequest,
    token: &str,
) -> Result<(u16, Vec<(String, String)>, Vec<u8>), String> {
    let method = match request.method {
        Method::Get => HttpMethod::GET,
        Method::Post => HttpMethod::POST,
        Method::Delete => HttpMethod::DELETE,
    };
    let mut builder = RequestBuilder::new(&request.url(graph_base))
        .method(method)
        .cache(RequestCache::NoStore)
        .header("Authorization", &format!("Bearer {token}"))
        .header("client-request-id", &client_request_id());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let prepared = match &request.body {
        Some(body) => builder.body(body.to_string()),
        None => builder.build(),
    }
    .map_err(|e| e.to_string())?;
    let response = prepared.send().await.map_err(|e| e.to_string())?;
    let headers = response.headers().entries().collect();
    let status = response.status();
    let body = response.binary().await.unwrap_or_default();
    Ok((status, headers, body))
}

/// Sends `request` with a token for `operation`, following the retry policy.
pub async fn call(
    graph_base: &str,
    request: &GraphRequest,
    operation: Operation,
) -> Result<GraphAnswer, CallError> {
    let policy = RetryPolicy::default();
    let started = now_ms();
    let mut progress = Progress::default();
    let mut challenge = None;
    let mut force_renewal = false;
    loop {
        let token = if force_renewal || challenge.is_some() {
            auth::renewed_access_token(&[operation], challenge.as_ref()).await
        } else {
            auth::access_token(&[operation], None).await
        }
        .map_err(CallError::Auth)?;
        progress.attempts += 1;
        let result = send_once(graph_base, request, &token).await;
        progress.elapsed_ms = (now_ms() - started).max(0.0) as u64;
        let (outcome, error) = match result {
            Ok((status, headers, body)) if status < 400 => {
                let request_id = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("request-id"))
                    .map(|(_, v)| v.clone());
                let body = serde_json::from_slice(&body).ok();
                return Ok(GraphAnswer {
                    status,
                    request_id,
                    body,
                });
            }
            Ok((status, headers, body)) => {
                let error = parse_error(status, &headers, &body);
                // A claims challenge (continuous access evaluation): re-authorize with the
                // decoded claims and replay the request once.
                if status == 401 && error.claims_challenge.is_some() && challenge.is_none() {
                    challenge = error.claims_challenge.clone();
                    continue;
                }
                let outcome = Outcome::Status {
                    status,
                    retry_after_s: error.retry_after,
                    transient_install: error.is_transient_install_failure(),
                };
                (outcome, Some(error))
            }
            Err(detail) => {
                let sent = request.method != Method::Get;
                match policy.decide(
                    request.method,
                    &progress,
                    Outcome::Network { sent },
                    js_sys::Math::random(),
                ) {
                    Decision::ReconcileFirst => {
                        return Err(CallError::AnswerLost {
                            maybe_applied: true,
                            detail,
                        })
                    }
                    Decision::Retry { after_ms } => {
                        gloo_timers::future::TimeoutFuture::new(after_ms as u32).await;
                        continue;
                    }
                    _ => {
                        return Err(CallError::AnswerLost {
                            maybe_applied: sent,
                            detail,
                        })
                    }
                }
            }
        };
        let error = error.unwrap_or_else(|| parse_error(0, &[], b""));
        match policy.decide(request.method, &progress, outcome, js_sys::Math::random()) {
            Decision::Retry { after_ms } => {
                if error.is_transient_install_failure() {
                    progress.transient_retried = true;
                }
                gloo_timers::future::TimeoutFuture::new(after_ms as u32).await;
            }
            Decision::RenewTokenAndRetry => {
                progress.token_renewed = true;
                force_renewal = true;
            }
            Decision::ReconcileFirst => {
                return Err(CallError::AnswerLost {
                    maybe_applied: true,
                    detail: error.message,
                })
            }
            Decision::GiveUp(reason) => {
                let gave_up = (!matches!(reason, GiveUp::NotRetryable)).then_some(reason);
                return Err(CallError::Graph {
                    error,
                    attempts: progress.attempts,
                    gave_up,
                });
            }
        }
    }
}
