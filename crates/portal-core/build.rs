//! Writes the first load's English catalogue (`$OUT_DIR/en-first-load.json`): `locales/en.json`
//! without the sections only the full bundle shows (see `src/first_load_keys.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;

include!("src/first_load_keys.rs");

fn main() -> Result<(), String> {
    println!("cargo::rerun-if-changed=locales/en.json");
    println!("cargo::rerun-if-changed=locales/full-bundle-sections.txt");
    println!("cargo::rerun-if-changed=src/first_load_keys.rs");
    let en = std::fs::read_to_string("locales/en.json")
        .map_err(|e| format!("cannot read locales/en.json: {e}"))?;
    let all: BTreeMap<String, String> = serde_json::from_str(&en)
        .map_err(|e| format!("locales/en.json is not a flat object of strings: {e}"))?;
    let prefixes = full_bundle_prefixes(FULL_BUNDLE_SECTIONS);
    let kept: BTreeMap<&String, &String> = all
        .iter()
        .filter(|(key, _)| in_first_load(key, &prefixes))
        .collect();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("cargo did not set OUT_DIR")?)
        .join("en-first-load.json");
    let text = serde_json::to_string(&kept).map_err(|e| e.to_string())?;
    std::fs::write(&out, text).map_err(|e| format!("cannot write {}: {e}", out.display()))
}
