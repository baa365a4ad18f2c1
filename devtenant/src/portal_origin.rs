//! The portal origin: the built SPA with client-side routes falling back to index.html (status
//! 200), and config.json, generated to point at this dev tenant unless a file is given. Every
//! answer carries the portal's security headers (`crate::csp`): a Content Security Policy with
//! the hashes of the inline scripts of the `index.html` being served and the origins of the
//! `config.json` being served, `X-Content-Type-Options` and `Referrer-Policy`.

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

use crate::csp::{security_headers, Origins};

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

/// Routes of the portal origin. `fallback` are the origins the policy names when the served
/// config.json does not resolve to any (unreadable or invalid: the portal then shows its setup
/// page).
pub fn router(dist: PathBuf, config: ConfigSource, fallback: Origins) -> Router {
    let index = dist.join("index.html");
    let files = ServeDir::new(&dist).fallback(ServeFile::new(index.clone()));
    let headers_config = config.clone();
    Router::new()
        .route("/config.json", get(move || serve_config(config.clone())))
        .fallback_service(files)
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let index = index.clone();
                let config = headers_config.clone();
                let fallback = fallback.clone();
                async move {
                    let mut response = next.run(request).await;
                    let headers = current_headers(&index, &config, fallback).await;
                    for (name, value) in headers {
                        if let (Ok(name), Ok(value)) = (
                            HeaderName::from_bytes(name.as_bytes()),
                            HeaderValue::from_str(&value),
                        ) {
                            response.headers_mut().insert(name, value);
                        }
                    }
                    response
                }
            },
        ))
}

/// The security headers for the files as they are now: the index.html on disk (a rebuild is
/// picked up) and the config.json being served.
async fn current_headers(
    index: &Path,
    config: &ConfigSource,
    fallback: Origins,
) -> Vec<(&'static str, String)> {
    let mut html = tokio::fs::read_to_string(index).await.unwrap_or_default();
    // The full bundle's page, loaded on demand, has inline scripts of its own.
    if let Some(full) = index.parent().map(|d| d.join("full.html")) {
        html.push_str(&tokio::fs::read_to_string(full).await.unwrap_or_default());
    }
    let origins = config_text(config)
        .await
        .and_then(|text| Origins::from_config(&text))
        .unwrap_or(fallback);
    security_headers(&html, &origins)
}

async fn config_text(source: &ConfigSource) -> Option<String> {
    match source {
        ConfigSource::Generated(text) => Some(text.clone()),
        ConfigSource::File(path) => tokio::fs::read_to_string(path).await.ok(),
    }
}

async fn serve_config(source: ConfigSource) -> Response {
    let Some(body) = config_text(&source).await else {
        return (StatusCode::NOT_FOUND, "config.json not found").into_response();
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
