//! `cargo xtask bench`: figures, not assertions. Bundle sizes of the release build (raw, gzip -9,
//! brotli q11), the time from navigation start to the shell being interactive in headless
//! Chromium (median of several cold loads, read from the Performance API), the consent editor,
//! the bulk jobs, and the journeys administrators and members take (`e2e/bench/journeys.mjs`:
//! J1, J2, J3, M1, M2 on slow 4G with a 4× CPU and on loopback, the current `dist/` against a
//! reference build side by side, served by a brotli static host), with the first load's size as
//! one more row. `cargo xtask bench journeys` runs only the journeys, on the build in `dist/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::install;
use crate::process::{cargo, exec, run_tee, step, target_dir};
use crate::size;
use crate::test::build_release;

/// Number of page loads measured.
const LOADS: usize = 15;

/// Interleaved runs of each journey, build and network row, by default.
const JOURNEY_RUNS: usize = 3;

/// What `cargo xtask bench` was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Only the journeys, on the existing build (`bench journeys`).
    pub journeys_only: bool,
    /// Interleaved runs per journey, row and build.
    pub runs: usize,
    /// The build measured (`dist/` unless `--dist`).
    pub dist: PathBuf,
    /// The reference build (another commit's `dist/` kept aside); the journeys need one.
    pub reference: Option<PathBuf>,
    /// Only these journeys (`--only J1,M2`), or all.
    pub only: Option<String>,
}

impl Options {
    /// `[journeys] [--runs N] [--reference DIR] [--dist DIR] [--only J1,J2]`.
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut options = Options {
            journeys_only: false,
            runs: JOURNEY_RUNS,
            dist: PathBuf::from("dist"),
            reference: None,
            only: None,
        };
        let mut rest = args;
        if let [first, tail @ ..] = rest {
            if first == "journeys" {
                options.journeys_only = true;
                rest = tail;
            }
        }
        let mut iter = rest.iter();
        while let Some(flag) = iter.next() {
            let mut value = || {
                iter.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--runs" => {
                    let text = value()?;
                    options.runs = text
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| format!("--runs takes a whole number ≥ 1, not {text:?}"))?;
                }
                "--reference" => options.reference = Some(PathBuf::from(value()?)),
                "--dist" => options.dist = PathBuf::from(value()?),
                "--only" => options.only = Some(value()?),
                other => {
                    return Err(format!(
                        "bench takes [journeys] [--runs N] [--reference DIR] [--dist DIR] [--only J1,J2,J3,M1,M2], not {other:?}"
                    ))
                }
            }
        }
        Ok(options)
    }
}

/// Builds, measures, prints.
pub fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    install::all()?;
    if options.journeys_only {
        step("build the dev tenant");
        exec(cargo().args(["build", "--locked", "-p", "devtenant"]))?;
        return journeys(&options);
    }
    install::twiggy()?;
    build_release()?;
    step("bundle sizes (dist/)");
    size::print_tables(Path::new("dist"))?;
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
    let bin = devtenant_bin();
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
    journeys(&options)
}

fn devtenant_bin() -> PathBuf {
    std::fs::canonicalize(target_dir().join("debug").join("devtenant")).unwrap_or_default()
}

/// The journeys, the current build against the reference, with the first load's size.
fn journeys(options: &Options) -> Result<(), String> {
    let dist = std::fs::canonicalize(&options.dist).map_err(|e| {
        format!(
            "{}: {e} (build first: cargo xtask build)",
            options.dist.display()
        )
    })?;
    // The portal is one bundle since issue #24: the reference is another build, kept aside.
    let reference = match &options.reference {
        Some(dir) => {
            std::fs::canonicalize(dir).map_err(|e| format!("--reference {}: {e}", dir.display()))?
        }
        None => {
            return Err(
                "the journeys need --reference DIR: a release build of another commit \
                 (its dist/ copied aside) to compare this one with"
                    .into(),
            )
        }
    };
    let first_load = (
        first_load_brotli(&dist, "index.html")?,
        first_load_brotli(&reference, "index.html")?,
    );
    let reference = Some(reference);
    let json = std::env::current_dir()
        .map_err(|e| e.to_string())?
        .join(target_dir())
        .join("bench")
        .join("journeys.json");
    step(&format!(
        "journeys J1, J2, J3, M1, M2: {} against {}, slow 4G + 4× CPU and loopback, median of {} interleaved runs",
        dist.display(),
        reference
            .as_deref()
            .map(|dir| dir.display().to_string())
            .unwrap_or_default(),
        options.runs
    ));
    run_tee(
        Command::new("node")
            .args(journey_args(
                options,
                &dist,
                reference.as_deref(),
                first_load,
                &json,
            ))
            .current_dir("e2e")
            .env("DEVTENANT_BIN", devtenant_bin()),
    )
    .map_err(|(message, _)| message)?;
    Ok(())
}

/// The brotli bytes of `page` of `dist` and every file it names (as `cargo xtask size` counts
/// the first load).
fn first_load_brotli(dist: &Path, page: &str) -> Result<usize, String> {
    Ok(size::total(&size::sizes_of(&size::files_of(dist, page)?)?).brotli)
}

/// The arguments of `node` running the journey benchmark.
pub fn journey_args(
    options: &Options,
    dist: &Path,
    reference: Option<&Path>,
    first_load: (usize, usize),
    json: &Path,
) -> Vec<String> {
    let mut args = vec![
        "bench/journeys.mjs".to_string(),
        "--runs".to_string(),
        options.runs.to_string(),
        "--dist".to_string(),
        dist.display().to_string(),
        "--first-load".to_string(),
        format!("{},{}", first_load.0, first_load.1),
        "--json".to_string(),
        json.display().to_string(),
    ];
    if let Some(dir) = reference {
        args.extend(["--reference".to_string(), dir.display().to_string()]);
    }
    if let Some(only) = &options.only {
        args.extend(["--only".to_string(), only.clone()]);
    }
    args
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

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_whole_bench_by_default_the_journeys_alone_on_request() {
        let all = Options::parse(&[]).unwrap();
        assert!(!all.journeys_only);
        assert_eq!(all.runs, JOURNEY_RUNS);
        assert_eq!(all.dist, PathBuf::from("dist"));
        assert_eq!(all.reference, None);
        let only = Options::parse(&strings(&[
            "journeys",
            "--runs",
            "5",
            "--reference",
            "/tmp/old-dist",
            "--dist",
            "/tmp/new-dist",
            "--only",
            "J3,M2",
        ]))
        .unwrap();
        assert_eq!(
            only,
            Options {
                journeys_only: true,
                runs: 5,
                dist: PathBuf::from("/tmp/new-dist"),
                reference: Some(PathBuf::from("/tmp/old-dist")),
                only: Some("J3,M2".into()),
            }
        );
        // Flags without "journeys": the whole bench with those journey settings.
        assert!(
            !Options::parse(&strings(&["--runs", "1"]))
                .unwrap()
                .journeys_only
        );
    }

    #[test]
    fn wrong_bench_arguments_are_refused_with_the_usage() {
        for args in [
            &["--runs"][..],
            &["--runs", "0"],
            &["--runs", "three"],
            &["journeys", "--reference"],
            &["journeys", "--fast"],
            &["sizes"],
        ] {
            let error = Options::parse(&strings(args)).unwrap_err();
            assert!(
                error.contains("--runs") || error.contains("needs a value"),
                "{args:?}: {error}"
            );
        }
    }

    #[test]
    fn the_journey_script_gets_the_builds_and_the_first_load_sizes() {
        let mut options = Options::parse(&strings(&["journeys", "--runs", "2"])).unwrap();
        let args = journey_args(
            &options,
            Path::new("/w/dist"),
            None,
            (196_900, 458_100),
            Path::new("/w/target/bench/journeys.json"),
        );
        assert_eq!(
            args,
            strings(&[
                "bench/journeys.mjs",
                "--runs",
                "2",
                "--dist",
                "/w/dist",
                "--first-load",
                "196900,458100",
                "--json",
                "/w/target/bench/journeys.json",
            ])
        );
        options.only = Some("J1".into());
        let args = journey_args(
            &options,
            Path::new("/w/dist"),
            Some(Path::new("/w/old")),
            (1, 2),
            Path::new("/j.json"),
        );
        assert_eq!(
            &args[args.len() - 4..],
            &strings(&["--reference", "/w/old", "--only", "J1"])[..]
        );
    }
}
