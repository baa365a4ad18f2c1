//! `cargo xtask bench`: figures, not assertions. Bundle sizes of the release build (raw, gzip -9,
//! brotli q11) and the time from navigation start to the shell being interactive in headless
//! Chromium (median of several cold loads, read from the Performance API).

use std::path::Path;
use std::process::Command;

use crate::install;
use crate::process::{cargo, exec, run_tee, step, target_dir};
use crate::size;
use crate::test::build_release;

/// Number of page loads measured.
const LOADS: usize = 15;

/// Builds, measures, prints.
pub fn run() -> Result<(), String> {
    install::all()?;
    install::twiggy()?;
    build_release()?;
    step("bundle sizes (dist/)");
    let rows = size::first_load(Path::new("dist"))?;
    print!("{}", size::table(&rows));
    size::print_on_demand(Path::new("dist"))?;
    match size::check(Path::new("dist")) {
        Ok(line) | Err(line) => println!("{line}"),
    }
    step("where the bytes go (twiggy on the release wasm, before wasm-bindgen and wasm-opt)");
    match where_the_bytes_go() {
        Ok(text) => print!("{text}"),
        Err(message) => println!("(not measured: {message})"),
    }

    step("build the dev tenant");
    exec(cargo().args(["build", "--locked", "-p", "devtenant"]))?;
    step(&format!(
        "navigation start to shell interactive, {LOADS} cold loads in headless Chromium"
    ));
    let bin =
        std::fs::canonicalize(target_dir().join("debug").join("devtenant")).unwrap_or_default();
    run_tee(
        Command::new("node")
            .args(["bench/load-time.mjs", &LOADS.to_string()])
            .current_dir("e2e")
            .env("DEVTENANT_BIN", &bin),
    )
    .map_err(|(message, _)| message)?;
    step("the consent editor: one change to the DOM updated, 100 changes, 16 permissions");
    run_tee(
        Command::new("node")
            .args(["bench/editor.mjs", "100"])
            .current_dir("e2e")
            .env("DEVTENANT_BIN", &bin),
    )
    .map_err(|(message, _)| message)?;
    step("jobs: 1,000 users installed (batched, then one request at a time), 100 ms latency, 30 installs/s; dry run and audit on 10,000 users");
    run_tee(
        Command::new("node")
            .args(["bench/jobs.mjs", "1000", "10000"])
            .current_dir("e2e")
            .env("DEVTENANT_BIN", &bin),
    )
    .map_err(|(message, _)| message)?;
    Ok(())
}

/// Bytes of the release wasm by crate and the top functions, from `twiggy top` on cargo's own
/// output (it keeps function names; the shipped file, after wasm-bindgen and wasm-opt, does not).
/// Proportions, not shipped sizes: wasm-opt shrinks everything after this.
fn where_the_bytes_go() -> Result<String, String> {
    let wasm = target_dir()
        .join("wasm32-unknown-unknown")
        .join("wasm-release")
        .join("teams-app-portal.wasm");
    let output = Command::new("twiggy")
        .args(["top", "-n", "1000000", "-f", "json"])
        .arg(&wasm)
        .output()
        .map_err(|e| format!("twiggy: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
    }
    let items: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("twiggy's answer: {e}"))?;
    let items: Vec<(String, u64)> = items
        .as_array()
        .map(|list| {
            list.iter()
                .map(|i| {
                    (
                        i["name"].as_str().unwrap_or_default().to_string(),
                        i["shallow_size"].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(crate_table(&items, 20, 15))
}

/// The crate a (demangled) function name belongs to, or what else it is.
pub fn owner(name: &str) -> String {
    if name.contains("function names") || name.starts_with("custom section") {
        return "(names and custom sections)".into();
    }
    if name.contains("__wbindgen_describe") || name.starts_with("export \"__wbindgen_descr") {
        return "(wasm-bindgen descriptors, removed by wasm-bindgen)".into();
    }
    if name.starts_with("data segment") {
        return "(data: strings and tables)".into();
    }
    let trimmed = name.trim_start_matches(['<', '&', ' ']);
    let trimmed = trimmed
        .strip_prefix("mut ")
        .or_else(|| trimmed.strip_prefix("dyn "))
        .unwrap_or(trimmed);
    let head: String = trimmed
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if !head.is_empty() && trimmed[head.len()..].starts_with("::") {
        head
    } else {
        "(other: generic impls, glue)".into()
    }
}

/// Bytes by crate (the top `crates`) and the top `functions`.
pub fn crate_table(items: &[(String, u64)], crates: usize, functions: usize) -> String {
    let mut by_crate: std::collections::BTreeMap<String, u64> = Default::default();
    for (name, size) in items {
        *by_crate.entry(owner(name)).or_default() += size;
    }
    let code: u64 = by_crate
        .iter()
        .filter(|(k, _)| !k.starts_with("(names") && !k.starts_with("(wasm-bindgen"))
        .map(|(_, v)| v)
        .sum();
    let mut ranked: Vec<(String, u64)> = by_crate.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = format!("{:<52} {:>11} {:>6}\n", "crate", "bytes", "share");
    for (name, size) in ranked
        .iter()
        .filter(|(k, _)| !k.starts_with("(names") && !k.starts_with("(wasm-bindgen"))
        .take(crates)
    {
        out.push_str(&format!(
            "{:<52} {:>11} {:>5.1}%\n",
            name,
            size::kb(*size as usize),
            *size as f64 * 100.0 / code.max(1) as f64
        ));
    }
    out.push_str(&format!(
        "{:<52} {:>11}\n\n",
        "code and data (total)",
        size::kb(code as usize)
    ));
    let mut top: Vec<&(String, u64)> = items
        .iter()
        .filter(|(n, _)| {
            let o = owner(n);
            !o.starts_with("(names") && !o.starts_with("(wasm-bindgen") && !o.starts_with("(data")
        })
        .collect();
    top.sort_by_key(|item| std::cmp::Reverse(item.1));
    out.push_str(&format!("{:<100} {:>11}\n", "function", "bytes"));
    for (name, size) in top.into_iter().take(functions) {
        let short: String = name.chars().take(100).collect();
        out.push_str(&format!("{short:<100} {:>11}\n", size::kb(*size as usize)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_grouped_by_their_crate() {
        assert_eq!(owner("serde_json::de::from_str::h12"), "serde_json");
        assert_eq!(
            owner("<tachys::view::Foo as tachys::view::Render>::build::h1"),
            "tachys"
        );
        assert_eq!(
            owner("<&mut serde_json::de::Deserializer<R> as X>::f"),
            "serde_json"
        );
        assert_eq!(
            owner("data segment \".rodata\""),
            "(data: strings and tables)"
        );
        assert_eq!(
            owner("\"function names\" subsection"),
            "(names and custom sections)"
        );
        let items = vec![
            ("portal::a::h1".to_string(), 300),
            ("portal::b::h2".to_string(), 100),
            ("leptos::c::h3".to_string(), 200),
        ];
        let table = crate_table(&items, 10, 2);
        let portal = table.find("portal").unwrap();
        let leptos = table.find("leptos").unwrap();
        assert!(portal < leptos, "{table}");
        assert!(table.contains("66.7%"));
        assert!(table.contains("portal::a::h1"));
        assert!(!table.contains("portal::b::h2"), "only the top 2 functions");
    }
}
