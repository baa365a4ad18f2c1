//! The HTTP client openidconnect runs over in the browser: `fetch` through gloo-net, no cookies,
//! the HTTP cache as `cache.rs` decides for each kind of request (the provider's public
//! documents through it, tokens never), aborted after a time limit. Requests and answers are
//! `http` types, as openidconnect expects. For the token endpoint, an answer that means "later"
//! (5xx, 429, 408) becomes an error carrying its status, so a renewal can tell a bad minute
//! from a refusal.

use futures::future::{select, Either};
use gloo_net::http::{Method, RequestBuilder};
use openidconnect::{HttpRequest, HttpResponse};
use portal_core::auth::oauth_error::OAuthErrorKind;
use thiserror::Error;

use crate::cache::Read;

/// How long a request to the identity provider may take.
pub const TIMEOUT_SECONDS: u32 = 30;

/// A request that got no usable answer, as openidconnect's client error.
#[derive(Debug, Error)]
pub enum FetchError {
    /// No answer at all (offline, DNS, connection refused or reset, CORS refusal).
    #[error("{0}")]
    Network(String),
    /// No answer within [`TIMEOUT_SECONDS`] (the request was aborted).
    #[error("no answer within {0} seconds")]
    Timeout(u32),
    /// The token endpoint answered a status that means "try again later".
    #[error("HTTP {0}")]
    Unavailable(u16),
}

async fn send(
    request: HttpRequest,
    read: Read,
    signal: Option<web_sys::AbortSignal>,
) -> Result<HttpResponse, FetchError> {
    let network = |e: gloo_net::Error| FetchError::Network(e.to_string());
    let method = Method::from_bytes(request.method().as_str().as_bytes())
        .map_err(|e| FetchError::Network(e.to_string()))?;
    let mut builder = RequestBuilder::new(&request.uri().to_string())
        .method(method)
        .cache(read.cache_mode())
        .abort_signal(signal.as_ref());
    for (name, value) in request.headers() {
        if let Ok(value) = value.to_str() {
            builder = builder.header(name.as_str(), value);
        }
    }
    let body = request.body().clone();
    let prepared = if body.is_empty() {
        builder.build()
    } else {
        builder.body(js_sys::Uint8Array::from(body.as_slice()))
    }
    .map_err(network)?;
    let response = prepared.send().await.map_err(network)?;
    let bytes = response.binary().await.map_err(network)?;
    let mut answer = HttpResponse::new(bytes);
    *answer.status_mut() = openidconnect::http::StatusCode::from_u16(response.status())
        .map_err(|e| FetchError::Network(e.to_string()))?;
    for (name, value) in response.headers().entries() {
        if let (Ok(name), Ok(value)) = (
            openidconnect::http::HeaderName::from_bytes(name.as_bytes()),
            openidconnect::http::HeaderValue::from_str(&value),
        ) {
            answer.headers_mut().append(name, value);
        }
    }
    Ok(answer)
}

/// Sends one request of kind `read` with `fetch`, aborted after [`TIMEOUT_SECONDS`].
pub async fn fetch(request: HttpRequest, read: Read) -> Result<HttpResponse, FetchError> {
    let controller = web_sys::AbortController::new().ok();
    let signal = controller.as_ref().map(|c| c.signal());
    let request = Box::pin(send(request, read, signal));
    let timeout = Box::pin(gloo_timers::future::TimeoutFuture::new(
        TIMEOUT_SECONDS * 1000,
    ));
    match select(request, timeout).await {
        Either::Left((answer, _)) => answer,
        Either::Right(((), _)) => {
            if let Some(controller) = controller {
                controller.abort();
            }
            Err(FetchError::Timeout(TIMEOUT_SECONDS))
        }
    }
}

/// [`fetch`] for the token endpoint (never cached): a 5xx, 429 or 408 answer is an
/// [`FetchError::Unavailable`] (whatever its body), never a refusal.
pub async fn fetch_token(request: HttpRequest) -> Result<HttpResponse, FetchError> {
    let answer = fetch(request, Read::Token).await?;
    let status = answer.status().as_u16();
    match OAuthErrorKind::from_status(status) {
        Some(_) => Err(FetchError::Unavailable(status)),
        None => Ok(answer),
    }
}
