//! The portal origin serves every file with the portal's security headers: a Content Security
//! Policy holding the hash of each inline script of the index.html on disk and the origins of
//! the config.json being served, `X-Content-Type-Options: nosniff`, `Referrer-Policy:
//! no-referrer`.

mod common;

use base64::Engine;
use common::*;
use sha2::{Digest, Sha256};

const BOOTSTRAP: &str = "\nimport init, * as bindings from '/portal-1a2b.js';\nconst wasm = await init({ module_or_path: '/portal-1a2b_bg.wasm' });\nwindow.wasmBindings = bindings;\n";

fn index(bootstrap: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><base href=\"/\"><link rel=\"modulepreload\" href=\"/portal-1a2b.js\">\
<script type=\"module\">{bootstrap}</script></head><body></body></html>"
    )
}

fn hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

fn dist_with(html: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("devtenant-csp-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), html).unwrap();
    std::fs::write(
        dir.join("portal-1a2b.js"),
        "export default function init() {}",
    )
    .unwrap();
    dir
}

fn headers_of(tenant: &DevTenant, path: &str) -> (u16, reqwest::header::HeaderMap) {
    let response = tenant
        .http
        .get(format!("{}{}", tenant.origin(), path))
        .send()
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

fn policy(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get("content-security-policy")
        .expect("a Content-Security-Policy header")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn every_portal_file_carries_the_policy_with_the_bootstrap_hash_and_the_tenant_origins() {
    let dist = dist_with(&index(BOOTSTRAP));
    let tenant = DevTenant::start_in(dist.clone(), &[]);
    let expected = format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' {}; style-src 'self'; \
img-src 'self' data:; connect-src 'self' {} {}; frame-ancestors 'none'; base-uri 'self'; \
form-action {}",
        hash(BOOTSTRAP),
        tenant.identity,
        tenant.graph,
        tenant.identity
    );
    for path in ["/", "/users/someone", "/config.json", "/portal-1a2b.js"] {
        let (status, headers) = headers_of(&tenant, path);
        assert_eq!(status, 200, "{path}");
        assert_eq!(policy(&headers), expected, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
    }
    // A rebuild is picked up: the hash is computed from the file being served.
    let other = BOOTSTRAP.replace("1a2b", "3c4d");
    std::fs::write(dist.join("index.html"), index(&other)).unwrap();
    let (_, headers) = headers_of(&tenant, "/");
    assert!(policy(&headers).contains(&hash(&other)));
    assert!(!policy(&headers).contains(&hash(BOOTSTRAP)));
}

#[test]
fn the_policy_follows_a_config_file_and_falls_back_to_the_tenant_when_it_is_invalid() {
    let dist = dist_with(&index(BOOTSTRAP));
    let config = dist.join("config-under-test.json");
    std::fs::write(
        &config,
        r#"{"clientId":"x","tenant":"t","redirectUri":"http://127.0.0.1/","authority":"http://127.0.0.1:9/id/"}"#,
    )
    .unwrap();
    let tenant = DevTenant::start_in(dist, &["--config", config.to_str().unwrap()]);
    let (_, headers) = headers_of(&tenant, "/");
    let text = policy(&headers);
    assert!(
        text.contains("connect-src 'self' http://127.0.0.1:9 https://graph.microsoft.com;"),
        "{text}"
    );
    assert!(text.ends_with("form-action http://127.0.0.1:9"), "{text}");
    // Re-read at each request, like config.json itself.
    std::fs::write(&config, "{ not json").unwrap();
    let (_, headers) = headers_of(&tenant, "/");
    let text = policy(&headers);
    assert!(
        text.contains(&format!(
            "connect-src 'self' {} {};",
            tenant.identity, tenant.graph
        )),
        "{text}"
    );
}
