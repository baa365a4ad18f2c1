//! Every way signing in can fail, each with a sentence a user can read (`Display`, never Rust
//! `Debug` text), the i18n key of the banner that explains it, and its meaning for the session
//! (`kind()`, from `portal_core::auth::oauth_error`).

use portal_core::auth::oauth_error::{aadsts_code, OAuthErrorKind, TransientCause};
use portal_core::auth::pending::{PendingError, StorageError};
use thiserror::Error;

/// Every way signing in can fail.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum AuthError {
    /// No answer from the identity provider.
    #[error("the identity provider could not be reached ({0})")]
    Network(String),
    /// No answer in the time allowed.
    #[error("the identity provider did not answer in time")]
    Timeout,
    /// The portal's sign-in worker could not be loaded, or stopped answering (its files missing
    /// or unreachable): the session is kept and a later attempt starts a new worker.
    #[error("the portal's sign-in code could not be loaded ({0})")]
    SignInWorker(String),
    /// The identity provider answered 5xx, 429 or 408: try again later.
    #[error("the identity provider is unavailable for now (HTTP {status})")]
    Unavailable { status: u16 },
    /// The discovery document or JWKS could not be used.
    #[error("the identity provider's configuration could not be read: {0}")]
    Discovery(String),
    /// The identity provider refused (`error`, `error_description` with the AADSTS code).
    #[error(
        "the identity provider refused the request: {}",
        server_text(error, description)
    )]
    Server { error: String, description: String },
    /// The callback's `state` is unknown (forged or replayed) or too old.
    #[error("{0}")]
    Callback(PendingError),
    /// The ID token failed validation.
    #[error("the identity token was refused: {0}")]
    IdToken(String),
    /// The protocol was not followed (unparsable answer, missing token).
    #[error("the identity provider's answer did not follow the protocol: {0}")]
    Protocol(String),
    /// The browser would not keep what a redirect needs (sessionStorage full or disabled): the
    /// redirect did not happen.
    #[error("{0}; the sign-in was not started")]
    Storage(StorageError),
    /// The administrator's consent for the organization was not given.
    #[error(
        "consent for the organization was not granted: {}",
        server_text(error, description)
    )]
    AdminConsent { error: String, description: String },
    /// A refresh could not give what was asked (`reason`): the portal is signing in again
    /// interactively for it and will come back to this page.
    #[error("signing in again to get the permission this needs ({reason})")]
    Reauthorizing { reason: Box<AuthError> },
    /// No refresh token in this tab (signed out elsewhere, or memory-only after a reload).
    #[error("there is no session in this tab")]
    NoSession,
    /// Auth has not started (no configuration yet).
    #[error("sign-in has not started yet")]
    NotStarted,
}

impl From<portal_core::auth::sign_in_worker::WorkerError> for AuthError {
    fn from(error: portal_core::auth::sign_in_worker::WorkerError) -> AuthError {
        use portal_core::auth::sign_in_worker::WorkerError as W;
        match error {
            W::Network(reason) => AuthError::Network(reason),
            W::Timeout => AuthError::Timeout,
            W::Unavailable { status } => AuthError::Unavailable { status },
            W::Discovery(reason) => AuthError::Discovery(reason),
            W::Server { error, description } => AuthError::Server { error, description },
            W::IdToken(reason) => AuthError::IdToken(reason),
            W::Protocol(reason) => AuthError::Protocol(reason),
        }
    }
}

/// `error_description` when there is one (it carries the AADSTS code), else `error`.
fn server_text(error: &str, description: &str) -> String {
    let description = description.trim();
    if description.is_empty() {
        error.to_string()
    } else {
        format!("{description} ({error})")
    }
}

impl AuthError {
    /// What the failure means for the session.
    pub fn kind(&self) -> OAuthErrorKind {
        match self {
            AuthError::Network(_) | AuthError::SignInWorker(_) => {
                OAuthErrorKind::Transient(TransientCause::Network)
            }
            AuthError::Timeout => OAuthErrorKind::Transient(TransientCause::Timeout),
            AuthError::Unavailable { status } => {
                OAuthErrorKind::Transient(TransientCause::Status(*status))
            }
            AuthError::Server { error, description }
            | AuthError::AdminConsent { error, description } => {
                OAuthErrorKind::classify(error, description)
            }
            AuthError::Reauthorizing { reason } => reason.kind(),
            AuthError::NoSession => OAuthErrorKind::LoginRequired,
            _ => OAuthErrorKind::Other,
        }
    }

    /// The AADSTS code in a server error, if any (`AADSTS65001`).
    pub fn aadsts(&self) -> Option<String> {
        match self {
            AuthError::Server { description, .. } | AuthError::AdminConsent { description, .. } => {
                aadsts_code(description).map(|code| format!("AADSTS{code}"))
            }
            AuthError::Reauthorizing { reason } => reason.aadsts(),
            _ => None,
        }
    }

    /// Whether interaction (a redirect to sign in) can fix it.
    pub fn needs_interaction(&self) -> bool {
        self.kind().needs_user()
    }

    /// Whether an administrator must consent first.
    pub fn is_consent_required(&self) -> bool {
        self.kind().is_consent_required()
    }

    /// Whether trying again later may work (network, timeout, 5xx): the session is kept.
    pub fn is_transient(&self) -> bool {
        self.kind().is_transient()
    }

    /// The i18n key of the banner's headline.
    pub fn message_key(&self) -> &'static str {
        match self {
            AuthError::Network(_) | AuthError::Timeout => "auth.error.network",
            AuthError::SignInWorker(_) => "auth.error.sign_in_worker",
            AuthError::Unavailable { .. } => "auth.error.unavailable",
            AuthError::Discovery(_) => "auth.error.discovery",
            AuthError::Server { .. } => "auth.error.server",
            AuthError::Callback(PendingError::UnknownState) => "auth.error.unknown_state",
            AuthError::Callback(PendingError::Expired) => "auth.error.expired_state",
            AuthError::IdToken(_) => "auth.error.id_token",
            AuthError::Protocol(_) | AuthError::NotStarted => "auth.error.protocol",
            AuthError::Storage(_) => "auth.error.storage",
            AuthError::AdminConsent { .. } => "auth.error.admin_consent",
            AuthError::Reauthorizing { .. } => "auth.error.reauthorizing",
            AuthError::NoSession => "auth.error.no_session",
        }
    }

    /// The detail under the headline (empty when the headline says it all).
    pub fn detail(&self) -> String {
        match self {
            AuthError::Network(reason)
            | AuthError::SignInWorker(reason)
            | AuthError::Discovery(reason)
            | AuthError::IdToken(reason)
            | AuthError::Protocol(reason) => reason.clone(),
            AuthError::Timeout | AuthError::Unavailable { .. } | AuthError::Storage(_) => {
                self.to_string()
            }
            AuthError::Server { error, description }
            | AuthError::AdminConsent { error, description } => server_text(error, description),
            AuthError::Reauthorizing { reason } => reason.to_string(),
            AuthError::Callback(_) | AuthError::NotStarted | AuthError::NoSession => String::new(),
        }
    }

    /// The i18n key of what to do next (it only mentions a code when there is one to give).
    pub fn next_key(&self) -> &'static str {
        if self.aadsts().is_some() {
            "auth.error.next"
        } else {
            "auth.error.next_no_code"
        }
    }
}

impl From<StorageError> for AuthError {
    fn from(error: StorageError) -> AuthError {
        AuthError::Storage(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_user_reads_is_never_debug_text() {
        let errors = [
            AuthError::Network("Failed to fetch".into()),
            AuthError::SignInWorker("it did not start within 20 s".into()),
            AuthError::Timeout,
            AuthError::Unavailable { status: 503 },
            AuthError::Discovery("answered HTTP 404".into()),
            AuthError::Server {
                error: "invalid_scope".into(),
                description: "AADSTS70011: The provided value for scope is not valid.".into(),
            },
            AuthError::Server {
                error: "invalid_scope".into(),
                description: String::new(),
            },
            AuthError::Callback(PendingError::UnknownState),
            AuthError::IdToken("nonce mismatch".into()),
            AuthError::Protocol("no ID token".into()),
            AuthError::Storage(StorageError {
                reason: "QuotaExceededError".into(),
            }),
            AuthError::AdminConsent {
                error: "access_denied".into(),
                description: "AADSTS90094: admin only".into(),
            },
            AuthError::Reauthorizing {
                reason: Box::new(AuthError::Server {
                    error: "invalid_grant".into(),
                    description: "AADSTS65001: consent".into(),
                }),
            },
            AuthError::NoSession,
            AuthError::NotStarted,
        ];
        for error in errors {
            let text = error.to_string();
            for debug in ["Server {", "error:", "Some(", "\\\"", "Box", "UnknownState"] {
                assert!(!text.contains(debug), "{text}");
                assert!(!error.detail().contains(debug), "{}", error.detail());
            }
            assert!(error.message_key().starts_with("auth.error."));
        }
    }

    #[test]
    fn meaning_comes_from_the_typed_kind() {
        let consent = AuthError::Server {
            error: "invalid_grant".into(),
            description: "AADSTS65001: The user or administrator has not consented".into(),
        };
        assert!(consent.is_consent_required());
        assert!(consent.needs_interaction());
        assert_eq!(consent.aadsts().as_deref(), Some("AADSTS65001"));
        assert_eq!(consent.next_key(), "auth.error.next");
        assert!(AuthError::Unavailable { status: 503 }.is_transient());
        assert!(!AuthError::Unavailable { status: 503 }.needs_interaction());
        assert!(AuthError::Timeout.is_transient());
        assert_eq!(AuthError::Timeout.next_key(), "auth.error.next_no_code");
        assert!(!AuthError::IdToken("x".into()).is_transient());
        assert!(!AuthError::IdToken("x".into()).needs_interaction());
    }
}
