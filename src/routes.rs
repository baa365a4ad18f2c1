//! Every route of the portal, once: the [`Route`] type gives each page's address (`href`) for the
//! navigation and every link, and [`ROUTE_PATTERNS`] lists the router's patterns, checked against
//! `href` by the tests so the two cannot drift apart.

use portal_core::graph::encode::path_segment;

/// A page of the portal.
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
    Consent,
    Jobs,
    Audit,
    Settings,
}

/// The router's patterns, in the order `shell.rs` declares them (`:param` for a parameter).
pub const ROUTE_PATTERNS: [&str; 11] = [
    "/",
    "/users",
    "/users/:user_id",
    "/catalog",
    "/catalog/:app_id",
    "/my-apps",
    "/consent",
    "/jobs",
    "/audit",
    "/settings",
    "/*any",
];

impl Route {
    /// The address of the page (parameters percent-encoded).
    pub fn href(&self) -> String {
        match self {
            Route::Home => "/".into(),
            Route::Users => "/users".into(),
            Route::User(id) => format!("/users/{}", path_segment(id)),
            Route::Catalog => "/catalog".into(),
            Route::App(id) => format!("/catalog/{}", path_segment(id)),
            Route::MyApps => "/my-apps".into(),
            Route::Consent => "/consent".into(),
            Route::Jobs => "/jobs".into(),
            Route::Audit => "/audit".into(),
            Route::Settings => "/settings".into(),
        }
    }

    /// The i18n key of the page's name in the navigation, for the sections that have one.
    pub fn nav_key(&self) -> Option<&'static str> {
        Some(match self {
            Route::Home => "nav.home",
            Route::Users => "nav.users",
            Route::Catalog => "nav.catalog",
            Route::MyApps => "nav.my_apps",
            Route::Consent => "nav.consent",
            Route::Jobs => "nav.jobs",
            Route::Audit => "nav.audit",
            Route::Settings => "nav.settings",
            Route::User(_) | Route::App(_) => return None,
        })
    }
}

/// The full bundle's pages the first load does not have, by pattern, with their title key.
const FULL_BUNDLE_PAGES: [(&str, &str); 8] = [
    ("/users/:user_id", "page.user_detail.title"),
    ("/catalog", "page.catalog.title"),
    ("/catalog/:app_id", "page.app_detail.title"),
    ("/my-apps", "page.my_apps.title"),
    ("/consent", "page.consent.title"),
    ("/jobs", "page.jobs.title"),
    ("/audit", "page.audit.title"),
    ("/settings", "page.settings.title"),
];

/// The title key of the page at `path` when only the full bundle has it (the first load's
/// router falls back to this and hands over, issue #10); `None` for the first load's own pages
/// (Home, Users) and for addresses no pattern serves (not found).
pub fn full_bundle_page(path: &str) -> Option<&'static str> {
    FULL_BUNDLE_PAGES
        .iter()
        .find(|(pattern, _)| matches(pattern, path))
        .map(|(_, key)| *key)
}

/// Whether `path` is matched by `pattern` (static segments equal, `:x` any one non-empty
/// segment).
fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let h: Vec<&str> = path.split('/').collect();
    p.len() == h.len()
        && p.iter()
            .zip(&h)
            .all(|(p, h)| p.starts_with(':') && !h.is_empty() || p == h)
}

/// The navigation's sections, in order.
pub const SECTIONS: [Route; 8] = [
    Route::Home,
    Route::Users,
    Route::Catalog,
    Route::MyApps,
    Route::Consent,
    Route::Jobs,
    Route::Audit,
    Route::Settings,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_href_is_served_by_exactly_one_pattern() {
        let all = [
            Route::Home,
            Route::Users,
            Route::User("o'brien@contoso.com".into()),
            Route::Catalog,
            Route::App("a/b".into()),
            Route::MyApps,
            Route::Consent,
            Route::Jobs,
            Route::Audit,
            Route::Settings,
        ];
        for route in all {
            let href = route.href();
            let served: Vec<_> = ROUTE_PATTERNS
                .iter()
                .filter(|p| matches(p, &href))
                .collect();
            assert_eq!(served.len(), 1, "{href} matched by {served:?}");
        }
        assert_eq!(
            Route::User("o'brien@contoso.com".into()).href(),
            "/users/o%27brien%40contoso.com"
        );
    }

    /// The first load's fallback hands over exactly the full bundle's other pages, with their
    /// own titles; its own pages and unknown addresses stay (Home, Users, not found).
    #[test]
    fn the_first_load_hands_over_every_other_page_and_nothing_else() {
        let cases = [
            (Route::Home, None),
            (Route::Users, None),
            (
                Route::User("o'brien@contoso.com".into()),
                Some("page.user_detail.title"),
            ),
            (Route::Catalog, Some("page.catalog.title")),
            (Route::App("a/b".into()), Some("page.app_detail.title")),
            (Route::MyApps, Some("page.my_apps.title")),
            (Route::Consent, Some("page.consent.title")),
            (Route::Jobs, Some("page.jobs.title")),
            (Route::Audit, Some("page.audit.title")),
            (Route::Settings, Some("page.settings.title")),
        ];
        for (route, expected) in cases {
            assert_eq!(full_bundle_page(&route.href()), expected, "{route:?}");
        }
        for unknown in [
            "/nope",
            "/users/",
            "/users/a/b",
            "/catalog/a/b",
            "/full.html",
            "",
        ] {
            assert_eq!(full_bundle_page(unknown), None, "{unknown}");
        }
        for (pattern, _) in FULL_BUNDLE_PAGES {
            assert!(ROUTE_PATTERNS.contains(&pattern), "{pattern} is no route");
        }
    }
}
