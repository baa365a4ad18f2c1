//! Sends Graph requests built by `portal_core::graph::request`: the token for the operation's
//! least-privileged scope, a fresh `client-request-id`, the retry policy's decisions (waits,
//! one token renewal, one replay after a claims challenge), and errors parsed into `GraphError`.
//! Reads go through [`call_with`] (the reads' retry policy); a write is sent once at a time by
//! [`attempt`], for the write service to drive with the write model (`graph::write`).
//! [`use_graph`] gives a page a client whose reads are aborted when the page goes away.

use gloo_net::http::{Method as HttpMethod, RequestBuilder};
use leptos::prelude::*;
use portal_core::auth::challenge::ClaimsChallenge;
use portal_core::auth::scopes::Operation;
use portal_core::graph::error::{parse_error, ErrorKind, GraphError};
use portal_core::graph::models::Collection;
use portal_core::graph::paging::Paging;
use portal_core::graph::request::{next_page, GraphRequest, Method};
use portal_core::graph::retry::{Decision, GiveUp, Outcome, Progress, RetryPolicy};
use portal_core::jobs::batch::{batch_body, outcome_of};
use portal_core::jobs::engine::BatchOutcome;
use send_wrapper::SendWrapper;
use serde::de::DeserializeOwned;
use serde_json::Value;
use web_sys::{AbortController, AbortSignal};

use crate::auth::{use_session, AuthError, Session};
use crate::context::use_config;

/// A successful answer.
#[derive(Clone, Debug)]
pub struct GraphAnswer {
    pub status: u16,
    pub request_id: Option<String>,
    pub body: Option<Value>,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// Statuses of the failed attempts before it (429, 500…), in order.
    pub retried: Vec<u16>,
}

/// Why a call failed. Its `Display` is what a user may read (no Rust `Debug` text).
#[derive(Clone, Debug, thiserror::Error)]
pub enum CallError {
    /// Graph answered with an error (after any retries), with what was tried.
    #[error("{} {}: {} (request id {})", error.status, error.code, error.message, error.request_id.as_deref().unwrap_or("none"))]
    Graph {
        /// Boxed: it is large, and every `Result` carrying a `CallError` would be too.
        error: Box<GraphError>,
        attempts: u32,
        gave_up: Option<GiveUp>,
    },
    /// No token: sign-in is needed or failed.
    #[error("sign-in: {0}")]
    Auth(AuthError),
    /// No answer; `maybe_applied` when a write may have reached Graph (reconcile before retrying).
    #[error("no answer from Graph: {detail}")]
    AnswerLost { maybe_applied: bool, detail: String },
    /// The answer did not have the expected shape.
    #[error("unexpected answer from Graph: {0}")]
    Decode(String),
    /// The page went away and the request was aborted (not shown to anyone).
    #[error("aborted")]
    Aborted,
}

impl CallError {
    /// The Graph error, if Graph answered.
    pub fn graph_error(&self) -> Option<&GraphError> {
        match self {
            CallError::Graph { error, .. } => Some(error.as_ref()),
            _ => None,
        }
    }

    /// What the failure means, if Graph answered.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.graph_error().map(GraphError::kind)
    }
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

type RawAnswer = (u16, Vec<(String, String)>, Vec<u8>);

/// A Graph body as JSON (`None` when it is not UTF-8 JSON). Parsed from text, as every other
/// JSON of the page is (config.json, storage, the sign-in worker), so the wasm carries one
/// instantiation of serde_json's parser, not a second one over bytes (issue #10).
fn json_body(body: &[u8]) -> Option<Value> {
    serde_json::from_str(std::str::from_utf8(body).ok()?).ok()
}

pub(crate) async fn send_once(
    graph_base: &str,
    request: &GraphRequest,
    token: &str,
    signal: Option<&AbortSignal>,
) -> Result<RawAnswer, String> {
    let method = match request.method {
        Method::Get => HttpMethod::GET,
        Method::Post => HttpMethod::POST,
        Method::Delete => HttpMethod::DELETE,
    };
    let mut builder = RequestBuilder::new(&request.url(graph_base))
        .method(method)
        // The default cache mode: Chromium caches CORS preflights only in it (no-store, no-cache
        // and reload each cost an OPTIONS per call). Graph's answers carry no freshness (no
        // max-age, Expires or Last-Modified), so the HTTP cache never serves one without asking
        // Graph: every call still reaches Graph (checked end to end).
        .abort_signal(signal)
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
    let body = response.binary().await.map_err(|e| e.to_string())?;
    Ok((status, headers, body))
}

async fn sleep(ms: u64) {
    gloo_timers::future::TimeoutFuture::new(ms.min(u32::MAX as u64) as u32).await;
}

/// Sends `request` with a token of `session` for `operation`, following the retry policy.
pub async fn call(
    session: Session,
    graph_base: &str,
    request: &GraphRequest,
    operation: Operation,
) -> Result<GraphAnswer, CallError> {
    call_with(session, graph_base, request, operation, None).await
}

/// [`call`], abortable through `signal`.
pub async fn call_with(
    session: Session,
    graph_base: &str,
    request: &GraphRequest,
    operation: Operation,
    signal: Option<&AbortSignal>,
) -> Result<GraphAnswer, CallError> {
    let policy = RetryPolicy::default();
    let started = now_ms();
    let mut progress = Progress::default();
    let mut challenge = None;
    let mut force_renewal = false;
    let mut retried = Vec::new();
    let aborted = || signal.is_some_and(AbortSignal::aborted);
    loop {
        let token = if force_renewal || challenge.is_some() {
            session
                .renewed_access_token(&[operation], challenge.as_ref())
                .await
        } else {
            session.access_token(&[operation], None).await
        }
        .map_err(CallError::Auth)?;
        if aborted() {
            return Err(CallError::Aborted);
        }
        progress.attempts += 1;
        let result = send_once(graph_base, request, &token, signal).await;
        progress.elapsed_ms = (now_ms() - started).max(0.0) as u64;
        let (outcome, error) = match result {
            Ok((status, headers, body)) if status < 400 => {
                let request_id = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("request-id"))
                    .map(|(_, v)| v.clone());
                let body = json_body(&body);
                return Ok(GraphAnswer {
                    status,
                    request_id,
                    body,
                    attempts: progress.attempts,
                    retried,
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
                };
                (outcome, error)
            }
            Err(_) if aborted() => return Err(CallError::Aborted),
            Err(detail) => {
                let sent = request.method != Method::Get;
                match policy.decide(
                    request.method,
                    &progress,
                    Outcome::Network { sent },
                    js_sys::Math::random(),
                ) {
                    Decision::Retry { after_ms } => {
                        retried.push(0);
                        sleep(after_ms).await;
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
        match policy.decide(request.method, &progress, outcome, js_sys::Math::random()) {
            Decision::Retry { after_ms } => {
                retried.push(error.status);
                sleep(after_ms).await;
                if aborted() {
                    return Err(CallError::Aborted);
                }
            }
            Decision::RenewTokenAndRetry => {
                retried.push(error.status);
                progress.token_renewed = true;
                force_renewal = true;
            }
            Decision::GiveUp(reason) => {
                let gave_up = (!matches!(reason, GiveUp::NotRetryable)).then_some(reason);
                return Err(CallError::Graph {
                    error: Box::new(error),
                    attempts: progress.attempts,
                    gave_up,
                });
            }
        }
    }
}

/// One send of a write, as it went.
#[derive(Debug)]
pub enum Attempt {
    /// Graph answered (any status).
    Answered {
        status: u16,
        request_id: Option<String>,
        /// The parsed error when the status is 400 or more.
        error: Option<Box<GraphError>>,
    },
    /// No answer: the request may have reached Graph.
    Lost(String),
    /// No token could be had: nothing was sent.
    Auth(AuthError),
}

/// Sends `request` exactly once, with a token for `operation` (renewed first when `renew`, with
/// the claims of a challenge when there is one). No retry here: the write model decides.
pub async fn attempt(
    session: Session,
    graph_base: &str,
    request: &GraphRequest,
    operation: Operation,
    renew: bool,
    challenge: Option<&ClaimsChallenge>,
) -> Attempt {
    let token = if renew || challenge.is_some() {
        session.renewed_access_token(&[operation], challenge).await
    } else {
        session.access_token(&[operation], None).await
    };
    let token = match token {
        Ok(token) => token,
        Err(error) => return Attempt::Auth(error),
    };
    match send_once(graph_base, request, &token, None).await {
        Ok((status, headers, body)) => {
            let request_id = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("request-id"))
                .map(|(_, v)| v.clone());
            let error = (status >= 400).then(|| Box::new(parse_error(status, &headers, &body)));
            Attempt::Answered {
                status,
                request_id: error
                    .as_ref()
                    .and_then(|e| e.request_id.clone())
                    .or(request_id),
                error,
            }
        }
        Err(detail) => Attempt::Lost(detail),
    }
}

/// Sends one `$batch` of `requests` with a token for `operations` (renewed first when
/// `renew`, with the claims of `challenge` when there is one): its outcome for the job engine
/// (`portal_core::jobs::batch::outcome_of`: only a 200 is a batch answer), or the sign-in
/// error (nothing was sent).
pub async fn send_batch(
    session: Session,
    graph_base: &str,
    requests: &[(String, GraphRequest)],
    operations: &[Operation],
    renew: bool,
    challenge: Option<&ClaimsChallenge>,
) -> Result<BatchOutcome, AuthError> {
    let token = if renew || challenge.is_some() {
        session.renewed_access_token(operations, challenge).await
    } else {
        session.access_token(operations, None).await
    }?;
    let body = match batch_body(requests) {
        Ok(body) => body,
        // The engine never builds such a batch; if it did, nothing is sent.
        Err(message) => {
            return Ok(BatchOutcome::Refused {
                status: 400,
                retry_after_s: None,
                body: Some(
                    serde_json::json!({"error": {"code": "invalidBatch", "message": message}}),
                ),
                challenge: None,
            })
        }
    };
    let request = portal_core::graph::request::batch(body);
    Ok(match send_once(graph_base, &request, &token, None).await {
        Ok((status, headers, body)) => outcome_of(status, &headers, &body),
        Err(_) => BatchOutcome::Lost,
    })
}

/// A page's Graph client: the configured Graph base and cloud host, and an abort signal that
/// fires when the component that asked for it is cleaned up (its page goes away).
#[derive(Clone)]
pub struct Graph {
    /// `https://graph.microsoft.com/v1.0` or the configured override.
    pub base: String,
    /// The cloud's Graph host, for `teamsApp@odata.bind`.
    pub host: &'static str,
    /// Whose tokens its requests carry.
    pub session: Session,
    controller: SendWrapper<Option<AbortController>>,
}

/// The Graph client for the current component (see [`Graph`]).
pub fn use_graph() -> Graph {
    let config = use_config();
    let controller = AbortController::new().ok();
    let on_leave = SendWrapper::new(controller.clone());
    on_cleanup(move || {
        if let Some(controller) = on_leave.take() {
            controller.abort();
        }
    });
    Graph {
        base: config.graph_base_url(),
        host: config.cloud.graph_host(),
        session: use_session(),
        controller: SendWrapper::new(controller),
    }
}

/// A Graph client whose requests are never aborted by a page going away: the write service's,
/// so a write outlives the view that started it.
pub fn unabortable_graph(config: &portal_core::RuntimeConfig, session: Session) -> Graph {
    Graph {
        base: config.graph_base_url(),
        host: config.cloud.graph_host(),
        session,
        controller: SendWrapper::new(None),
    }
}

impl Graph {
    fn signal(&self) -> Option<AbortSignal> {
        self.controller.as_ref().map(AbortController::signal)
    }

    /// Sends a request (see [`call`]).
    pub async fn send(
        &self,
        request: &GraphRequest,
        operation: Operation,
    ) -> Result<GraphAnswer, CallError> {
        call_with(
            self.session,
            &self.base,
            request,
            operation,
            self.signal().as_ref(),
        )
        .await
    }

    /// Sends a request and decodes its body.
    pub async fn get<T: DeserializeOwned>(
        &self,
        request: &GraphRequest,
        operation: Operation,
    ) -> Result<T, CallError> {
        let answer = self.send(request, operation).await?;
        serde_json::from_value(answer.body.unwrap_or(Value::Null))
            .map_err(|e| CallError::Decode(e.to_string()))
    }

    /// One page of a collection.
    pub async fn page<T: DeserializeOwned>(
        &self,
        request: &GraphRequest,
        operation: Operation,
    ) -> Result<Collection<T>, CallError> {
        self.get(request, operation).await
    }

    /// The next page after `page`, if there is one (and it points into Graph).
    pub fn next_request(&self, first: &GraphRequest, next_link: &str) -> Option<GraphRequest> {
        next_page(first, &self.base, next_link)
    }

    /// Every item of a collection, following `@odata.nextLink`.
    pub async fn get_all<T: DeserializeOwned>(
        &self,
        request: &GraphRequest,
        operation: Operation,
    ) -> Result<Vec<T>, CallError> {
        // The paging is not generic (one copy in the binary for every item type); only the
        // items' decoding is.
        self.get_all_values(request, operation)
            .await?
            .into_iter()
            .map(|v| serde_json::from_value(v).map_err(|e| CallError::Decode(e.to_string())))
            .collect()
    }

    /// Every page, however many (`portal_core::graph::paging`): a list that must stop short
    /// (a looping next link) is an error the page shows, never a list silently cut.
    async fn get_all_values(
        &self,
        request: &GraphRequest,
        operation: Operation,
    ) -> Result<Vec<Value>, CallError> {
        let mut items = Vec::new();
        let mut current = request.clone();
        let mut paging = Paging::new();
        loop {
            let page: Collection<Value> = self.page(&current, operation).await?;
            items.extend(page.value);
            let next_link = paging
                .after_page(page.next_link.as_deref())
                .map_err(|stopped| CallError::Decode(stopped.to_string()))?;
            let Some(link) = next_link else {
                return Ok(items);
            };
            // A next page outside Graph is not followed, and not silently either.
            current = self.next_request(request, &link).ok_or_else(|| {
                CallError::Decode(format!(
                    "the list stopped after {} pages: its next page is outside Graph ({link})",
                    paging.pages()
                ))
            })?;
        }
    }
}
