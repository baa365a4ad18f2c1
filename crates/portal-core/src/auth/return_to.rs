//! Where the portal sends the user back after a redirect: only a path of this origin, written
//! with exactly one leading `/`, under the path the portal is deployed at. Anything a browser
//! could read as another origin (`//evil`, `/\evil`, an absolute URL, a path hiding a tab or
//! newline), or a path outside the deployment, falls back to its home (`/`, `/portal/`).

/// The landing path when `return_to` is refused, for a portal deployed at the origin's root.
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
    return_to_under(candidate, HOME)
}

/// `candidate` when it is safe and under `home` (the deployment's home path with its trailing
/// slash: `/`, `/portal/`; the home without that slash counts too), else `home`.
pub fn return_to_under(candidate: &str, home: &str) -> String {
    let under = |path: &str| {
        path.starts_with(home) || home.strip_suffix('/').is_some_and(|bare| path == bare)
    };
    match safe_return_to(candidate) {
        Some(path) if under(path) => path.to_string(),
        _ => home.to_string(),
    }
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

    #[test]
    fn under_a_sub_path_only_its_own_paths_are_returned_to() {
        let home = "/portal/";
        assert_eq!(
            return_to_under("/portal/users?q=a", home),
            "/portal/users?q=a"
        );
        assert_eq!(return_to_under("/portal/", home), "/portal/");
        assert_eq!(return_to_under("/portal", home), "/portal");
        assert_eq!(return_to_under("/portalx/users", home), home);
        assert_eq!(return_to_under("/users", home), home);
        assert_eq!(return_to_under("/", home), home);
        assert_eq!(return_to_under("//evil.example/portal/", home), home);
        assert_eq!(return_to_under("/portal/\\evil", home), home);
    }
}
