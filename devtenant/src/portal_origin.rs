//! The portal origin: the built SPA with client-side routes falling back to index.html (status
//! 200), and config.json, generated to point at this dev tenant unless a file is given. Every
//! answer carries the portal's security headers (`crate::csp`): a Content Security Policy with
//! the hashes of the inline scripts of the `index.html` being served and the origins of the
//! `config.json` being served, `X-Content-Type-Options` and `Referrer-Policy`.
//!
//! With a base path other than `/` (`--base-path /portal/`), the same build is served under it
//! as deployed there: `index.html` rewritten for that public URL (`crate::public_url`), every
//! file and `config.json` below it, and nothing outside it (404).

use std::path::{Path, PathBuf};

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;

use crate::csp::{security_headers, Origins};
use crate::public_url::rebase_index;

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

/// Routes of the portal origin, under `base` (`/`, or a normalized sub-path such as `/portal/`:
/// see `crate::public_url::normalize`). `fallback` are the origins the policy names when the
/// served config.json does not resolve to any (unreadable or invalid: the portal then shows its
/// setup page).
pub fn router(dist: PathBuf, config: ConfigSource, fallback: Origins, base: &str) -> Router {
    let base = base.to_string();
    let prefix = base.trim_end_matches('/').to_string();
    let headers_config = config.clone();
    let files = {
        let (dist, base) = (dist.clone(), base.clone());
        move |request: Request| serve_files(dist.clone(), base.clone(), request)
    };
    Router::new()
        .route(
            &format!("{prefix}/config.json"),
            get(move || serve_config(config.clone())),
        )
        .fallback(files)
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let dist = dist.clone();
                let base = base.clone();
                let config = headers_config.clone();
                let fallback = fallback.clone();
                async move {
                    let mut response = next.run(request).await;
                    let headers = current_headers(&dist, &base, &config, fallback).await;
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

/// A file of `dist` below `base`, else (a client-side route) index.html; 404 outside `base`.
async fn serve_files(dist: PathBuf, base: String, request: Request) -> Response {
    let prefix = base.trim_end_matches('/');
    let path = request.uri().path().to_string();
    let rest = match path.strip_prefix(prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest.to_string(),
        _ => return (StatusCode::NOT_FOUND, "outside the portal's base path").into_response(),
    };
    if rest.is_empty() || rest == "/" || rest == "/index.html" {
        return serve_index(dist, base).await;
    }
    let (mut parts, body) = request.into_parts();
    let query = parts
        .uri
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    match format!("{rest}{query}").parse() {
        Ok(uri) => parts.uri = uri,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    }
    let request = Request::from_parts(parts, body);
    match ServeDir::new(&dist)
        .append_index_html_on_directories(false)
        .try_call(request)
        .await
    {
        Ok(response) if response.status() != StatusCode::NOT_FOUND => {
            response.map(axum::body::Body::new).into_response()
        }
        _ => serve_index(dist, base).await,
    }
}

/// The names of the files of `dist` (what `index.html` may load).
async fn file_names(dist: &Path) -> Vec<String> {
    let mut names = Vec::new();
    if let Ok(mut entries) = tokio::fs::read_dir(dist).await {
        while let Ok(Some(entry)) = entries.next_entry().await {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names
}

/// `index.html` as served under `base`, read now (a rebuild is picked up): the file itself at
/// `/`, rewritten for a sub-path; `None` when it cannot be read or rewritten.
async fn index_html(dist: &Path, base: &str) -> Option<String> {
    let html = tokio::fs::read_to_string(dist.join("index.html"))
        .await
        .ok()?;
    if base == "/" {
        return Some(html);
    }
    rebase_index(&html, base, &file_names(dist).await).ok()
}

async fn serve_index(dist: PathBuf, base: String) -> Response {
    match index_html(&dist, &base).await {
        Some(html) => {
            let mut response = html.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        None => (
            StatusCode::NOT_FOUND,
            format!("no index.html built for `/` in {}", dist.display()),
        )
            .into_response(),
    }
}

/// The security headers for the files as they are now: the index.html served (a rebuild is
/// picked up) and the config.json being served.
async fn current_headers(
    dist: &Path,
    base: &str,
    config: &ConfigSource,
    fallback: Origins,
) -> Vec<(&'static str, String)> {
    let html = index_html(dist, base).await.unwrap_or_default();
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
