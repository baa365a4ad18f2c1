//! The first load's size: every file a browser fetches to start the portal (wasm, js, css,
//! html of `dist/`), raw, gzip -9 and brotli q11, and the budget it must stay within, written in
//! one place (`size-budget.toml` at the repository's root).

use std::io::Write;
use std::path::Path;

/// The file kinds of the first load, in the order tables print them.
pub const KINDS: [&str; 4] = ["wasm", "js", "css", "html"];

/// Where the budget is written.
pub const BUDGET_FILE: &str = "size-budget.toml";

fn gzip_size(bytes: &[u8]) -> usize {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = encoder.write_all(bytes);
    encoder.finish().map(|v| v.len()).unwrap_or(0)
}

/// Brotli at quality 11, the size a static host serves with `Content-Encoding: br`.
pub fn brotli_size(bytes: &[u8]) -> usize {
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

/// Sizes of some bytes.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub raw: usize,
    pub gzip: usize,
    pub brotli: usize,
}

impl std::ops::AddAssign for Sizes {
    fn add_assign(&mut self, other: Sizes) {
        self.raw += other.raw;
        self.gzip += other.gzip;
        self.brotli += other.brotli;
    }
}

/// `1234` bytes as `1.2 KB`.
pub fn kb(bytes: usize) -> String {
    format!("{:.1} KB", bytes as f64 / 1000.0)
}

/// The files a page of `dist` loads: the page itself and every file of `dist` it names (trunk
/// writes each as `/{name}` in a `<link>` or the bootstrap `<script>`).
pub fn files_of(dist: &Path, page: &str) -> Result<Vec<std::path::PathBuf>, String> {
    let page_path = dist.join(page);
    let html = std::fs::read_to_string(&page_path)
        .map_err(|e| format!("cannot read {} (build first): {e}", page_path.display()))?;
    let entries =
        std::fs::read_dir(dist).map_err(|e| format!("cannot read {}: {e}", dist.display()))?;
    let mut files = vec![page_path];
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != page && html.contains(&format!("/{name}")) {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// The sizes of `files` by kind (in [`KINDS`] order).
pub fn sizes_of(files: &[std::path::PathBuf]) -> Result<Vec<(&'static str, Sizes)>, String> {
    let mut rows: Vec<(&'static str, Sizes)> =
        KINDS.into_iter().map(|k| (k, Sizes::default())).collect();
    for path in files {
        let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        let Some(row) = rows.iter_mut().find(|(k, _)| *k == ext) else {
            continue;
        };
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        row.1 += Sizes {
            raw: bytes.len(),
            gzip: gzip_size(&bytes),
            brotli: brotli_size(&bytes),
        };
    }
    Ok(rows)
}

/// The sizes of the first load (`index.html` and what it loads) in `dist`, by kind.
pub fn first_load(dist: &Path) -> Result<Vec<(&'static str, Sizes)>, String> {
    sizes_of(&files_of(dist, "index.html")?)
}

/// The sizes of the full bundle (`full.html` and what it loads that the first load does not),
/// loaded only when a page outside the first load is opened; `None` without one.
pub fn full_bundle(dist: &Path) -> Result<Option<Vec<(&'static str, Sizes)>>, String> {
    if !dist.join("full.html").exists() {
        return Ok(None);
    }
    let first = files_of(dist, "index.html")?;
    let jobs: Vec<_> = files_of(dist, "full.html")?
        .into_iter()
        .filter(|f| !first.contains(f))
        .collect();
    sizes_of(&jobs).map(Some)
}

/// The sign-in worker's files (trunk's loader, the wasm-bindgen glue and the wasm), fetched when
/// the session first signs in or renews (a signed-in reload fetches them too, after the shell
/// is interactive); `None` without them.
pub fn sign_in_worker(dist: &Path) -> Result<Option<Vec<(&'static str, Sizes)>>, String> {
    let files: Vec<_> = [
        "sign-in-worker_loader.js",
        "sign-in-worker.js",
        "sign-in-worker_bg.wasm",
    ]
    .iter()
    .map(|name| dist.join(name))
    .filter(|path| path.exists())
    .collect();
    if files.is_empty() {
        return Ok(None);
    }
    sizes_of(&files).map(Some)
}

/// Prints the on-demand parts: the sign-in worker and the full bundle.
pub fn print_on_demand(dist: &Path) -> Result<(), String> {
    if let Some(rows) = sign_in_worker(dist)? {
        println!("on demand: the sign-in worker, started when signing in or renewing");
        print!(
            "{}",
            table(&rows).replace("first load (total)", "sign-in worker (total)")
        );
    }
    if let Some(rows) = full_bundle(dist)? {
        println!("on demand: the full bundle (full.html, every page), loaded when a page outside the first load opens");
        print!(
            "{}",
            table(&rows).replace("first load (total)", "full bundle (total)")
        );
    }
    Ok(())
}

/// The total of [`first_load`].
pub fn total(rows: &[(&'static str, Sizes)]) -> Sizes {
    let mut total = Sizes::default();
    for (_, sizes) in rows {
        total += *sizes;
    }
    total
}

/// Reads `first_load_brotli_bytes` from the budget file's text.
pub fn parse_budget(text: &str) -> Result<usize, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix("first_load_brotli_bytes"))
        .and_then(|rest| rest.trim().strip_prefix('='))
        .map(|v| v.trim().replace('_', ""))
        .ok_or_else(|| format!("{BUDGET_FILE}: no `first_load_brotli_bytes = N` line"))?
        .parse::<usize>()
        .map_err(|e| format!("{BUDGET_FILE}: first_load_brotli_bytes is not a number: {e}"))
}

/// The budget, from [`BUDGET_FILE`].
pub fn budget() -> Result<usize, String> {
    let text = std::fs::read_to_string(BUDGET_FILE)
        .map_err(|e| format!("cannot read {BUDGET_FILE}: {e}"))?;
    parse_budget(&text)
}

/// `cargo xtask size`: the table and the verdict for the release build already in `dist/`.
pub fn run() -> Result<(), String> {
    let dist = Path::new("dist");
    print!("{}", table(&first_load(dist)?));
    print_on_demand(dist)?;
    let line = check(dist)?;
    println!("{line}");
    Ok(())
}

/// A table of the first load, one row per kind and the total.
pub fn table(rows: &[(&'static str, Sizes)]) -> String {
    let mut out = format!(
        "{:<22} {:>11} {:>11} {:>11}\n",
        "file kind", "raw", "gzip -9", "brotli q11"
    );
    for (kind, sizes) in rows {
        out.push_str(&format!(
            "{:<22} {:>11} {:>11} {:>11}\n",
            kind,
            kb(sizes.raw),
            kb(sizes.gzip),
            kb(sizes.brotli)
        ));
    }
    let total = total(rows);
    out.push_str(&format!(
        "{:<22} {:>11} {:>11} {:>11}\n",
        "first load (total)",
        kb(total.raw),
        kb(total.gzip),
        kb(total.brotli)
    ));
    out
}

/// Checks `dist`'s first load against the budget: `Ok` with a line saying how it stands, or the
/// failure message naming the excess, the biggest kind and where the budget is written.
pub fn check(dist: &Path) -> Result<String, String> {
    let rows = first_load(dist)?;
    let budget = budget()?;
    verdict(&rows, budget)
}

/// The verdict of [`check`] on measured rows.
pub fn verdict(rows: &[(&'static str, Sizes)], budget: usize) -> Result<String, String> {
    let total = total(rows).brotli;
    if total <= budget {
        return Ok(format!(
            "first load {} brotli, within the budget of {} ({} to spare)",
            kb(total),
            kb(budget),
            kb(budget - total)
        ));
    }
    let biggest = rows
        .iter()
        .max_by_key(|(_, s)| s.brotli)
        .map(|(k, s)| format!("{k} {}", kb(s.brotli)))
        .unwrap_or_default();
    Err(format!(
        "the first load is {} brotli, {} over the budget of {} written in {BUDGET_FILE} \
         (biggest: {biggest}). Find what grew with `cargo xtask bench` (bytes by crate and by \
         function); raise the budget only with a reason in the commit message.",
        kb(total),
        kb(total - budget),
        kb(budget)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(wasm: usize) -> Vec<(&'static str, Sizes)> {
        vec![
            (
                "wasm",
                Sizes {
                    raw: wasm * 3,
                    gzip: wasm + 10,
                    brotli: wasm,
                },
            ),
            (
                "js",
                Sizes {
                    raw: 30_000,
                    gzip: 8_000,
                    brotli: 7_000,
                },
            ),
        ]
    }

    #[test]
    fn the_budget_is_read_from_its_one_line() {
        assert_eq!(
            parse_budget("# comment\nfirst_load_brotli_bytes = 200_000\n"),
            Ok(200_000)
        );
        assert!(parse_budget("nothing here").is_err());
        assert!(parse_budget("first_load_brotli_bytes = lots").is_err());
    }

    #[test]
    fn over_the_budget_fails_with_the_excess_and_where_to_look() {
        assert!(verdict(&rows(193_000), 200_000).is_ok());
        let message = verdict(&rows(194_000), 200_000).unwrap_err();
        assert!(message.contains("201.0 KB brotli, 1.0 KB over the budget of 200.0 KB"));
        assert!(message.contains("size-budget.toml"));
        assert!(message.contains("biggest: wasm 194.0 KB"));
    }

    #[test]
    fn the_committed_budget_parses() {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(BUDGET_FILE),
        )
        .unwrap();
        assert!(parse_budget(&text).is_ok());
    }
}
