//! The security headers for deploying `dist/`, computed at build time from the built
//! `index.html` by the same code the dev tenant serves them with (`devtenant/src/csp.rs`):
//! `dist/_headers` (the form Netlify and Cloudflare Pages read, and the reference to copy into
//! any other host's configuration) and `dist/staticwebapp.config.json` (Azure Static Web Apps,
//! with the client-side route fallback and `config.json` uncached), for the public URL the built
//! `index.html` names in its `<base href>` (`/`, or a sub-path such as `/portal/`: see
//! [`rebase`]).

use std::path::Path;

use serde_json::json;

use crate::csp::{security_headers, Origins};
use crate::public_url::{normalize, public_url_of, rebase_index};

/// Writes the header files into `dist` for the origins `config` (a `config.json`) resolves to,
/// or the global cloud's when there is none.
pub fn write(dist: &Path, config: Option<&Path>) -> Result<(), String> {
    let origins = match config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Origins::from_config(&text).ok_or_else(|| {
                format!(
                    "{} does not resolve to an authority and a Graph origin (not JSON, an unknown cloud, or a malformed authority/graphBase)",
                    path.display()
                )
            })?
        }
        None => Origins::of_cloud("global").ok_or("no global cloud")?,
    };
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index)
        .map_err(|e| format!("cannot read {} (build first): {e}", index.display()))?;
    let public_url = public_url_of(&html);
    let headers = security_headers(&html, &origins);
    let write = |name: &str, text: String| {
        let path = dist.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("_headers", headers_file(&headers, &public_url))?;
    write(
        "staticwebapp.config.json",
        static_web_app_config(&headers, &public_url),
    )?;
    println!(
        "security headers for {} and {} (public URL {public_url}) written to {}/_headers and \
         staticwebapp.config.json",
        origins.authority,
        origins.graph,
        dist.display()
    );
    Ok(())
}

/// Makes `dist` (a build for `/`) the build for `public_url` (e.g. `/portal/`): `index.html`
/// rewritten for it (the only file trunk writes differently, see `public_url.rs`), then the
/// header files written again for it (the bootstrap script's hash changes with its addresses).
pub fn rebase(dist: &Path, public_url: &str) -> Result<(), String> {
    let public_url = normalize(public_url).map_err(|e| format!("--public-url: {e}"))?;
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index)
        .map_err(|e| format!("cannot read {} (build first): {e}", index.display()))?;
    let files: Vec<String> = std::fs::read_dir(dist)
        .map_err(|e| format!("cannot read {}: {e}", dist.display()))?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    let rebased = rebase_index(&html, &public_url, &files)
        .map_err(|e| format!("{}: {e}", index.display()))?;
    std::fs::write(&index, rebased)
        .map_err(|e| format!("cannot write {}: {e}", index.display()))?;
    println!(
        "{} rewritten for the public URL {public_url}",
        index.display()
    );
    write(dist, None)
}

/// `cargo xtask headers [--config FILE]`.
pub fn run(args: &[String]) -> Result<(), String> {
    match args {
        [] => write(Path::new("dist"), None),
        [flag, file] if flag == "--config" => write(Path::new("dist"), Some(Path::new(file))),
        _ => Err("headers takes only --config FILE".into()),
    }
}

/// Every path gets the headers; `config.json` is never cached.
fn headers_file(headers: &[(&'static str, String)], public_url: &str) -> String {
    let mut text = String::from("/*\n");
    for (name, value) in headers {
        text.push_str(&format!("  {name}: {value}\n"));
    }
    text.push_str(&format!(
        "{public_url}config.json\n  Cache-Control: no-store\n"
    ));
    text
}

fn static_web_app_config(headers: &[(&'static str, String)], public_url: &str) -> String {
    let global: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value)))
        .collect();
    let config = json!({
        "navigationFallback": {
            "rewrite": format!("{public_url}index.html"),
            "exclude": [format!("{public_url}*.{{js,wasm,css,json}}")]
        },
        "routes": [
            { "route": format!("{public_url}config.json"), "headers": { "Cache-Control": "no-store" } }
        ],
        "globalHeaders": global,
        "mimeTypes": { ".wasm": "application/wasm" }
    });
    serde_json::to_string_pretty(&config).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "<html><head><script type=\"module\">import init from '/p.js';\nawait init();\n</script></head></html>";

    fn temp_dist() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-headers-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), INDEX).unwrap();
        dir
    }

    #[test]
    fn the_files_carry_the_policy_of_the_built_index() {
        let dist = temp_dist();
        write(&dist, None).unwrap();
        let hash = crate::csp::sha256_source("import init from '/p.js';\nawait init();\n");
        let headers = std::fs::read_to_string(dist.join("_headers")).unwrap();
        assert!(headers.starts_with("/*\n  Content-Security-Policy: default-src 'none'; "));
        assert!(headers.contains(&hash), "{headers}");
        assert!(headers.contains(
            "connect-src 'self' https://login.microsoftonline.com https://graph.microsoft.com;"
        ));
        assert!(headers.contains("  X-Content-Type-Options: nosniff\n"));
        assert!(headers.contains("  Referrer-Policy: no-referrer\n"));
        let swa: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dist.join("staticwebapp.config.json")).unwrap(),
        )
        .unwrap();
        let csp = swa["globalHeaders"]["Content-Security-Policy"]
            .as_str()
            .unwrap();
        assert!(csp.contains(&hash));
        assert_eq!(swa["navigationFallback"]["rewrite"], "/index.html");
        assert_eq!(swa["globalHeaders"]["X-Content-Type-Options"], "nosniff");
        // A national cloud's config names its hosts.
        let config = dist.join("config.json");
        std::fs::write(&config, r#"{"cloud":"usgov-l4"}"#).unwrap();
        write(&dist, Some(&config)).unwrap();
        let headers = std::fs::read_to_string(dist.join("_headers")).unwrap();
        assert!(headers.contains("form-action https://login.microsoftonline.us\n"));
        std::fs::write(&config, r#"{"cloud":"mars"}"#).unwrap();
        assert!(write(&dist, Some(&config)).is_err());
        std::fs::remove_dir_all(dist).unwrap();
    }

    #[test]
    fn a_sub_path_build_has_its_own_addresses_hash_and_routes() {
        let dist = temp_dist();
        std::fs::write(
            dist.join("index.html"),
            INDEX.replace("<head>", "<head><base href=/>"),
        )
        .unwrap();
        std::fs::write(dist.join("p.js"), "export default 1").unwrap();
        rebase(&dist, "portal").unwrap();
        let html = std::fs::read_to_string(dist.join("index.html")).unwrap();
        assert!(html.contains("<base href=/portal/>"), "{html}");
        assert!(html.contains("import init from '/portal/p.js';"), "{html}");
        let headers = std::fs::read_to_string(dist.join("_headers")).unwrap();
        let hash = crate::csp::sha256_source("import init from '/portal/p.js';\nawait init();\n");
        assert!(headers.contains(&hash), "{headers}");
        assert!(headers.contains("/portal/config.json\n  Cache-Control: no-store\n"));
        let swa: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dist.join("staticwebapp.config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(swa["navigationFallback"]["rewrite"], "/portal/index.html");
        assert_eq!(swa["routes"][0]["route"], "/portal/config.json");
        // Twice is refused: the page is no longer the build for `/`.
        assert!(rebase(&dist, "/other/").is_err());
        std::fs::remove_dir_all(dist).unwrap();
    }
}
