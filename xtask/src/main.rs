//! `cargo xtask`: the one driver of the Teams App Portal. It installs what is missing (and says
//! so), builds, serves the demo, runs every test layer with one summary, and measures.

mod bench;
mod fingerprint;
// The portal's security headers: the dev tenant's own module, compiled here too (one source).
#[allow(dead_code)]
#[path = "../../devtenant/src/csp.rs"]
mod csp;
mod headers;
mod install;
mod process;
// A build for a sub-path from the build for `/` (the dev tenant's own module, as for csp).
#[allow(dead_code)]
#[path = "../../devtenant/src/public_url.rs"]
mod public_url;
mod register;
mod size;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
cargo xtask <command>

Commands:
  demo [--port N]  install what is missing, build the portal in release and serve it against
                   the dev tenant on 127.0.0.1 (Ctrl-C stops it)
  test             install what is missing and run every test layer (lint, native, wasm in
                   Chromium, end-to-end), then print one summary
  bench [journeys] [--runs N] [--reference DIR] [--dist DIR] [--only J1,M2]
                   build in release and print bundle sizes, load-to-interactive time, the editor,
                   jobs and the journeys (J1-J3, M1, M2 on slow 4G and loopback, against the
                   reference build in DIR: a dist/ of another commit kept aside); `journeys`
                   runs only those, on the build already in dist/
  headers [--config FILE]
                   write dist/_headers and dist/staticwebapp.config.json (Content Security
                   Policy with the built index.html's script hashes, for the origins FILE's
                   cloud and overrides resolve to; global by default). Release builds do it
  build [--public-url /portal/]
                   build the release bundle into dist/ with its headers, as the test command
                   does; with --public-url, for deploying under that path (the build for `/`
                   with index.html rewritten for it, and its headers)
  size             check dist/ (an existing release build) against size-budget.toml and print
                   the sizes of what the journeys load (the page, the portal's files and the
                   sign-in worker); fails over the budget, as the test command does
  install          only install the tools (idempotent)
  register --tenant TENANT --origin URL [--out FILE] [--cloud global|usgov|usgovdod|china]
                   print (never run) the Azure CLI and Graph PowerShell commands that create the
                   portal's Entra app registration, its permissions and admin-consent link, and
                   write a matching config.json (register --help for every flag)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    if let Err(e) = std::env::set_current_dir(&root) {
        eprintln!("xtask: cannot enter {}: {e}", root.display());
        return ExitCode::FAILURE;
    }
    process::prepare_environment(&root);
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(&args[1..]),
        Some("test") => test::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("install") => install::all(),
        Some("headers") => headers::run(&args[1..]),
        Some("build") => test::build(&args[1..]),
        Some("size") => size::run(),
        Some("register") => register::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn demo(args: &[String]) -> Result<(), String> {
    let port = match args {
        [] => "0".to_string(),
        [flag, value] if flag == "--port" => value.clone(),
        _ => return Err(format!("demo takes only --port N\n\n{USAGE}")),
    };
    install::all()?;
    test::build_release()?;
    process::step("build the dev tenant");
    process::exec(process::cargo().args(["build", "--locked", "-p", "devtenant"]))?;
    process::step("serve the portal against the dev tenant (Ctrl-C stops it)");
    let bin = process::target_dir().join("debug").join("devtenant");
    let mut command = std::process::Command::new(bin);
    command.args([
        "--host",
        "127.0.0.1",
        "--portal-port",
        &port,
        "--dist",
        "dist",
    ]);
    // Become the dev tenant, so a signal meant for the demo reaches it and leaves no orphan.
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        Err(format!("cannot start the dev tenant: {error}"))
    }
    #[cfg(not(unix))]
    process::exec(&mut command)
}
