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
    /// Fraction (0..1) of Graph requests answered 500 or 503 (alternating) without effect.
    pub server_error_rate: f64,
    /// The next N Graph requests are answered with `server_error_status` without effect.
    pub server_error_next: u32,
    /// 500 or 503 for `server_error_next` (default 500).
    pub server_error_status: Option<u16>,
    /// Fraction of installs answered with the known transient 400 (no effect).
    pub transient_install_400_rate: f64,
    /// The next N installs answer the transient 400.
    pub transient_install_400_next: u32,
    /// Fraction of Graph writes applied whose answer is then lost (connection dropped).
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
}

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
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("serverErrorRate", self.server_error_rate),
            ("transientInstall400Rate", self.transient_install_400_rate),
            ("dropRate", self.drop_rate),
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
    }
}
