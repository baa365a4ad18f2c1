//! Fault and latency injection, off by default: set by flags and at run time through the admin
//! endpoint. Rates draw from a seeded generator (reproducible); `*_next` counters hit exactly the
//! next N eligible requests, which is what tests use.

use serde::{Deserialize, Serialize};

/// The fault settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Added to every Graph and identity answer.
    pub latency_ms: u64,
    /// Random extra latency, 0..=jitter_ms.
    pub jitter_ms: u64,
    /// Fraction (0..1) of Graph requests answered 500 or 503 (at random) without effect. A
    /// `$batch` draws once as a whole (a 5xx for the whole batch, nothing run) and then once per
    /// inner request (that request answered 500, or 503 with an inner `Retry-After`, and not run).
    pub server_error_rate: f64,
    /// The next N Graph requests are answered with `server_error_status` without effect (a
    /// `$batch` counts as one request: the whole batch fails).
    pub server_error_next: u32,
    /// The next N requests inside `$batch`es (not the outer `POST $batch`) are answered with
    /// `server_error_status` (503 with an inner `Retry-After`) without effect; the rest of the
    /// batch runs.
    pub batch_item_error_next: u32,
    /// 500 or 503 for `server_error_next` and `batch_item_error_next` (default 500).
    pub server_error_status: Option<u16>,
    /// Fraction of installs answered with the known transient 400 (no effect).
    pub transient_install_400_rate: f64,
    /// The next N installs answer the transient 400.
    pub transient_install_400_next: u32,
    /// Fraction of Graph writes applied whose answer is then lost (connection dropped). A
    /// `POST $batch` is one write: its inner requests ran, the whole answer is lost.
    pub drop_rate: f64,
    /// The next N Graph writes (POST, DELETE) are applied and their answer dropped.
    pub drop_next: u32,
    /// Access tokens issued from now on expire after this many seconds (early expiry).
    pub token_lifetime_seconds: Option<i64>,
    /// The next ID token is spoiled, to test that clients refuse it: `nonce` (another nonce),
    /// `signature` (a flipped signature byte), `audience` (another client), `issuer` (another
    /// issuer), `expired` (expired an hour ago). Used once.
    pub id_token_fault: Option<String>,
    /// The next N Graph writes (POST, DELETE) are judged as if the access token carried no
    /// `ReadWrite` scope (as after consent was withdrawn): Graph's own 403 "Missing scope".
    pub missing_scope_next: u32,
    /// Fraction of personal-app writes (install, upgrade, uninstall) applied and then answered
    /// with `apply_then_error_status` (a 5xx in Graph's error shape), as when Graph times out
    /// after doing the work. Inside a `$batch` it is the inner answer that is replaced.
    pub apply_then_error_rate: f64,
    /// The next N personal-app writes that succeed are applied and then answered with
    /// `apply_then_error_status`.
    pub apply_then_error_next: u32,
    /// 500, 502 or 504 for the apply-then-error fault (default 500).
    pub apply_then_error_status: Option<u16>,
    /// Read-after-write lag: a personal-app write (install, upgrade, uninstall) stays invisible
    /// to reads (installed apps, one installation, its chat, permission grants) for this many
    /// milliseconds after it was applied; reads see the previous state meanwhile. Writes always
    /// see the applied state (a second install in the window is a 409).
    pub read_after_write_lag_ms: u64,
    /// The next `count` requests to the token endpoint (`POST /{tenant}/oauth2/v2.0/token`, any
    /// grant type) are answered with `status` in Entra's error shape (`temporarily_unavailable`)
    /// and change nothing: no code or refresh token is used up, nothing rotates. `null` (or a
    /// spent count) is off.
    pub token_error_next: Option<TokenErrorNext>,
}

/// `tokenErrorNext`: how many token requests fail next, and with which status.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct TokenErrorNext {
    pub count: u32,
    /// One of [`TOKEN_ERROR_STATUSES`].
    pub status: u16,
}

/// The statuses the apply-then-error fault may answer.
pub const APPLY_THEN_ERROR_STATUSES: [u16; 3] = [500, 502, 504];

/// The statuses the token-error fault may answer (429 and 503 with `Retry-After`).
pub const TOKEN_ERROR_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// The ways an ID token can be spoiled.
pub const ID_TOKEN_FAULTS: [&str; 5] = ["nonce", "signature", "audience", "issuer", "expired"];

/// A small deterministic generator (xorshift) so fault rates are reproducible.
pub struct Dice(u64);

impl Dice {
    pub fn new(seed: u64) -> Dice {
        Dice(seed.max(1))
    }
    /// Uniform in [0, 1).
    pub fn roll(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Faults {
    /// Checks values are in range.
    /// Uses up one token error if one is pending: `Some(status)` for this token request.
    pub fn take_token_error(&mut self) -> Option<u16> {
        let next = self.token_error_next.as_mut()?;
        if next.count == 0 {
            self.token_error_next = None;
            return None;
        }
        next.count -= 1;
        let status = next.status;
        if next.count == 0 {
            self.token_error_next = None;
        }
        Some(status)
    }

    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("serverErrorRate", self.server_error_rate),
            ("transientInstall400Rate", self.transient_install_400_rate),
            ("dropRate", self.drop_rate),
            ("applyThenErrorRate", self.apply_then_error_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        if let Some(status) = self.server_error_status {
            if status != 500 && status != 503 {
                return Err("serverErrorStatus must be 500 or 503".into());
            }
        }
        if let Some(status) = self.apply_then_error_status {
            if !APPLY_THEN_ERROR_STATUSES.contains(&status) {
                return Err("applyThenErrorStatus must be 500, 502 or 504".into());
            }
        }
        if let Some(next) = self.token_error_next {
            if !TOKEN_ERROR_STATUSES.contains(&next.status) {
                return Err("tokenErrorNext.status must be 429, 500, 502, 503 or 504".into());
            }
        }
        if self.read_after_write_lag_ms > 600_000 {
            return Err("readAfterWriteLagMs must be at most 600000 (10 minutes)".into());
        }
        if let Some(fault) = &self.id_token_fault {
            if !ID_TOKEN_FAULTS.contains(&fault.as_str()) {
                return Err(format!(
                    "idTokenFault must be one of {}",
                    ID_TOKEN_FAULTS.join(", ")
                ));
            }
        }
        if self.token_lifetime_seconds.is_some_and(|s| s <= 0) {
            return Err("tokenLifetimeSeconds must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_is_reproducible_and_in_range() {
        let mut a = Dice::new(7);
        let mut b = Dice::new(7);
        for _ in 0..1000 {
            let x = a.roll();
            assert_eq!(x, b.roll());
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn out_of_range_settings_are_refused() {
        let faults = Faults {
            drop_rate: 1.5,
            ..Faults::default()
        };
        assert!(faults.validate().is_err());
        let faults = Faults {
            server_error_status: Some(502),
            ..Faults::default()
        };
        assert!(faults.validate().is_err());
        let faults = Faults {
            apply_then_error_status: Some(503),
            ..Faults::default()
        };
        assert!(faults.validate().is_err());
        for status in APPLY_THEN_ERROR_STATUSES {
            let faults = Faults {
                apply_then_error_status: Some(status),
                ..Faults::default()
            };
            assert!(faults.validate().is_ok());
        }
        let faults = Faults {
            apply_then_error_rate: -0.1,
            ..Faults::default()
        };
        assert!(faults.validate().is_err());
    }

    #[test]
    fn new_fault_fields_have_their_json_names() {
        let faults: Faults = serde_json::from_value(serde_json::json!({
            "applyThenErrorNext": 2,
            "applyThenErrorStatus": 504,
            "applyThenErrorRate": 0.5,
            "readAfterWriteLagMs": 2000,
            "batchItemErrorNext": 3
        }))
        .unwrap();
        assert_eq!(faults.batch_item_error_next, 3);
        assert_eq!(faults.apply_then_error_next, 2);
        assert_eq!(faults.apply_then_error_status, Some(504));
        assert_eq!(faults.apply_then_error_rate, 0.5);
        assert_eq!(faults.read_after_write_lag_ms, 2000);
    }

    #[test]
    fn token_error_next_has_its_json_shape_and_counts_down() {
        // The shape the e2e tests send: `{ tokenErrorNext: { count: 1, status: 503 } }`.
        let mut faults: Faults = serde_json::from_value(serde_json::json!({
            "tokenErrorNext": { "count": 2, "status": 503 }
        }))
        .unwrap();
        assert_eq!(
            faults.token_error_next,
            Some(TokenErrorNext {
                count: 2,
                status: 503
            })
        );
        assert!(faults.validate().is_ok());
        assert_eq!(faults.take_token_error(), Some(503));
        assert_eq!(faults.take_token_error(), Some(503));
        assert_eq!(faults.take_token_error(), None);
        assert_eq!(faults.token_error_next, None);
        // Absent is off; a PUT without it turns it off.
        let faults: Faults = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(faults.token_error_next, None);
        for status in TOKEN_ERROR_STATUSES {
            let faults = Faults {
                token_error_next: Some(TokenErrorNext { count: 1, status }),
                ..Faults::default()
            };
            assert!(faults.validate().is_ok());
        }
        for status in [400, 401, 501] {
            let faults = Faults {
                token_error_next: Some(TokenErrorNext { count: 1, status }),
                ..Faults::default()
            };
            assert!(faults.validate().is_err(), "{status}");
        }
        assert!(serde_json::from_value::<Faults>(
            serde_json::json!({ "tokenErrorNext": { "count": 1 } })
        )
        .is_err());
    }
}
