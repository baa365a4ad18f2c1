//! What the journeys load (issue #24): the files a signed-in deep link to a user (J2) and a
//! member's first visit (M1) fetch from `dist/`, that is `index.html`, the portal's wasm, js and
//! css, and the sign-in worker's loader, glue and wasm (every sign-in and every renewal starts
//! it), raw, gzip -9 and brotli q11; and the budget they must stay within, written in one place
//! (`size-budget.toml` at the repository's root). `fr.json` (fetched for French only) and
//! `config.json` (the deployment's) are not counted.

use std::io::Write;
use std::path::Path;

/// The file kinds, in the order tables print them.
pub const KINDS: [&str; 4] = ["wasm", "js", "css", "html"];

/// Where the budget is written.
pub const BUDGET_FILE: &str = "size-budget.toml";

/// The budget's key in [`BUDGET_FILE`].
const BUDGET_KEY: &str = "journeys_brotli_bytes";

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

/// The sizes of the page (`index.html` and what it names: the portal's wasm, js and css) in
/// `dist`, by kind.
pub fn first_load(dist: &Path) -> Result<Vec<(&'static str, Sizes)>, String> {
    sizes_of(&files_of(dist, "index.html")?)
}

/// The `content` of `<meta name="NAME" content="…">` in `html`.
fn meta_content<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let start = html.find(&format!("<meta name=\"{name}\" content=\""))?;
    let rest = &html[start..];
    let value = &rest[rest.find("content=\"")? + "content=\"".len()..];
    value.find('"').map(|end| &value[..end])
}

/// The sign-in worker's files in `dist`: the loader `index.html` names, taken by the page's own
/// rule (`portal_core::auth::sign_in_worker::loader_name`: else trunk's name), and the two files
/// the loader names (`"./…"`: the wasm-bindgen glue and the wasm). An error when one
/// is missing: every journey that signs in needs them.
pub fn sign_in_worker_files(dist: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let index = std::fs::read_to_string(dist.join("index.html"))
        .map_err(|e| format!("{}: {e} (build first)", dist.join("index.html").display()))?;
    let loader = portal_core::auth::sign_in_worker::loader_name(meta_content(
        &index,
        crate::fingerprint::META_NAME,
    ));
    let loader_path = dist.join(loader);
    let text = std::fs::read_to_string(&loader_path)
        .map_err(|e| format!("{} is missing (build first): {e}", loader_path.display()))?;
    let named: Vec<&str> = text
        .split("\"./")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    if named.len() != 2 {
        return Err(format!(
            "{} names {} files, not the glue and the wasm: {text:?}",
            loader_path.display(),
            named.len()
        ));
    }
    std::iter::once(loader)
        .chain(named)
        .map(|name| {
            let path = dist.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(format!("{} is missing (build first)", path.display()))
            }
        })
        .collect()
}

/// The files the journeys load: the page's and the sign-in worker's.
pub fn journey_files(dist: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let mut files = files_of(dist, "index.html")?;
    files.extend(sign_in_worker_files(dist)?);
    files.sort();
    files.dedup();
    Ok(files)
}

/// The sizes of [`journey_files`], by kind.
pub fn journeys(dist: &Path) -> Result<Vec<(&'static str, Sizes)>, String> {
    sizes_of(&journey_files(dist)?)
}

/// Prints what the journeys load, then the page and the worker on their own.
pub fn print_tables(dist: &Path) -> Result<(), String> {
    println!(
        "what the journeys load (index.html, the portal's wasm, js and css, the sign-in worker)"
    );
    print!("{}", table(&journeys(dist)?, "journeys (total)"));
    println!("of which the page (index.html and the files it names)");
    print!("{}", table(&first_load(dist)?, "page (total)"));
    println!("of which the sign-in worker (started by every sign-in and renewal)");
    print!(
        "{}",
        table(
            &sizes_of(&sign_in_worker_files(dist)?)?,
            "sign-in worker (total)"
        )
    );
    Ok(())
}

/// The total of some rows.
pub fn total(rows: &[(&'static str, Sizes)]) -> Sizes {
    let mut total = Sizes::default();
    for (_, sizes) in rows {
        total += *sizes;
    }
    total
}

/// Reads the budget (`journeys_brotli_bytes = N`) from the budget file's text.
pub fn parse_budget(text: &str) -> Result<usize, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(BUDGET_KEY))
        .and_then(|rest| rest.trim().strip_prefix('='))
        .map(|v| v.trim().replace('_', ""))
        .ok_or_else(|| format!("{BUDGET_FILE}: no `{BUDGET_KEY} = N` line"))?
        .parse::<usize>()
        .map_err(|e| format!("{BUDGET_FILE}: {BUDGET_KEY} is not a number: {e}"))
}

/// The budget, from [`BUDGET_FILE`].
pub fn budget() -> Result<usize, String> {
    let text = std::fs::read_to_string(BUDGET_FILE)
        .map_err(|e| format!("cannot read {BUDGET_FILE}: {e}"))?;
    parse_budget(&text)
}

/// `cargo xtask size`: the tables and the verdict for the release build already in `dist/`.
pub fn run() -> Result<(), String> {
    let dist = Path::new("dist");
    print_tables(dist)?;
    let line = check(dist)?;
    println!("{line}");
    Ok(())
}

/// A table of `rows`, one row per kind and the total, labelled `total_label`.
pub fn table(rows: &[(&'static str, Sizes)], total_label: &str) -> String {
    let mut out = format!(
        "{:<24} {:>11} {:>11} {:>11}\n",
        "file kind", "raw", "gzip -9", "brotli q11"
    );
    for (kind, sizes) in rows {
        out.push_str(&format!(
            "{:<24} {:>11} {:>11} {:>11}\n",
            kind,
            kb(sizes.raw),
            kb(sizes.gzip),
            kb(sizes.brotli)
        ));
    }
    let total = total(rows);
    out.push_str(&format!(
        "{:<24} {:>11} {:>11} {:>11}\n",
        total_label,
        kb(total.raw),
        kb(total.gzip),
        kb(total.brotli)
    ));
    out
}

/// Checks what `dist`'s journeys load against the budget: `Ok` with a line saying how it
/// stands, or the failure message naming the excess, the biggest kind and where the budget is
/// written.
pub fn check(dist: &Path) -> Result<String, String> {
    let rows = journeys(dist)?;
    let budget = budget()?;
    verdict(&rows, budget)
}

/// The verdict of [`check`] on measured rows.
pub fn verdict(rows: &[(&'static str, Sizes)], budget: usize) -> Result<String, String> {
    let total = total(rows).brotli;
    if total <= budget {
        return Ok(format!(
            "the journeys load {} brotli ({total} bytes), within the budget of {} ({} to spare)",
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
        "the journeys load {} brotli ({total} bytes), {} over the budget of {} written in \
         {BUDGET_FILE} (biggest: {biggest}). Find what grew with `cargo xtask bench` (bytes by crate and by \
         function); raise the budget only with a reason in the commit message.",
        kb(total),
        kb(total - budget),
        kb(budget)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_names(paths: &[std::path::PathBuf]) -> Vec<String> {
        paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

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
            parse_budget("# comment\njourneys_brotli_bytes = 200_000\n"),
            Ok(200_000)
        );
        assert!(parse_budget("nothing here").is_err());
        assert!(parse_budget("journeys_brotli_bytes = lots").is_err());
        assert!(parse_budget("first_load_brotli_bytes = 200000").is_err());
    }

    #[test]
    fn over_the_budget_fails_with_the_excess_and_where_to_look() {
        assert!(verdict(&rows(193_000), 200_000).is_ok());
        let message = verdict(&rows(194_000), 200_000).unwrap_err();
        assert!(message
            .contains("load 201.0 KB brotli (201000 bytes), 1.0 KB over the budget of 200.0 KB"));
        assert!(message.contains("size-budget.toml"));
        assert!(message.contains("biggest: wasm 194.0 KB"));
    }

    #[test]
    fn the_journeys_count_the_page_its_files_and_the_sign_in_worker_and_nothing_else() {
        let dist = std::env::temp_dir().join(format!("xtask-size-{}", std::process::id()));
        std::fs::create_dir_all(&dist).unwrap();
        let index = "<base href=/portal/><link href=/portal/main-1.css><script type=module>\
                     import init from\"/portal/p-2.js\";init(`/portal/p-3_bg.wasm`)</script>";
        for (name, text) in [
            ("index.html", index),
            ("main-1.css", "body{}"),
            ("p-2.js", "export default 1"),
            ("p-3_bg.wasm", "\0asm"),
            ("p-old_bg.wasm", "\0asm"),
            ("fr.json", "{}"),
            ("_headers", "/*"),
        ] {
            std::fs::write(dist.join(name), text).unwrap();
        }
        assert!(journey_files(&dist)
            .unwrap_err()
            .contains("sign-in-worker_loader.js"));
        let trunk_loader =
            "importScripts(\"./sign-in-worker.js\");wasm_bindgen(\"./sign-in-worker_bg.wasm\");";
        for (name, text) in [
            ("sign-in-worker_loader.js", trunk_loader),
            ("sign-in-worker.js", "x"),
            ("sign-in-worker_bg.wasm", "x"),
        ] {
            std::fs::write(dist.join(name), text).unwrap();
        }
        let names = file_names(&journey_files(&dist).unwrap());
        assert_eq!(
            names,
            [
                "index.html",
                "main-1.css",
                "p-2.js",
                "p-3_bg.wasm",
                "sign-in-worker.js",
                "sign-in-worker_bg.wasm",
                "sign-in-worker_loader.js"
            ]
        );
        let rows = journeys(&dist).unwrap();
        let js = rows.iter().find(|(k, _)| *k == "js").unwrap().1;
        assert_eq!(js.raw, "export default 1".len() + 1 + trunk_loader.len());
        // The worker named by content: the page's <meta> names the loader, which names the rest.
        for name in [
            "sign-in-worker_loader.js",
            "sign-in-worker.js",
            "sign-in-worker_bg.wasm",
        ] {
            std::fs::remove_file(dist.join(name)).unwrap();
        }
        for (name, text) in [
            (
                "sign-in-worker-aa_loader.js",
                "importScripts(\"./sign-in-worker-bb.js\");wasm_bindgen(\"./sign-in-worker-cc_bg.wasm\");",
            ),
            ("sign-in-worker-bb.js", "x"),
            ("sign-in-worker-cc_bg.wasm", "x"),
        ] {
            std::fs::write(dist.join(name), text).unwrap();
        }
        std::fs::write(
            dist.join("index.html"),
            format!(
                "{index}<meta name=\"sign-in-worker\" content=\"sign-in-worker-aa_loader.js\">"
            ),
        )
        .unwrap();
        let names = file_names(&sign_in_worker_files(&dist).unwrap());
        assert_eq!(
            names,
            [
                "sign-in-worker-aa_loader.js",
                "sign-in-worker-bb.js",
                "sign-in-worker-cc_bg.wasm"
            ]
        );
        std::fs::remove_dir_all(dist).unwrap();
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
