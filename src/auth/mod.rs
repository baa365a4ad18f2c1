//! Signing in, MSAL-style, in the browser: authorization code + PKCE through `openidconnect`,
//! access tokens per scope set in memory, the refresh token in sessionStorage (or memory) under a
//! key bound to client, authority and tenant, silent renewal shared by concurrent callers that
//! survives transient failures, incremental consent with an interactive fallback, claims
//! challenges, admin consent, and sign-out in every tab. The decisions live in
//! `portal_core::auth`; this module does the I/O:
//!
//! - [`session`]: the tab's session, one context value ([`Session`], [`provide_session`],
//!   [`use_session`]): start-up, tokens, renewal, fallback, redirects, sign-out;
//!
//! and the leaves it uses, which use nothing of the session:
//!
//! - [`redirect`]: the address bar (where to come back to, the callback read from it, leaving);
//! - [`redirect_gate`]: redirects wait for writes in flight (the write service holds the
//!   session's gate);
//! - [`broadcast`]: sign-out reaches the other tabs;
//! - [`sign_in_worker`]: the protocol (discovery, authorize URL, code and refresh exchanges, ID
//!   token validation), in a web worker started when first needed (`crates/sign-in-worker`);
//! - [`storage`]: sessionStorage, or memory.
//!
//! The types the UI shows ([`AuthStatus`], [`Account`], [`AuthError`]) are defined here.

pub mod broadcast;
pub mod error;
pub mod redirect;
pub mod redirect_gate;
pub mod session;
pub mod sign_in_worker;
pub mod storage;

use portal_core::auth::account::StoredAccount;

pub use error::AuthError;
pub use portal_core::auth::roles::ADMIN_ROLE_TEMPLATES;
pub use session::{provide_session, use_session, Session};

/// The signed-in account, from the validated ID token.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub name: String,
    pub username: String,
    pub oid: String,
    pub tid: String,
    pub wids: Vec<String>,
}

impl Account {
    /// Teams Administrator or Global Administrator per `wids` (a UI hint only).
    pub fn is_admin(&self) -> bool {
        portal_core::auth::roles::is_admin(&self.wids)
    }
}

impl From<StoredAccount> for Account {
    fn from(a: StoredAccount) -> Account {
        Account {
            name: a.name,
            username: a.username,
            oid: a.oid,
            tid: a.tid,
            wids: a.wids,
        }
    }
}

/// What the UI shows.
#[derive(Clone, Debug, PartialEq)]
pub enum AuthStatus {
    Starting,
    SignedOut,
    SignedIn(Account),
    /// Sign-in failed; the portal still works signed out.
    Failed(AuthError),
    /// An admin must consent before this user can get the scopes asked for.
    ConsentRequired {
        description: String,
        admin_consent_url: String,
    },
}
