//! What an identity provider's refusal means for the portal: the OAuth `error` and Entra's
//! AADSTS code (in `error_description`) classified once into [`OAuthErrorKind`], so the browser
//! side decides with a `match` instead of comparing strings. A network failure, a timeout and a
//! 5xx or 429 answer are [`OAuthErrorKind::Transient`]: the session is kept and renewal retried.

use std::fmt;

/// Why no answer (or no usable answer) came back: worth trying again later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransientCause {
    /// The request never got an answer (offline, DNS, connection refused or reset).
    Network,
    /// No answer within the time allowed.
    Timeout,
    /// An HTTP status that says "later": 5xx, 429, 408.
    Status(u16),
    /// The provider said so itself (`temporarily_unavailable`, `server_error`).
    Provider,
}

impl fmt::Display for TransientCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransientCause::Network => f.write_str("no answer from the identity provider"),
            TransientCause::Timeout => f.write_str("the identity provider did not answer in time"),
            TransientCause::Status(status) => {
                write!(f, "the identity provider answered HTTP {status}")
            }
            TransientCause::Provider => {
                f.write_str("the identity provider is temporarily unavailable")
            }
        }
    }
}

/// The meaning of a token or authorize error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthErrorKind {
    /// The user must interact: MFA, a conditional access step, a password change
    /// (`interaction_required`, AADSTS50076, 50079, 50158, ...).
    InteractionRequired,
    /// No session at the provider for a silent request (`login_required`, AADSTS50058).
    LoginRequired,
    /// The refresh token or code is no longer good: expired (AADSTS700084 the SPA's 24 hours,
    /// 70008 inactivity), revoked or rotated (`invalid_grant`).
    InvalidGrant,
    /// Consent is missing for a scope asked for (`consent_required`, AADSTS65001).
    ConsentRequired,
    /// A scope asked for is unknown or not allowed (`invalid_scope`, AADSTS70011).
    InvalidScope,
    /// Try again later; nothing is wrong with the session.
    Transient(TransientCause),
    /// Anything else (a misconfigured client, an unsupported grant...): not fixed by retrying
    /// nor by signing in again.
    Other,
}

/// AADSTS codes whose meaning wins over the OAuth `error` they come with (Entra sends, for
/// example, `invalid_grant` with AADSTS65001 when consent is missing on a refresh).
const AADSTS_KINDS: &[(u32, OAuthErrorKind)] = &[
    (65001, OAuthErrorKind::ConsentRequired),
    (65004, OAuthErrorKind::Other), // the user declined consent
    (700084, OAuthErrorKind::InvalidGrant),
    (70008, OAuthErrorKind::InvalidGrant),
    (70043, OAuthErrorKind::InvalidGrant),
    (50173, OAuthErrorKind::InvalidGrant),
    (50133, OAuthErrorKind::InvalidGrant),
    (54005, OAuthErrorKind::InvalidGrant),
    (9002313, OAuthErrorKind::InvalidGrant),
    (50076, OAuthErrorKind::InteractionRequired),
    (50079, OAuthErrorKind::InteractionRequired),
    (50074, OAuthErrorKind::InteractionRequired),
    (50072, OAuthErrorKind::InteractionRequired),
    (50158, OAuthErrorKind::InteractionRequired),
    (50125, OAuthErrorKind::InteractionRequired),
    (50055, OAuthErrorKind::InteractionRequired),
    (50058, OAuthErrorKind::LoginRequired),
    (70011, OAuthErrorKind::InvalidScope),
    (90033, OAuthErrorKind::Transient(TransientCause::Provider)),
];

/// The first `AADSTS<digits>` code in a description, as a number.
pub fn aadsts_code(description: &str) -> Option<u32> {
    let at = description.find("AADSTS")?;
    let digits: String = description[at + "AADSTS".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

impl OAuthErrorKind {
    /// Classifies an error answer (`error`, `error_description`): the AADSTS code when it is a
    /// known one, else the OAuth `error`.
    pub fn classify(error: &str, description: &str) -> OAuthErrorKind {
        if let Some(kind) = aadsts_code(description)
            .and_then(|code| AADSTS_KINDS.iter().find(|(c, _)| *c == code))
            .map(|(_, kind)| *kind)
        {
            return kind;
        }
        match error.trim().to_ascii_lowercase().as_str() {
            "interaction_required" => OAuthErrorKind::InteractionRequired,
            "login_required" | "account_selection_required" => OAuthErrorKind::LoginRequired,
            "invalid_grant" => OAuthErrorKind::InvalidGrant,
            "consent_required" => OAuthErrorKind::ConsentRequired,
            "invalid_scope" => OAuthErrorKind::InvalidScope,
            "temporarily_unavailable" | "server_error" => {
                OAuthErrorKind::Transient(TransientCause::Provider)
            }
            _ => OAuthErrorKind::Other,
        }
    }

    /// The kind of an HTTP status that carries no usable OAuth error: `Some` for 5xx, 429 and
    /// 408 (transient), `None` for the rest (read the body).
    pub fn from_status(status: u16) -> Option<OAuthErrorKind> {
        (status >= 500 || status == 429 || status == 408)
            .then_some(OAuthErrorKind::Transient(TransientCause::Status(status)))
    }

    /// Worth retrying later with the same refresh token.
    pub fn is_transient(self) -> bool {
        matches!(self, OAuthErrorKind::Transient(_))
    }

    /// Only the user can fix it (sign in, consent, MFA): a background renewal failing so ends
    /// the session.
    pub fn needs_user(self) -> bool {
        matches!(
            self,
            OAuthErrorKind::InteractionRequired
                | OAuthErrorKind::LoginRequired
                | OAuthErrorKind::InvalidGrant
                | OAuthErrorKind::ConsentRequired
                | OAuthErrorKind::InvalidScope
        )
    }

    /// The refresh token itself is dead (expired, revoked): forget it.
    pub fn refresh_token_is_dead(self) -> bool {
        matches!(
            self,
            OAuthErrorKind::InvalidGrant | OAuthErrorKind::LoginRequired
        )
    }

    /// A refresh could not give the scopes asked for, but an interactive authorization for them
    /// may (consent screen, MFA, a new scope): fall back to it and come back to the same page.
    pub fn interactive_may_help(self) -> bool {
        self.needs_user()
    }

    /// An administrator must consent (the portal then shows the admin-consent link).
    pub fn is_consent_required(self) -> bool {
        self == OAuthErrorKind::ConsentRequired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OAuthErrorKind::*;

    #[test]
    fn errors_are_classified_by_code_then_by_error() {
        let table: &[(&str, &str, OAuthErrorKind)] = &[
            ("interaction_required", "", InteractionRequired),
            ("login_required", "AADSTS50058: A silent sign-in request was sent but no user is signed in.", LoginRequired),
            ("invalid_grant", "AADSTS700084: The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime", InvalidGrant),
            ("invalid_grant", "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.", InvalidGrant),
            ("invalid_grant", "", InvalidGrant),
            // Entra refuses a refresh lacking consent with invalid_grant + AADSTS65001.
            ("invalid_grant", "AADSTS65001: The user or administrator has not consented to use the application", ConsentRequired),
            ("consent_required", "AADSTS65001: ...", ConsentRequired),
            ("consent_required", "", ConsentRequired),
            ("interaction_required", "AADSTS65001: consent needed", ConsentRequired),
            ("invalid_grant", "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication", InteractionRequired),
            ("invalid_grant", "AADSTS50079: Due to a configuration change made by your administrator, you must enroll in multi-factor authentication", InteractionRequired),
            ("invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.", InvalidScope),
            ("invalid_scope", "", InvalidScope),
            ("temporarily_unavailable", "", Transient(TransientCause::Provider)),
            ("server_error", "AADSTS90033: A transient error has occurred. Please try again.", Transient(TransientCause::Provider)),
            ("invalid_client", "AADSTS7000218: The request body must contain client_assertion", Other),
            ("unauthorized_client", "AADSTS700016: Application not found", Other),
            ("access_denied", "AADSTS65004: User declined to consent", Other),
            ("INVALID_GRANT", "", InvalidGrant),
            ("", "", Other),
        ];
        for (error, description, expected) in table {
            assert_eq!(
                OAuthErrorKind::classify(error, description),
                *expected,
                "{error} / {description}"
            );
        }
    }

    #[test]
    fn statuses_that_mean_later_are_transient() {
        for (status, expected) in [
            (500, Some(Transient(TransientCause::Status(500)))),
            (502, Some(Transient(TransientCause::Status(502)))),
            (503, Some(Transient(TransientCause::Status(503)))),
            (504, Some(Transient(TransientCause::Status(504)))),
            (429, Some(Transient(TransientCause::Status(429)))),
            (408, Some(Transient(TransientCause::Status(408)))),
            (400, None),
            (401, None),
            (200, None),
        ] {
            assert_eq!(OAuthErrorKind::from_status(status), expected, "{status}");
        }
    }

    #[test]
    fn what_each_kind_asks_for() {
        // (kind, transient, needs the user, refresh token dead)
        let table = [
            (InteractionRequired, false, true, false),
            (LoginRequired, false, true, true),
            (InvalidGrant, false, true, true),
            (ConsentRequired, false, true, false),
            (InvalidScope, false, true, false),
            (Transient(TransientCause::Network), true, false, false),
            (Transient(TransientCause::Timeout), true, false, false),
            (Transient(TransientCause::Status(503)), true, false, false),
            (Other, false, false, false),
        ];
        for (kind, transient, user, dead) in table {
            assert_eq!(kind.is_transient(), transient, "{kind:?}");
            assert_eq!(kind.needs_user(), user, "{kind:?}");
            assert_eq!(kind.interactive_may_help(), user, "{kind:?}");
            assert_eq!(kind.refresh_token_is_dead(), dead, "{kind:?}");
        }
    }

    #[test]
    fn aadsts_codes_are_read_from_descriptions() {
        assert_eq!(aadsts_code("AADSTS65001: The user..."), Some(65001));
        assert_eq!(
            aadsts_code("Error: AADSTS700084: The refresh token"),
            Some(700084)
        );
        assert_eq!(aadsts_code("no code here"), None);
        assert_eq!(aadsts_code("AADSTS: nothing"), None);
        assert_eq!(aadsts_code("AADSTS"), None);
    }

    #[test]
    fn transient_causes_read_as_sentences() {
        assert_eq!(
            TransientCause::Status(503).to_string(),
            "the identity provider answered HTTP 503"
        );
        assert!(!TransientCause::Timeout.to_string().contains("Timeout"));
    }
}
