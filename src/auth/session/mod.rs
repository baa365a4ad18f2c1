//! The session of this tab, one context value ([`Session`], [`provide_session`],
//! [`use_session`]): tokens in memory, the refresh token, account and (to start a reload
//! without renewing while one is fresh) the access tokens in sessionStorage (keys bound to
//! client, authority and tenant), one shared renewal at a time whose real outcome every waiting
//! caller gets, background renewal that survives a bad minute (transient failures retried with
//! backoff; only failures that need the user end the session), the interactive fallback when a
//! refresh cannot give a scope, and sign-out (in every tab).
//!
//! One capability per file, each an `impl Session` block; this one holds the state they share
//! (in the context value, as the write and job services hold theirs), the session-store helpers
//! and the context:
//!
//! - `boot`: starting — a sign-in callback, an admin-consent return, or a restore from
//!   the stored session;
//! - `tokens`: keeping token responses, the shared renewal, [`Session::access_token`] and the
//!   interactive fallback;
//! - `renewal`: the background renewal timer and what a failed background renewal does;
//! - `interaction`: leaving for the identity provider (sign-in, consent), the sign-in button,
//!   the admin-consent link;
//! - `sign_out`: ending the session here, in every tab and at the provider.
//!
//! The session uses the leaves of `auth` (the address bar in `redirect`, the `sign_in_worker`,
//! the `redirect_gate`, `broadcast`, `storage`); none of them uses the session.

mod boot;
mod interaction;
mod renewal;
mod sign_out;
mod tokens;

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::{LocalBoxFuture, Shared};
use leptos::prelude::*;
use portal_core::auth::account::StoredAccount;
use portal_core::auth::pending::KeyValueStore;
use portal_core::auth::permission_set::PermissionSet;
use portal_core::auth::renewal::{AccessTokenCache, StoredTokens};
use portal_core::auth::scopes::{operation_set, Operation, ALL_OPERATIONS, SIGN_IN_OPERATIONS};
use portal_core::auth::session_keys::SessionKeys;
use portal_core::{RuntimeConfig, TokenCacheLocation};

use super::broadcast::SignOutChannel;
use super::redirect_gate::{RedirectGate, RedirectHold};
use super::sign_in_worker::SignInWorker;
use super::storage::{MemoryOnly, SessionStore};
use super::{Account, AuthError, AuthStatus};

/// The outcome of one renewal, shared by every caller waiting on it.
type SharedRenewal = Shared<LocalBoxFuture<'static, Result<Option<Account>, AuthError>>>;

struct InFlight {
    ticket: u64,
    /// Every operation it asks for (sorted, no duplicates).
    operations: Vec<Operation>,
    with_challenge: bool,
    future: SharedRenewal,
}

/// What the session knows once it has started with a configuration.
struct Core {
    config: RuntimeConfig,
    tokens: AccessTokenCache,
    renewal: Option<InFlight>,
    next_ticket: u64,
    renewals: u32,
    /// Background renewals failed in a row (for the backoff).
    failed_renewals: u32,
    account: Option<StoredAccount>,
    /// The raw ID token (memory only), the `id_token_hint` of sign-out.
    id_token: Option<String>,
    /// The tab is leaving for the identity provider.
    redirecting: bool,
    /// Bumped when the session ends in this tab: a renewal that started before never stores
    /// its tokens after (sign-out here or in another tab).
    generation: u64,
}

/// Everything the session holds besides its signals, behind the context value (no thread-local:
/// two sessions, as in tests, share nothing).
#[derive(Default)]
struct State {
    /// `None` until [`Session::boot`] starts it with a configuration.
    core: RefCell<Option<Core>>,
    /// The background renewal's timer.
    timer: RefCell<Option<gloo_timers::callback::Timeout>>,
    /// The protocol, in a web worker started when first needed.
    worker: SignInWorker,
    /// Redirects wait for the writes in flight (the write service holds it).
    gate: RedirectGate,
    /// Sign-out reaches the other tabs of the same binding.
    channel: RefCell<Option<SignOutChannel>>,
}

/// The session of this tab, in context: what the UI reads (status, renewals, granted
/// permissions) and, through its methods, everything the session does. Provided once by the
/// root before the session starts ([`provide_session`]); [`use_session`] everywhere else. A
/// `Copy` handle: async work keeps it, as the write and job services keep theirs.
#[derive(Clone, Copy)]
pub struct Session {
    pub status: RwSignal<AuthStatus>,
    /// Silent renewals done in this page's life (shown on Settings).
    pub renewals: RwSignal<u32>,
    /// Graph permissions held now.
    pub granted: RwSignal<Vec<String>>,
    state: StoredValue<Rc<State>, LocalStorage>,
}

/// Provides the session in context, not started yet (the root does this once, before
/// [`Session::boot`]).
pub fn provide_session() -> Session {
    let session = Session::new(AuthStatus::Starting);
    provide_context(session);
    session
}

/// The session from context (a signed-out one that never started if none was provided, as in
/// component tests).
pub fn use_session() -> Session {
    use_context::<Session>().unwrap_or_else(|| Session::new(AuthStatus::SignedOut))
}

impl Session {
    /// A session showing `status` that has not started (no configuration, no tokens): every
    /// token request answers [`AuthError::NotStarted`] until [`Session::boot`].
    pub fn new(status: AuthStatus) -> Session {
        Session {
            status: RwSignal::new(status),
            renewals: RwSignal::new(0),
            granted: RwSignal::new(Vec::new()),
            state: StoredValue::new_local(Rc::new(State::default())),
        }
    }

    /// The state, while the session's owner lives.
    fn state(self) -> Option<Rc<State>> {
        self.state.try_get_value()
    }

    fn with_core<T>(self, f: impl FnOnce(&mut Core) -> T) -> Option<T> {
        let state = self.state()?;
        let mut core = state.core.borrow_mut();
        core.as_mut().map(f)
    }

    fn config(self) -> Result<RuntimeConfig, AuthError> {
        self.with_core(|c| c.config.clone())
            .ok_or(AuthError::NotStarted)
    }

    fn worker(self) -> Result<SignInWorker, AuthError> {
        self.state()
            .map(|s| s.worker.clone())
            .ok_or(AuthError::NotStarted)
    }

    /// Keeps sign-in redirects back until the returned guard is dropped (see [`RedirectGate`]).
    pub fn hold_redirects(self) -> RedirectHold {
        self.state()
            .map(|s| s.gate.hold())
            .unwrap_or_else(|| RedirectGate::default().hold())
    }

    /// Resolves once no write holds redirects back.
    async fn redirects_settled(self) {
        if let Some(state) = self.state() {
            let settled = state.gate.settled();
            drop(state);
            settled.await;
        }
    }

    fn set_timer(self, timer: Option<gloo_timers::callback::Timeout>) {
        if let Some(state) = self.state() {
            *state.timer.borrow_mut() = timer;
        }
    }

    fn set_status(self, status: AuthStatus) {
        if self.status.get_untracked() != status {
            self.status.set(status);
        }
    }

    fn is_signed_in(self) -> bool {
        matches!(self.status.get_untracked(), AuthStatus::SignedIn(_))
    }

    /// The signed-in account's login hint (the live one, else the stored one).
    fn account_hint(self, config: &RuntimeConfig) -> Option<String> {
        self.with_core(|c| {
            c.account
                .as_ref()
                .and_then(|a| a.hint().map(str::to_string))
        })
        .flatten()
        .or_else(|| stored_account(config).and_then(|a| a.hint().map(str::to_string)))
    }

    /// Writes the access tokens held (with the account and its ID token) for the next reload,
    /// or removes the entry when none is held.
    fn save_tokens(self) {
        let Ok(config) = self.config() else {
            return;
        };
        let keys = SessionKeys::for_config(&config);
        let entry = self
            .with_core(|c| {
                let owner = c.account.as_ref()?.ids();
                StoredTokens::of(owner, &c.tokens, c.id_token.clone())
            })
            .flatten();
        match entry.and_then(|e| serde_json::to_string(&e).ok()) {
            Some(json) => persist(&config, &keys.tokens(), &json),
            None => forget(&config, &keys.tokens()),
        }
    }

    /// Marks the tab as leaving; `false` when it already is.
    fn begin_redirect(self) -> bool {
        self.with_core(|c| !std::mem::replace(&mut c.redirecting, true))
            .unwrap_or(true)
    }
}

/// Unix seconds.
fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn store(config: &RuntimeConfig) -> Box<dyn KeyValueStore> {
    match config.token_cache {
        TokenCacheLocation::Session => Box::new(SessionStore),
        TokenCacheLocation::Memory => Box::new(MemoryOnly),
    }
}

/// Reads a session entry (memory holds what the browser refused to store).
fn read(config: &RuntimeConfig, key: &str) -> Option<String> {
    store(config).get(key).or_else(|| MemoryOnly.get(key))
}

/// Writes a session entry; when the browser refuses, memory keeps it for this page's life.
fn persist(config: &RuntimeConfig, key: &str, value: &str) {
    if store(config).set(key, value).is_err() {
        let _ = MemoryOnly.set(key, value);
    }
}

fn forget(config: &RuntimeConfig, key: &str) {
    store(config).remove(key);
    MemoryOnly.remove(key);
}

fn stored_account(config: &RuntimeConfig) -> Option<StoredAccount> {
    let keys = SessionKeys::for_config(config);
    read(config, &keys.account()).and_then(|json| serde_json::from_str(&json).ok())
}

/// The stored access tokens a reload may start with for `account` (see
/// [`StoredTokens::for_reload`]).
fn stored_tokens(config: &RuntimeConfig, account: &StoredAccount) -> Option<StoredTokens> {
    let keys = SessionKeys::for_config(config);
    StoredTokens::for_reload(&read(config, &keys.tokens())?, &account.ids(), now())
}

/// Whether this page's start will need the sign-in worker soon (read before `config.json`, so
/// from the stored names): signed out (no binding holds a refresh token), a sign-in is what comes
/// next, and the worker's files then load while the user reads the page instead of after the
/// click; or some binding will renew at start-up (it holds no access token its account may start
/// with). A reload that starts with the access token it kept needs no worker.
fn start_needs_worker() -> bool {
    let keys = SessionStore.keys();
    let bindings = SessionKeys::with_refresh_token(keys.iter().map(String::as_str));
    bindings.is_empty()
        || bindings.into_iter().any(|binding| {
            let account: Option<StoredAccount> = SessionStore
                .get(&binding.account())
                .and_then(|json| serde_json::from_str(&json).ok());
            let tokens = SessionStore.get(&binding.tokens());
            match (account, tokens) {
                (Some(account), Some(json)) => {
                    StoredTokens::for_reload(&json, &account.ids(), now()).is_none()
                }
                _ => true,
            }
        })
}

/// Operations granted before in this session (so a new sign-in or renewal keeps them).
fn known_operations(config: &RuntimeConfig) -> Vec<Operation> {
    let keys = SessionKeys::for_config(config);
    let granted = read(config, &keys.granted()).unwrap_or_default();
    ALL_OPERATIONS
        .iter()
        .copied()
        .filter(|op| granted.split(' ').any(|g| g == op.permission()))
        .collect()
}

fn all_operations(config: &RuntimeConfig, extra: &[Operation]) -> Vec<Operation> {
    operation_set(
        SIGN_IN_OPERATIONS
            .iter()
            .chain(known_operations(config).iter())
            .chain(extra.iter())
            .copied(),
    )
}

fn permissions_of<'a>(operations: impl IntoIterator<Item = &'a Operation>) -> PermissionSet {
    operations
        .into_iter()
        .map(|op| op.permission().to_string())
        .collect()
}
