//! Browser tests (wasm-bindgen-test in headless Chromium): mount real components, click, and
//! check the DOM they produce.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use leptos::task::tick;
use portal::components::language_switcher::LanguageSwitcher;
use portal::config_loader::ConfigLoadError;
use portal::i18n::{provide_i18n_with, use_i18n};
use portal::pages::settings::ConfigurationTable;
use portal::pages::setup::SetupPage;
use portal_core::{ConfigError, Lang, RuntimeConfig};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// A fresh container per test, so tests do not see each other's DOM.
fn container() -> HtmlElement {
    let document = document();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

fn query(root: &Element, selector: &str) -> HtmlElement {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("nothing matches {selector}"))
        .unchecked_into()
}

fn text(root: &Element, selector: &str) -> String {
    query(root, selector).text_content().unwrap_or_default()
}

/// Shows a message through the i18n context, to observe language switches.
#[component]
fn Probe() -> impl IntoView {
    let i18n = use_i18n();
    view! { <p class="probe">{move || i18n.t("nav.settings")}</p> }
}

/// French is fetched at run time in the browser; these tests install it as the fetch would.
fn install_french() {
    let _ = Lang::Fr.install(include_str!("../crates/portal-core/locales/fr.json"));
}

#[wasm_bindgen_test]
async fn clicking_a_language_switches_messages_and_pressed_state() {
    install_french();
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), || {
        provide_i18n_with(Lang::En);
        view! {
            <LanguageSwitcher />
            <Probe />
        }
    });
    assert_eq!(text(&root, ".probe"), "Settings");
    assert_eq!(
        query(&root, "button[data-lang=en]")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );

    query(&root, "button[data-lang=fr]").click();
    tick().await;

    assert_eq!(text(&root, ".probe"), "Paramètres");
    assert_eq!(
        query(&root, "button[data-lang=fr]")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        query(&root, "button[data-lang=en]")
            .get_attribute("aria-pressed")
            .as_deref(),
        Some("false")
    );
    assert_eq!(
        document()
            .document_element()
            .unwrap()
            .get_attribute("lang")
            .as_deref(),
        Some("fr")
    );

    query(&root, "button[data-lang=en]").click();
    tick().await;
    assert_eq!(text(&root, ".probe"), "Settings");
    drop(handle);
}

#[wasm_bindgen_test]
async fn setup_page_names_every_bad_field_and_translates() {
    install_french();
    let error = RuntimeConfig::parse(r#"{"tenant": "contoso.onmicrosoft.com", "cloud": "mars", "redirectUri": "https://x.contoso.com/"}"#)
        .unwrap_err();
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        provide_i18n_with(Lang::En);
        view! { <SetupPage error=ConfigLoadError::Invalid { url: "https://portal/config.json".into(), error: error.clone() } /> }
    });
    let client_id = text(&root, "[data-testid=field-problems] [data-field=clientId]");
    assert!(client_id.contains("missing"), "{client_id}");
    assert!(client_id.contains("Application (client) ID"), "{client_id}");
    let cloud = text(&root, "[data-testid=field-problems] [data-field=cloud]");
    assert!(cloud.contains("\"mars\""), "{cloud}");
    assert_eq!(
        text(&root, "[data-testid=setup-url]"),
        "https://portal/config.json"
    );

    query(&root, "button[data-lang=fr]").click();
    tick().await;
    let client_id = text(&root, "[data-testid=field-problems] [data-field=clientId]");
    assert!(client_id.contains("absent"), "{client_id}");
    assert_eq!(text(&root, "h1"), "Le portail doit être configuré");
    drop(handle);
}

#[wasm_bindgen_test]
async fn setup_page_reports_the_position_of_a_syntax_error() {
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), || {
        provide_i18n_with(Lang::En);
        let error = ConfigError::Syntax {
            line: 4,
            column: 7,
            message: "expected value".into(),
        };
        view! { <SetupPage error=ConfigLoadError::Invalid { url: "/config.json".into(), error } /> }
    });
    let reason = text(&root, "[data-testid=setup-reason]");
    assert!(reason.contains("line 4, column 7"), "{reason}");
    drop(handle);
}

#[wasm_bindgen_test]
fn configuration_table_shows_resolved_endpoints_and_overrides() {
    let config = RuntimeConfig::parse(
        r#"{"clientId": "6731de76-14a6-49ae-97bc-6eba6914391e", "tenant": "organizations",
            "cloud": "china", "redirectUri": "http://127.0.0.1:8080/",
            "graphBase": "http://127.0.0.1:9000", "clientCapabilities": ["cp1"]}"#,
    )
    .unwrap();
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        provide_i18n_with(Lang::En);
        view! { <ConfigurationTable config=config.clone() /> }
    });
    assert_eq!(
        text(&root, "[data-field=authority] code"),
        "https://login.chinacloudapi.cn/organizations/v2.0"
    );
    assert_eq!(
        text(&root, "[data-field=graphBase] code"),
        "http://127.0.0.1:9000/v1.0"
    );
    assert!(text(&root, "[data-field=graphBase]").contains("override"));
    assert!(!text(&root, "[data-field=authority]").contains("override"));
    assert!(text(&root, "[data-field=cloud]").contains("not available in this cloud"));
    assert_eq!(text(&root, "[data-field=clientCapabilities] code"), "cp1");
    drop(handle);
}

mod auth_ui {
    use super::*;
    use portal::auth::{Account, AuthError, AuthStatus, Session};
    use portal::components::account::AccountArea;
    use portal::components::auth_banner::AuthBanner;
    use portal_core::auth::pending::PendingError;

    fn mount_with(
        status: AuthStatus,
    ) -> (
        HtmlElement,
        Session,
        leptos::mount::UnmountHandle<impl leptos::tachys::view::Mountable>,
    ) {
        let root = container();
        let auth = Session::new(status);
        let handle = leptos::mount::mount_to(root.clone(), move || {
            provide_i18n_with(Lang::En);
            provide_context(auth);
            view! {
                <AccountArea />
                <AuthBanner />
            }
        });
        (root, auth, handle)
    }

    fn account(wids: &[&str]) -> Account {
        Account {
            name: "Seán O'Brien".into(),
            username: "sean.obrien@contoso.onmicrosoft.com".into(),
            oid: "o".into(),
            tid: "t".into(),
            wids: wids.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[wasm_bindgen_test]
    async fn account_area_follows_the_session() {
        let (root, auth, handle) = mount_with(AuthStatus::SignedOut);
        assert!(root
            .query_selector("[data-testid=sign-in]")
            .unwrap()
            .is_some());
        auth.status.set(AuthStatus::SignedIn(account(&[
            "69091246-20e8-4a56-aa4d-066075b2a7a8",
        ])));
        tick().await;
        assert_eq!(text(&root, "[data-testid=account-name]"), "Seán O'Brien");
        assert_eq!(text(&root, "[data-testid=account-role]"), "Administrator");
        assert!(root
            .query_selector("[data-testid=sign-in]")
            .unwrap()
            .is_none());
        auth.status.set(AuthStatus::SignedIn(account(&[])));
        tick().await;
        assert_eq!(text(&root, "[data-testid=account-role]"), "Member");
        drop(handle);
    }

    #[wasm_bindgen_test]
    async fn banner_explains_refusals_and_consent() {
        let (root, auth, handle) = mount_with(AuthStatus::Failed(AuthError::Callback(
            PendingError::UnknownState,
        )));
        let banner = query(&root, "[data-testid=auth-error]");
        assert_eq!(
            banner.get_attribute("data-error-key").as_deref(),
            Some("auth.error.unknown_state")
        );
        auth.status.set(AuthStatus::Failed(AuthError::Server {
            error: "invalid_grant".into(),
            description: "AADSTS700084: The refresh token was issued to a single page app".into(),
        }));
        tick().await;
        assert_eq!(text(&root, "[data-testid=auth-error-code]"), "AADSTS700084");
        auth.status.set(AuthStatus::ConsentRequired {
            description: "AADSTS65001: consent".into(),
            admin_consent_url: "https://login.microsoftonline.com/t/v2.0/adminconsent?client_id=c"
                .into(),
        });
        tick().await;
        assert!(root
            .query_selector("[data-testid=auth-error]")
            .unwrap()
            .is_none());
        assert_eq!(
            query(&root, "[data-testid=admin-consent-link]")
                .get_attribute("href")
                .as_deref(),
            Some("https://login.microsoftonline.com/t/v2.0/adminconsent?client_id=c")
        );
        auth.status.set(AuthStatus::SignedOut);
        tick().await;
        assert!(root
            .query_selector("[data-testid=consent-required]")
            .unwrap()
            .is_none());
        drop(handle);
    }
}

mod personal_apps_components {
    use super::*;
    use portal::components::drift_badge::DriftBadge;
    use portal::components::preflight_checklist::PreflightChecklist;
    use portal::components::user_search::{move_active, UserResults};
    use portal_core::graph::apps::{ConsentRequirement, Drift};
    use portal_core::graph::models::{PermissionType, ResourceSpecificPermission, User};
    use portal_core::graph::preflight::{evaluate, Input, Lookup};
    use portal_core::Cloud;

    fn user(id: &str, name: &str, user_type: &str) -> User {
        User {
            id: id.into(),
            display_name: Some(name.into()),
            user_principal_name: Some(format!("{id}@contoso.com")),
            mail: None,
            user_type: Some(portal_core::graph::models::UserType::parse(user_type)),
            job_title: None,
            account_enabled: Some(true),
        }
    }

    #[wasm_bindgen_test]
    async fn user_search_list_highlights_the_active_option_and_opens_on_click() {
        let root = container();
        let users = RwSignal::new(vec![
            user("a", "Seán O'Brien", "Member"),
            user("b", "Zoë Müller", "Member"),
            user("c", "Guest Person", "Guest"),
        ]);
        let active = RwSignal::new(None::<usize>);
        let opened = RwSignal::new(None::<String>);
        let handle = leptos::mount::mount_to(root.clone(), move || {
            provide_i18n_with(Lang::En);
            view! { <UserResults users=users active=active on_open=Callback::new(move |u: User| opened.set(Some(u.id))) /> }
        });
        let options = root.query_selector_all("[role=option]").unwrap();
        assert_eq!(options.length(), 3);
        assert_eq!(text(&root, "#user-option-0 .user-name"), "Seán O'Brien");
        assert!(
            text(&root, "#user-option-2").contains("Guest"),
            "guests are marked"
        );
        // Keyboard: ArrowDown twice, ArrowUp once → the second option is active and selected.
        for key in ["ArrowDown", "ArrowDown", "ArrowUp", "ArrowDown"] {
            active.set(move_active(active.get_untracked(), 3, key));
        }
        tick().await;
        assert_eq!(
            query(&root, "#user-option-1")
                .get_attribute("aria-selected")
                .as_deref(),
            Some("true")
        );
        assert!(query(&root, "#user-option-1")
            .class_list()
            .contains("active"));
        assert_eq!(
            query(&root, "#user-option-0")
                .get_attribute("aria-selected")
                .as_deref(),
            Some("false")
        );
        query(&root, "#user-option-2").click();
        tick().await;
        assert_eq!(opened.get_untracked().as_deref(), Some("c"));
        // New results replace the old ones.
        users.set(vec![user("z", "Only One", "Member")]);
        tick().await;
        assert_eq!(
            root.query_selector_all("[role=option]").unwrap().length(),
            1
        );
        drop(handle);
    }

    #[wasm_bindgen_test]
    async fn drift_badge_says_whether_an_upgrade_exists() {
        let root = container();
        let handle = leptos::mount::mount_to(root.clone(), || {
            provide_i18n_with(Lang::En);
            view! {
                <p class="outdated"><DriftBadge drift=Drift::Outdated { installed: "1.0.0".into(), latest: "1.2.0".into() } /></p>
                <p class="current"><DriftBadge drift=Drift::UpToDate { version: "1.2.0".into() } /></p>
                <p class="gone"><DriftBadge drift=Drift::NotInCatalog { installed: "1.0.0".into() } /></p>
            }
        });
        assert_eq!(
            text(&root, ".outdated [data-drift]"),
            "Update available: 1.2.0"
        );
        assert_eq!(
            query(&root, ".outdated [data-drift]")
                .get_attribute("data-drift")
                .as_deref(),
            Some("outdated")
        );
        assert_eq!(text(&root, ".current [data-drift]"), "Up to date");
        assert_eq!(text(&root, ".gone [data-drift]"), "Not in the catalog");
        drop(handle);
    }

    #[wasm_bindgen_test]
    async fn preflight_checklist_follows_its_input() {
        let root = container();
        let application = ConsentRequirement::WholeSet(vec![ResourceSpecificPermission {
            permission_value: "TeamsActivity.Send.User".into(),
            permission_type: PermissionType::Application,
        }]);
        let input = RwSignal::new(Input {
            user_exists: Lookup::Pending,
            definition: Lookup::Known(Some(application)),
            already_installed: Lookup::Known(false),
            rsc_switch: Lookup::Known(false),
            granted: vec![],
            can_consent_for_tenant: true,
            cloud: Cloud::Global,
        });
        let handle = leptos::mount::mount_to(root.clone(), move || {
            provide_i18n_with(Lang::En);
            view! { <PreflightChecklist items=Signal::derive(move || evaluate(&input.get())) /> }
        });
        let state = |check: &str| {
            query(&root, &format!("[data-check={check}]"))
                .get_attribute("data-state")
                .unwrap_or_default()
        };
        assert_eq!(state("user-exists"), "pending");
        assert_eq!(state("rsc-switch"), "failed");
        assert!(text(&root, "[data-check=rsc-switch]").contains("turned off for the tenant"));
        assert_eq!(state("scope"), "warning");
        assert!(text(&root, "[data-check=scope]")
            .contains("TeamsAppInstallation.ReadWriteAndConsentForUser"));
        input.update(|i| {
            i.user_exists = Lookup::Known(true);
            i.rsc_switch = Lookup::Known(true);
            i.granted = vec!["TeamsAppInstallation.ReadWriteAndConsentForUser".into()];
        });
        tick().await;
        for check in [
            "user-exists",
            "published-definition",
            "not-installed",
            "rsc-switch",
            "scope",
        ] {
            assert_eq!(state(check), "passed", "{check}");
        }
        drop(handle);
    }
}

/// The consent editor: one change (checking the whole set) updates the validity, the body
/// preview and the scope in the same tick; an upgrade row shows its diff.
#[wasm_bindgen_test]
async fn one_change_in_the_consent_editor_updates_body_scope_and_validity_in_one_tick() {
    use portal::personal_apps::consent_editor::{ConsentChoice, ConsentEditor};
    use portal_core::graph::models::{
        AppDefinition, Authorization, PermissionSet, PermissionType, ResourceSpecificPermission,
    };
    let definition = |id: &str, required: Vec<(&str, PermissionType)>| AppDefinition {
        id: id.into(),
        teams_app_id: Some("app".into()),
        display_name: Some("Field Service".into()),
        version: Some(id.into()),
        publishing_state: None,
        description: None,
        last_modified_date_time: None,
        bot: None,
        authorization: Some(Authorization {
            client_app_id: None,
            required_permission_set: Some(PermissionSet {
                resource_specific_permissions: required
                    .into_iter()
                    .map(|(v, t)| ResourceSpecificPermission {
                        permission_value: v.into(),
                        permission_type: t,
                    })
                    .collect(),
            }),
        }),
    };
    let from = definition(
        "3.0.0",
        vec![("TeamsActivity.Send.User", PermissionType::Application)],
    );
    let to = definition(
        "3.1.0",
        vec![
            ("TeamsActivity.Send.User", PermissionType::Application),
            (
                "TeamsAppInstallation.Read.User",
                PermissionType::Application,
            ),
        ],
    );
    let root = container();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        provide_i18n_with(Lang::En);
        let choice = ConsentChoice::new(Signal::stored(to.required_permissions()));
        view! { <ConsentEditor target=to.clone() from=from.clone() choice=choice /> }
    });
    assert_eq!(
        query(
            &root,
            "tr[data-permission='TeamsAppInstallation.Read.User'] [data-col=change]"
        )
        .get_attribute("data-change")
        .as_deref(),
        Some("added")
    );
    assert!(text(&root, "[data-testid=consent-validity]").contains("some are missing"));
    assert_eq!(
        text(&root, "[data-testid=consent-body]"),
        "No consentedPermissionSet is sent."
    );
    assert!(text(&root, "[data-testid=consent-scope]")
        .contains("TeamsAppInstallation.ReadWriteForUser"));
    query(&root, "[data-testid=consent-confirm]").click();
    tick().await;
    assert_eq!(
        text(&root, "[data-testid=consent-validity]"),
        "Graph will accept this consent."
    );
    let body = text(&root, "[data-testid=consent-body]");
    assert!(
        body.contains("\"permissionValue\": \"TeamsAppInstallation.Read.User\""),
        "{body}"
    );
    assert!(
        body.contains("\"permissionType\": \"application\""),
        "{body}"
    );
    assert!(text(&root, "[data-testid=consent-scope]")
        .contains("TeamsAppInstallation.ReadWriteAndConsentForUser"));
    drop(handle);
}

/// The browser's `URL` reads every case of `portal_core::web_url::CASES` the way the `url` crate
/// does natively (the portal parses config.json's addresses with it, issue #10).
#[wasm_bindgen_test]
fn the_browser_url_backend_reads_every_case() {
    let failures = portal_core::web_url::check_cases(portal_core::web_url::CASES);
    assert!(failures.is_empty(), "{failures:#?}");
    let logout = portal_core::web_url::WebUrl::parse("https://login.example/logout?p=1#top")
        .expect("a URL")
        .with_query_pairs(&[("post_logout_redirect_uri", "https://p.example/a b")]);
    assert_eq!(
        logout,
        "https://login.example/logout?p=1&post_logout_redirect_uri=https%3A%2F%2Fp.example%2Fa+b#top"
    );
}

/// The session is a context value: each one holds its own state (no thread-local), and a
/// reload that kept a fresh access token starts signed in from it, with no renewal and no
/// sign-in worker.
mod session_context {
    use super::*;
    use portal::auth::{AuthError, AuthStatus, Session};
    use portal_core::auth::account::StoredAccount;
    use portal_core::auth::renewal::{AccessTokenCache, CachedAccessToken, StoredTokens};
    use portal_core::auth::scopes::Operation;
    use portal_core::auth::session_keys::SessionKeys;

    fn storage() -> web_sys::Storage {
        web_sys::window()
            .and_then(|w| w.session_storage().ok().flatten())
            .expect("the test browser gives a sessionStorage")
    }

    fn clear_auth_entries() {
        let storage = storage();
        let keys: Vec<String> = (0..storage.length().unwrap_or(0))
            .filter_map(|i| storage.key(i).ok().flatten())
            .filter(|k| k.starts_with("tap.auth."))
            .collect();
        for key in keys {
            let _ = storage.remove_item(&key);
        }
    }

    fn config() -> RuntimeConfig {
        RuntimeConfig::parse(
            r#"{"clientId": "6731de76-14a6-49ae-97bc-6eba6914391e", "tenant": "organizations",
                "redirectUri": "http://127.0.0.1:8080/"}"#,
        )
        .expect("a valid configuration")
    }

    /// What a signed-in tab leaves in sessionStorage: refresh token, account, access token.
    fn store_a_kept_session(config: &RuntimeConfig, account: &StoredAccount, secret: &str) {
        let keys = SessionKeys::for_config(config);
        let now = (js_sys::Date::now() / 1000.0) as i64;
        let mut cache = AccessTokenCache::default();
        cache.insert(
            CachedAccessToken {
                secret: secret.into(),
                permissions: ["User.Read".to_string()].into_iter().collect(),
                issued_at: now,
                expires_at: now + 3600,
            },
            now,
        );
        let tokens = StoredTokens::of(account.ids(), &cache, None).expect("one token");
        let storage = storage();
        storage
            .set_item(&keys.refresh_token(), "refresh-token-of-the-test")
            .unwrap();
        storage
            .set_item(&keys.account(), &serde_json::to_string(account).unwrap())
            .unwrap();
        storage
            .set_item(&keys.tokens(), &serde_json::to_string(&tokens).unwrap())
            .unwrap();
    }

    #[wasm_bindgen_test]
    async fn each_session_holds_its_own_state_and_a_kept_token_starts_signed_in() {
        clear_auth_entries();
        let config = config();
        let account = StoredAccount {
            name: "Adele Vance".into(),
            username: "adelev@contoso.onmicrosoft.com".into(),
            oid: "a1b2".into(),
            tid: "t1".into(),
            ..StoredAccount::default()
        };
        store_a_kept_session(&config, &account, "kept-access-token");

        let started = Session::new(AuthStatus::Starting);
        started.boot(&config).await;
        assert_eq!(
            started.status.get_untracked(),
            AuthStatus::SignedIn(account.clone().into())
        );
        assert_eq!(
            started.granted.get_untracked(),
            vec!["User.Read".to_string()]
        );
        assert_eq!(started.renewals.get_untracked(), 0, "no renewal at start");
        assert_eq!(
            started
                .access_token(&[Operation::ReadProfile], None)
                .await
                .ok()
                .as_deref(),
            Some("kept-access-token")
        );

        // Another session of the same page shares none of it: it has not started.
        let other = Session::new(AuthStatus::SignedOut);
        assert!(matches!(
            other.access_token(&[Operation::ReadProfile], None).await,
            Err(AuthError::NotStarted)
        ));
        assert_eq!(other.admin_consent_link(), None);
        assert!(started.admin_consent_link().is_some());
        clear_auth_entries();
    }

    #[wasm_bindgen_test]
    async fn a_session_without_a_stored_session_starts_signed_out() {
        clear_auth_entries();
        let session = Session::new(AuthStatus::Starting);
        session.boot(&config()).await;
        assert_eq!(session.status.get_untracked(), AuthStatus::SignedOut);
        assert!(session.granted.get_untracked().is_empty());
        assert!(matches!(
            session.access_token(&[Operation::ReadProfile], None).await,
            Err(AuthError::NoSession)
        ));
    }
}
