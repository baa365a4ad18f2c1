//! The portal deployed under a sub-path (`/portal/`) from the build made for the origin's root.
//! Trunk writes the public URL (`--public-url`, `public_url` in Trunk.toml) into `index.html`
//! alone: its `<base href>` and the address of each file it loads (`/name` becomes
//! `/portal/name`). Every other file of `dist/` is the same for any public URL (the sign-in
//! worker's loader names its files relative to itself, the wasm-bindgen glue is given its
//! wasm's address by the page), and the portal derives every address it writes from
//! `document.baseURI`. So [`rebase_index`] turns the one build into the other.
//!
//! Pure, no dependency: the dev tenant serves a sub-path with it (`--base-path`), and
//! `cargo xtask build --public-url` compiles this same file (`#[path]`).

/// `/portal/` from `/portal`, `portal/` or `/portal/`: the path with one leading and one
/// trailing slash. Refused: anything but unreserved URL characters and `/` (no query, no
/// fragment, no percent-encoding, no dot segments, no empty segment).
pub fn normalize(public_url: &str) -> Result<String, String> {
    let trimmed = public_url.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok("/".into());
    }
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s != "."
            && s != ".."
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
    };
    if !trimmed.split('/').all(segment_ok) {
        return Err(format!(
            "{public_url:?} is not a plain path (letters, digits, `-._~` and `/` only, no empty \
             or dot segment)"
        ));
    }
    Ok(format!("/{trimmed}/"))
}

/// The public URL a built `index.html` was made for: its `<base href>` (`/` without one).
pub fn public_url_of(html: &str) -> String {
    let Some(at) = html.find("<base href=") else {
        return "/".into();
    };
    let value = &html[at + "<base href=".len()..];
    let value = value.trim_start_matches(['"', '\'']);
    let end = value
        .find(|c: char| c == '"' || c == '\'' || c == '>' || c.is_whitespace())
        .unwrap_or(value.len());
    normalize(&value[..end]).unwrap_or_else(|_| "/".into())
}

/// The `<base>` tag trunk writes for the root, minified and not.
const ROOT_BASES: [&str; 2] = ["<base href=/>", "<base href=\"/\">"];

/// Characters that may stand right before and right after a file's address in trunk's
/// `index.html` (attribute values quoted or not, the bootstrap script's string literals).
const BEFORE: &[char] = &['"', '\'', '`', '='];
const AFTER: &[char] = &['"', '\'', '`', '>', ' ', '\t', '\n', '\r'];

/// `index.html` of a build made for `/`, rewritten for `public_url` (normalized, see
/// [`normalize`]): its `<base href>` and every address `/name` of one of `files` (the names of
/// the files beside it). Errors when the page was not built for `/` (no root `<base>`, or more
/// than one) or names none of `files`.
pub fn rebase_index(html: &str, public_url: &str, files: &[String]) -> Result<String, String> {
    let base = ROOT_BASES
        .iter()
        .map(|tag| (tag, html.matches(tag).count()))
        .find(|(_, count)| *count > 0);
    let tag =
        match base {
            Some((tag, 1)) => *tag,
            Some((tag, n)) => return Err(format!("index.html has {n} `{tag}` tags")),
            None => return Err(
                "index.html has no `<base href=\"/\">`: it was not built for the public URL `/`"
                    .into(),
            ),
        };
    if public_url == "/" {
        return Ok(html.to_string());
    }
    let html = html.replacen(tag, &tag.replace('/', public_url), 1);
    // Longest names first, so that no name is taken for the start of a longer one.
    let mut names: Vec<&String> = files.iter().filter(|n| !n.is_empty()).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = String::with_capacity(html.len() + 16 * names.len());
    let mut rewritten = 0;
    let mut at = 0;
    let bytes = html.as_bytes();
    while at < html.len() {
        let found = (bytes[at] == b'/' && at > 0 && html[..at].ends_with(BEFORE))
            .then(|| {
                names.iter().find(|name| {
                    let end = at + 1 + name.len();
                    html[at + 1..].starts_with(name.as_str())
                        && (end == html.len() || html[end..].starts_with(AFTER))
                })
            })
            .flatten();
        match found {
            Some(name) => {
                out.push_str(public_url);
                out.push_str(name);
                at += 1 + name.len();
                rewritten += 1;
            }
            None => {
                let next = html[at..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&html[at..at + next]);
                at += next;
            }
        }
    }
    if rewritten == 0 {
        return Err("index.html names none of the files beside it".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of trunk 0.22's minified release `index.html` for `/`.
    const ROOT: &str = "<!doctype html><html lang=en><meta charset=utf-8><title>Teams App Portal</title><base href=/><link href=data:, rel=icon><link href=/main-7a26.css integrity=sha384-N rel=stylesheet><script type=module>import init,*as bindings from\"/teams-app-portal-8d08.js\";const wasm=await init({module_or_path:`/teams-app-portal-8c9b_bg.wasm`});window.wasmBindings=bindings;</script><link crossorigin href=/teams-app-portal-8d08.js integrity=sha384-O rel=modulepreload><link as=fetch crossorigin href=/teams-app-portal-8c9b_bg.wasm rel=preload type=application/wasm></head><body><noscript>/main-7a26.css</noscript></body></html>";

    fn files() -> Vec<String> {
        [
            "main-7a26.css",
            "teams-app-portal-8d08.js",
            "teams-app-portal-8c9b_bg.wasm",
            "sign-in-worker.js",
            "fr.json",
        ]
        .map(String::from)
        .to_vec()
    }

    #[test]
    fn public_urls_are_plain_paths_with_both_slashes() {
        assert_eq!(normalize("/portal").unwrap(), "/portal/");
        assert_eq!(normalize("portal/").unwrap(), "/portal/");
        assert_eq!(normalize("/a/b-c_d.e~/").unwrap(), "/a/b-c_d.e~/");
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("").unwrap(), "/");
        for bad in [
            "/a//b/",
            "/../x/",
            "/a/./b",
            "/a b/",
            "/a?x/",
            "/a%20b/",
            "https://x/",
        ] {
            assert!(normalize(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_base_and_every_file_address_move_under_the_public_url_and_nothing_else() {
        let html = rebase_index(ROOT, "/portal/", &files()).unwrap();
        assert_eq!(
            html,
            ROOT.replace("<base href=/>", "<base href=/portal/>")
                .replace("=/main", "=/portal/main")
                .replace("\"/teams", "\"/portal/teams")
                .replace("`/teams", "`/portal/teams")
                .replace("=/teams", "=/portal/teams")
        );
        // Text that merely names a file (not an address) stays.
        assert!(html.contains("<noscript>/main-7a26.css</noscript>"));
        assert!(!html.contains("=/teams") && !html.contains("\"/teams"));
        assert_eq!(html.matches("/portal/").count(), 6);
    }

    #[test]
    fn the_root_is_the_build_itself_and_other_builds_are_refused() {
        assert_eq!(rebase_index(ROOT, "/", &files()).unwrap(), ROOT);
        let quoted = ROOT.replace("<base href=/>", "<base href=\"/\">");
        assert!(rebase_index(&quoted, "/p/", &files())
            .unwrap()
            .contains("<base href=\"/p/\">"));
        let rebased = rebase_index(ROOT, "/portal/", &files()).unwrap();
        assert!(rebase_index(&rebased, "/other/", &files()).is_err());
        assert!(rebase_index("<base href=/><p>nothing</p>", "/p/", &files()).is_err());
        let twice = format!("{ROOT}<base href=/>");
        assert!(rebase_index(&twice, "/p/", &files()).is_err());
    }

    #[test]
    fn the_public_url_is_read_back_from_the_base() {
        assert_eq!(public_url_of(ROOT), "/");
        let rebased = rebase_index(ROOT, "/portal/", &files()).unwrap();
        assert_eq!(public_url_of(&rebased), "/portal/");
        assert_eq!(public_url_of("<base href=\"/a/b/\">"), "/a/b/");
        assert_eq!(public_url_of("<p>no base</p>"), "/");
    }

    #[test]
    fn a_name_that_starts_a_longer_one_is_not_taken_for_it() {
        let html = "<base href=/><script src=/a.js></script><script src=/a.js.map></script>";
        let files = vec!["a.js".to_string(), "a.js.map".to_string()];
        assert_eq!(
            rebase_index(html, "/p/", &files).unwrap(),
            "<base href=/p/><script src=/p/a.js></script><script src=/p/a.js.map></script>"
        );
    }
}
