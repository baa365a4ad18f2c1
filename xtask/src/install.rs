//! Idempotent tool installation: each tool is checked at the version the project needs and
//! installed only when absent or different, saying what it does. Nothing is downloaded from
//! anywhere but the package registries (crates.io, npm, Debian, rustup's own channel).

use std::path::Path;
use std::process::Command;

use crate::process::{exec, on_path, output_line, step, with_release_wasm_env};

const TRUNK_VERSION: &str = "0.22.1";
/// trunk 0.22 declares rust-version 1.96.1; it is built with that toolchain only.
const TRUNK_RUSTC: &str = "1.96.1";
/// Builds on the machine's default toolchain: the fallback if rustup cannot fetch 1.96.1.
const TRUNK_FALLBACK_VERSION: &str = "0.21.14";
const APT_PACKAGES: [&str; 2] = ["chromium", "chromium-driver"];

/// Installs everything the build and the tests need.
pub fn all() -> Result<(), String> {
    step("check tools (installing only what is missing)");
    debian_packages()?;
    wasm_target()?;
    standard_library_source()?;
    trunk()?;
    wasm_bindgen_cli()?;
    npm_packages()?;
    println!(
        "tools ready: {}, {}, wasm-opt {}, {}",
        output_line("trunk", &["--version"]).unwrap_or_default(),
        output_line("wasm-bindgen", &["--version"]).unwrap_or_default(),
        output_line("wasm-opt", &["--version"]).unwrap_or_default(),
        output_line("chromium", &["--version"]).unwrap_or_default(),
    );
    Ok(())
}

fn is_root() -> bool {
    output_line("id", &["-u"]).as_deref() == Some("0")
}

fn debian_packages() -> Result<(), String> {
    let mut missing = Vec::new();
    if !on_path("chromium") || !on_path("chromedriver") {
        missing.extend(APT_PACKAGES);
    }
    if !on_path("node") || !on_path("npm") {
        missing.extend(["nodejs", "npm"]);
    }
    if missing.is_empty() {
        println!("ok   Debian packages: chromium, chromium-driver, node, npm present");
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root() {
        return Err(format!(
            "these Debian packages are missing and installing them needs root; run:\n\n    \
             sudo apt-get update && sudo apt-get install -y --no-install-recommends {list}\n\n\
             then run this command again"
        ));
    }
    println!("install Debian packages: {list}");
    exec(
        Command::new("apt-get")
            .args(["update", "-qq"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    exec(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// The toolchain's `rust-src` and the crates its standard library depends on: the release wasm
/// compiles the standard library with the bundle (`process::RELEASE_WASM_ENV`), and trunk runs
/// cargo offline, so those crates are fetched here, from crates.io, beside the project's own.
fn standard_library_source() -> Result<(), String> {
    let sysroot = output_line("rustc", &["--print", "sysroot"])
        .ok_or_else(|| "cannot run `rustc --print sysroot`".to_string())?;
    let library = Path::new(&sysroot).join("lib/rustlib/src/rust/library/Cargo.lock");
    if library.is_file() {
        println!("ok   rust component rust-src");
    } else {
        println!("install rust component rust-src (the release wasm builds the standard library)");
        exec(Command::new("rustup").args(["component", "add", "rust-src"]))?;
    }
    exec(
        with_release_wasm_env(&mut crate::process::cargo())
            .args(["fetch", "--locked", "--target", "wasm32-unknown-unknown"])
            .arg("--quiet"),
    )
}

fn wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.trim() == "wasm32-unknown-unknown")
        })
        .unwrap_or(false);
    if installed {
        println!("ok   rust target wasm32-unknown-unknown");
        return Ok(());
    }
    println!("install rust target wasm32-unknown-unknown");
    exec(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

fn trunk() -> Result<(), String> {
    let current = output_line("trunk", &["--version"]).unwrap_or_default();
    if current == format!("trunk {TRUNK_VERSION}")
        || current == format!("trunk {TRUNK_FALLBACK_VERSION}")
    {
        println!("ok   {current}");
        return Ok(());
    }
    let has_toolchain = Command::new("rustup")
        .args(["toolchain", "list"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .any(|l| l.starts_with(&format!("{TRUNK_RUSTC}-")))
        })
        .unwrap_or(false);
    let toolchain_ready = has_toolchain || {
        println!(
            "install Rust {TRUNK_RUSTC} (minimal profile), which trunk {TRUNK_VERSION} requires"
        );
        exec(Command::new("rustup").args([
            "toolchain",
            "install",
            TRUNK_RUSTC,
            "--profile",
            "minimal",
        ]))
        .is_ok()
    };
    if toolchain_ready {
        println!("install trunk {TRUNK_VERSION} from crates.io (cargo install --locked; about 14 minutes on 2 cores)");
        let plus = format!("+{TRUNK_RUSTC}");
        let installed = exec(Command::new("cargo").args([
            plus.as_str(),
            "install",
            "--locked",
            "trunk",
            "--version",
            TRUNK_VERSION,
        ]));
        if installed.is_ok() {
            return Ok(());
        }
        println!("trunk {TRUNK_VERSION} did not install; falling back to {TRUNK_FALLBACK_VERSION}");
    } else {
        println!(
            "Rust {TRUNK_RUSTC} is unavailable; falling back to trunk {TRUNK_FALLBACK_VERSION}"
        );
    }
    exec(Command::new("cargo").args([
        "install",
        "--locked",
        "trunk",
        "--version",
        TRUNK_FALLBACK_VERSION,
    ]))
}

/// The `wasm-bindgen` version recorded in Cargo.lock (wasm-bindgen-cli must equal it).
pub fn locked_wasm_bindgen_version() -> Result<String, String> {
    let lock = std::fs::read_to_string("Cargo.lock")
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
            {
                return Ok(version.trim_matches('"').to_string());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

fn wasm_bindgen_cli() -> Result<(), String> {
    let version = locked_wasm_bindgen_version()?;
    let wanted = format!("wasm-bindgen {version}");
    let runner_ok = on_path("wasm-bindgen-test-runner");
    if output_line("wasm-bindgen", &["--version"]).as_deref() == Some(wanted.as_str()) && runner_ok
    {
        println!("ok   {wanted}");
        return Ok(());
    }
    // No --locked: its lockfile pins a crate version the registry mirror does not serve.
    println!("install wasm-bindgen-cli {version} from crates.io (about 4 minutes on 2 cores)");
    exec(Command::new("cargo").args([
        "install",
        "--force",
        "wasm-bindgen-cli",
        "--version",
        &version,
    ]))
}

fn npm_packages() -> Result<(), String> {
    let e2e = Path::new("e2e");
    let lock = std::fs::read_to_string(e2e.join("package-lock.json"))
        .map_err(|e| format!("cannot read e2e/package-lock.json: {e}"))?;
    let stamp = e2e.join("node_modules").join(".xtask-installed-lock.json");
    let wasm_opt = e2e.join("node_modules").join(".bin").join("wasm-opt");
    if wasm_opt.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(lock.as_str())
    {
        println!("ok   npm packages of e2e/ (package-lock.json unchanged since install)");
        return Ok(());
    }
    println!("install npm packages of e2e/ (npm ci: Playwright without its browser download, binaryen's wasm-opt)");
    exec(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(e2e)
            .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
    )?;
    std::fs::write(&stamp, lock).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// twiggy, for `cargo xtask bench`'s bytes by crate (bench only: about 3 minutes cold on 2
/// cores, which the test command does not pay).
pub const TWIGGY_VERSION: &str = "0.8.0";

/// Installs twiggy if it is not there at [`TWIGGY_VERSION`].
pub fn twiggy() -> Result<(), String> {
    // It prints `twiggy-opt 0.8.0`.
    if output_line("twiggy", &["--version"]).is_some_and(|l| l.ends_with(TWIGGY_VERSION)) {
        println!("ok   twiggy {TWIGGY_VERSION}");
        return Ok(());
    }
    println!("install twiggy {TWIGGY_VERSION} from crates.io (cargo install --locked; about 3 minutes on 2 cores)");
    exec(Command::new("cargo").args(["install", "--locked", "twiggy", "--version", TWIGGY_VERSION]))
}
