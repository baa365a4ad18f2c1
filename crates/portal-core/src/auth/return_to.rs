//! Where the portal sends the user back after a redirect: only a path of this origin, written
//! with exactly one leading `/`. Anything a browser could read as another origin (`//evil`,
//! `/\evil`, an absolute URL, a path hiding a tab or newline) falls back to `/`.

/// The landing path when `return_to` is refused.
pub const HOME: &str = "/";

/// `Some(path)` when `candidate` is a same-origin path (and optional query and fragment) with
/// exactly one leading `/`; `None` otherwise.
pub fn safe_return_to(candidate: &str) -> Option<&str> {
    let mut chars = candidate.chars();
    if chars.next() != Some('/') {
        return None;
    }
    if matches!(chars.next(), Some('/') | Some('\\')) {
        return None;
    }
    // Browsers treat `\` as `/` and drop tabs and newlines before parsing, so `/\t/evil` and
    // `/x\..\..\/evil`-like forms could turn into another origin: refuse them all.
    if candidate
        .chars()
        .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
    {
        return None;
    }
    Some(candidate)
}

/// `candidate` when it is safe, else [`HOME`].
pub fn return_to_or_home(candidate: &str) -> String {
    safe_return_to(candidate).unwrap_or(HOME).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_paths_with_one_leading_slash_pass() {
        let table: &[(&str, bool)] = &[
            ("/", true),
            ("/users", true),
            ("/users/0f1e?tab=apps&q=a%2Fb", true),
            ("/catalog#top", true),
            ("/a//b", true),
            ("//evil.example", false),
            ("//evil.example/users", false),
            ("/\\evil.example", false),
            ("/\\/evil.example", false),
            ("/users\\..\\x", false),
            ("/\t/evil.example", false),
            ("/\n/evil.example", false),
            ("/ /evil.example", false),
            ("https://evil.example/", false),
            ("http:/evil.example", false),
            ("javascript:alert(1)", false),
            ("evil.example", false),
            ("users", false),
            ("", false),
            (" /users", false),
        ];
        for (candidate, ok) in table {
            assert_eq!(safe_return_to(candidate).is_some(), *ok, "{candidate:?}");
        }
    }

    #[test]
    fn refused_paths_land_home() {
        assert_eq!(return_to_or_home("//evil.example"), "/");
        assert_eq!(return_to_or_home("/settings?x=1"), "/settings?x=1");
    }
}
