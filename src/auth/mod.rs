//! Signing in, MSAL-style, in the browser: authorization code + PKCE through `openidconnect`,
//! access tokens per scope set in memory, the refresh token in sessionStorage (or memory) under a
//! key bound to client, authority and tenant, silent renewal shared by concurrent callers that
//! survives transient failures, incremental consent with an interactive fallback, claims
//! challenges, admin consent, and sign-out in every tab. The decisions live in
//! `portal_core::auth`; this module does the I/O:
//!
//! - [`session`]: the tab's session (start-up, tokens, renewal, fallback, sign-out);
//! - [`redirect`]: leaving for the identity provider and coming back;
//! - [`redirect_gate`]: redirects wait for writes in flight (the hook of the write service);
//! - [`broadcast`]: sign-out reaches the other tabs;
//! - [`sign_in_worker`]: the protocol (discovery, authorize URL, code and refresh exchanges, ID
//!   token validation), in a web worker started when first needed (`crates/sign-in-worker`);
//! - [`storage`]: sessionStorage, or memory.
//!
//! The context ([`Auth`], [`use_auth`], [`provide_auth`]) and the types the UI shows
//! ([`AuthStatus`], [`Account`], [`AuthError`]) are defined here.

pub mod broadcast;
pub mod error;
pub mod redirect;
pub mod redirect_gate;
pub mod session;
pub mod sign_in_worker;
pub mod storage;

use leptos::prelude::*;
use portal_core::auth::account::StoredAccount;

pub use error::AuthError;
pub use portal_core::auth::roles::ADMIN_ROLE_TEMPLATES;
pub use redirect::sign_in_redirect;
pub use session::{
    access_token, admin_consent_link, boot, provide_auth, renewed_access_token, request_consent,
    sign_out, start_sign_in,
};

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

/// The auth handle in context.
#[derive(Clone, Copy)]
pub struct Auth {
    pub status: RwSignal<AuthStatus>,
    /// Silent renewals done in this page's life (shown on Settings).
    pub renewals: RwSignal<u32>,
    /// Graph permissions held now.
    pub granted: RwSignal<Vec<String>>,
}

/// The auth handle from context (a signed-out one if none was provided, as in component tests).
pub fn use_auth() -> Auth {
    use_context::<Auth>().unwrap_or_else(|| Auth {
        status: RwSignal::new(AuthStatus::SignedOut),
        renewals: RwSignal::new(0),
        granted: RwSignal::new(Vec::new()),
    })
}

/// Result of starting up: the status, and where the router should start.
pub struct Boot {
    pub status: AuthStatus,
}
