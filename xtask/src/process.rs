//! Running commands: each step announced, output streamed (and kept when a caller needs to read
//! counts from it), failures reported with the command that failed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

/// Puts the tools xtask installs first on PATH (wasm-opt from npm binaryen, cargo's bin) and
/// sets the variables the tools read. `RUSTUP_TOOLCHAIN`, set by rustup for `cargo xtask`, is
/// kept: without it a dependency's own rust-toolchain.toml would pick the toolchain.
pub fn prepare_environment(root: &Path) {
    let mut paths = vec![root.join("e2e").join("node_modules").join(".bin")];
    if let Some(home) = cargo_home() {
        paths.push(home.join("bin"));
    }
    if let Some(existing) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&existing));
    }
    if let Ok(joined) = std::env::join_paths(paths) {
        std::env::set_var("PATH", joined);
    }
    std::env::set_var("TRUNK_SKIP_VERSION_CHECK", "true");
    std::env::set_var("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
    std::env::set_var("CHROMEDRIVER", "/usr/bin/chromedriver");
}

fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// The release wasm's two size levers that stable Rust keeps behind unstable flags (issue #10):
/// the standard library compiled with the bundle (`-Zbuild-std`, from the toolchain's `rust-src`,
/// so LTO and `opt-level = "z"` reach it) and panics compiled to a trap
/// (`-Cpanic=immediate-abort`: no panic message is formatted, so `core::fmt`'s panic paths and
/// every panic location leave the bundle). `RUSTC_BOOTSTRAP=1` lets the pinned stable toolchain
/// take them, for these builds only: native code, clippy and the wasm-bindgen tests build as
/// before, with panic messages. Kept by the journeys (issue #24): without the trap (std still
/// built with the bundle, a panic hook putting the message in the report) every journey loads
/// more, the portal and the sign-in worker alike (the figure is in docs/performance.md), for a
/// message only support reads; a trap is not a dead page (index.html's "The portal stopped"
/// panel, `src/stopped.rs`) and its report's wasm stack names function offsets in this build.
/// `--cfg erase_components` repeats `.cargo/config.toml`'s flag, which this variable replaces.
pub const RELEASE_WASM_ENV: [(&str, &str); 3] = [
    ("RUSTC_BOOTSTRAP", "1"),
    ("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort"),
    (
        "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
        "--cfg erase_components --cfg portal_immediate_abort -Zunstable-options -Cpanic=immediate-abort",
    ),
];

/// A command with [`RELEASE_WASM_ENV`] set.
pub fn with_release_wasm_env(command: &mut Command) -> &mut Command {
    for (key, value) in RELEASE_WASM_ENV {
        command.env(key, value);
    }
    command
}

/// Where cargo puts build output.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// A `cargo` command (the one running xtask).
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Announces a step.
pub fn step(what: &str) {
    println!("\n==> {what}");
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs a command with inherited output; an error names the command.
pub fn exec(command: &mut Command) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", describe(command)))
    }
}

/// Runs a command, streaming its output and returning it; `Err` carries the output too.
pub fn run_tee(command: &mut Command) -> Result<String, (String, String)> {
    let label = describe(command);
    let mut child = match command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Err((format!("cannot run `{label}`: {e}"), String::new())),
    };
    let (sender, receiver) = mpsc::channel::<(bool, String)>();
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        let sender = sender.clone();
        readers.push(thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = sender.send((false, line));
            }
        }));
    }
    if let Some(err) = child.stderr.take() {
        let sender = sender.clone();
        readers.push(thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = sender.send((true, line));
            }
        }));
    }
    drop(sender);
    let mut output = String::new();
    for (is_err, line) in receiver {
        if is_err {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
        output.push_str(&line);
        output.push('\n');
    }
    for reader in readers {
        let _ = reader.join();
    }
    match child.wait() {
        Ok(status) if status.success() => Ok(output),
        Ok(status) => Err((format!("`{label}` failed ({status})"), output)),
        Err(e) => Err((format!("`{label}`: {e}"), output)),
    }
}

/// The first line a command prints, or `None` when it cannot run.
pub fn output_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .map(|line| line.trim().to_string())
}

/// Whether a program is on PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}
