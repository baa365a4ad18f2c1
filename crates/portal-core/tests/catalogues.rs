//! The i18n catalogues are complete: every key exists in every language with the same
//! placeholders, every key the code uses exists, and no key is left unused.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use portal_core::i18n::{parse_catalogue, placeholders, Catalogue};
use portal_core::Lang;

fn catalogue(lang: Lang) -> Catalogue {
    parse_catalogue(lang.source().expect("every catalogue is built in natively"))
        .unwrap_or_else(|err| panic!("{} catalogue is not valid: {err}", lang.tag()))
}

/// Keys whose text is legitimately the same in French and English.
const SAME_IN_BOTH: [&str; 7] = [
    // Graph's permission kind, the same word in both languages.
    "rsc.application",
    "page.settings.session",
    "header.cloud",
    "nav.audit",
    "nav.label",
    "page.audit.title",
    "page.settings.cloud",
];

#[test]
fn every_language_has_every_key() {
    let en = catalogue(Lang::En);
    for lang in Lang::ALL {
        let other = catalogue(lang);
        let missing: Vec<_> = en.keys().filter(|k| !other.contains_key(k)).collect();
        let extra: Vec<_> = other.keys().filter(|k| !en.contains_key(k)).collect();
        assert!(missing.is_empty(), "{} lacks keys {missing:?}", lang.tag());
        assert!(
            extra.is_empty(),
            "{} has keys English lacks: {extra:?}",
            lang.tag()
        );
    }
}

#[test]
fn no_message_is_empty_and_placeholders_agree() {
    let en = catalogue(Lang::En);
    for lang in Lang::ALL {
        for (key, text) in catalogue(lang) {
            assert!(!text.trim().is_empty(), "{}:{key} is empty", lang.tag());
            assert_eq!(
                placeholders(&text),
                placeholders(&en[&key]),
                "{}:{key} has other placeholders than English",
                lang.tag()
            );
        }
    }
}

#[test]
fn french_is_translated() {
    let en = catalogue(Lang::En);
    let fr = catalogue(Lang::Fr);
    let untranslated: Vec<_> = fr
        .iter()
        .filter(|(key, text)| en[*key] == **text && !SAME_IN_BOTH.contains(&key.as_str()))
        .map(|(key, _)| key)
        .collect();
    assert!(
        untranslated.is_empty(),
        "French repeats the English text of {untranslated:?}"
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Source of the SPA and of this crate (minus tests, which use made-up keys on purpose).
fn sources() -> Vec<(PathBuf, String)> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&crate_dir.join("src"), &mut files);
    rust_files(&crate_dir.join("../../src"), &mut files);
    assert!(
        files.len() > 10,
        "sources not found from {}",
        crate_dir.display()
    );
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            (path, text)
        })
        .collect()
}

/// String literals that look like catalogue keys (`a.b`, lowercase, no spaces).
fn key_like_literals(text: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for (i, part) in text.split('"').enumerate() {
        let looks_like_key = i % 2 == 1
            && part.contains('.')
            && part
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
            && part.split('.').all(|seg| !seg.is_empty());
        if looks_like_key {
            keys.insert(part.to_string());
        }
    }
    keys
}

/// Literals passed directly to `t(`, `tf(`, `tp(` or `text(`, and `key=`/`what_key=` props.
fn called_keys(text: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for marker in [".t(\"", ".tf(\"", ".tp(\"", ".text(\"", "key=\""] {
        let mut chunks = text.split(marker);
        let mut before = chunks.next().unwrap_or("");
        for chunk in chunks {
            // A `key="..."` prop follows whitespace or `what_`; prose like `key="value"` does not.
            let prop = !marker.starts_with("key")
                || before.ends_with(char::is_whitespace)
                || before.ends_with('_');
            if let (true, Some((key, _))) = (prop, chunk.split_once('"')) {
                keys.insert(key.to_string());
            }
            before = chunk;
        }
    }
    keys
}

#[test]
fn every_key_the_code_uses_exists() {
    let en = catalogue(Lang::En);
    for (path, text) in sources() {
        for key in called_keys(&text) {
            assert!(
                en.contains_key(&key),
                "{} uses missing key {key:?}",
                path.display()
            );
        }
    }
}

#[test]
fn every_key_is_used_somewhere() {
    let mut literals = BTreeSet::new();
    for (_, text) in sources() {
        literals.extend(key_like_literals(&text));
    }
    let unused: Vec<_> = catalogue(Lang::En)
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| {
            // Plural forms are looked up through their base key.
            let base = key
                .strip_suffix(".one")
                .or_else(|| key.strip_suffix(".other"))
                .unwrap_or(key);
            !literals.contains(key) && !literals.contains(base)
        })
        .collect();
    assert!(unused.is_empty(), "keys no code uses: {unused:?}");
}
