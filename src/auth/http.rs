//! The HTTP client openidconnect runs over in the browser: `fetch` through gloo-net, no cookies,
//! no cache. Requests and answers are `http` types, as openidconnect expects.

use gloo_net::http::{Method, RequestBuilder};
use openidconnect::{HttpRequest, HttpResponse};
use web_sys::RequestCache;

/// A network failure (no answer at all), as openidconnect's client error.
#[derive(Debug)]
pub struct FetchError(pub String);

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FetchError {}

/// Sends one request with `fetch`.
pub async fn fetch(request: HttpRequest) -> Result<HttpResponse, FetchError> {
    let method = Method::from_bytes(request.method().as_str().as_bytes())
        .map_err(|e| FetchError(e.to_string()))?;
    let mut builder = RequestBuilder::new(&request.uri().to_string())
        .method(method)
        .cache(RequestCache::NoStore);
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
    .map_err(|e| FetchError(e.to_string()))?;
    let response = prepared
        .send()
        .await
        .map_err(|e| FetchError(e.to_string()))?;
    let bytes = response
        .binary()
        .await
        .map_err(|e| FetchError(e.to_string()))?;
    let mut answer = HttpResponse::new(bytes);
    *answer.status_mut() = openidconnect::http::StatusCode::from_u16(response.status())
        .map_err(|e| FetchError(e.to_string()))?;
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
