//! The portal's Content Security Policy and security headers, computed from the built
//! `index.html` (the hash of each inline `<script>`, such as trunk's bootstrap, never typed by
//! hand) and the origins `config.json` resolves to. Pure: the dev tenant's portal origin sends
//! these headers with every file, and `cargo xtask` compiles this same file (`#[path]`) to write
//! them for deployment. Depends on `sha2`, `base64` and `serde_json` only.

use base64::Engine;
use sha2::{Digest, Sha256};

/// The origins the policy lets the portal reach besides its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origins {
    /// The sign-in authority (discovery, token, keys; where the sign-in form posts).
    pub authority: String,
    /// Microsoft Graph.
    pub graph: String,
}

/// The authority and Graph hosts of each cloud `config.json` may name (as the portal's cloud
/// table: the policy must allow exactly what the portal will call).
const CLOUDS: [(&str, &str, &str); 4] = [
    ("global", "login.microsoftonline.com", "graph.microsoft.com"),
    ("usgov-l4", "login.microsoftonline.us", "graph.microsoft.us"),
    (
        "usgov-l5",
        "login.microsoftonline.us",
        "dod-graph.microsoft.us",
    ),
    (
        "china",
        "login.chinacloudapi.cn",
        "microsoftgraph.chinacloudapi.cn",
    ),
];

impl Origins {
    /// The hosts of a cloud by its `config.json` name (`global`, `usgov-l4`, `usgov-l5`,
    /// `china`; case-insensitive).
    pub fn of_cloud(cloud: &str) -> Option<Origins> {
        let cloud = cloud.trim();
        CLOUDS
            .iter()
            .find(|(name, _, _)| name.eq_ignore_ascii_case(cloud))
            .map(|(_, authority, graph)| Origins {
                authority: format!("https://{authority}"),
                graph: format!("https://{graph}"),
            })
    }

    /// The origins a `config.json` resolves to: its `authority` and `graphBase` overrides, else
    /// its cloud's hosts (`global` when absent). `None` when the text is not a JSON object or
    /// names an unknown cloud or a malformed override (the portal then shows its setup page,
    /// which calls nothing but its own origin).
    pub fn from_config(config_json: &str) -> Option<Origins> {
        let config: serde_json::Value = serde_json::from_str(config_json).ok()?;
        let config = config.as_object()?;
        let text = |key: &str| config.get(key).and_then(serde_json::Value::as_str);
        let cloud = Origins::of_cloud(text("cloud").unwrap_or("global"))?;
        let pick = |key: &str, default: String| match text(key) {
            Some(url) => origin_of(url),
            None => Some(default),
        };
        Some(Origins {
            authority: pick("authority", cloud.authority)?,
            graph: pick("graphBase", cloud.graph)?,
        })
    }
}

/// The origin (`scheme://host[:port]`, scheme and host lowercase) of an absolute http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        return None;
    }
    Some(format!("{scheme}://{}", host.to_ascii_lowercase()))
}

/// `'sha256-…'`: a CSP hash source for a script's or a style's text.
pub fn sha256_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The text of each inline `<script>` of an HTML document (those without `src`), as the
/// browser hashes it: line breaks normalised to `\n` as the HTML parser does, nothing else
/// changed. Comments are skipped.
pub fn inline_scripts(html: &str) -> Vec<String> {
    inline_elements(html, "script")
}

/// The text of each `<style>` element of an HTML document.
pub fn inline_styles(html: &str) -> Vec<String> {
    inline_elements(html, "style")
}

fn inline_elements(html: &str, name: &str) -> Vec<String> {
    let text = html.replace("\r\n", "\n").replace('\r', "\n");
    // ASCII lowercasing keeps every byte offset, so positions found in `lower` slice `text`.
    let lower = text.to_ascii_lowercase();
    let open = format!("<{name}");
    let close = format!("</{name}");
    let mut out = Vec::new();
    let mut at = 0;
    while at < lower.len() {
        let Some(tag) = lower[at..].find(&open).map(|i| i + at) else {
            break;
        };
        if let Some(comment) = lower[at..tag].find("<!--").map(|i| i + at) {
            at = lower[comment + 4..]
                .find("-->")
                .map(|i| comment + 4 + i + 3)
                .unwrap_or(lower.len());
            continue;
        }
        let after = tag + open.len();
        if !matches!(lower.as_bytes().get(after), Some(b) if b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
        {
            at = after;
            continue;
        }
        let Some(tag_end) = end_of_tag(&lower, after) else {
            break;
        };
        let body = tag_end + 1;
        let Some(length) = lower[body..].find(&close) else {
            break;
        };
        if !has_attribute(&lower[after..tag_end], "src") {
            out.push(text[body..body + length].to_string());
        }
        at = body + length + close.len();
    }
    out
}

/// The index of the `>` ending a start tag whose attributes begin at `from` (quotes honoured).
fn end_of_tag(html: &str, from: usize) -> Option<usize> {
    let mut quote = None;
    for (i, b) in html.bytes().enumerate().skip(from) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Whether a start tag's attribute text (lowercase) has the attribute `name`.
fn has_attribute(attributes: &str, name: &str) -> bool {
    let bytes = attributes.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !b"=/>".contains(&bytes[i]) {
            i += 1;
        }
        if &attributes[start..i] == name {
            return true;
        }
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                Some(&q) if q == b'"' || q == b'\'' => {
                    i += 1;
                    while i < bytes.len() && bytes[i] != q {
                        i += 1;
                    }
                    i += 1;
                }
                _ => {
                    while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                        i += 1;
                    }
                }
            }
        } else if i == start {
            i += 1;
        }
    }
    false
}

/// The policy for the portal built as `index_html`, reaching `origins`:
/// `default-src 'none'; script-src 'self' 'wasm-unsafe-eval' <inline script hashes>;
/// style-src 'self' [<inline style hashes>]; img-src 'self' data:; connect-src 'self'
/// <authority> <graph>; frame-ancestors 'none'; base-uri 'self'; form-action <authority>`.
pub fn content_security_policy(index_html: &str, origins: &Origins) -> String {
    let mut script = vec!["'self'".to_string(), "'wasm-unsafe-eval'".to_string()];
    let mut style = vec!["'self'".to_string()];
    for (list, texts) in [
        (&mut script, inline_scripts(index_html)),
        (&mut style, inline_styles(index_html)),
    ] {
        for text in texts {
            let source = sha256_source(&text);
            if !list.contains(&source) {
                list.push(source);
            }
        }
    }
    let mut connect = vec!["'self'".to_string(), origins.authority.clone()];
    if origins.graph != origins.authority {
        connect.push(origins.graph.clone());
    }
    [
        "default-src 'none'".to_string(),
        format!("script-src {}", script.join(" ")),
        format!("style-src {}", style.join(" ")),
        "img-src 'self' data:".to_string(),
        format!("connect-src {}", connect.join(" ")),
        "frame-ancestors 'none'".to_string(),
        "base-uri 'self'".to_string(),
        format!("form-action {}", origins.authority),
    ]
    .join("; ")
}

/// Every header the portal's files are served with.
pub fn security_headers(index_html: &str, origins: &Origins) -> Vec<(&'static str, String)> {
    vec![
        (
            "Content-Security-Policy",
            content_security_policy(index_html, origins),
        ),
        ("X-Content-Type-Options", "nosniff".to_string()),
        ("Referrer-Policy", "no-referrer".to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What trunk 0.21/0.22 writes for a rust app: module preload links and an inline module
    /// bootstrap importing the wasm-bindgen glue.
    const TRUNK_INDEX: &str = "<!DOCTYPE html><html lang=\"en\"><head>\r\n<meta charset=\"utf-8\">\
<base href=\"/\"><link rel=\"stylesheet\" href=\"/main-3f2a.css\" integrity=\"sha384-x\">\
<link rel=\"modulepreload\" href=\"/teams-app-portal-9c1b.js\" crossorigin=\"anonymous\" integrity=\"sha384-y\">\
<!-- <script>not this one</script> -->\
<script type=\"module\">\r\nimport init, * as bindings from '/teams-app-portal-9c1b.js';\n\
const wasm = await init({ module_or_path: '/teams-app-portal-9c1b_bg.wasm' });\n\
window.wasmBindings = bindings;\n\
dispatchEvent(new CustomEvent(\"TrunkApplicationStarted\", {detail: {wasm}}));\n</script>\
<script src=\"/other.js\" data-x=\"a > b\"></script><scripts-not-a-script></scripts-not-a-script>\
</head><body><noscript>needs JavaScript</noscript></body></html>";

    fn origins() -> Origins {
        Origins {
            authority: "http://127.0.0.1:4001".into(),
            graph: "http://127.0.0.1:4002".into(),
        }
    }

    #[test]
    fn sha256_sources_match_known_vectors() {
        // echo -n "alert('Hello, world.');" | openssl sha256 -binary | base64 (the CSP spec's
        // example).
        assert_eq!(
            sha256_source("alert('Hello, world.');"),
            "'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"
        );
    }

    #[test]
    fn only_inline_scripts_are_found_with_line_breaks_normalised() {
        let scripts = inline_scripts(TRUNK_INDEX);
        assert_eq!(scripts.len(), 1, "{scripts:?}");
        assert!(scripts[0].starts_with("\nimport init, * as bindings"));
        assert!(!scripts[0].contains('\r'));
        assert!(scripts[0].ends_with("{detail: {wasm}}));\n"));
        assert!(inline_styles(TRUNK_INDEX).is_empty());
        assert_eq!(
            inline_styles("<style>a{}</style><STYLE media=x>b{}</STYLE>"),
            ["a{}", "b{}"]
        );
        assert!(
            inline_scripts("<SCRIPT SRC='x.js'></SCRIPT><script async src=y></script>").is_empty()
        );
    }

    #[test]
    fn the_policy_names_the_bootstrap_hash_and_the_configured_origins() {
        let policy = content_security_policy(TRUNK_INDEX, &origins());
        let hash = sha256_source(&inline_scripts(TRUNK_INDEX)[0]);
        assert_eq!(
            policy,
            format!(
                "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' {hash}; style-src 'self'; \
img-src 'self' data:; connect-src 'self' http://127.0.0.1:4001 http://127.0.0.1:4002; \
frame-ancestors 'none'; base-uri 'self'; form-action http://127.0.0.1:4001"
            )
        );
        // No inline script: no hash; an inline style gets one.
        let policy = content_security_policy("<style>p{}</style>", &origins());
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval'; "));
        assert!(policy.contains(&format!("style-src 'self' {};", sha256_source("p{}"))));
        let headers = security_headers(TRUNK_INDEX, &origins());
        assert_eq!(
            headers.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
            [
                "Content-Security-Policy",
                "X-Content-Type-Options",
                "Referrer-Policy"
            ]
        );
        assert_eq!(headers[1].1, "nosniff");
        assert_eq!(headers[2].1, "no-referrer");
    }

    #[test]
    fn origins_come_from_the_config_overrides_or_the_cloud() {
        let global = Origins::from_config(r#"{"clientId":"x"}"#).unwrap();
        assert_eq!(global.authority, "https://login.microsoftonline.com");
        assert_eq!(global.graph, "https://graph.microsoft.com");
        let l5 = Origins::from_config(r#"{"cloud":" USGOV-L5 "}"#).unwrap();
        assert_eq!(l5.graph, "https://dod-graph.microsoft.us");
        let dev = Origins::from_config(
            r#"{"authority":"http://127.0.0.1:4001/","graphBase":"HTTP://127.0.0.1:4002"}"#,
        )
        .unwrap();
        assert_eq!(dev, origins());
        let china = Origins::from_config(r#"{"cloud":"china","authority":"https://id.example/t"}"#)
            .unwrap();
        assert_eq!(china.authority, "https://id.example");
        assert_eq!(china.graph, "https://microsoftgraph.chinacloudapi.cn");
        assert_eq!(Origins::from_config("{ not json"), None);
        assert_eq!(Origins::from_config(r#"{"cloud":"mars"}"#), None);
        assert_eq!(Origins::from_config(r#"{"authority":"ftp://x"}"#), None);
        assert_eq!(
            origin_of("https://user@Host.Example:8443/p?q#f").as_deref(),
            Some("https://host.example:8443")
        );
    }
}
