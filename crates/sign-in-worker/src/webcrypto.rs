//! ID token signatures checked by the browser's WebCrypto (`SubtleCrypto.verify`, RSASSA-PKCS1-v1_5
//! with SHA-256) instead of compiled-in RSA and elliptic-curve code. `openidconnect` still does
//! every claim check; its (synchronous) signature hook accepts exactly the signing inputs that
//! WebCrypto verified just before, for the key with that `kid`, and nothing else.

use std::cell::RefCell;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openidconnect::core::{CoreJsonWebKeyType, CoreJsonWebKeyUse, CoreJwsSigningAlgorithm};
use openidconnect::{
    JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyId, JsonWebKeySet, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};

/// The only signature algorithm accepted (Entra signs with RS256).
static RS256: CoreJwsSigningAlgorithm = CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256;

/// A JSON Web Key as published in the JWKS; verification goes through WebCrypto.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
pub struct WebCryptoJwk {
    kty: CoreJsonWebKeyType,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    use_: Option<CoreJsonWebKeyUse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<JsonWebKeyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
}

/// The key set type used with it.
pub type WebCryptoJwks = JsonWebKeySet<WebCryptoJwk>;

/// A signature WebCrypto verified: (kid, signing input, signature).
type Verified = (String, Vec<u8>, Vec<u8>);

thread_local! {
    /// Signatures WebCrypto verified, each consumed once by openidconnect's check.
    static VERIFIED: RefCell<Vec<Verified>> = const { RefCell::new(Vec::new()) };
}

impl JsonWebKey for WebCryptoJwk {
    type KeyUse = CoreJsonWebKeyUse;
    type SigningAlgorithm = CoreJwsSigningAlgorithm;

    fn key_id(&self) -> Option<&JsonWebKeyId> {
        self.kid.as_ref()
    }

    fn key_type(&self) -> &CoreJsonWebKeyType {
        &self.kty
    }

    fn key_use(&self) -> Option<&CoreJsonWebKeyUse> {
        self.use_.as_ref()
    }

    fn signing_alg(&self) -> JsonWebKeyAlgorithm<&CoreJwsSigningAlgorithm> {
        match self.alg.as_deref() {
            None => JsonWebKeyAlgorithm::Unspecified,
            Some("RS256") => JsonWebKeyAlgorithm::Algorithm(&RS256),
            Some(_) => JsonWebKeyAlgorithm::Unsupported,
        }
    }

    fn new_symmetric(_key: Vec<u8>) -> Self {
        // Symmetric (client-secret) keys never apply to a public client.
        WebCryptoJwk {
            kty: CoreJsonWebKeyType::Symmetric,
            use_: None,
            kid: None,
            alg: None,
            n: None,
            e: None,
        }
    }

    fn verify_signature(
        &self,
        signature_alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureVerificationError> {
        if *signature_alg != RS256 {
            return Err(SignatureVerificationError::UnsupportedAlg(alg_name(
                signature_alg,
            )));
        }
        let kid = self
            .kid
            .as_ref()
            .map(|k| k.as_str().to_string())
            .unwrap_or_default();
        let verified = VERIFIED.with(|v| {
            let mut v = v.borrow_mut();
            let found = v
                .iter()
                .position(|(k, m, s)| *k == kid && m == message && s == signature);
            found.map(|i| v.remove(i)).is_some()
        });
        if verified {
            Ok(())
        } else {
            Err(SignatureVerificationError::CryptoError(
                "the signature does not verify with this key".into(),
            ))
        }
    }

    fn hash_bytes(&self, bytes: &[u8], alg: &CoreJwsSigningAlgorithm) -> Result<Vec<u8>, String> {
        use sha2::Digest;
        if *alg == RS256 {
            Ok(sha2::Sha256::digest(bytes).to_vec())
        } else {
            Err(format!("unsupported algorithm {}", alg_name(alg)))
        }
    }
}

/// The JWA name of an algorithm (`PS256`), as a user may read it (not Rust's `Debug` name).
fn alg_name(alg: &CoreJwsSigningAlgorithm) -> String {
    serde_json::to_value(alg)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "an unknown algorithm".into())
}

fn js_err(e: JsValue) -> String {
    e.as_string()
        .or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "WebCrypto error".into())
}

fn set(object: &js_sys::Object, key: &str, value: &JsValue) -> Result<(), String> {
    js_sys::Reflect::set(object, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(js_err)
}

/// What the pre-check found.
pub enum PreCheck {
    /// WebCrypto verified it; openidconnect will accept the signature.
    Verified,
    /// No key with the token's `kid` in this key set.
    UnknownKid,
    /// The signature does not verify (or the token is not an RS256 JWT).
    Invalid(String),
}

/// Verifies the JWT's RS256 signature with WebCrypto against the key its `kid` names.
pub async fn precheck(jwks: &WebCryptoJwks, token: &str) -> PreCheck {
    let parts: Vec<&str> = token.split('.').collect();
    let [header_b64, _, signature_b64] = parts.as_slice() else {
        return PreCheck::Invalid("not a JWT".into());
    };
    let header: serde_json::Value = match URL_SAFE_NO_PAD
        .decode(header_b64)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(h) => h,
        None => return PreCheck::Invalid("the JWT header does not decode".into()),
    };
    if header["alg"] != "RS256" {
        return PreCheck::Invalid(format!("algorithm {} is not allowed", header["alg"]));
    }
    let kid = header["kid"].as_str().unwrap_or_default().to_string();
    let Some(key) = jwks
        .keys()
        .iter()
        .find(|k| k.kid.as_ref().map(|id| id.as_str()) == Some(kid.as_str()))
    else {
        return PreCheck::UnknownKid;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature_b64) else {
        return PreCheck::Invalid("the signature is not base64url".into());
    };
    let message = token.as_bytes()[..token.rfind('.').unwrap_or(0)].to_vec();
    match verify_rs256(key, &message, &signature).await {
        Ok(true) => {
            VERIFIED.with(|v| v.borrow_mut().push((kid, message, signature)));
            PreCheck::Verified
        }
        Ok(false) => {
            PreCheck::Invalid("the signature does not verify with the published key".into())
        }
        Err(e) => PreCheck::Invalid(e),
    }
}

async fn verify_rs256(
    key: &WebCryptoJwk,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, String> {
    let (Some(n), Some(e)) = (&key.n, &key.e) else {
        return Err("the key has no RSA modulus or exponent".into());
    };
    let subtle = js_sys::global()
        .dyn_into::<web_sys::WorkerGlobalScope>()
        .map_err(|_| "not in a worker".to_string())?
        .crypto()
        .map_err(js_err)?
        .subtle();
    let jwk = js_sys::Object::new();
    set(&jwk, "kty", &"RSA".into())?;
    set(&jwk, "n", &n.as_str().into())?;
    set(&jwk, "e", &e.as_str().into())?;
    set(&jwk, "alg", &"RS256".into())?;
    set(&jwk, "ext", &JsValue::TRUE)?;
    let algorithm = js_sys::Object::new();
    set(&algorithm, "name", &"RSASSA-PKCS1-v1_5".into())?;
    set(&algorithm, "hash", &"SHA-256".into())?;
    let usages = js_sys::Array::of1(&"verify".into());
    let import = subtle
        .import_key_with_object("jwk", &jwk, &algorithm, false, &usages)
        .map_err(js_err)?;
    let crypto_key: web_sys::CryptoKey = wasm_bindgen_futures::JsFuture::from(import)
        .await
        .map_err(js_err)?
        .dyn_into()
        .map_err(|_| "not a CryptoKey".to_string())?;
    let signature = signature.to_vec();
    let message = message.to_vec();
    let promise = subtle
        .verify_with_str_and_u8_array_and_u8_array(
            "RSASSA-PKCS1-v1_5",
            &crypto_key,
            &signature,
            &message,
        )
        .map_err(js_err)?;
    let result = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(js_err)?;
    Ok(result.as_bool().unwrap_or(false))
}
