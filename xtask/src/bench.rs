//! `cargo xtask bench`: figures, not assertions. Bundle sizes of the release build (raw, gzip -9,
//! brotli q11) and the time from navigation start to the shell being interactive in headless
//! Chromium (median of several cold loads, read from the Performance API).

use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::install;
use crate::process::{cargo, exec, run_tee, step, target_dir};
use crate::test::build_release;

/// Number of page loads measured.
const LOADS: usize = 9;

fn gzip_size(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = encoder.write_all(bytes);
    encoder.finish().map(|v| v.len()).unwrap_or(0)
}

fn brotli_size(bytes: &[u8]) -> usize {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    match brotli::BrotliCompress(&mut &bytes[..], &mut out, &params) {
        Ok(_) => out.len(),
        Err(_) => 0,
    }
}

#[derive(Default, Clone, Copy)]
struct Sizes {
    raw: usize,
    gzip: usize,
    brotli: usize,
}

impl std::ops::AddAssign for Sizes {
    fn add_assign(&mut self, other: Sizes) {
        self.raw += other.raw;
        self.gzip += other.gzip;
        self.brotli += other.brotli;
    }
}

fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

fn sizes_of(dist: &Path) -> Result<Vec<(&'static str, Sizes)>, String> {
    let entries =
        std::fs::read_dir(dist).map_err(|e| format!("cannot read {}: {e}", dist.display()))?;
    let mut rows: Vec<(&'static str, Sizes)> = ["wasm", "js", "css", "html"]
        .into_iter()
        .map(|k| (k, Sizes::default()))
        .collect();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        let Some(row) = rows.iter_mut().find(|(k, _)| *k == ext) else {
            continue;
        };
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        row.1 += Sizes {
            raw: bytes.len(),
            gzip: gzip_size(&bytes),
            brotli: brotli_size(&bytes),
        };
    }
    Ok(rows)
}

/// Builds, measures, prints.
pub fn run() -> Result<(), String> {
    install::all()?;
    build_release()?;
    step("bundle sizes (dist/)");
    let rows = sizes_of(Path::new("dist"))?;
    println!(
        "{:<22} {:>11} {:>11} {:>11}",
        "file kind", "raw", "gzip -9", "brotli q11"
    );
    let mut total = Sizes::default();
    for (kind, sizes) in &rows {
        total += *sizes;
        println!(
            "{:<22} {:>11} {:>11} {:>11}",
            kind,
            kb(sizes.raw),
            kb(sizes.gzip),
            kb(sizes.brotli)
        );
    }
    println!(
        "{:<22} {:>11} {:>11} {:>11}",
        "first load (total)",
        kb(total.raw),
        kb(total.gzip),
        kb(total.brotli)
    );

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
            .env("DEVTENANT_BIN", bin),
    )
    .map_err(|(message, _)| message)?;
    Ok(())
}
