//! The session of this tab: tokens in memory, the refresh token, account and (to start a reload
//! without renewing while one is fresh) the access tokens in sessionStorage (keys bound to
//! client, authority and tenant), one shared renewal at a time whose real outcome
//! every waiting caller gets, background renewal that survives a bad minute (transient failures
//! retried with backoff; only failures that need the user end the session), the interactive
//! fallback when a refresh cannot give a scope, and sign-out (in every tab).

use std::cell::RefCell;

use futures::future::{FutureExt, LocalBoxFuture, Shared};
use leptos::prelude::*;
use portal_core::auth::account::{end_session_url, StoredAccount};
use portal_core::auth::admin_consent::{
    admin_consent_return, admin_consent_url, AdminConsentReturn,
};
use portal_core::auth::challenge::{claims_parameter, ClaimsChallenge};
use portal_core::auth::pending::{self, KeyValueStore, PendingAuthorization, StorageError};
use portal_core::auth::permission_set::PermissionSet;
use portal_core::auth::renewal::{
    after_background_failure, may_fall_back, AccessTokenCache, AfterRenewalFailure,
    CachedAccessToken, FallbackMark, StoredTokens,
};
use portal_core::auth::return_to::return_to_under;
use portal_core::auth::scopes::{
    covers, granted_permissions, operation_set, refresh_scopes_for, Operation, ALL_OPERATIONS,
    SIGN_IN_OPERATIONS,
};
use portal_core::auth::session_keys::SessionKeys;
use portal_core::{RuntimeConfig, TokenCacheLocation};

use super::redirect::{self, current_path, replace_url};
use super::sign_in_worker;
use super::storage::{self, session_storage_available, MemoryOnly, SessionStore};
use super::{broadcast, Account, Auth, AuthError, AuthStatus, Boot};
use portal_core::auth::sign_in_worker::{TokenAnswer, WorkerRequest};

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

// ------------------------------------------------------------------ starting

/// Starts the session: finishes a callback or an admin-consent return in the address bar, or
/// renews from a stored refresh token, or stays signed out. Code and state leave the address
/// bar in every case.
pub async fn boot(config: &RuntimeConfig) -> Boot {
    start(config);
    boot_started(config).await
}

async fn boot_started(config: &RuntimeConfig) -> Boot {
    let params = redirect::query_params();
    if let Some(answer) = admin_consent_return(&params) {
        // Not a sign-in: no pending request, no code. Clean the address and go on.
        replace_url(&crate::routes::home());
        if let AdminConsentReturn::Refused { error, description } = answer {
            return Boot {
                status: AuthStatus::Failed(AuthError::AdminConsent { error, description }),
            };
        }
    } else if redirect::is_callback(&params) {
        return Boot {
            status: finish_callback(config, &params).await,
        };
    }
    // One place awaits the restore (its code is inlined where it is awaited).
    Boot {
        status: restore(config).await,
    }
}

fn start(config: &RuntimeConfig) {
    let keys = SessionKeys::for_config(config);
    CORE.with(|c| {
        *c.borrow_mut() = Some(Core {
            config: config.clone(),
            tokens: AccessTokenCache::default(),
            renewal: None,
            next_ticket: 0,
            renewals: 0,
            failed_renewals: 0,
            account: None,
            id_token: None,
            redirecting: false,
            generation: 0,
            auth: None,
        })
    });
    broadcast::listen(keys.binding(), || {
        end_locally();
        set_status(AuthStatus::SignedOut);
    });
}

async fn finish_callback(config: &RuntimeConfig, params: &[(String, String)]) -> AuthStatus {
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    if !session_storage_available() {
        replace_url(&crate::routes::home());
        return AuthStatus::Failed(AuthError::Storage(StorageError {
            reason: "this browser gives the page no session storage".into(),
        }));
    }
    let state = get("state").unwrap_or_default();
    let taken = pending::take(&mut SessionStore, &state, now());
    // Clean the address bar first: code and state never stay visible or in history.
    let home = crate::routes::home();
    let return_to = taken
        .as_ref()
        .map(|p| return_to_under(&p.return_to, &home))
        .unwrap_or(home);
    replace_url(&return_to);
    let pending = match taken {
        Ok(p) => p,
        Err(e) => return AuthStatus::Failed(AuthError::Callback(e)),
    };
    if let Some(error) = get("error") {
        let description = get("error_description").unwrap_or_default();
        let failure = AuthError::Server {
            error,
            description: description.clone(),
        };
        if failure.is_consent_required() {
            return AuthStatus::ConsentRequired {
                description,
                admin_consent_url: admin_consent_url(config),
            };
        }
        return AuthStatus::Failed(failure);
    }
    match finish_sign_in(config, &pending, &get("code").unwrap_or_default()).await {
        Ok(account) => AuthStatus::SignedIn(account),
        Err(e) => AuthStatus::Failed(e),
    }
}

async fn finish_sign_in(
    config: &RuntimeConfig,
    pending: &PendingAuthorization,
    code: &str,
) -> Result<Account, AuthError> {
    let response =
        sign_in_worker::exchange_code(config, code, &pending.pkce_verifier, &pending.nonce).await?;
    let Some(id_token) = response.id_token.clone() else {
        return Err(AuthError::Protocol(
            "the token response has no ID token".into(),
        ));
    };
    let account = id_token.account;
    let asked: PermissionSet = pending
        .scopes
        .iter()
        .flat_map(|s| granted_permissions(s))
        .collect();
    remember(
        config,
        &response,
        &asked,
        Some((account.clone(), id_token.raw)),
    );
    Ok(account.into())
}

/// Starts a reload's session: with an access token of the stored account still fresh, at once
/// (no renewal: the sign-in worker, discovery, keys and the token request stay off the first
/// Graph call's path; the background renewal is scheduled as after a sign-in); else renews from
/// the stored refresh token. A transient failure keeps the stored account signed in and
/// retries; one that needs the user signs in again and comes back here.
async fn restore(config: &RuntimeConfig) -> AuthStatus {
    let keys = SessionKeys::for_config(config);
    if read(config, &keys.refresh_token()).is_none() {
        return AuthStatus::SignedOut;
    }
    let stored = stored_account(config);
    with_core(|c| c.account = stored.clone());
    if let Some(account) = stored.as_ref() {
        if let Some(kept) = stored_tokens(config, account) {
            let at = now();
            with_core(|c| {
                for token in kept.tokens {
                    c.tokens.insert(token, at);
                }
                c.id_token = kept.id_token;
            });
            schedule_renewal();
            return AuthStatus::SignedIn(account.clone().into());
        }
    }
    match renew_shared(&[], None).await {
        Ok(Some(account)) => AuthStatus::SignedIn(account),
        Ok(None) => stored
            .map(|a| AuthStatus::SignedIn(a.into()))
            .unwrap_or(AuthStatus::SignedOut),
        Err(e) if e.is_transient() => match stored {
            // A bad minute at start-up: stay signed in as the stored account and retry.
            Some(account) => {
                after_background_renewal(Err(e));
                AuthStatus::SignedIn(account.into())
            }
            None => AuthStatus::Failed(e),
        },
        Err(e) if e.needs_interaction() => {
            // The session cannot be renewed (24-hour limit, revoked): sign in again, back here.
            let hint = stored.as_ref().and_then(|a| a.hint().map(str::to_string));
            match redirect::sign_in_redirect(config, &[], hint.as_deref(), None, None).await {
                Ok(()) => AuthStatus::Starting,
                Err(redirect_error) => AuthStatus::Failed(redirect_error),
            }
        }
        Err(e) => AuthStatus::Failed(e),
    }
}

// ------------------------------------------------------------------ tokens

/// Keeps a token response: the access token in memory, the refresh token, account and granted
/// permissions in the session store; then schedules the next renewal.
fn remember(
    config: &RuntimeConfig,
    response: &TokenAnswer,
    asked: &PermissionSet,
    account: Option<(StoredAccount, String)>,
) {
    let keys = SessionKeys::for_config(config);
    // A response without `scope` granted what was asked (RFC 6749, 5.1).
    let permissions: PermissionSet = match &response.scope {
        Some(scopes) => scopes
            .split_whitespace()
            .flat_map(granted_permissions)
            .collect(),
        None => asked.clone(),
    };
    let expires_in = response
        .expires_in
        .and_then(|s| i64::try_from(s).ok())
        .unwrap_or(3600);
    let issued_at = now();
    let token = CachedAccessToken {
        secret: response.access_token.clone(),
        permissions: permissions.clone(),
        issued_at,
        expires_at: issued_at + expires_in,
    };
    if let Some(refresh) = &response.refresh_token {
        persist(config, &keys.refresh_token(), refresh);
    }
    persist(
        config,
        &keys.granted(),
        &permissions.iter().cloned().collect::<Vec<_>>().join(" "),
    );
    if let Some((account, raw)) = &account {
        if let Ok(json) = serde_json::to_string(account) {
            persist(config, &keys.account(), &json);
        }
        with_core(|c| {
            c.account = Some(account.clone());
            c.id_token = Some(raw.clone());
        });
    }
    with_core(|c| {
        c.tokens.insert(token, issued_at);
        c.failed_renewals = 0;
    });
    save_tokens();
    if let Some(auth) = auth() {
        auth.granted.set(permissions.into_iter().collect());
    }
    schedule_renewal();
}

/// Renews with the stored refresh token for `operations` (all of them: sign-in, known, asked).
/// The renewed ID token must name the account signed in; the tokens are kept only then.
async fn renew(
    config: RuntimeConfig,
    operations: Vec<Operation>,
    challenge: Option<ClaimsChallenge>,
) -> Result<Option<Account>, AuthError> {
    let keys = SessionKeys::for_config(&config);
    let Some(refresh_token) = read(&config, &keys.refresh_token()) else {
        return Err(AuthError::NoSession);
    };
    let generation = with_core(|c| c.generation);
    let request = WorkerRequest::Refresh {
        refresh_token,
        scopes: refresh_scopes_for(config.cloud, &operations),
        claims: claims_parameter(challenge.as_ref(), &config.client_capabilities),
        signed_in: with_core(|c| c.account.as_ref().map(StoredAccount::ids)).flatten(),
    };
    let response = match sign_in_worker::refresh(&config, request).await {
        Ok(r) => r,
        Err(e @ AuthError::IdToken(_)) => {
            // Another account, or a token that fails validation: this session is over.
            forget(&config, &keys.refresh_token());
            with_core(|c| c.tokens.clear());
            save_tokens();
            return Err(e);
        }
        Err(e) => {
            if e.kind().refresh_token_is_dead() {
                forget(&config, &keys.refresh_token());
            }
            return Err(e);
        }
    };
    let account = response
        .id_token
        .clone()
        .map(|id_token| (id_token.account, id_token.raw));
    if with_core(|c| c.generation) != generation {
        // Signed out (here or in another tab) while this renewal ran: keep nothing.
        return Err(AuthError::NoSession);
    }
    with_core(|c| c.renewals += 1);
    remember(
        &config,
        &response,
        &permissions_of(&operations),
        account.clone(),
    );
    if let Some(auth) = auth() {
        auth.renewals.update(|n| *n += 1);
    }
    Ok(account.map(|(a, _)| a.into()))
}

/// One renewal at a time: the first caller starts it, the others await the same outcome (its
/// real error included). A caller that needs more than the running renewal asks for, or has a
/// claims challenge, renews again after it.
async fn renew_shared(
    operations: &[Operation],
    challenge: Option<&ClaimsChallenge>,
) -> Result<Option<Account>, AuthError> {
    let config = config()?;
    loop {
        let wanted = all_operations(&config, operations);
        let running = with_core(|c| {
            c.renewal
                .as_ref()
                .map(|r| (r.operations.clone(), r.with_challenge, r.future.clone()))
        })
        .flatten();
        if let Some((theirs, their_challenge, future)) = running {
            let outcome = future.await;
            let served = challenge.is_none() && (covers(&theirs, &wanted) || their_challenge);
            if outcome.is_err() || served {
                return outcome;
            }
            continue;
        }
        let ticket = with_core(|c| {
            c.next_ticket += 1;
            c.next_ticket
        })
        .ok_or(AuthError::NotStarted)?;
        let job = {
            let config = config.clone();
            let wanted = wanted.clone();
            let challenge = challenge.cloned();
            async move {
                let outcome = renew(config, wanted, challenge).await;
                with_core(|c| {
                    if c.renewal.as_ref().is_some_and(|r| r.ticket == ticket) {
                        c.renewal = None;
                    }
                });
                outcome
            }
        };
        let future = job.boxed_local().shared();
        with_core(|c| {
            c.renewal = Some(InFlight {
                ticket,
                operations: wanted,
                with_challenge: challenge.is_some(),
                future: future.clone(),
            })
        });
        return future.await;
    }
}

fn cached(needed: &PermissionSet) -> Option<String> {
    with_core(|c| c.tokens.find(needed, now()).map(|t| t.secret.clone())).flatten()
}

/// An access token for `operations`: from the cache, else renewed silently (asking for new
/// scopes incrementally). When the refresh cannot give them (consent, MFA, a new scope, an
/// expired session), an interactive authorization for them starts in the background, coming
/// back to this page, and this answers [`AuthError::Reauthorizing`] at once (a write holding
/// the redirect gate can end and release it).
pub async fn access_token(
    operations: &[Operation],
    challenge: Option<&ClaimsChallenge>,
) -> Result<String, AuthError> {
    let config = config()?;
    let needed = permissions_of(operations);
    if challenge.is_none() {
        if let Some(token) = cached(&needed) {
            return Ok(token);
        }
    }
    match renew_shared(operations, challenge).await {
        Ok(_) => cached(&needed).ok_or_else(|| {
            AuthError::Protocol(format!(
                "the renewed token does not carry {}",
                needed.into_iter().collect::<Vec<_>>().join(", ")
            ))
        }),
        Err(e) => Err(fall_back_interactively(&config, operations, challenge, e)),
    }
}

/// A token for `operations` renewed now (after a 401, or with a claims challenge), whatever the
/// cache holds; falls back to the same interactive authorization as [`access_token`].
pub async fn renewed_access_token(
    operations: &[Operation],
    challenge: Option<&ClaimsChallenge>,
) -> Result<String, AuthError> {
    with_core(|c| c.tokens.clear());
    save_tokens();
    access_token(operations, challenge).await
}

/// After an on-demand renewal failed: an interactive authorization for `operations` when it may
/// help (and was not just tried for them), else the error as it is.
fn fall_back_interactively(
    config: &RuntimeConfig,
    operations: &[Operation],
    challenge: Option<&ClaimsChallenge>,
    error: AuthError,
) -> AuthError {
    // No session in this tab (signed out, here or in another tab): the user signs in when they
    // choose to, never by a redirect nobody asked for.
    if matches!(error, AuthError::NoSession) || !error.kind().interactive_may_help() {
        return error;
    }
    let keys = SessionKeys::for_config(config);
    let asking = FallbackMark::new(
        &permissions_of(&all_operations(config, operations))
            .into_iter()
            .collect::<Vec<_>>(),
        now(),
    );
    let last: Option<FallbackMark> =
        read(config, &keys.fallback()).and_then(|json| serde_json::from_str(&json).ok());
    if !may_fall_back(last.as_ref(), &asking) {
        return error;
    }
    if let Ok(json) = serde_json::to_string(&asking) {
        persist(config, &keys.fallback(), &json);
    }
    let config = config.clone();
    let operations = operations.to_vec();
    let challenge = challenge.cloned();
    let return_to = current_path();
    let hint = account_hint(&config);
    leptos::task::spawn_local(async move {
        if let Err(e) = redirect::sign_in_redirect_to(
            &config,
            &operations,
            hint.as_deref(),
            None,
            challenge.as_ref(),
            &return_to,
        )
        .await
        {
            set_status(AuthStatus::Failed(e));
        }
    });
    AuthError::Reauthorizing {
        reason: Box::new(error),
    }
}

// ------------------------------------------------------------------ background renewal

fn set_timer(millis: u32) {
    let timeout = gloo_timers::callback::Timeout::new(millis, || {
        leptos::task::spawn_local(async {
            let outcome = renew_shared(&[], None).await;
            after_background_renewal(outcome);
        });
    });
    TIMER.with(|t| *t.borrow_mut() = Some(timeout));
}

/// Renews in the background when the earliest token enters its renewal window.
fn schedule_renewal() {
    if let Some(delay) = with_core(|c| c.tokens.next_renewal_in(now())).flatten() {
        set_timer((delay.max(1) as u32).saturating_mul(1000));
    }
}

/// A background renewal's outcome: transient failures keep the session and retry with backoff;
/// failures that need the user end it; others are reported.
fn after_background_renewal(outcome: Result<Option<Account>, AuthError>) {
    let error = match outcome {
        Ok(Some(account)) => {
            if matches!(
                auth().map(|a| a.status.get_untracked()),
                Some(AuthStatus::SignedIn(_))
            ) {
                set_status(AuthStatus::SignedIn(account));
            }
            return;
        }
        Ok(None) => return,
        Err(AuthError::NoSession) => {
            // Signed out meanwhile (here or in another tab): nothing to renew any more.
            TIMER.with(|t| t.borrow_mut().take());
            if matches!(
                auth().map(|a| a.status.get_untracked()),
                Some(AuthStatus::SignedIn(_))
            ) {
                set_status(AuthStatus::SignedOut);
            }
            return;
        }
        Err(e) => e,
    };
    let attempt = with_core(|c| {
        c.failed_renewals += 1;
        c.failed_renewals
    })
    .unwrap_or(1);
    match after_background_failure(error.kind(), attempt, js_sys::Math::random()) {
        AfterRenewalFailure::RetryIn { millis } => {
            set_timer(u32::try_from(millis).unwrap_or(u32::MAX));
        }
        AfterRenewalFailure::EndSession => {
            with_core(|c| c.tokens.clear());
            save_tokens();
            TIMER.with(|t| t.borrow_mut().take());
            set_status(AuthStatus::Failed(error));
        }
        AfterRenewalFailure::Report => {
            TIMER.with(|t| t.borrow_mut().take());
            set_status(AuthStatus::Failed(error));
        }
    }
}

// ------------------------------------------------------------------ interaction

/// Asks again, interactively and with the consent prompt, for `operations` (after Graph said
/// the token lacks them), coming back to this page once writes in flight settle.
pub fn request_consent(operations: Vec<Operation>) {
    leptos::task::spawn_local(async move {
        let Ok(config) = config() else {
            return;
        };
        let hint = stored_account(&config).and_then(|a| a.hint().map(str::to_string));
        if let Err(e) =
            redirect::sign_in_redirect(&config, &operations, hint.as_deref(), Some("consent"), None)
                .await
        {
            set_status(AuthStatus::Failed(e));
        }
    });
}

/// Starts an interactive sign-in (header button).
pub fn start_sign_in(config: RuntimeConfig, prompt: Option<&'static str>) {
    leptos::task::spawn_local(async move {
        if let Err(e) = redirect::sign_in_redirect(&config, &[], None, prompt, None).await {
            set_status(AuthStatus::Failed(e));
        }
    });
}

/// The link an administrator follows to consent for the whole tenant.
pub fn admin_consent_link() -> Option<String> {
    with_core(|c| admin_consent_url(&c.config))
}

// ------------------------------------------------------------------ sign-out

/// Forgets the session in this tab: tokens, timer, account and every `tap.auth.*` entry.
fn end_locally() {
    with_core(|c| {
        c.tokens.clear();
        c.account = None;
        c.id_token = None;
        c.renewal = None;
        c.failed_renewals = 0;
        c.generation += 1;
    });
    TIMER.with(|t| t.borrow_mut().take());
    storage::remove_all_auth_keys();
    if let Some(auth) = auth() {
        auth.granted.set(Vec::new());
    }
}

/// Signs out once writes in flight settle: clears every cache and sessionStorage entry, tells
/// the other tabs, then ends the session at the provider with `id_token_hint` (or `client_id`)
/// and `logout_hint`, returning to the portal. The account's unfinished work in this browser
/// (jobs, writes kept until they settle) stays for its next sign-in; see [`sign_out_with`].
pub async fn sign_out() {
    sign_out_with(None).await
}

/// Signs out as [`sign_out`] does; with `discard`, the account's unfinished work in this browser
/// is discarded first (its database and its marker), once the writes being sent have settled.
/// Other accounts' work is never touched.
pub async fn sign_out_with(discard: Option<portal_core::ownership::Owner>) {
    let Ok(config) = config() else {
        return;
    };
    super::redirect_gate::settled().await;
    if let Some(owner) = discard {
        // Best effort: a database the browser cannot delete now is deleted once other tabs of
        // this portal let go of it (they close it when asked).
        let _ = crate::job_store::discard_work(&owner).await;
    }
    let id_token = with_core(|c| c.id_token.clone()).flatten();
    let hint = account_hint(&config);
    end_locally();
    broadcast::announce_sign_out();
    let end = sign_in_worker::end_session_endpoint(&config)
        .await
        .ok()
        .flatten();
    let target = end
        .and_then(|end| {
            end_session_url(
                &end,
                config.redirect_uri.as_str(),
                id_token.as_deref(),
                &config.client_id,
                hint.as_deref(),
            )
        })
        .unwrap_or_else(|| config.redirect_uri.to_string());
    redirect::navigate(&target).await;
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
