//! Content-hashed names for the sign-in worker's files. trunk names the portal's own files by
//! their content (`teams-app-portal-0123…_bg.wasm`), but a `data-type="worker"` build keeps
//! fixed names (`sign-in-worker_loader.js`, which loads `sign-in-worker.js`, which is given
//! `sign-in-worker_bg.wasm`). Fixed names can never be cached for good: every load that starts
//! the worker asks the host again for each of the three, one after the other (the loader names
//! the glue, the glue fetches the wasm). After a sign-in, the callback's page starts the worker
//! the page before it already loaded: three round trips on the first visit's path (J1, M1).
//!
//! So after trunk, the three are renamed by their content (`sign-in-worker-<16 hex>_bg.wasm`,
//! `…-<hex>.js`, `…-<hex>_loader.js`, the loader rewritten to name the other two), and the
//! page learns the loader's name from `<meta name="sign-in-worker" content="…">` in
//! `index.html` (the portal falls back to trunk's fixed name in a build made without this step).
//! Every script, wasm and style of `dist/` then has a content-hashed name, which the header
//! files mark as cacheable for good (see `headers.rs`).

use std::path::Path;

use sha2::{Digest, Sha256};

/// trunk's names for the worker's files (the loader's is the one the page falls back to).
const LOADER: &str = portal_core::auth::sign_in_worker::DEFAULT_LOADER;
const GLUE: &str = "sign-in-worker.js";
const WASM: &str = "sign-in-worker_bg.wasm";
/// The `<meta>` the page reads the loader's name from.
pub const META_NAME: &str = "sign-in-worker";

/// The first 16 hex digits of the SHA-256 of `bytes` (the same length trunk's names have).
fn content_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The name of one of the worker's files after this step: `sign-in-worker-<hash><suffix>`,
/// `suffix` being trunk's (`_loader.js`, `.js`, `_bg.wasm`).
pub fn hashed_name(bytes: &[u8], suffix: &str) -> String {
    format!("sign-in-worker-{}{suffix}", content_hash(bytes))
}

/// trunk's loader rewritten to name the hashed glue and wasm. Refused when it does not name
/// trunk's files exactly once each (a trunk whose loader changed shape).
pub fn rewrite_loader(loader: &str, glue: &str, wasm: &str) -> Result<String, String> {
    for name in [GLUE, WASM] {
        let quoted = format!("\"./{name}\"");
        match loader.matches(&quoted).count() {
            1 => {}
            n => {
                return Err(format!(
                    "trunk's worker loader names {quoted} {n} times, not once: {loader:?}"
                ))
            }
        }
    }
    Ok(loader
        .replace(&format!("\"./{GLUE}\""), &format!("\"./{glue}\""))
        .replace(&format!("\"./{WASM}\""), &format!("\"./{wasm}\"")))
}

/// `index.html` with the loader's name in a `<meta>` just before `</head>` (replacing one a
/// previous run wrote).
pub fn name_in_index(html: &str, loader: &str) -> Result<String, String> {
    let meta = format!("<meta name=\"{META_NAME}\" content=\"{loader}\">");
    let html = match html.find(&format!("<meta name=\"{META_NAME}\"")) {
        Some(start) => {
            let end = html[start..]
                .find('>')
                .map(|i| start + i + 1)
                .ok_or("index.html has an unclosed sign-in-worker <meta>")?;
            format!("{}{}", &html[..start], &html[end..])
        }
        None => html.to_string(),
    };
    let at = html
        .find("</head>")
        .ok_or("index.html has no </head> to put the sign-in worker's name before")?;
    Ok(format!("{}{meta}{}", &html[..at], &html[at..]))
}

/// Renames the worker's files in `dist` by their content and names the loader in `index.html`.
/// A `dist` already done (no file under trunk's names) is left as it is.
pub fn sign_in_worker(dist: &Path) -> Result<(), String> {
    let read = |name: &str| {
        std::fs::read(dist.join(name)).map_err(|e| format!("{}: {e}", dist.join(name).display()))
    };
    if !dist.join(LOADER).exists() {
        return Ok(());
    }
    let (glue, wasm) = (read(GLUE)?, read(WASM)?);
    let (glue_name, wasm_name) = (hashed_name(&glue, ".js"), hashed_name(&wasm, "_bg.wasm"));
    let loader_text =
        String::from_utf8(read(LOADER)?).map_err(|_| format!("{LOADER} is not UTF-8"))?;
    let loader = rewrite_loader(&loader_text, &glue_name, &wasm_name)?;
    let loader_name = hashed_name(loader.as_bytes(), "_loader.js");
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dist.join(name), bytes)
            .map_err(|e| format!("cannot write {}: {e}", dist.join(name).display()))
    };
    write(&glue_name, &glue)?;
    write(&wasm_name, &wasm)?;
    write(&loader_name, loader.as_bytes())?;
    let index = String::from_utf8(read("index.html")?).map_err(|_| "index.html is not UTF-8")?;
    write(
        "index.html",
        name_in_index(&index, &loader_name)?.as_bytes(),
    )?;
    for name in [LOADER, GLUE, WASM] {
        std::fs::remove_file(dist.join(name))
            .map_err(|e| format!("cannot remove {}: {e}", dist.join(name).display()))?;
    }
    println!("sign-in worker named by content: {loader_name}, {glue_name}, {wasm_name}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// trunk 0.22's loader (`data-loader-shim`) for the worker.
    const TRUNK_LOADER: &str =
        "importScripts(\"./sign-in-worker.js\");wasm_bindgen(\"./sign-in-worker_bg.wasm\");";

    #[test]
    fn names_follow_the_content_with_sixteen_hex_digits() {
        let (loader, glue, wasm) = (
            hashed_name(b"l", "_loader.js"),
            hashed_name(b"g", ".js"),
            hashed_name(b"w", "_bg.wasm"),
        );
        assert_eq!(
            loader,
            hashed_name(b"l", "_loader.js"),
            "the content decides"
        );
        assert_ne!(loader, hashed_name(b"L", "_loader.js"));
        for (name, prefix, suffix) in [
            (&loader, "sign-in-worker-", "_loader.js"),
            (&glue, "sign-in-worker-", ".js"),
            (&wasm, "sign-in-worker-", "_bg.wasm"),
        ] {
            let hash = &name[prefix.len()..name.len() - suffix.len()];
            assert_eq!(hash.len(), 16, "{name}");
            assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
        }
    }

    #[test]
    fn the_loader_names_the_hashed_files() {
        let loader = rewrite_loader(
            TRUNK_LOADER,
            "sign-in-worker-aa.js",
            "sign-in-worker-bb_bg.wasm",
        )
        .unwrap();
        assert_eq!(
            loader,
            "importScripts(\"./sign-in-worker-aa.js\");wasm_bindgen(\"./sign-in-worker-bb_bg.wasm\");"
        );
        // A loader of another shape is refused rather than half rewritten.
        assert!(rewrite_loader("importScripts(\"./other.js\");", "a.js", "b.wasm").is_err());
    }

    #[test]
    fn index_html_names_the_loader_once() {
        let html = "<html><head><title>p</title></head><body></body></html>";
        let once = name_in_index(html, "sign-in-worker-01_loader.js").unwrap();
        assert_eq!(
            once,
            "<html><head><title>p</title><meta name=\"sign-in-worker\" content=\"sign-in-worker-01_loader.js\"></head><body></body></html>"
        );
        let twice = name_in_index(&once, "sign-in-worker-02_loader.js").unwrap();
        assert_eq!(twice.matches("<meta name=\"sign-in-worker\"").count(), 1);
        assert!(twice.contains("sign-in-worker-02_loader.js"));
        assert!(name_in_index("<html>", "x").is_err());
    }

    #[test]
    fn a_dist_is_renamed_once_and_keeps_working_names() {
        let dist = std::env::temp_dir().join(format!("xtask-fingerprint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dist);
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join(LOADER), TRUNK_LOADER).unwrap();
        std::fs::write(dist.join(GLUE), "glue").unwrap();
        std::fs::write(dist.join(WASM), "wasm").unwrap();
        std::fs::write(dist.join("index.html"), "<head></head>").unwrap();
        sign_in_worker(&dist).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&dist)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(!names.iter().any(|n| n == LOADER || n == GLUE || n == WASM));
        let index = std::fs::read_to_string(dist.join("index.html")).unwrap();
        let loader_name = names.iter().find(|n| n.ends_with("_loader.js")).unwrap();
        assert!(
            index.contains(&format!("content=\"{loader_name}\"")),
            "{index}"
        );
        let loader = std::fs::read_to_string(dist.join(loader_name)).unwrap();
        for name in names
            .iter()
            .filter(|n| *n != loader_name && *n != "index.html")
        {
            assert!(loader.contains(&format!("\"./{name}\"")), "{loader}");
            assert_eq!(
                std::fs::read(dist.join(name)).unwrap(),
                if name.ends_with(".wasm") {
                    b"wasm".to_vec()
                } else {
                    b"glue".to_vec()
                }
            );
        }
        // Run again: nothing under trunk's names, nothing changes.
        sign_in_worker(&dist).unwrap();
        assert_eq!(std::fs::read_dir(&dist).unwrap().count(), 4);
        let _ = std::fs::remove_dir_all(&dist);
    }
}
