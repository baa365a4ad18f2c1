//! The portal origin: the built SPA with client-side routes falling back to index.html (status
//! 200), and config.json, generated to point at this dev tenant unless a file is given.

use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

/// Where config.json comes from.
#[derive(Clone)]
pub enum ConfigSource {
    /// Generated at start for this dev tenant.
    Generated(String),
    /// Read from a file at each request, so tests can rewrite it.
    File(PathBuf),
}

/// The config.json the portal gets by default: this dev tenant's ids and origins.
pub fn generated_config(
    urls: &crate::ctx::Urls,
    client_id: &str,
    tenant_id: &str,
    cae: bool,
) -> String {
    let mut config = serde_json::json!({
        "clientId": client_id,
        "tenant": tenant_id,
        "cloud": "global",
        "redirectUri": urls.portal,
        "authority": urls.identity,
        "graphBase": urls.graph,
        "tokenCache": "session"
    });
    // With continuous access evaluation on, the portal declares the cp1 capability.
    if cae {
        config["clientCapabilities"] = serde_json::json!(["cp1"]);
    }
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
