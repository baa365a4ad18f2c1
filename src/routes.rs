//! Every page of the portal, written once: [`PAGES`] holds each page's route pattern, its title
//! and navigation keys, and who the navigation shows it to. The router (`shell.rs`), the
//! navigation, Home's section list, every link ([`Route::href`]) and the tests are derived from
//! it; a page added to [`PageId`] needs its row here (checked when compiling) and its view in
//! `shell.rs` (an exhaustive `match`).
//!
//! Addresses carry the path the portal is deployed under ([`base_path`], from the built
//! `index.html`'s `<base href>`), so one build serves `/` or `/portal/` alike: the router's
//! patterns ([`Pattern`]) and every link are prefixed with it, and every address the portal
//! writes (links, `navigate`) is a full path.

use std::sync::OnceLock;

use leptos_router::{
    ParamSegment, PartialPathMatch, PathSegment, PossibleRouteMatch, StaticSegment,
};
use portal_core::graph::encode::path_segment;

use crate::auth::AuthStatus;

/// A page of the portal (its row in [`PAGES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageId {
    Home,
    Users,
    User,
    Catalog,
    App,
    MyApps,
    Jobs,
    Audit,
    Settings,
}

/// Who the navigation shows a page to. Every page's address works for everyone: the page says
/// itself what signing in or a role would give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Signed out, members and administrators.
    Everyone,
    /// Administrators (Teams or Global Administrator, from the ID token's `wids`), and whoever
    /// is not signed in yet (their role is not known).
    Administrators,
}

/// Who is looking at the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    SignedOut,
    Member,
    Administrator,
}

impl Viewer {
    /// The viewer of a session status (starting, failed or refused count as signed out).
    pub fn of(status: &AuthStatus) -> Viewer {
        match status {
            AuthStatus::SignedIn(account) if account.is_admin() => Viewer::Administrator,
            AuthStatus::SignedIn(_) => Viewer::Member,
            _ => Viewer::SignedOut,
        }
    }
}

impl Audience {
    pub fn includes(self, viewer: Viewer) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::Administrators => viewer != Viewer::Member,
        }
    }
}

/// One page: where it is, what it is called, and whether the navigation lists it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub id: PageId,
    /// The router's pattern below the base path: static segments and `:name` parameters.
    pub pattern: &'static str,
    /// The page's `<h1>` and `document.title` (the router shows it above the page).
    pub title_key: &'static str,
    /// The navigation's entry (its name key, and who sees it); `None` for pages reached by a
    /// link (one user, one app).
    pub nav: Option<(&'static str, Audience)>,
}

/// Every page, in [`PageId`] order, which is also the navigation's order.
pub const PAGES: [Page; 9] = [
    Page {
        id: PageId::Home,
        pattern: "/",
        title_key: "page.home.title",
        nav: Some(("nav.home", Audience::Everyone)),
    },
    Page {
        id: PageId::Users,
        pattern: "/users",
        title_key: "page.users.title",
        nav: Some(("nav.users", Audience::Administrators)),
    },
    Page {
        id: PageId::User,
        pattern: "/users/:user_id",
        title_key: "page.user_detail.title",
        nav: None,
    },
    Page {
        id: PageId::Catalog,
        pattern: "/catalog",
        title_key: "page.catalog.title",
        nav: Some(("nav.catalog", Audience::Everyone)),
    },
    Page {
        id: PageId::App,
        pattern: "/catalog/:app_id",
        title_key: "page.app_detail.title",
        nav: None,
    },
    Page {
        id: PageId::MyApps,
        pattern: "/my-apps",
        title_key: "page.my_apps.title",
        nav: Some(("nav.my_apps", Audience::Everyone)),
    },
    Page {
        id: PageId::Jobs,
        pattern: "/jobs",
        title_key: "page.jobs.title",
        nav: Some(("nav.jobs", Audience::Administrators)),
    },
    Page {
        id: PageId::Audit,
        pattern: "/audit",
        title_key: "page.audit.title",
        nav: Some(("nav.audit", Audience::Administrators)),
    },
    Page {
        id: PageId::Settings,
        pattern: "/settings",
        title_key: "page.settings.title",
        nav: Some(("nav.settings", Audience::Everyone)),
    },
];

// Every `PageId` has its row, at its own index (a missing or misplaced row fails the build).
const _: () = {
    let mut i = 0;
    while i < PAGES.len() {
        assert!(PAGES[i].id as usize == i, "PAGES is not in PageId order");
        i += 1;
    }
};

/// The row of a page.
pub fn page(id: PageId) -> &'static Page {
    &PAGES[id as usize]
}

/// The pages the navigation lists for `viewer`, in order, with their name keys.
pub fn nav_pages(viewer: Viewer) -> impl Iterator<Item = (&'static Page, &'static str)> {
    PAGES.iter().filter_map(move |page| match page.nav {
        Some((key, audience)) if audience.includes(viewer) => Some((page, key)),
        _ => None,
    })
}

/// A link target: a page with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Home,
    Users,
    /// One user, by object id (or UPN).
    User(String),
    Catalog,
    /// One catalog app, by catalog id.
    App(String),
    MyApps,
    Jobs,
    Audit,
    Settings,
}

impl Route {
    /// The page this route shows.
    pub fn page(&self) -> &'static Page {
        page(match self {
            Route::Home => PageId::Home,
            Route::Users => PageId::Users,
            Route::User(_) => PageId::User,
            Route::Catalog => PageId::Catalog,
            Route::App(_) => PageId::App,
            Route::MyApps => PageId::MyApps,
            Route::Jobs => PageId::Jobs,
            Route::Audit => PageId::Audit,
            Route::Settings => PageId::Settings,
        })
    }

    /// The route to the page `id`, for the pages without a parameter.
    pub fn of(id: PageId) -> Option<Route> {
        Some(match id {
            PageId::Home => Route::Home,
            PageId::Users => Route::Users,
            PageId::Catalog => Route::Catalog,
            PageId::MyApps => Route::MyApps,
            PageId::Jobs => Route::Jobs,
            PageId::Audit => Route::Audit,
            PageId::Settings => Route::Settings,
            PageId::User | PageId::App => return None,
        })
    }

    /// The address of the page: the base path, then the page's pattern with its parameter
    /// percent-encoded.
    pub fn href(&self) -> String {
        self.href_under(base_path())
    }

    /// The address under the base path `base` (no trailing slash; empty at the origin's root).
    pub fn href_under(&self, base: &str) -> String {
        let param = match self {
            Route::User(id) | Route::App(id) => Some(path_segment(id)),
            _ => None,
        };
        let mut path = String::from(base);
        for segment in self.page().pattern.split('/').filter(|s| !s.is_empty()) {
            path.push('/');
            match (segment.starts_with(':'), &param) {
                (true, Some(value)) => path.push_str(value),
                _ => path.push_str(segment),
            }
        }
        if path.len() == base.len() {
            // Home: the base itself, as deployed (`/`, `/portal/`).
            path.push('/');
        }
        path
    }
}

/// The base path of an address's path (`document.baseURI`'s): its last `/` and what follows
/// dropped, so `/portal/` (and `/portal/index.html`) gives `/portal`, and `/` gives `""`.
pub fn base_path_of(base_uri_path: &str) -> String {
    match base_uri_path.rfind('/') {
        Some(at) => base_uri_path[..at].to_string(),
        None => String::new(),
    }
}

/// The path the portal is deployed under, without its trailing slash: `""` at the origin's
/// root, `/portal` when the built `index.html` says `<base href="/portal/">`. Read once from
/// `document.baseURI`.
pub fn base_path() -> &'static str {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        #[cfg(target_arch = "wasm32")]
        {
            web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.base_uri().ok().flatten())
                .and_then(|uri| web_sys::Url::new(&uri).ok())
                .map(|url| base_path_of(&url.pathname()))
                .unwrap_or_default()
        }
        #[cfg(not(target_arch = "wasm32"))]
        String::new()
    })
}

/// The home address of this deployment (`/`, `/portal/`): where a sign-in with nowhere else to
/// go lands.
pub fn home() -> String {
    Route::Home.href()
}

/// One segment of a [`Pattern`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Segment {
    Static(&'static str),
    Param(&'static str),
}

/// A page's pattern under a base path, as the router matches it (`leptos_router`'s own static
/// and parameter segments, one after the other, as its `path!` tuples do).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(Vec<Segment>);

impl Pattern {
    /// `pattern` (from [`PAGES`]) under `base` (see [`base_path`]).
    pub fn new(base: &'static str, pattern: &'static str) -> Pattern {
        let segments = base
            .split('/')
            .chain(pattern.split('/'))
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix(':') {
                Some(name) => Segment::Param(name),
                None => Segment::Static(s),
            })
            .collect();
        Pattern(segments)
    }
}

impl PossibleRouteMatch for Pattern {
    fn optional(&self) -> bool {
        false
    }

    fn test<'a>(&self, path: &'a str) -> Option<PartialPathMatch<'a>> {
        let mut remaining = path;
        let mut matched = 0;
        let mut params = Vec::new();
        for segment in &self.0 {
            let part = match segment {
                Segment::Static(s) => StaticSegment(*s).test(remaining)?,
                Segment::Param(name) => ParamSegment(name).test(remaining)?,
            };
            matched += part.matched().len();
            remaining = part.remaining();
            params.extend(part.params());
        }
        Some(PartialPathMatch::new(remaining, params, &path[..matched]))
    }

    fn generate_path(&self, path: &mut Vec<PathSegment>) {
        for segment in &self.0 {
            path.push(match segment {
                Segment::Static(s) => PathSegment::Static((*s).into()),
                Segment::Param(name) => PathSegment::Param((*name).into()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portal_core::i18n::parse_catalogue;
    use portal_core::Lang;

    fn every_route() -> Vec<Route> {
        vec![
            Route::Home,
            Route::Users,
            Route::User("o'brien@contoso.com".into()),
            Route::Catalog,
            Route::App("a/b".into()),
            Route::MyApps,
            Route::Jobs,
            Route::Audit,
            Route::Settings,
        ]
    }

    /// The pages whose pattern matches all of `path` (as the router decides: nothing left but
    /// an optional trailing slash), with the parameters.
    fn served(base: &'static str, path: &str) -> Vec<(PageId, Vec<(String, String)>)> {
        PAGES
            .iter()
            .filter_map(|page| {
                let found = Pattern::new(base, page.pattern).test(path)?;
                let rest = found.remaining();
                (rest.is_empty() || rest == "/").then(|| {
                    let params = found
                        .params()
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect();
                    (page.id, params)
                })
            })
            .collect()
    }

    #[test]
    fn every_route_is_served_by_its_own_page_alone_at_the_root_and_under_a_base() {
        for base in ["", "/portal", "/apps/teams"] {
            for route in every_route() {
                let href = route.href_under(base);
                let pages: Vec<PageId> = served(base, &href).into_iter().map(|(p, _)| p).collect();
                assert_eq!(pages, [route.page().id], "{href} under {base:?}");
            }
        }
        assert_eq!(Route::Home.href_under(""), "/");
        assert_eq!(Route::Home.href_under("/portal"), "/portal/");
        assert_eq!(Route::Jobs.href_under("/portal"), "/portal/jobs");
        assert_eq!(
            Route::User("o'brien@contoso.com".into()).href_under("/portal"),
            "/portal/users/o%27brien%40contoso.com"
        );
        assert_eq!(Route::App("a/b".into()).href_under(""), "/catalog/a%2Fb");
    }

    #[test]
    fn parameters_reach_the_page_and_other_addresses_are_not_found() {
        assert_eq!(
            served("/portal", "/portal/users/abc"),
            [(PageId::User, vec![("user_id".into(), "abc".into())])]
        );
        assert_eq!(
            served("", "/catalog/x-1/"),
            [(PageId::App, vec![("app_id".into(), "x-1".into())])]
        );
        assert_eq!(served("/portal", "/portal").len(), 1);
        for (base, unknown) in [
            ("", "/nope"),
            ("", "/users/a/b"),
            ("", "/catalog/a/b"),
            ("", "/consent"),
            ("/portal", "/users"),
            ("/portal", "/"),
            ("/portal", "/portalx/users"),
            ("/portal", "/portal/consent"),
        ] {
            assert_eq!(served(base, unknown), [], "{unknown} under {base:?}");
        }
    }

    #[test]
    fn the_base_path_is_the_base_address_without_its_last_segment() {
        assert_eq!(base_path_of("/"), "");
        assert_eq!(base_path_of("/portal/"), "/portal");
        assert_eq!(base_path_of("/portal/index.html"), "/portal");
        assert_eq!(base_path_of("/a/b/"), "/a/b");
        assert_eq!(base_path_of(""), "");
    }

    #[test]
    fn the_navigation_shows_administrators_pages_to_administrators_and_the_signed_out() {
        let names = |viewer| nav_pages(viewer).map(|(_, key)| key).collect::<Vec<_>>();
        let everything = [
            "nav.home",
            "nav.users",
            "nav.catalog",
            "nav.my_apps",
            "nav.jobs",
            "nav.audit",
            "nav.settings",
        ];
        assert_eq!(names(Viewer::Administrator), everything);
        assert_eq!(names(Viewer::SignedOut), everything);
        assert_eq!(
            names(Viewer::Member),
            ["nav.home", "nav.catalog", "nav.my_apps", "nav.settings"]
        );
        for (page, _) in nav_pages(Viewer::Administrator) {
            assert!(
                !page.pattern.contains(':'),
                "{:?}: a listed page needs no parameter",
                page.id
            );
            assert!(Route::of(page.id).is_some(), "{:?}", page.id);
        }
    }

    /// Every title and navigation key of the table is in every catalogue (the catalogue test
    /// sees only keys passed to `t(…)` literally).
    #[test]
    fn every_key_of_the_table_is_in_every_catalogue() {
        for lang in Lang::ALL {
            let catalogue = parse_catalogue(lang.source().unwrap_or_default()).unwrap_or_default();
            for page in PAGES {
                let keys = std::iter::once(page.title_key).chain(page.nav.map(|(key, _)| key));
                for key in keys {
                    assert!(catalogue.contains_key(key), "{}: {key}", lang.tag());
                }
            }
        }
    }
}
