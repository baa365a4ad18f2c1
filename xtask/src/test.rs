//! `cargo xtask test`: every layer in order (lint, native, wasm in Chromium, release build,
//! end-to-end), all run even when one fails, then one summary with counts and times.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::install;
use crate::process::{cargo, exec, run_tee, step, target_dir, with_release_wasm_env};

/// The outcome of one layer.
struct Layer {
    name: &'static str,
    passed: u64,
    failed: u64,
    ignored: u64,
    time: Duration,
    error: Option<String>,
}

impl Layer {
    fn new(name: &'static str) -> Self {
        Layer {
            name,
            passed: 0,
            failed: 0,
            ignored: 0,
            time: Duration::ZERO,
            error: None,
        }
    }
}

/// Sums the `test result:` lines cargo and wasm-bindgen-test-runner print.
fn count_cargo_tests(output: &str, layer: &mut Layer) {
    for line in output.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        for part in rest.split(';') {
            let words: Vec<&str> = part.split_whitespace().collect();
            let (number, what) = match words.as_slice() {
                [_, n, w] | [n, w] => (n.parse::<u64>().ok(), *w),
                _ => continue,
            };
            match (number, what) {
                (Some(n), "passed") => layer.passed += n,
                (Some(n), "failed") => layer.failed += n,
                (Some(n), "ignored") => layer.ignored += n,
                _ => {}
            }
        }
    }
}

fn cargo_layer(name: &'static str, command: &mut Command) -> Layer {
    let mut layer = Layer::new(name);
    let start = Instant::now();
    match run_tee(command) {
        Ok(output) => count_cargo_tests(&output, &mut layer),
        Err((message, output)) => {
            count_cargo_tests(&output, &mut layer);
            layer.error = Some(message);
        }
    }
    layer.time = start.elapsed();
    layer
}

fn lint() -> Layer {
    let mut layer = Layer::new("lint (fmt, clippy host + wasm)");
    let start = Instant::now();
    let checks: [(&str, Vec<&str>); 3] = [
        ("cargo fmt --check", vec!["fmt", "--all", "--check"]),
        (
            "clippy (host)",
            vec![
                "clippy",
                "--locked",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        (
            "clippy (wasm32)",
            vec![
                "clippy",
                "--locked",
                "-p",
                "teams-app-portal",
                "-p",
                "portal-core",
                "-p",
                "sign-in-worker",
                "--all-targets",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (label, args) in checks {
        step(label);
        match exec(cargo().args(&args)) {
            Ok(()) => layer.passed += 1,
            Err(message) => {
                layer.failed += 1;
                failures.push(message);
            }
        }
    }
    if !failures.is_empty() {
        layer.error = Some(failures.join("; "));
    }
    layer.time = start.elapsed();
    layer
}

/// Builds the portal in release with trunk into dist/, the sign-in worker's files named by
/// their content (`fingerprint.rs`), with its security and caching headers for deploying
/// (`dist/_headers`, `dist/staticwebapp.config.json`; the global cloud's origins).
pub fn build_release() -> Result<(), String> {
    step("build the portal in release (trunk build --release)");
    exec(with_release_wasm_env(&mut Command::new("trunk")).args([
        "build",
        "--release",
        "--locked",
    ]))?;
    let dist = std::path::Path::new("dist");
    crate::fingerprint::sign_in_worker(dist)?;
    crate::headers::write(dist, None)
}

/// `cargo xtask build [--public-url PATH]`: the release build, for `/` or for a sub-path (the
/// build for `/` with its page rewritten: see `headers::rebase`).
pub fn build(args: &[String]) -> Result<(), String> {
    let public_url = match args {
        [] => None,
        [flag, value] if flag == "--public-url" => Some(value.as_str()),
        _ => return Err("build takes only --public-url PATH (e.g. /portal/)".into()),
    };
    build_release()?;
    match public_url {
        Some(url) => crate::headers::rebase(std::path::Path::new("dist"), url),
        None => Ok(()),
    }
}

/// What the journeys load against the budget (`size-budget.toml`), on the release build `built`
/// says the end-to-end layer made.
fn size_budget(built: bool) -> Layer {
    let mut layer = Layer::new("size budget (journeys, brotli)");
    let start = Instant::now();
    step("what the journeys load against the size budget");
    if !built {
        layer.error = Some("the release build failed: no bundle to measure".into());
        layer.failed = 1;
    } else {
        match crate::size::check(std::path::Path::new("dist")) {
            Ok(line) => {
                println!("{line}");
                layer.passed = 1;
            }
            Err(message) => {
                println!("{message}");
                layer.error = Some(message);
                layer.failed = 1;
            }
        }
    }
    layer.time = start.elapsed();
    layer
}

/// The end-to-end layer, and whether its release build succeeded.
fn end_to_end() -> (Layer, bool) {
    let mut layer = Layer::new("end-to-end (Playwright, Chromium)");
    let start = Instant::now();
    let mut built = false;
    let prepared = build_release().and_then(|()| {
        built = true;
        // The native layer's `cargo test` built the dev tenant binary with the workspace's
        // feature set; `cargo build -p devtenant` would rebuild tokio and friends with another.
        step("the dev tenant binary (as the native tests built it)");
        exec(cargo().args(["test", "--locked", "--workspace", "--no-run"]))
    });
    if let Err(message) = prepared {
        layer.error = Some(message);
        layer.time = start.elapsed();
        return (layer, built);
    }
    step("end-to-end tests against the dev tenant");
    let report = std::path::Path::new("e2e/test-output/report.json");
    let _ = std::fs::remove_file(report);
    let bin =
        std::fs::canonicalize(target_dir().join("debug").join("devtenant")).unwrap_or_default();
    let result = run_tee(
        Command::new("npx")
            .args(["--no-install", "playwright", "test"])
            .current_dir("e2e")
            .env("DEVTENANT_BIN", bin)
            .env_remove("BASE_URL"),
    );
    if let Err((message, _)) = result {
        layer.error = Some(message);
    }
    match std::fs::read_to_string(report)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
    {
        Some(json) => {
            let stat = |k: &str| json["stats"][k].as_u64().unwrap_or(0);
            layer.passed = stat("expected") + stat("flaky");
            layer.failed = stat("unexpected");
            layer.ignored = stat("skipped");
        }
        None => {
            layer
                .error
                .get_or_insert_with(|| "Playwright wrote no report".into());
        }
    }
    layer.time = start.elapsed();
    (layer, built)
}

/// Runs every layer and prints the summary; fails if any layer failed.
pub fn run() -> Result<(), String> {
    let start = Instant::now();
    install::all()?;
    step("fetch crates (cargo fetch --locked)");
    exec(cargo().args(["fetch", "--locked"]))?;
    let mut layers = vec![lint()];
    step("native tests (cargo test --workspace)");
    layers.push(cargo_layer(
        "native (cargo test)",
        cargo().args(["test", "--locked", "--workspace"]),
    ));
    step("wasm tests in headless Chromium (wasm-bindgen-test)");
    layers.push(cargo_layer(
        "wasm in Chromium (wasm-bindgen-test)",
        cargo().args([
            "test",
            "--locked",
            "-p",
            "teams-app-portal",
            "--target",
            "wasm32-unknown-unknown",
        ]),
    ));
    let (e2e, built) = end_to_end();
    layers.push(e2e);
    layers.push(size_budget(built));

    println!("\n==================== summary ====================");
    println!(
        "{:<40} {:>7} {:>7} {:>8} {:>8}",
        "layer", "passed", "failed", "ignored", "time"
    );
    for layer in &layers {
        println!(
            "{:<40} {:>7} {:>7} {:>8} {:>7.0}s {}",
            layer.name,
            layer.passed,
            layer.failed,
            layer.ignored,
            layer.time.as_secs_f64(),
            if layer.error.is_some() {
                "FAILED"
            } else {
                "ok"
            }
        );
    }
    println!("total time {:.0}s", start.elapsed().as_secs_f64());
    let failures: Vec<String> = layers
        .iter()
        .filter_map(|l| l.error.as_ref().map(|e| format!("{}: {e}", l.name)))
        .collect();
    let empty: Vec<&str> = layers
        .iter()
        .filter(|l| l.passed == 0)
        .map(|l| l.name)
        .collect();
    if !failures.is_empty() {
        return Err(format!("failed layers:\n  {}", failures.join("\n  ")));
    }
    if !empty.is_empty() {
        return Err(format!("layers that ran no test: {}", empty.join(", ")));
    }
    println!("all layers passed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_summed_over_every_test_binary() {
        let output = "test result: ok. 19 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out\n\
                      noise\n\
                      test result: FAILED. 4 passed; 2 failed; 0 ignored; 0 filtered out; finished in 0.06s\n";
        let mut layer = Layer::new("x");
        count_cargo_tests(output, &mut layer);
        assert_eq!((layer.passed, layer.failed, layer.ignored), (23, 2, 1));
    }
}
