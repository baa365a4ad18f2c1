//! The session of this tab: tokens in memory, the refresh token, account and (to start a reload
//! without renewing while one is fresh) the access tokens in sessionStorage (keys bound to
//! client, authority and tenant), one shared renewal at a time whose real outcome
//! every waiting caller gets, background renewal that survives a bad minute (transient failures
//! retried with backoff; only failures that need the user end the session), the interactive
//! fallback when a refresh cannot give a scope, and sign-out (in every tab).
//!
//! One capability per file; this one holds the state they share (the thread-local `Core` and the
//! renewal timer), its accessors, the session-store helpers and the context:
//!
//! - `boot`: starting — a sign-in callback, an admin-consent return, or a restore from
//!   the stored session;
//! - `tokens`: keeping token responses, the shared renewal, [`access_token`] and the interactive
//!   fallback;
//! - `renewal`: the background renewal timer and what a failed background renewal does;
//! - `interaction`: consent, the sign-in button, the admin-consent link;
//! - `sign_out`: ending the session here, in every tab and at the provider.

mod boot;
mod interaction;
mod renewal;
mod sign_out;
mod tokens;

use std::cell::RefCell;

use futures::future::{LocalBoxFuture, Shared};
use leptos::prelude::*;
use portal_core::auth::account::StoredAccount;
use portal_core::auth::pending::KeyValueStore;
use portal_core::auth::permission_set::PermissionSet;
use portal_core::auth::renewal::{AccessTokenCache, StoredTokens};
use portal_core::auth::scopes::{operation_set, Operation, ALL_OPERATIONS, SIGN_IN_OPERATIONS};
use portal_core::auth::session_keys::SessionKeys;
use portal_core::{RuntimeConfig, TokenCacheLocation};

use super::storage::{MemoryOnly, SessionStore};
use super::{Account, Auth, AuthError, AuthStatus};

pub use boot::boot;
pub use interaction::{admin_consent_link, request_consent, start_sign_in};
pub use sign_out::{sign_out, sign_out_with};
pub use tokens::{access_token, renewed_access_token};

/// The outcome of one renewal, shared by every caller waiting on it.
type SharedRenewal = Shared<LocalBoxFuture<'static, Result<Option<Account>, AuthError>>>;

struct InFlight {
    ticket: u64,
    /// Every operation it asks for (sorted, no duplicates).
    operations: Vec<Operation>,
    with_challenge: bool,
    future: SharedRenewal,
}

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
    /// The UI handle, once the shell has provided it (signals live outside any owner's scope).
    auth: Option<Auth>,
}

thread_local! {
    static CORE: RefCell<Option<Core>> = const { RefCell::new(None) };
    static TIMER: RefCell<Option<gloo_timers::callback::Timeout>> = const { RefCell::new(None) };
}

fn with_core<T>(f: impl FnOnce(&mut Core) -> T) -> Option<T> {
    CORE.with(|c| c.borrow_mut().as_mut().map(f))
}

fn config() -> Result<RuntimeConfig, AuthError> {
    with_core(|c| c.config.clone()).ok_or(AuthError::NotStarted)
}

fn auth() -> Option<Auth> {
    with_core(|c| c.auth).flatten()
}

/// The signed-in account's login hint (the live one, else the stored one).
fn account_hint(config: &RuntimeConfig) -> Option<String> {
    with_core(|c| {
        c.account
            .as_ref()
            .and_then(|a| a.hint().map(str::to_string))
    })
    .flatten()
    .or_else(|| stored_account(config).and_then(|a| a.hint().map(str::to_string)))
}

fn set_status(status: AuthStatus) {
    if let Some(auth) = auth() {
        if auth.status.get_untracked() != status {
            auth.status.set(status);
        }
    }
}

/// Unix seconds.
pub(super) fn now() -> i64 {
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
pub(super) fn start_needs_worker() -> bool {
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

/// Writes the access tokens held (with the account and its ID token) for the next reload, or
/// removes the entry when none is held.
fn save_tokens() {
    let Ok(config) = config() else {
        return;
    };
    let keys = SessionKeys::for_config(&config);
    let entry = with_core(|c| {
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
pub(super) fn begin_redirect() -> bool {
    with_core(|c| !std::mem::replace(&mut c.redirecting, true)).unwrap_or(true)
}

/// Operations granted before in this session (so a new sign-in or renewal keeps them).
pub(super) fn known_operations(config: &RuntimeConfig) -> Vec<Operation> {
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

// ------------------------------------------------------------------ context

/// Provides the auth handle in context with the boot status.
pub fn provide_auth(status: AuthStatus) -> Auth {
    let granted =
        with_core(|c| c.tokens.known_permissions().into_iter().collect()).unwrap_or_default();
    let auth = Auth {
        status: RwSignal::new(status),
        renewals: RwSignal::new(with_core(|c| c.renewals).unwrap_or(0)),
        granted: RwSignal::new(granted),
    };
    with_core(|c| c.auth = Some(auth));
    provide_context(auth);
    auth
}
