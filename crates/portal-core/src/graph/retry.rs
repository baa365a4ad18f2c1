//! The retry policy of reads, pure and clock-free: given what happened on an attempt, decide
//! whether to retry, after how long, or to renew the token. 429/503/504 honour `Retry-After`;
//! other failures back off exponentially with jitter; everything is bounded in attempts and in
//! total time. Writes never come here blind: a POST or DELETE that failed in a way that may have
//! applied it is given up at once, for the write model (`graph::write`) to read back.

use super::request::Method;

/// The limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Total time budget in milliseconds, waits included.
    pub max_elapsed_ms: u64,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            max_elapsed_ms: 120_000,
            base_delay_ms: 500,
            max_delay_ms: 30_000,
        }
    }
}

/// What one attempt produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer with an error status.
    Status {
        status: u16,
        retry_after_s: Option<u64>,
    },
    /// No answer. `sent` is true when the request may have reached Graph (the connection broke
    /// after sending), false when it surely did not (DNS, refused connection).
    Network { sent: bool },
}

/// Where we are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Attempts made so far (1 after the first).
    pub attempts: u32,
    /// Milliseconds since the first attempt started.
    pub elapsed_ms: u64,
    /// A token renewal was already tried for this request.
    pub token_renewed: bool,
}

/// Why we stop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GiveUp {
    NotRetryable,
    AttemptsExhausted { attempts: u32 },
    OutOfTime { elapsed_ms: u64, next_wait_ms: u64 },
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Retry { after_ms: u64 },
    RenewTokenAndRetry,
    GiveUp(GiveUp),
}

impl RetryPolicy {
    /// Exponential backoff with jitter for the given attempt: half fixed, half random
    /// (`jitter` in [0, 1)), capped.
    pub fn backoff_ms(&self, attempts: u32, jitter: f64) -> u64 {
        let exponent = attempts.saturating_sub(1).min(20);
        let ceiling = self
            .base_delay_ms
            .saturating_mul(1u64 << exponent)
            .min(self.max_delay_ms);
        ceiling / 2 + ((ceiling / 2) as f64 * jitter.clamp(0.0, 1.0)) as u64
    }

    fn wait(&self, progress: &Progress, wait_ms: u64) -> Decision {
        if progress.attempts >= self.max_attempts {
            return Decision::GiveUp(GiveUp::AttemptsExhausted {
                attempts: progress.attempts,
            });
        }
        if progress.elapsed_ms + wait_ms > self.max_elapsed_ms {
            return Decision::GiveUp(GiveUp::OutOfTime {
                elapsed_ms: progress.elapsed_ms,
                next_wait_ms: wait_ms,
            });
        }
        Decision::Retry { after_ms: wait_ms }
    }

    /// Decides after a failed attempt.
    pub fn decide(
        &self,
        method: Method,
        progress: &Progress,
        outcome: Outcome,
        jitter: f64,
    ) -> Decision {
        let write = method != Method::Get;
        match outcome {
            Outcome::Status { status: 401, .. } if !progress.token_renewed => {
                Decision::RenewTokenAndRetry
            }
            // A write: 429 surely was not applied; anything else is the write model's to settle.
            Outcome::Status { status, .. } if write && status != 429 => {
                Decision::GiveUp(GiveUp::NotRetryable)
            }
            Outcome::Network { .. } if write => Decision::GiveUp(GiveUp::NotRetryable),
            Outcome::Status {
                status: 429 | 503 | 504,
                retry_after_s: Some(seconds),
                ..
            } => self.wait(progress, seconds.saturating_mul(1000)),
            Outcome::Status {
                status: 429 | 500 | 502 | 503 | 504,
                ..
            } => self.wait(progress, self.backoff_ms(progress.attempts, jitter)),
            Outcome::Network { .. } => {
                self.wait(progress, self.backoff_ms(progress.attempts, jitter))
            }
            Outcome::Status { .. } => Decision::GiveUp(GiveUp::NotRetryable),
        }
    }
}

/// Transient failures of the token endpoint (network, timeout, 5xx, 429) tried again, at most,
/// before a job pauses or a single write gives up (nothing was sent either way).
pub const TOKEN_RETRIES: u32 = 5;

/// The wait before asking for a token again after `failures` failures in a row (1 after the
/// first) of kind `kind`: `Some` for a transient failure while [`TOKEN_RETRIES`] allow it,
/// doubling from about a second (with jitter in [0, 1)) to about 16 s, some 30 s in all; `None`
/// for anything else (the user must act: sign in, consent) or once the tries are used up.
pub fn token_retry_ms(
    kind: crate::auth::oauth_error::OAuthErrorKind,
    failures: u32,
    jitter: f64,
) -> Option<u64> {
    if !kind.is_transient() || failures == 0 || failures > TOKEN_RETRIES {
        return None;
    }
    let schedule = RetryPolicy {
        base_delay_ms: 1000,
        max_delay_ms: 16_000,
        ..RetryPolicy::default()
    };
    Some(schedule.backoff_ms(failures, jitter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::oauth_error::{OAuthErrorKind, TransientCause};

    #[test]
    fn transient_token_failures_are_retried_with_backoff_a_few_times_then_given_up() {
        let transient = [
            OAuthErrorKind::Transient(TransientCause::Network),
            OAuthErrorKind::Transient(TransientCause::Timeout),
            OAuthErrorKind::Transient(TransientCause::Status(503)),
            OAuthErrorKind::Transient(TransientCause::Status(429)),
            OAuthErrorKind::Transient(TransientCause::Provider),
        ];
        for kind in transient {
            let waits: Vec<u64> = (1..=TOKEN_RETRIES)
                .map(|n| token_retry_ms(kind, n, 0.5).expect("retried"))
                .collect();
            assert_eq!(waits, vec![750, 1500, 3000, 6000, 12_000], "{kind:?}");
            assert_eq!(token_retry_ms(kind, TOKEN_RETRIES + 1, 0.5), None);
        }
        assert_eq!(
            token_retry_ms(OAuthErrorKind::Transient(TransientCause::Network), 1, 0.0),
            Some(500)
        );
        // Only the user can fix these: no retry.
        for kind in [
            OAuthErrorKind::InteractionRequired,
            OAuthErrorKind::LoginRequired,
            OAuthErrorKind::InvalidGrant,
            OAuthErrorKind::ConsentRequired,
            OAuthErrorKind::InvalidScope,
            OAuthErrorKind::Other,
        ] {
            assert_eq!(token_retry_ms(kind, 1, 0.5), None, "{kind:?}");
        }
    }

    /// A fake clock: the test advances it by the waits the policy asks for.
    struct Clock {
        now_ms: u64,
    }

    fn status(status: u16, retry_after_s: Option<u64>) -> Outcome {
        Outcome::Status {
            status,
            retry_after_s,
        }
    }

    #[test]
    fn retry_after_is_honoured_and_the_budget_bounds_it() {
        let policy = RetryPolicy::default();
        let mut clock = Clock { now_ms: 0 };
        let mut progress = Progress {
            attempts: 1,
            ..Progress::default()
        };
        let decision = policy.decide(Method::Get, &progress, status(429, Some(3)), 0.9);
        assert_eq!(decision, Decision::Retry { after_ms: 3000 });
        clock.now_ms += 3000;
        progress.attempts = 2;
        progress.elapsed_ms = clock.now_ms;
        assert_eq!(
            policy.decide(Method::Get, &progress, status(503, Some(600)), 0.0),
            Decision::GiveUp(GiveUp::OutOfTime {
                elapsed_ms: 3000,
                next_wait_ms: 600_000
            })
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff_ms(1, 0.0), 250);
        assert_eq!(policy.backoff_ms(1, 1.0), 500);
        assert_eq!(policy.backoff_ms(3, 0.5), 1500);
        assert_eq!(policy.backoff_ms(30, 1.0), 30_000);
        assert!(policy.backoff_ms(30, 0.0) >= 15_000);
    }

    #[test]
    fn a_500_then_success_takes_one_retry_and_attempts_are_bounded() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let mut progress = Progress {
            attempts: 1,
            ..Progress::default()
        };
        assert!(matches!(
            policy.decide(Method::Get, &progress, status(500, None), 0.3),
            Decision::Retry { .. }
        ));
        progress.attempts = 3;
        assert_eq!(
            policy.decide(Method::Get, &progress, status(500, None), 0.3),
            Decision::GiveUp(GiveUp::AttemptsExhausted { attempts: 3 })
        );
    }

    #[test]
    fn unauthorized_renews_once() {
        let policy = RetryPolicy::default();
        let mut progress = Progress {
            attempts: 1,
            ..Progress::default()
        };
        assert_eq!(
            policy.decide(Method::Get, &progress, status(401, None), 0.0),
            Decision::RenewTokenAndRetry
        );
        progress.token_renewed = true;
        assert_eq!(
            policy.decide(Method::Get, &progress, status(401, None), 0.0),
            Decision::GiveUp(GiveUp::NotRetryable)
        );
    }

    #[test]
    fn writes_are_never_retried_blind() {
        let policy = RetryPolicy::default();
        let progress = Progress {
            attempts: 1,
            ..Progress::default()
        };
        for outcome in [
            Outcome::Network { sent: true },
            status(500, None),
            status(503, Some(1)),
            status(400, None),
        ] {
            assert_eq!(
                policy.decide(Method::Post, &progress, outcome, 0.0),
                Decision::GiveUp(GiveUp::NotRetryable)
            );
            assert_eq!(
                policy.decide(Method::Delete, &progress, outcome, 0.0),
                Decision::GiveUp(GiveUp::NotRetryable)
            );
        }
        assert!(matches!(
            policy.decide(Method::Post, &progress, status(429, Some(2)), 0.0),
            Decision::Retry { after_ms: 2000 }
        ));
        assert!(matches!(
            policy.decide(Method::Get, &progress, Outcome::Network { sent: true }, 0.0),
            Decision::Retry { .. }
        ));
    }
}
