//! The OpenID Connect protocol through the `openidconnect` crate: discovery (tolerating Entra's
//! `{tenantid}` issuer) and the JWKS, each kept for the lifetime the provider gives it (the JWKS
//! read only to validate an ID token, and read again once on an unknown `kid`), the authorize URL with
//! PKCE S256, the code and refresh-token exchanges, and ID token validation (the signature by
//! WebCrypto, see `webcrypto.rs`; times and the same-account rule by `portal_core::auth::id_token`;
//! the other claims by openidconnect). Runs in the sign-in worker.

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreClaimName, CoreClaimType, CoreClientAuthMethod,
    CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreIdToken,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
    CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse, CoreSubjectIdentifierType,
    CoreTokenIntrospectionResponse, CoreTokenResponse,
};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, Client, ClientId, CsrfToken, EmptyAdditionalClaims,
    EmptyAdditionalProviderMetadata, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenVerifier, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata,
    RedirectUrl, RefreshToken, Scope, StandardErrorResponse,
};
use portal_core::auth::account::StoredAccount;
use portal_core::auth::id_token::{check_claims, AccountIds, CLOCK_SKEW_SECONDS};
use portal_core::auth::issuer::issuer_matches;
use portal_core::auth::oauth_error::OAuthErrorKind;
use portal_core::auth::sign_in_worker::{AuthorizeRequest, WorkerConfig, WorkerError};
use serde_json::Value;

use crate::cache::{Kept, Read};
use crate::http::{fetch, fetch_token, FetchError};
use crate::webcrypto::{precheck, PreCheck, WebCryptoJwk, WebCryptoJwks};

/// Provider metadata whose keys verify through WebCrypto (no compiled-in RSA or curves).
pub type PortalProviderMetadata = ProviderMetadata<
    EmptyAdditionalProviderMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    WebCryptoJwk,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// What discovery found, and the keys once read.
#[derive(Clone)]
pub struct Provider {
    pub metadata: PortalProviderMetadata,
    /// The issuer as published (may hold `{tenantid}`).
    pub issuer: String,
    pub end_session_endpoint: Option<String>,
    /// Milliseconds since the epoch: when discovery was read, and until when it is kept.
    pub discovered: Kept<()>,
    /// The JWKS, once an ID token needed it.
    pub jwks: Option<Kept<WebCryptoJwks>>,
}

impl Provider {
    /// Discovery is still within the lifetime the provider gave it.
    pub fn is_fresh(&self, now_ms: f64) -> bool {
        self.discovered.is_fresh(now_ms)
    }

    /// The keys in hand, if still within their lifetime.
    pub fn keys_at(&self, now_ms: f64) -> Option<&WebCryptoJwks> {
        self.jwks
            .as_ref()
            .filter(|k| k.is_fresh(now_ms))
            .map(|k| &k.value)
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A JSON document and its `Cache-Control` header.
async fn get_json(url: &str, read: Read) -> Result<(Value, Option<String>), WorkerError> {
    let request = openidconnect::http::Request::get(url)
        .header("Accept", "application/json")
        .body(Vec::new())
        .map_err(|e| WorkerError::Discovery(e.to_string()))?;
    let response = fetch(request, read).await.map_err(fetch_error)?;
    let status = response.status().as_u16();
    if OAuthErrorKind::from_status(status).is_some() {
        return Err(WorkerError::Unavailable { status });
    }
    if !response.status().is_success() {
        return Err(WorkerError::Discovery(format!(
            "{url} answered HTTP {}",
            response.status().as_u16()
        )));
    }
    let cache_control = response
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let value = serde_json::from_slice(response.body())
        .map_err(|e| WorkerError::Discovery(format!("{url}: {e}")))?;
    Ok((value, cache_control))
}

/// Reads the discovery document of the configured authority (the JWKS waits until an ID token
/// needs it).
pub async fn discover(config: &WorkerConfig) -> Result<Provider, WorkerError> {
    let url = format!("{}/.well-known/openid-configuration", config.authority_url);
    let (document, cache_control) = get_json(&url, Read::Discovery).await?;
    let discovered = Kept::new((), cache_control.as_deref(), now_ms());
    let issuer = document["issuer"].as_str().unwrap_or_default().to_string();
    let end_session_endpoint = document["end_session_endpoint"]
        .as_str()
        .map(str::to_string);
    let metadata: PortalProviderMetadata = serde_json::from_value(document)
        .map_err(|e| WorkerError::Discovery(format!("{url}: {e}")))?;
    Ok(Provider {
        metadata,
        issuer,
        end_session_endpoint,
        discovered,
        jwks: None,
    })
}

/// Reads the JWKS (`read`: [`Read::Keys`], or [`Read::KeysAfterUnknownKid`] to ask the
/// provider rather than the cache).
pub async fn fetch_jwks(
    metadata: &PortalProviderMetadata,
    read: Read,
) -> Result<Kept<WebCryptoJwks>, WorkerError> {
    let (value, cache_control) = get_json(metadata.jwks_uri().as_str(), read).await?;
    let jwks =
        serde_json::from_value(value).map_err(|e| WorkerError::Discovery(format!("JWKS: {e}")))?;
    Ok(Kept::new(jwks, cache_control.as_deref(), now_ms()))
}

/// The keys to validate an ID token with: those in hand while fresh, else read.
async fn keys(provider: &mut Provider) -> Result<WebCryptoJwks, WorkerError> {
    if let Some(jwks) = provider.keys_at(now_ms()) {
        return Ok(jwks.clone());
    }
    let kept = fetch_jwks(&provider.metadata, Read::Keys).await?;
    let jwks = kept.value.clone();
    provider.jwks = Some(kept);
    Ok(jwks)
}

/// The client discovery yields: authorize endpoint set, token and userinfo endpoints maybe set.
type DiscoveredClient = Client<
    EmptyAdditionalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    WebCryptoJwk,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    CoreTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

fn client(config: &WorkerConfig, provider: &Provider) -> Result<DiscoveredClient, WorkerError> {
    let redirect = RedirectUrl::new(config.redirect_uri.clone())
        .map_err(|e| WorkerError::Discovery(e.to_string()))?;
    Ok(DiscoveredClient::from_provider_metadata(
        provider.metadata.clone(),
        ClientId::new(config.client_id.clone()),
        None,
    )
    .set_redirect_uri(redirect))
}

/// Builds the authorize URL (PKCE S256, state, nonce, and the given extra parameters).
pub fn authorize_url(
    config: &WorkerConfig,
    provider: &Provider,
    scopes: &[String],
    extra: &[(String, String)],
) -> Result<AuthorizeRequest, WorkerError> {
    let client = client(config, provider)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            AuthenticationFlow::<openidconnect::core::CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    for (name, value) in extra {
        request = request.add_extra_param(name.clone(), value.clone());
    }
    let (url, state, nonce) = request.url();
    Ok(AuthorizeRequest {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

/// A request without a usable answer.
fn fetch_error(error: FetchError) -> WorkerError {
    match error {
        FetchError::Network(reason) => WorkerError::Network(reason),
        FetchError::Timeout(_) => WorkerError::Timeout,
        FetchError::Unavailable(status) => WorkerError::Unavailable { status },
    }
}

fn token_error(
    error: openidconnect::RequestTokenError<
        super::http::FetchError,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> WorkerError {
    use openidconnect::RequestTokenError::*;
    match error {
        ServerResponse(response) => WorkerError::Server {
            error: response.error().to_string(),
            description: response.error_description().cloned().unwrap_or_default(),
        },
        Request(e) => fetch_error(e),
        Parse(e, _) => WorkerError::Protocol(format!("the token response does not parse: {e}")),
        Other(e) => WorkerError::Protocol(e),
    }
}

/// Exchanges an authorization code (with its PKCE verifier).
pub async fn exchange_code(
    config: &WorkerConfig,
    provider: &Provider,
    code: &str,
    verifier: &str,
) -> Result<CoreTokenResponse, WorkerError> {
    let client = client(config, provider)?;
    client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| WorkerError::Discovery(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&fetch_token)
        .await
        .map_err(token_error)
}

/// Redeems a refresh token for `scopes` exactly as given (see
/// `portal_core::auth::scopes::refresh_scopes_for`: no `offline_access`), and `claims` when a
/// challenge or `cp1` asks.
pub async fn refresh(
    config: &WorkerConfig,
    provider: &Provider,
    refresh_token: &str,
    scopes: &[String],
    claims: Option<&str>,
) -> Result<CoreTokenResponse, WorkerError> {
    let client = client(config, provider)?;
    let token = RefreshToken::new(refresh_token.to_string());
    let mut request = client
        .exchange_refresh_token(&token)
        .map_err(|e| WorkerError::Discovery(e.to_string()))?;
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if let Some(claims) = claims {
        request = request.add_extra_param("claims", claims.to_string());
    }
    request
        .request_async(&fetch_token)
        .await
        .map_err(token_error)
}

fn payload(token: &str) -> Result<Value, WorkerError> {
    use base64::Engine;
    let part = token
        .split('.')
        .nth(1)
        .ok_or_else(|| WorkerError::IdToken("not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| WorkerError::IdToken("payload is not base64url".into()))?;
    serde_json::from_slice(&bytes).map_err(|_| WorkerError::IdToken("payload is not JSON".into()))
}

/// Validates an ID token: signature against the JWKS (refetched once on an unknown `kid`),
/// `aud`, `exp`/`nbf`/`iat` within five minutes of skew, `nonce` when expected, `iss` against the
/// published issuer (with `{tenantid}` filled from `tid`), `tid` against a configured tenant id,
/// and on renewal (`signed_in`) the same `oid` and `tid` as the account signed in.
pub async fn validate_id_token(
    config: &WorkerConfig,
    provider: &mut Provider,
    id_token: &CoreIdToken,
    expected_nonce: Option<&str>,
    signed_in: Option<&AccountIds>,
) -> Result<StoredAccount, WorkerError> {
    let raw = id_token.to_string();
    let claims = payload(&raw)?;
    let tid = claims["tid"].as_str().unwrap_or_default().to_string();
    let iss = claims["iss"].as_str().unwrap_or_default();
    if !issuer_matches(&provider.issuer, iss, &tid) {
        return Err(WorkerError::IdToken(format!(
            "issuer {iss} is not {}",
            provider.issuer
        )));
    }
    if let Some(configured) = &config.tenant_id {
        if !configured.eq_ignore_ascii_case(&tid) {
            return Err(WorkerError::IdToken(format!(
                "tenant {tid} is not the configured {configured}"
            )));
        }
    }
    // The signature, by WebCrypto, against the key the token's kid names (JWKS refetched once,
    // from the provider).
    let mut jwks = keys(provider).await?;
    for attempt in 0..2 {
        match precheck(&jwks, &raw).await {
            PreCheck::Verified => break,
            PreCheck::UnknownKid if attempt == 0 => {
                let kept = fetch_jwks(&provider.metadata, Read::KeysAfterUnknownKid).await?;
                jwks = kept.value.clone();
                provider.jwks = Some(kept);
            }
            PreCheck::UnknownKid => {
                return Err(WorkerError::IdToken(
                    "signature: no key in the JWKS has the token's kid".into(),
                ))
            }
            PreCheck::Invalid(reason) => {
                return Err(WorkerError::IdToken(format!("signature: {reason}")))
            }
        }
    }
    // Times (with the skew) and, on renewal, the same account.
    let now = (js_sys::Date::now() / 1000.0) as i64;
    check_claims(&claims, now, signed_in).map_err(|e| WorkerError::IdToken(e.to_string()))?;
    // Every other claim, by openidconnect (its signature hook accepts what WebCrypto just
    // verified). Its own `exp` check gets the same skew; `iat` was checked above.
    let issuer =
        IssuerUrl::new(iss.to_string()).map_err(|e| WorkerError::IdToken(e.to_string()))?;
    let verifier = IdTokenVerifier::<WebCryptoJwk>::new_public_client(
        ClientId::new(config.client_id.clone()),
        issuer,
        jwks,
    )
    .set_time_fn(|| chrono::Utc::now() - chrono::Duration::seconds(CLOCK_SKEW_SECONDS))
    .set_issue_time_verifier_fn(|_| Ok(()));
    let result = match expected_nonce {
        Some(nonce) => id_token
            .claims(&verifier, &Nonce::new(nonce.to_string()))
            .map(|_| ()),
        None => id_token
            .claims(&verifier, |_: Option<&Nonce>| Ok::<(), String>(()))
            .map(|_| ()),
    };
    result.map_err(|e| WorkerError::IdToken(e.to_string()))?;
    Ok(StoredAccount::from_claims(&claims))
}
