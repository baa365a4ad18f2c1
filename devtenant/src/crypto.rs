//! Token signing: two RSA keys (dev-only, committed in `keys/`), RS256 JWTs, the JWKS, and key
//! rotation: after a rotation the other key signs under a kid the client has never seen, so a
//! client that caches the JWKS must refetch it.

use std::sync::RwLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;

const KEY_PEMS: [&str; 2] = [
    include_str!("../keys/dev-signing-key-1.pem"),
    include_str!("../keys/dev-signing-key-2.pem"),
];

struct KeySlot {
    key: RsaPrivateKey,
    kid: String,
}

/// The signing keys; `slots[active]` signs.
pub struct Keys {
    inner: RwLock<(Vec<KeySlot>, usize, u32)>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Keys {
    pub fn load() -> Result<Keys, String> {
        let mut slots = Vec::new();
        for (i, pem) in KEY_PEMS.iter().enumerate() {
            let key = RsaPrivateKey::from_pkcs8_pem(pem)
                .map_err(|e| format!("dev signing key {}: {e}", i + 1))?;
            slots.push(KeySlot {
                key,
                kid: format!("devtenant-key{}-gen0", i + 1),
            });
        }
        Ok(Keys {
            inner: RwLock::new((slots, 0, 0)),
        })
    }

    /// Switches signing to the other key under a new kid; the JWKS keeps both.
    pub fn rotate(&self) -> String {
        let mut guard = self.inner.write().unwrap_or_else(|p| p.into_inner());
        let (slots, active, generation) = &mut *guard;
        *generation += 1;
        *active = (*active + 1) % slots.len();
        let kid = format!("devtenant-key{}-gen{}", *active + 1, generation);
        slots[*active].kid = kid.clone();
        kid
    }

    /// The kid that signs now.
    #[cfg(test)]
    pub fn active_kid(&self) -> String {
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        guard.0[guard.1].kid.clone()
    }

    /// The JSON Web Key Set (both keys).
    pub fn jwks(&self) -> Value {
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<Value> = guard
            .0
            .iter()
            .map(|slot| {
                let public = slot.key.to_public_key();
                json!({
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": slot.kid,
                    "n": b64(&public.n().to_bytes_be()),
                    "e": b64(&public.e().to_bytes_be()),
                })
            })
            .collect();
        json!({ "keys": keys })
    }

    /// Signs `claims` as an RS256 JWT with the active key.
    pub fn sign(&self, claims: &Value) -> String {
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let slot = &guard.0[guard.1];
        let header = json!({ "typ": "JWT", "alg": "RS256", "kid": slot.kid });
        let signing_input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let signer = SigningKey::<Sha256>::new(slot.key.clone());
        let signature = signer.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&signature.to_bytes()))
    }

    /// Checks a JWT's signature against the key its kid names; returns its claims.
    pub fn verify(&self, token: &str) -> Result<Value, &'static str> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("IDX14100: JWT is not well formed.");
        };
        let header: Value = URL_SAFE_NO_PAD
            .decode(header)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("IDX14102: Unable to decode the header.")?;
        let kid = header["kid"].as_str().unwrap_or_default();
        let guard = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let slot = guard
            .0
            .iter()
            .find(|s| s.kid == kid)
            .ok_or("IDX10503: Signature validation failed. Unknown kid.")?;
        let signature_bytes = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| "IDX10511: Signature validation failed.")?;
        let signature = Signature::try_from(signature_bytes.as_slice())
            .map_err(|_| "IDX10511: Signature validation failed.")?;
        let verifier = VerifyingKey::<Sha256>::new(slot.key.to_public_key());
        let signed = &token[..token.rfind('.').unwrap_or(0)];
        verifier
            .verify(signed.as_bytes(), &signature)
            .map_err(|_| "IDX10511: Signature validation failed.")?;
        URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("IDX14101: Unable to decode the payload.")
    }
}

/// PKCE S256: base64url(SHA-256(verifier)).
pub fn s256(verifier: &str) -> String {
    use sha2::Digest;
    b64(&Sha256::digest(verifier.as_bytes()))
}

/// A random opaque value (codes, refresh tokens, session ids).
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_tokens_verify_and_tampering_is_caught() {
        let keys = Keys::load().unwrap();
        let token = keys.sign(&json!({"sub": "x"}));
        assert_eq!(keys.verify(&token).unwrap()["sub"], "x");
        let mut tampered = token.clone();
        tampered.insert(tampered.find('.').unwrap() + 2, 'A');
        assert!(keys.verify(&tampered).is_err());
    }

    #[test]
    fn rotation_changes_the_kid_and_old_tokens_still_verify() {
        let keys = Keys::load().unwrap();
        let before = keys.sign(&json!({"n": 1}));
        let old_kid = keys.active_kid();
        let new_kid = keys.rotate();
        assert_ne!(old_kid, new_kid);
        assert!(keys.verify(&keys.sign(&json!({"n": 2}))).is_ok());
        let kids: Vec<String> = keys.jwks()["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kids.len(), 2);
        assert!(kids.contains(&new_kid));
        // The old token's key slot is still published under its kid.
        assert!(keys.verify(&before).is_ok());
    }

    #[test]
    fn pkce_s256_matches_python_hashlib() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mbfAKfAWpTwE42kB0F4sNoZz3ObY7o"),
            "5wXEc0iyB3rcRraA2wa99FohLxv9_ut0UvwJ_PDPof0"
        );
    }
}
