//! What the page and the sign-in worker say to each other (issue #10). The OpenID Connect
//! protocol (discovery, the authorize URL with PKCE, the code and refresh-token exchanges, ID
//! token validation) runs in a web worker built apart by trunk (`crates/sign-in-worker`), so
//! `openidconnect` and its types are not in the first load: the worker is fetched when the
//! session first needs it (signing in, or renewing). The page keeps the session (storage,
//! tokens, renewal timing); the worker keeps nothing but the discovered provider.
//!
//! Every message is JSON: a [`WorkerCall`] one way, a [`WorkerReply`] with the same id back.

use serde::{Deserialize, Serialize};

use super::account::StoredAccount;
use super::id_token::AccountIds;
use crate::config::{RuntimeConfig, Tenant};

/// What the worker needs of the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerConfig {
    /// `https://login.microsoftonline.com/{tenant}/v2.0` or the configured authority's.
    pub authority_url: String,
    pub client_id: String,
    pub redirect_uri: String,
    /// The configured directory id, which the ID token's `tid` must match.
    pub tenant_id: Option<String>,
}

impl WorkerConfig {
    pub fn of(config: &RuntimeConfig) -> WorkerConfig {
        WorkerConfig {
            authority_url: config.authority_url(),
            client_id: config.client_id.clone(),
            redirect_uri: config.redirect_uri.to_string(),
            tenant_id: match &config.tenant {
                Tenant::Id(id) => Some(id.clone()),
                _ => None,
            },
        }
    }
}

/// One request to the worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerRequest {
    /// The provider's metadata the page uses (for sign-out).
    Discover,
    /// A new authorize URL (PKCE S256, state, nonce) for `scopes` and extra parameters.
    Authorize {
        scopes: Vec<String>,
        extra: Vec<(String, String)>,
    },
    /// Exchanges a code; the ID token must carry `nonce`.
    ExchangeCode {
        code: String,
        pkce_verifier: String,
        nonce: String,
    },
    /// Redeems a refresh token for `scopes` (and `claims`); a renewed ID token must name the
    /// account signed in.
    Refresh {
        refresh_token: String,
        scopes: Vec<String>,
        claims: Option<String>,
        signed_in: Option<AccountIds>,
    },
}

/// A request with its id and the configuration it is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerCall {
    pub id: u64,
    pub config: WorkerConfig,
    pub request: WorkerRequest,
}

/// A new authorize request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// An ID token that passed validation, with the account it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedIdToken {
    pub account: StoredAccount,
    pub raw: String,
}

/// A token response, its ID token validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenAnswer {
    pub access_token: String,
    /// Seconds, when the answer says.
    pub expires_in: Option<u64>,
    /// The granted scopes as answered (space-separated), when the answer says.
    pub scope: Option<String>,
    pub refresh_token: Option<String>,
    pub id_token: Option<ValidatedIdToken>,
}

/// What the worker answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerAnswer {
    Discovered {
        end_session_endpoint: Option<String>,
    },
    Authorize(AuthorizeRequest),
    Tokens(TokenAnswer),
}

/// How a worker request failed (the page turns it into its `AuthError`).
impl WorkerAnswer {
    /// What kind of answer this is, for a message about an answer of the wrong kind: never its
    /// content, which may be tokens or a PKCE verifier.
    pub fn kind(&self) -> &'static str {
        match self {
            WorkerAnswer::Discovered { .. } => "discovery",
            WorkerAnswer::Authorize(_) => "an authorize request",
            WorkerAnswer::Tokens(_) => "tokens",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkerError {
    /// No answer from the identity provider.
    Network(String),
    /// No answer in the time allowed.
    Timeout,
    /// 5xx, 429 or 408.
    Unavailable { status: u16 },
    /// The discovery document or JWKS could not be used.
    Discovery(String),
    /// The identity provider refused.
    Server { error: String, description: String },
    /// The ID token failed validation.
    IdToken(String),
    /// The answer did not follow the protocol (or the message did not parse).
    Protocol(String),
}

/// The answer to the call `id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerReply {
    pub id: u64,
    pub result: Result<WorkerAnswer, WorkerError>,
}

/// trunk's name for the worker's loader, in a build whose files were not renamed by content.
pub const DEFAULT_LOADER: &str = "sign-in-worker_loader.js";

/// The worker loader's file name from `index.html`'s `<meta name="sign-in-worker">` (the
/// release build names it by content): taken only when it is a plain file name of this
/// deployment (letters, digits, `-`, `_`, `.`, ending in `.js`, no path), else trunk's.
pub fn loader_name(meta: Option<&str>) -> &str {
    meta.filter(|name| {
        name.ends_with(".js")
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    })
    .unwrap_or(DEFAULT_LOADER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_gets_what_the_protocol_needs_of_the_configuration() {
        let config = RuntimeConfig::parse(
            r#"{"clientId": "6731de76-14a6-49ae-97bc-6eba6914391e",
                "tenant": "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
                "redirectUri": "https://portal.contoso.com/"}"#,
        )
        .unwrap();
        let worker = WorkerConfig::of(&config);
        assert_eq!(
            worker.authority_url,
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"
        );
        assert_eq!(worker.redirect_uri, "https://portal.contoso.com/");
        assert_eq!(
            worker.tenant_id.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        let domain = RuntimeConfig::parse(
            r#"{"clientId": "6731de76-14a6-49ae-97bc-6eba6914391e",
                "tenant": "contoso.onmicrosoft.com",
                "redirectUri": "https://portal.contoso.com/"}"#,
        )
        .unwrap();
        assert_eq!(WorkerConfig::of(&domain).tenant_id, None);
    }

    #[test]
    fn calls_and_replies_survive_json() {
        let call = WorkerCall {
            id: 7,
            config: WorkerConfig {
                authority_url: "https://login.microsoftonline.com/organizations/v2.0".into(),
                client_id: "c".into(),
                redirect_uri: "http://127.0.0.1:8080/".into(),
                tenant_id: None,
            },
            request: WorkerRequest::Refresh {
                refresh_token: "r".into(),
                scopes: vec!["User.Read".into()],
                claims: Some("{\"access_token\":{}}".into()),
                signed_in: Some(AccountIds {
                    oid: "o".into(),
                    tid: "t".into(),
                }),
            },
        };
        let json = serde_json::to_string(&call).unwrap();
        assert_eq!(serde_json::from_str::<WorkerCall>(&json).unwrap(), call);
        for result in [
            Ok(WorkerAnswer::Tokens(TokenAnswer {
                access_token: "a".into(),
                expires_in: Some(3600),
                scope: None,
                refresh_token: Some("r2".into()),
                id_token: Some(ValidatedIdToken {
                    account: StoredAccount::default(),
                    raw: "x.y.z".into(),
                }),
            })),
            Err(WorkerError::Unavailable { status: 503 }),
            Err(WorkerError::Server {
                error: "invalid_grant".into(),
                description: "AADSTS700082".into(),
            }),
        ] {
            let reply = WorkerReply { id: 7, result };
            let json = serde_json::to_string(&reply).unwrap();
            assert_eq!(serde_json::from_str::<WorkerReply>(&json).unwrap(), reply);
        }
    }

    #[test]
    fn an_answer_is_named_by_its_kind_never_its_content() {
        let tokens = WorkerAnswer::Tokens(TokenAnswer {
            access_token: "secret-access".into(),
            expires_in: Some(3600),
            scope: None,
            refresh_token: Some("secret-refresh".into()),
            id_token: None,
        });
        assert_eq!(tokens.kind(), "tokens");
        let authorize = WorkerAnswer::Authorize(AuthorizeRequest {
            url: "https://login.example/authorize".into(),
            state: "s".into(),
            nonce: "n".into(),
            pkce_verifier: "secret-verifier".into(),
        });
        assert_eq!(authorize.kind(), "an authorize request");
        assert_eq!(
            WorkerAnswer::Discovered {
                end_session_endpoint: None
            }
            .kind(),
            "discovery"
        );
    }

    #[test]
    fn the_loader_is_the_one_index_html_names_if_it_is_a_plain_file_name() {
        assert_eq!(
            loader_name(Some("sign-in-worker-0123456789abcdef_loader.js")),
            "sign-in-worker-0123456789abcdef_loader.js"
        );
        for meta in [
            None,
            Some(""),
            Some("https://elsewhere.example/x.js"),
            Some("//elsewhere.example/x.js"),
            Some("../x.js"),
            Some("sub/x.js"),
            Some("x.wasm"),
            Some("javascript:alert(1)"),
        ] {
            assert_eq!(loader_name(meta), DEFAULT_LOADER, "{meta:?}");
        }
    }
}
