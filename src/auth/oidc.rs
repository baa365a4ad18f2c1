//! The OpenID Connect protocol through the `openidconnect` crate: discovery (tolerating Entra's
//! `{tenantid}` issuer), the JWKS with one refetch on an unknown `kid`, the authorize URL with
//! PKCE S256, the code and refresh-token exchanges, and ID token validation (the signature by
//! WebCrypto, see `webcrypto.rs`; the claims by openidconnect).

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
use portal_core::auth::issuer::issuer_matches;
use portal_core::RuntimeConfig;
use serde_json::Value;

use super::http::fetch;
use super::webcrypto::{precheck, PreCheck, WebCryptoJwk, WebCryptoJwks};
use super::AuthError;

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

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const SKEW_SECONDS: i64 = 300;

/// What discovery found.
#[derive(Clone)]
pub struct Provider {
    pub metadata: PortalProviderMetadata,
    /// The issuer as published (may hold `{tenantid}`).
    pub issuer: String,
    pub jwks: WebCryptoJwks,
    pub end_session_endpoint: Option<String>,
}

async fn get_json(url: &str) -> Result<Value, AuthError> {
    let request = openidconnect::http::Request::get(url)
        .header("Accept", "application/json")
        .body(Vec::new())
        .map_err(|e| AuthError::Discovery(e.to_string()))?;
    let response = fetch(request).await.map_err(|e| AuthError::Network(e.0))?;
    if !response.status().is_success() {
        return Err(AuthError::Discovery(format!(
            "{url} answered HTTP {}",
            response.status().as_u16()
        )));
    }
    serde_json::from_slice(response.body()).map_err(|e| AuthError::Discovery(format!("{url}: {e}")))
}

/// Reads the discovery document and the JWKS of the configured authority.
pub async fn discover(config: &RuntimeConfig) -> Result<Provider, AuthError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        config.authority_url()
    );
    let document = get_json(&url).await?;
    let issuer = document["issuer"].as_str().unwrap_or_default().to_string();
    let end_session_endpoint = document["end_session_endpoint"]
        .as_str()
        .map(str::to_string);
    let metadata: PortalProviderMetadata = serde_json::from_value(document)
        .map_err(|e| AuthError::Discovery(format!("{url}: {e}")))?;
    let jwks = fetch_jwks(&metadata).await?;
    Ok(Provider {
        metadata,
        issuer,
        jwks,
        end_session_endpoint,
    })
}

async fn fetch_jwks(metadata: &PortalProviderMetadata) -> Result<WebCryptoJwks, AuthError> {
    let value = get_json(metadata.jwks_uri().as_str()).await?;
    serde_json::from_value(value).map_err(|e| AuthError::Discovery(format!("JWKS: {e}")))
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

fn client(config: &RuntimeConfig, provider: &Provider) -> Result<DiscoveredClient, AuthError> {
    let redirect = RedirectUrl::new(config.redirect_uri.to_string())
        .map_err(|e| AuthError::Discovery(e.to_string()))?;
    Ok(DiscoveredClient::from_provider_metadata(
        provider.metadata.clone(),
        ClientId::new(config.client_id.clone()),
        None,
    )
    .set_redirect_uri(redirect))
}

/// A new authorize request.
pub struct AuthorizeRequest {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// Builds the authorize URL (PKCE S256, state, nonce, and the given extra parameters).
pub fn authorize_url(
    config: &RuntimeConfig,
    provider: &Provider,
    scopes: &[String],
    extra: &[(&str, String)],
) -> Result<AuthorizeRequest, AuthError> {
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
        request = request.add_extra_param(*name, value.clone());
    }
    let (url, state, nonce) = request.url();
    Ok(AuthorizeRequest {
        url: url.to_string(),
        state: state.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
    })
}

fn token_error(
    error: openidconnect::RequestTokenError<
        super::http::FetchError,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> AuthError {
    use openidconnect::RequestTokenError::*;
    match error {
        ServerResponse(response) => AuthError::Server {
            error: response.error().to_string(),
            description: response.error_description().cloned().unwrap_or_default(),
        },
        Request(e) => AuthError::Network(e.0),
        Parse(e, _) => AuthError::Protocol(format!("the token response does not parse: {e}")),
        Other(e) => AuthError::Protocol(e),
    }
}

/// Exchanges an authorization code (with its PKCE verifier).
pub async fn exchange_code(
    config: &RuntimeConfig,
    provider: &Provider,
    code: &str,
    verifier: &str,
) -> Result<CoreTokenResponse, AuthError> {
    let client = client(config, provider)?;
    client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| AuthError::Discovery(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_string()))
        .request_async(&fetch)
        .await
        .map_err(token_error)
}

/// Redeems a refresh token for `scopes` (and `claims`, when a challenge or `cp1` asks).
pub async fn refresh(
    config: &RuntimeConfig,
    provider: &Provider,
    refresh_token: &str,
    scopes: &[String],
    claims: Option<&str>,
) -> Result<CoreTokenResponse, AuthError> {
    let client = client(config, provider)?;
    let token = RefreshToken::new(refresh_token.to_string());
    let mut request = client
        .exchange_refresh_token(&token)
        .map_err(|e| AuthError::Discovery(e.to_string()))?
        .add_scope(Scope::new("openid".into()));
    for scope in scopes {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    if let Some(claims) = claims {
        request = request.add_extra_param("claims", claims.to_string());
    }
    request.request_async(&fetch).await.map_err(token_error)
}

/// The claims of a validated ID token that the portal uses.
#[derive(Clone, Debug, PartialEq)]
pub struct IdentityClaims {
    pub name: String,
    pub username: String,
    pub oid: String,
    pub tid: String,
    pub wids: Vec<String>,
}

fn payload(token: &str) -> Result<Value, AuthError> {
    use base64::Engine;
    let part = token
        .split('.')
        .nth(1)
        .ok_or_else(|| AuthError::IdToken("not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::IdToken("payload is not base64url".into()))?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::IdToken("payload is not JSON".into()))
}

/// Validates an ID token: signature against the JWKS (refetched once on an unknown `kid`),
/// `aud`, `exp`/`nbf`/`iat` within the skew, `nonce` when expected, `iss` against the published
/// issuer (with `{tenantid}` filled from `tid`) and `tid` against a configured tenant id.
pub async fn validate_id_token(
    config: &RuntimeConfig,
    provider: &mut Provider,
    id_token: &CoreIdToken,
    expected_nonce: Option<&str>,
) -> Result<IdentityClaims, AuthError> {
    let raw = id_token.to_string();
    let claims = payload(&raw)?;
    let tid = claims["tid"].as_str().unwrap_or_default().to_string();
    let iss = claims["iss"].as_str().unwrap_or_default();
    if !issuer_matches(&provider.issuer, iss, &tid) {
        return Err(AuthError::IdToken(format!(
            "issuer {iss} is not {}",
            provider.issuer
        )));
    }
    if let portal_core::Tenant::Id(configured) = &config.tenant {
        if !configured.eq_ignore_ascii_case(&tid) {
            return Err(AuthError::IdToken(format!(
                "tenant {tid} is not the configured {configured}"
            )));
        }
    }
    // The signature, by WebCrypto, against the key the token's kid names (JWKS refetched once).
    for attempt in 0..2 {
        match precheck(&provider.jwks, &raw).await {
            PreCheck::Verified => break,
            PreCheck::UnknownKid if attempt == 0 => {
                provider.jwks = fetch_jwks(&provider.metadata).await?
            }
            PreCheck::UnknownKid => {
                return Err(AuthError::IdToken(
                    "signature: no key in the JWKS has the token's kid".into(),
                ))
            }
            PreCheck::Invalid(reason) => {
                return Err(AuthError::IdToken(format!("signature: {reason}")))
            }
        }
    }
    // Every claim, by openidconnect (its signature hook accepts what WebCrypto just verified).
    let issuer = IssuerUrl::new(iss.to_string()).map_err(|e| AuthError::IdToken(e.to_string()))?;
    let verifier = IdTokenVerifier::<WebCryptoJwk>::new_public_client(
        ClientId::new(config.client_id.clone()),
        issuer,
        provider.jwks.clone(),
    )
    .set_issue_time_verifier_fn(|iat| {
        let now = chrono::Utc::now();
        if iat > now + chrono::Duration::seconds(SKEW_SECONDS) {
            Err("issued in the future".to_string())
        } else {
            Ok(())
        }
    });
    let result = match expected_nonce {
        Some(nonce) => id_token
            .claims(&verifier, &Nonce::new(nonce.to_string()))
            .map(|_| ()),
        None => id_token
            .claims(&verifier, |_: Option<&Nonce>| Ok::<(), String>(()))
            .map(|_| ()),
    };
    result.map_err(|e| AuthError::IdToken(e.to_string()))?;
    let wids = claims["wids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(IdentityClaims {
        name: claims["name"].as_str().unwrap_or_default().to_string(),
        username: claims["preferred_username"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        oid: claims["oid"].as_str().unwrap_or_default().to_string(),
        tid,
        wids,
    })
}
