//! Writes the first load's English catalogue (`$OUT_DIR/en-first-load.json`): `locales/en.json`
//! without the sections only the full bundle shows (see `src/first_load_keys.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;

include!("src/first_load_keys.rs");

fn main() {
    println!("cargo::rerun-if-changed=locales/en.json");
    println!("cargo::rerun-if-changed=locales/full-bundle-sections.txt");
    println!("cargo::rerun-if-changed=src/first_load_keys.rs");
    let en = std::fs::read_to_string("locales/en.json").expect("locales/en.json is readable");
    let all: BTreeMap<String, String> =
        serde_json::from_str(&en).expect("locales/en.json is a flat object of strings");
    let prefixes = full_bundle_prefixes(FULL_BUNDLE_SECTIONS);
    let kept: BTreeMap<&String, &String> = all
        .iter()
        .filter(|(key, _)| in_first_load(key, &prefixes))
        .collect();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("en-first-load.json");
    let text = serde_json::to_string(&kept).expect("a map of strings serialises");
    std::fs::write(out, text).expect("OUT_DIR is writable");
}
