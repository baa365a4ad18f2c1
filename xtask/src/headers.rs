//! The security headers for deploying `dist/`, computed at build time from the built
//! `index.html` by the same code the dev tenant serves them with (`devtenant/src/csp.rs`):
//! `dist/_headers` (the form Netlify and Cloudflare Pages read, and the reference to copy into
//! any other host's configuration) and `dist/staticwebapp.config.json` (Azure Static Web Apps,
//! with the client-side route fallback and `config.json` uncached), for the public URL the built
//! `index.html` names in its `<base href>` (`/`, or a sub-path such as `/portal/`: see
//! [`rebase`]). Files named by their content (trunk's, and the sign-in worker's once
//! `fingerprint.rs` renamed them) are marked cacheable for good, so a warm load asks the host
//! for none of them; `index.html` and the rest keep the host's revalidation.

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
    let mut hashed: Vec<String> = std::fs::read_dir(dist)
        .map_err(|e| format!("cannot read {}: {e}", dist.display()))?
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| is_content_hashed(name))
        .collect();
    hashed.sort();
    let write = |name: &str, text: String| {
        let path = dist.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write("_headers", headers_file(&headers, &public_url, &hashed))?;
    write(
        "staticwebapp.config.json",
        static_web_app_config(&headers, &public_url, &hashed),
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

/// How long a file named by its content may be kept: a year, never revalidated.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Whether `name` is named by its content: `<name>-<8 to 16 hex digits>` before `_bg.wasm`,
/// `_loader.js`, `.js`, `.wasm` or `.css` (trunk writes its hash without leading zeros).
pub fn is_content_hashed(name: &str) -> bool {
    let Some(stem) = [".js", ".wasm", ".css"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
    else {
        return false;
    };
    let stem = ["_bg", "_loader"]
        .iter()
        .find_map(|tail| stem.strip_suffix(tail))
        .unwrap_or(stem);
    let Some((prefix, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && (8..=16).contains(&hash.len())
        && hash
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// Every path gets the headers; `config.json` is never cached; files named by their content
/// (`hashed`) are cached for good.
fn headers_file(headers: &[(&'static str, String)], public_url: &str, hashed: &[String]) -> String {
    let mut text = String::from("/*\n");
    for (name, value) in headers {
        text.push_str(&format!("  {name}: {value}\n"));
    }
    text.push_str(&format!(
        "{public_url}config.json\n  Cache-Control: no-store\n"
    ));
    for name in hashed {
        text.push_str(&format!(
            "{public_url}{name}\n  Cache-Control: {IMMUTABLE}\n"
        ));
    }
    text
}

fn static_web_app_config(
    headers: &[(&'static str, String)],
    public_url: &str,
    hashed: &[String],
) -> String {
    let global: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(name, value)| (name.to_string(), json!(value)))
        .collect();
    let config = json!({
        "navigationFallback": {
            "rewrite": format!("{public_url}index.html"),
            "exclude": [format!("{public_url}*.{{js,wasm,css,json}}")]
        },
        "routes": std::iter::once(json!(
            { "route": format!("{public_url}config.json"), "headers": { "Cache-Control": "no-store" } }
        ))
        .chain(hashed.iter().map(|name| json!(
            { "route": format!("{public_url}{name}"), "headers": { "Cache-Control": IMMUTABLE } }
        )))
        .collect::<Vec<_>>(),
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
    fn content_hashed_names_are_told_apart() {
        for name in [
            "teams-app-portal-d7de2e7b3b719513_bg.wasm",
            "teams-app-portal-e42f7525ec0f5cd_bg.wasm",
            "teams-app-portal-b8f9b775a4d2f8d8.js",
            "main-1681389c83d5e8ed.css",
            "sign-in-worker-0123456789abcdef_loader.js",
            "sign-in-worker-0123456789abcdef.js",
        ] {
            assert!(is_content_hashed(name), "{name}");
        }
        for name in [
            "index.html",
            "config.json",
            "fr.json",
            "sign-in-worker_loader.js",
            "sign-in-worker.js",
            "sign-in-worker_bg.wasm",
            "main-1681389C83D5E8ED.css",
            "p.js",
            "-0123456789abcdef.js",
            "x-0123456.js",
        ] {
            assert!(!is_content_hashed(name), "{name}");
        }
    }

    #[test]
    fn files_named_by_content_are_cached_for_good_and_the_rest_revalidate() {
        let dist = temp_dist();
        for name in [
            "p-0123456789abcdef_bg.wasm",
            "sign-in-worker_bg.wasm",
            "fr.json",
        ] {
            std::fs::write(dist.join(name), "x").unwrap();
        }
        write(&dist, None).unwrap();
        let headers = std::fs::read_to_string(dist.join("_headers")).unwrap();
        assert!(headers.contains(
            "/p-0123456789abcdef_bg.wasm\n  Cache-Control: public, max-age=31536000, immutable\n"
        ));
        assert_eq!(headers.matches("immutable").count(), 1, "{headers}");
        let swa: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dist.join("staticwebapp.config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(swa["routes"][0]["route"], "/config.json");
        assert_eq!(swa["routes"][1]["route"], "/p-0123456789abcdef_bg.wasm");
        assert_eq!(swa["routes"][1]["headers"]["Cache-Control"], IMMUTABLE);
        assert_eq!(swa["routes"].as_array().unwrap().len(), 2);
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
