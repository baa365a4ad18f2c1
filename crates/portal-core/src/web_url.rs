//! Absolute URLs, parsed by the WHATWG URL Standard: natively by the `url` crate (tests, the dev
//! tenant's tools), in the browser by the browser's own `URL` (issue #10: the `url` crate's
//! parser and tables would be in the bundle, and every browser ships the same standard's
//! parser; the figure is in `docs/performance.md`). Both backends are checked against one table
//! of cases, [`CASES`]: natively by `cargo test`, in Chromium by `tests/web.rs`.
//!
//! Hosts are ASCII on both: a host written with non-ASCII characters is refused (the native
//! backend has no IDNA tables, see portal-core's Cargo.toml), its Punycode form is accepted.

use std::fmt;

/// A parsed absolute URL: its serialisation (`href`) and the parts the portal reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebUrl {
    href: String,
    /// Without the trailing `:`, lowercase.
    scheme: String,
    username: String,
    /// `None` when empty.
    password: Option<String>,
    /// `None` when the URL has no host; IPv6 addresses keep their brackets.
    host: Option<String>,
    /// `None` for the scheme's default port.
    port: Option<u16>,
    path: String,
    /// Without the `?`; `None` when there is no `?`, `Some("")` for a bare `?`.
    query: Option<String>,
    /// Without the `#`; `None` when there is no `#`.
    fragment: Option<String>,
}

impl WebUrl {
    /// Parses an absolute URL; `None` when it is not one, or when its host is not ASCII.
    pub fn parse(input: &str) -> Option<WebUrl> {
        if !authority_is_ascii(input) {
            return None;
        }
        backend::parse(input).filter(|url| url.host.as_deref().is_none_or(is_plain_host))
    }

    /// The serialisation, as the standard writes it.
    pub fn as_str(&self) -> &str {
        &self.href
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    pub fn host_str(&self) -> Option<&str> {
        self.host.as_deref()
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    pub fn fragment(&self) -> Option<&str> {
        self.fragment.as_deref()
    }

    /// This URL with `pairs` appended to its query, encoded as
    /// `application/x-www-form-urlencoded` (what `url`'s `query_pairs_mut().append_pair` writes):
    /// after the existing query with `&`, before any fragment.
    pub fn with_query_pairs(&self, pairs: &[(&str, &str)]) -> String {
        let mut serializer = form_urlencoded::Serializer::new(String::new());
        for (name, value) in pairs {
            serializer.append_pair(name, value);
        }
        let added = serializer.finish();
        let (before_fragment, fragment) = match self.href.find('#') {
            Some(at) => self.href.split_at(at),
            None => (self.href.as_str(), ""),
        };
        let separator = match self.query.as_deref() {
            None => "?",
            Some("") => "",
            Some(_) => "&",
        };
        format!("{before_fragment}{separator}{added}{fragment}")
    }

    /// Builds from the parts a backend read. `password` and `host` empty mean absent.
    fn from_parts(href: String, parts: Parts) -> WebUrl {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        WebUrl {
            href,
            scheme: parts.scheme,
            username: parts.username,
            password: non_empty(parts.password),
            host: non_empty(parts.host),
            port: parts.port,
            path: parts.path,
            query: parts.query,
            fragment: parts.fragment,
        }
    }
}

impl fmt::Display for WebUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.href)
    }
}

/// What a backend reads from a parsed URL.
struct Parts {
    scheme: String,
    username: String,
    password: String,
    host: String,
    port: Option<u16>,
    path: String,
    query: Option<String>,
    fragment: Option<String>,
}

/// A DNS name or IP address written plainly: letters, digits, `-`, `.`, `_`, or a bracketed IPv6
/// address. Checked after both backends, because Chromium's `URL` accepts some hosts the
/// standard forbids (`https://exa mple.com/` becomes host `exa%20mple.com`), which `url` refuses.
fn is_plain_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    }
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// Whether the authority (after `scheme:` and any slashes or backslashes, which the standard
/// accepts in any number for `http` and `https`, up to the path, query or fragment) is ASCII;
/// true when there is no scheme.
fn authority_is_ascii(input: &str) -> bool {
    let Some((_, rest)) = input.trim().split_once(':') else {
        return true;
    };
    let rest = rest.trim_start_matches(['/', '\\']);
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    rest[..end].is_ascii()
}

#[cfg(not(target_arch = "wasm32"))]
mod backend {
    use super::{Parts, WebUrl};

    pub fn parse(input: &str) -> Option<WebUrl> {
        let url = url::Url::parse(input).ok()?;
        let parts = Parts {
            scheme: url.scheme().to_string(),
            username: url.username().to_string(),
            password: url.password().unwrap_or_default().to_string(),
            host: url.host_str().unwrap_or_default().to_string(),
            port: url.port(),
            path: url.path().to_string(),
            query: url.query().map(str::to_string),
            fragment: url.fragment().map(str::to_string),
        };
        Some(WebUrl::from_parts(url.to_string(), parts))
    }
}

#[cfg(target_arch = "wasm32")]
mod backend {
    use super::{Parts, WebUrl};

    /// The browser's `URL` (window or worker). Its `search` and `hash` are empty both for no
    /// `?`/`#` and for a bare one, so presence is read from `href`: a parsed URL's path cannot
    /// hold a raw `?` or `#`, nor its query a raw `#`.
    pub fn parse(input: &str) -> Option<WebUrl> {
        let url = web_sys::Url::new(input).ok()?;
        let href = url.href();
        let (before_fragment, fragment) = match href.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment.to_string())),
            None => (href.as_str(), None),
        };
        let query = before_fragment
            .split_once('?')
            .map(|(_, query)| query.to_string());
        let port = url.port();
        let parts = Parts {
            scheme: url.protocol().trim_end_matches(':').to_string(),
            username: url.username(),
            password: url.password(),
            host: url.hostname(),
            port: if port.is_empty() {
                None
            } else {
                Some(port.parse().ok()?)
            },
            path: url.pathname(),
            query,
            fragment,
        };
        Some(WebUrl::from_parts(href, parts))
    }
}

/// One case both backends must read the same way.
pub struct Case {
    pub input: &'static str,
    /// `None`: not a URL (or a non-ASCII host).
    pub expected: Option<Expected>,
}

/// What a case must read as.
pub struct Expected {
    pub href: &'static str,
    pub scheme: &'static str,
    pub username: &'static str,
    pub password: Option<&'static str>,
    pub host: Option<&'static str>,
    pub port: Option<u16>,
    pub path: &'static str,
    pub query: Option<&'static str>,
    pub fragment: Option<&'static str>,
}

const fn url(
    href: &'static str,
    scheme: &'static str,
    host: Option<&'static str>,
    path: &'static str,
) -> Expected {
    Expected {
        href,
        scheme,
        username: "",
        password: None,
        host,
        port: None,
        path,
        query: None,
        fragment: None,
    }
}

/// The inputs the portal meets (config.json's addresses, discovery's endpoints) and the edges of
/// its rules (loopback, userinfo, bare `?`/`#`, non-ASCII hosts, relative references).
pub const CASES: &[Case] = &[
    Case {
        input: "https://login.microsoftonline.com",
        expected: Some(url(
            "https://login.microsoftonline.com/",
            "https",
            Some("login.microsoftonline.com"),
            "/",
        )),
    },
    Case {
        input: "  HTTPS://Portal.Contoso.COM/callback  ",
        expected: Some(url(
            "https://portal.contoso.com/callback",
            "https",
            Some("portal.contoso.com"),
            "/callback",
        )),
    },
    Case {
        input: "http://127.0.0.1:8080/",
        expected: Some(Expected {
            port: Some(8080),
            ..url("http://127.0.0.1:8080/", "http", Some("127.0.0.1"), "/")
        }),
    },
    Case {
        input: "https://graph.microsoft.com:443/",
        expected: Some(url(
            "https://graph.microsoft.com/",
            "https",
            Some("graph.microsoft.com"),
            "/",
        )),
    },
    Case {
        input: "http://[::1]:3000/x",
        expected: Some(Expected {
            port: Some(3000),
            ..url("http://[::1]:3000/x", "http", Some("[::1]"), "/x")
        }),
    },
    Case {
        input: "https://graph.microsoft.com/?x=1",
        expected: Some(Expected {
            query: Some("x=1"),
            ..url(
                "https://graph.microsoft.com/?x=1",
                "https",
                Some("graph.microsoft.com"),
                "/",
            )
        }),
    },
    Case {
        input: "https://portal.contoso.com/?",
        expected: Some(Expected {
            query: Some(""),
            ..url(
                "https://portal.contoso.com/?",
                "https",
                Some("portal.contoso.com"),
                "/",
            )
        }),
    },
    Case {
        input: "https://portal.contoso.com/#",
        expected: Some(Expected {
            fragment: Some(""),
            ..url(
                "https://portal.contoso.com/#",
                "https",
                Some("portal.contoso.com"),
                "/",
            )
        }),
    },
    Case {
        input: "https://portal.contoso.com/a b?c d#e f",
        expected: Some(Expected {
            query: Some("c%20d"),
            fragment: Some("e%20f"),
            ..url(
                "https://portal.contoso.com/a%20b?c%20d#e%20f",
                "https",
                Some("portal.contoso.com"),
                "/a%20b",
            )
        }),
    },
    Case {
        input: "https://user:secret@login.microsoftonline.com/",
        expected: Some(Expected {
            username: "user",
            password: Some("secret"),
            ..url(
                "https://user:secret@login.microsoftonline.com/",
                "https",
                Some("login.microsoftonline.com"),
                "/",
            )
        }),
    },
    Case {
        input: "https://xn--portl-jua.contoso.com/",
        expected: Some(url(
            "https://xn--portl-jua.contoso.com/",
            "https",
            Some("xn--portl-jua.contoso.com"),
            "/",
        )),
    },
    Case {
        input: "https://port\u{e4}l.contoso.com/",
        expected: None,
    },
    Case {
        input: "https:\\\\port\u{e4}l.contoso.com/",
        expected: None,
    },
    Case {
        input: "https:port\u{e4}l.contoso.com/",
        expected: None,
    },
    Case {
        input: "https:\\\\portal.contoso.com\\callback",
        expected: Some(url(
            "https://portal.contoso.com/callback",
            "https",
            Some("portal.contoso.com"),
            "/callback",
        )),
    },
    Case {
        input: "/relative",
        expected: None,
    },
    Case {
        input: "https://",
        expected: None,
    },
    Case {
        input: "not a url",
        expected: None,
    },
    Case {
        input: "https://exa mple.com/",
        expected: None,
    },
    Case {
        input: "https://exa%20mple.com/",
        expected: None,
    },
    Case {
        input: "https://a!b.example/",
        expected: None,
    },
    Case {
        input: "https://example.com:99999/",
        expected: None,
    },
];

/// The differences between what `WebUrl::parse` reads from each case and what it must read, one
/// line each; empty when every case holds. Run on [`CASES`] by both backends' tests.
pub fn check_cases(cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let got = WebUrl::parse(case.input);
        match (&case.expected, got) {
            (None, None) => {}
            (None, Some(url)) => failures.push(format!("{:?}: read as {url:?}", case.input)),
            (Some(_), None) => failures.push(format!("{:?}: refused", case.input)),
            (Some(expected), Some(url)) => {
                let wanted = WebUrl {
                    href: expected.href.into(),
                    scheme: expected.scheme.into(),
                    username: expected.username.into(),
                    password: expected.password.map(Into::into),
                    host: expected.host.map(Into::into),
                    port: expected.port,
                    path: expected.path.into(),
                    query: expected.query.map(Into::into),
                    fragment: expected.fragment.map(Into::into),
                };
                if url != wanted {
                    failures.push(format!(
                        "{:?}: read as {url:?}, expected {wanted:?}",
                        case.input
                    ));
                }
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_native_backend_reads_every_case() {
        let failures = check_cases(CASES);
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn a_case_read_differently_is_reported() {
        let wrong = [
            Case {
                input: "https://a.example/",
                expected: Some(url("https://a.example/", "https", Some("b.example"), "/")),
            },
            Case {
                input: "https://a.example/",
                expected: None,
            },
            Case {
                input: "/relative",
                expected: Some(url("/relative", "https", None, "/relative")),
            },
        ];
        let failures = check_cases(&wrong);
        assert_eq!(failures.len(), 3, "{failures:#?}");
        assert!(failures[0].contains("b.example"));
        assert!(failures[2].contains("refused"));
    }

    #[test]
    fn query_pairs_are_appended_before_the_fragment() {
        let url = WebUrl::parse("https://login.example/logout").expect("a URL");
        assert_eq!(
            url.with_query_pairs(&[("post_logout_redirect_uri", "https://p.example/a b"), ("x", "é&=")]),
            "https://login.example/logout?post_logout_redirect_uri=https%3A%2F%2Fp.example%2Fa+b&x=%C3%A9%26%3D"
        );
        let with_query = WebUrl::parse("https://login.example/logout?p=1#top").expect("a URL");
        assert_eq!(
            with_query.with_query_pairs(&[("client_id", "c")]),
            "https://login.example/logout?p=1&client_id=c#top"
        );
        let bare = WebUrl::parse("https://login.example/logout?").expect("a URL");
        assert_eq!(
            bare.with_query_pairs(&[("client_id", "c")]),
            "https://login.example/logout?client_id=c"
        );
    }

    /// The same appends through `url`'s own `query_pairs_mut`, which this replaces (natively:
    /// `url` is no dependency in wasm).
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn appending_matches_the_url_crate() {
        for base in [
            "https://login.example/logout",
            "https://login.example/logout?p=1",
            "https://login.example/logout?p=1#top",
            "https://login.example/logout#top",
        ] {
            let pairs = [("id_token_hint", "a.b.c"), ("logout_hint", "m@contoso.com")];
            let mut reference = url::Url::parse(base).expect("a URL");
            reference
                .query_pairs_mut()
                .append_pair(pairs[0].0, pairs[0].1)
                .append_pair(pairs[1].0, pairs[1].1);
            let ours = WebUrl::parse(base).expect("a URL").with_query_pairs(&pairs);
            assert_eq!(ours, reference.to_string(), "{base}");
        }
    }
}
