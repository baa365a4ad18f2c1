//! The portal origin: the built SPA with client-side routes falling back to index.html (status
//! 200), and config.json, generated to point at this dev tenant unless a file is given.

use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

/// The dev tenant's tenant id (also in the seed, from issue #3).
pub const TENANT_ID: &str = "8f0c1d2e-3b4a-4c5d-8e9f-0a1b2c3d4e5f";
/// The portal's app registration in the dev tenant.
pub const PORTAL_CLIENT_ID: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";

/// Where config.json comes from.
#[derive(Clone)]
pub enum ConfigSource {
    /// Generated at start for this dev tenant.
    Generated(String),
    /// Read from a file at each request, so tests can rewrite it.
    File(PathBuf),
}

/// The config.json the portal gets by default from the dev tenant.
pub fn generated_config(portal_url: &str) -> String {
    let config = serde_json::json!({
        "clientId": PORTAL_CLIENT_ID,
        "tenant": TENANT_ID,
        "cloud": "global",
        "redirectUri": portal_url,
        "tokenCache": "session"
    });
    serde_json::to_string_pretty(&config).unwrap_or_default()
}

/// Routes of the portal origin.
pub fn router(dist: PathBuf, config: ConfigSource) -> Router {
    let index = dist.join("index.html");
    let files = ServeDir::new(&dist).fallback(ServeFile::new(index));
    Router::new()
        .route("/config.json", get(move || serve_config(config.clone())))
        .fallback_service(files)
}

async fn serve_config(source: ConfigSource) -> Response {
    let body = match source {
        ConfigSource::Generated(text) => text,
        ConfigSource::File(path) => match tokio::fs::read_to_string(&path).await {
            Ok(text) => text,
            Err(_) => return (StatusCode::NOT_FOUND, "config.json not found").into_response(),
        },
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
