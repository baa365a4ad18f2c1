//! `--base-path /portal/`: the portal origin serves the build made for `/` as deployed under
//! `/portal/`: index.html rewritten for it (base, file addresses, the policy's script hash),
//! the SPA fallback, config.json and the files below it, and nothing outside it.

mod common;

use base64::Engine;
use common::*;
use sha2::{Digest, Sha256};

const BOOTSTRAP: &str = "import init, * as bindings from '/portal-1a2b.js';\nconst wasm = await init({ module_or_path: '/portal-1a2b_bg.wasm' });\n";

fn dist() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("devtenant-base-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let index = format!(
        "<!DOCTYPE html><html><head><base href=\"/\"><link rel=\"modulepreload\" href=\"/portal-1a2b.js\">\
<script type=\"module\">{BOOTSTRAP}</script></head><body></body></html>"
    );
    std::fs::write(dir.join("index.html"), index).unwrap();
    std::fs::write(
        dir.join("portal-1a2b.js"),
        "export default function init() {}",
    )
    .unwrap();
    std::fs::write(dir.join("portal-1a2b_bg.wasm"), "\0asm").unwrap();
    dir
}

fn hash(text: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    )
}

#[test]
fn the_build_is_served_under_the_base_path_and_nothing_outside_it() {
    let tenant = DevTenant::start_in(dist(), &["--base-path", "portal"]);
    assert!(tenant.portal.ends_with("/portal/"), "{}", tenant.portal);
    let origin = tenant.portal.trim_end_matches("/portal/").to_string();
    let get = |path: &str| {
        let response = tenant.http.get(format!("{origin}{path}")).send().unwrap();
        let status = response.status().as_u16();
        let csp = response
            .headers()
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, csp, response.text().unwrap())
    };
    let rebased = BOOTSTRAP.replace("'/portal-1a2b", "'/portal/portal-1a2b");
    for page in [
        "/portal/",
        "/portal/index.html",
        "/portal/users/abc",
        "/portal",
    ] {
        let (status, csp, body) = get(page);
        assert_eq!(status, 200, "{page}");
        assert!(body.contains("<base href=\"/portal/\">"), "{page}: {body}");
        assert!(
            body.contains("href=\"/portal/portal-1a2b.js\""),
            "{page}: {body}"
        );
        assert!(body.contains(&rebased), "{page}: {body}");
        assert!(csp.contains(&hash(&rebased)), "{page}: {csp}");
        assert!(!csp.contains(&hash(BOOTSTRAP)), "{page}: {csp}");
    }
    let (status, _, body) = get("/portal/portal-1a2b.js");
    assert_eq!(
        (status, body.as_str()),
        (200, "export default function init() {}")
    );
    let (status, _, body) = get("/portal/config.json");
    assert_eq!(status, 200);
    let config: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config["redirectUri"], tenant.portal.as_str());
    for outside in [
        "/",
        "/index.html",
        "/config.json",
        "/portal-1a2b.js",
        "/users/abc",
        "/portalx/",
    ] {
        assert_eq!(get(outside).0, 404, "{outside}");
    }
}
