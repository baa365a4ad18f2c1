//! The portal's languages and their message catalogues (`locales/*.json`, flat `key: text` maps
//! compiled into the binary). Interpolation is `{name}`; plurals are `key.one` / `key.other`
//! chosen by each language's rule. No dependency: the whole layer costs a few KB of wasm.

use std::sync::OnceLock;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// A language the portal is translated into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English (the fallback).
    En,
    /// French.
    Fr,
}

const EN_SOURCE: &str = include_str!("../locales/en.json");
/// French is built in natively (tests, tools); in the browser it is not in the binary: the
/// portal fetches `fr.json` when French is chosen and installs it with [`Lang::install`].
#[cfg(not(target_arch = "wasm32"))]
const FR_SOURCE: Option<&str> = Some(include_str!("../locales/fr.json"));
#[cfg(target_arch = "wasm32")]
const FR_SOURCE: Option<&str> = None;

/// A parsed message catalogue: `(key, message)` pairs sorted by key, looked up by binary
/// search. A sorted list rather than a `BTreeMap` (issue #10): the bundle then carries no
/// B-tree map of strings, and a catalogue is built once and only read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalogue(Vec<(String, String)>);

impl Catalogue {
    /// Adds or replaces (the last of two equal keys wins, as in a JSON object read into a map).
    pub fn insert(&mut self, key: String, message: String) {
        match self.position(&key) {
            Ok(at) => self.0[at].1 = message,
            Err(at) => self.0.insert(at, (key, message)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&String> {
        self.position(key).ok().map(|at| &self.0[at].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.0.iter().map(|(key, _)| key)
    }

    /// `(key, message)` pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().map(|(key, message)| (key, message))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }
}

impl IntoIterator for Catalogue {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl std::ops::Index<&str> for Catalogue {
    type Output = String;

    /// Panics when `key` is missing (tests only: the portal uses [`Catalogue::get`]).
    fn index(&self, key: &str) -> &String {
        match self.get(key) {
            Some(message) => message,
            None => panic!("no message {key:?}"),
        }
    }
}

/// A JSON object of string values, read pair by pair into the sorted list (no intermediate map).
impl<'de> Deserialize<'de> for Catalogue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Catalogue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of messages")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Catalogue, A::Error> {
                let mut catalogue = Catalogue::default();
                while let Some((key, message)) = map.next_entry::<String, String>()? {
                    catalogue.insert(key, message);
                }
                Ok(catalogue)
            }
        }
        deserializer.deserialize_map(Pairs)
    }
}

impl Lang {
    /// Every language, in the order the switcher shows them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// BCP 47 primary tag (`en`, `fr`), also used for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name, shown in the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
        }
    }

    /// Matches a language tag such as `fr-CA` or `EN_us` by its primary subtag.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("");
        Lang::ALL
            .into_iter()
            .find(|lang| lang.tag().eq_ignore_ascii_case(primary))
    }

    /// The first supported language in the browser's preference list, else English.
    pub fn negotiate<S: AsRef<str>>(preferences: &[S]) -> Lang {
        preferences
            .iter()
            .find_map(|tag| Lang::from_tag(tag.as_ref()))
            .unwrap_or(Lang::En)
    }

    /// The raw JSON source of this language's catalogue when it is built in (English always;
    /// French only outside the browser).
    pub fn source(self) -> Option<&'static str> {
        match self {
            Lang::En => Some(EN_SOURCE),
            Lang::Fr => FR_SOURCE,
        }
    }

    /// The file the browser fetches this language's catalogue from, when it is not built in.
    pub fn catalogue_file(self) -> String {
        format!("{}.json", self.tag())
    }

    fn cell(self) -> &'static OnceLock<Catalogue> {
        static EN: OnceLock<Catalogue> = OnceLock::new();
        static FR: OnceLock<Catalogue> = OnceLock::new();
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
        }
    }

    /// The parsed catalogue, once it is built in or installed (parsed once, on first use).
    pub fn catalogue(self) -> Option<&'static Catalogue> {
        let cell = self.cell();
        if let Some(catalogue) = cell.get() {
            return Some(catalogue);
        }
        // A catalogue that does not parse is caught by the native tests; at run time it
        // degrades to showing English (or keys) rather than panicking.
        let source = self.source()?;
        Some(cell.get_or_init(|| parse_catalogue(source).unwrap_or_default()))
    }

    /// Whether this language's messages are at hand (built in or installed).
    pub fn is_loaded(self) -> bool {
        self.catalogue().is_some()
    }

    /// Installs a catalogue fetched at run time; the first one installed stays.
    pub fn install(self, source: &str) -> Result<(), String> {
        let catalogue = parse_catalogue(source)?;
        let _ = self.cell().set(catalogue);
        Ok(())
    }

    /// Plural category for `n` (`one` or `other`): French counts 0 and 1 as singular.
    pub fn plural_category(self, n: u64) -> &'static str {
        match (self, n) {
            (Lang::En, 1) | (Lang::Fr, 0 | 1) => "one",
            _ => "other",
        }
    }

    /// The message for `key`, falling back to English, then to the key itself.
    pub fn t(self, key: &str) -> &str {
        self.catalogue()
            .and_then(|c| c.get(key))
            .or_else(|| Lang::En.catalogue().and_then(|c| c.get(key)))
            .map(String::as_str)
            .unwrap_or(key)
    }

    /// The message for `key` with `{name}` placeholders replaced.
    pub fn tf(self, key: &str, args: &[(&str, &str)]) -> String {
        interpolate(self.t(key), args)
    }

    /// The plural form of `key` for `n`, with `{count}` and the other placeholders replaced.
    pub fn tp(self, key: &str, n: u64, args: &[(&str, &str)]) -> String {
        let full_key = format!("{key}.{}", self.plural_category(n));
        let count = n.to_string();
        let mut all = vec![("count", count.as_str())];
        all.extend_from_slice(args);
        interpolate(self.t(&full_key), &all)
    }
}

/// Parses a catalogue: a JSON object of string values.
pub fn parse_catalogue(source: &str) -> Result<Catalogue, String> {
    serde_json::from_str::<Catalogue>(source).map_err(|err| err.to_string())
}

/// Replaces `{name}` with its value; unknown placeholders are left as they are.
pub fn interpolate(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                match args.iter().find(|(arg, _)| *arg == name) {
                    Some((_, value)) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{placeholder}` names a message uses (identifiers only: literal braces around other text
/// are not placeholders), sorted and without duplicates.
pub fn placeholders(message: &str) -> Vec<String> {
    let is_identifier = |name: &str| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let mut names: Vec<String> = message
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .filter(|name| is_identifier(name))
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_catalogue_reads_any_order_and_the_last_of_two_equal_keys_wins() {
        let catalogue = parse_catalogue(r#"{"b.x": "B", "a.x": "A", "c": "C", "b.x": "B2"}"#)
            .expect("a catalogue");
        assert_eq!(catalogue.len(), 3);
        assert_eq!(
            catalogue.keys().map(String::as_str).collect::<Vec<_>>(),
            ["a.x", "b.x", "c"]
        );
        assert_eq!(catalogue.get("b.x").map(String::as_str), Some("B2"));
        assert!(catalogue.contains_key("c"));
        assert_eq!(catalogue.get("d"), None);
        assert!(parse_catalogue(r#"["a"]"#).is_err());
        assert!(parse_catalogue(r#"{"a": 1}"#).is_err());
    }

    use super::*;

    #[test]
    fn negotiation_follows_browser_preferences() {
        assert_eq!(Lang::negotiate(&["fr-CA", "en-US"]), Lang::Fr);
        assert_eq!(Lang::negotiate(&["de-DE", "en-GB"]), Lang::En);
        assert_eq!(Lang::negotiate(&["de-DE"]), Lang::En);
        assert_eq!(Lang::negotiate::<&str>(&[]), Lang::En);
        assert_eq!(Lang::from_tag("FR"), Some(Lang::Fr));
        assert_eq!(Lang::from_tag("fr_BE"), Some(Lang::Fr));
        assert_eq!(Lang::from_tag("fy"), None);
    }

    #[test]
    fn interpolation_replaces_known_and_keeps_unknown() {
        assert_eq!(
            interpolate("Hi {name}, {x}", &[("name", "Zoë")]),
            "Hi Zoë, {x}"
        );
        assert_eq!(interpolate("open { brace", &[]), "open { brace");
        assert_eq!(placeholders("{b} and {a} and {b}"), vec!["a", "b"]);
        assert!(placeholders("{ \"field\": value }").is_empty());
    }

    #[test]
    fn french_plural_rule_counts_zero_as_singular() {
        assert_eq!(Lang::Fr.plural_category(0), "one");
        assert_eq!(Lang::En.plural_category(0), "other");
        assert_eq!(Lang::En.plural_category(1), "one");
        assert_eq!(Lang::Fr.plural_category(2), "other");
    }

    #[test]
    fn missing_key_falls_back_to_the_key() {
        assert_eq!(Lang::Fr.t("no.such.key"), "no.such.key");
    }
}
