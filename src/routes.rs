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

    /// Whether `href` is matched by `pattern` (static segments equal, `:x` any one segment).
    fn matches(pattern: &str, href: &str) -> bool {
        let p: Vec<&str> = pattern.split('/').collect();
        let h: Vec<&str> = href.split('/').collect();
        p.len() == h.len()
            && p.iter()
                .zip(&h)
                .all(|(p, h)| p.starts_with(':') && !h.is_empty() || p == h)
    }

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
}
