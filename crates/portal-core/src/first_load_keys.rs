// Which English messages the first load builds in (issue #10). Shared by portal-core's build
// script (through `include!`), which writes the first load's catalogue, and by the tests.

/// The sections only the full bundle shows (`locales/full-bundle-sections.txt`).
pub const FULL_BUNDLE_SECTIONS: &str = include_str!("../locales/full-bundle-sections.txt");

/// The section prefixes listed in `sections` (comments and blank lines skipped).
pub fn full_bundle_prefixes(sections: &str) -> Vec<&str> {
    sections
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// Whether the first load builds `key` in: every key but those of the full bundle's sections,
/// and the pages' titles whatever their section.
pub fn in_first_load(key: &str, prefixes: &[&str]) -> bool {
    let title = key.starts_with("page.") && key.ends_with(".title");
    title || !prefixes.iter().any(|prefix| key.starts_with(prefix))
}
