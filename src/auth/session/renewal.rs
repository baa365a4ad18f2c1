//! Background renewal: a timer renews when the earliest token enters its renewal window;
//! transient failures retry with backoff, failures that need the user end the session.

use portal_core::auth::renewal::{after_background_failure, AfterRenewalFailure};

use super::{now, Session};
use crate::auth::{Account, AuthError, AuthStatus};

impl Session {
    fn renew_in(self, millis: u32) {
        let timeout = gloo_timers::callback::Timeout::new(millis, move || {
            leptos::task::spawn_local(async move {
                let outcome = self.renew_shared(&[], None).await;
                self.after_background_renewal(outcome);
            });
        });
        self.set_timer(Some(timeout));
    }

    /// Renews in the background when the earliest token enters its renewal window.
    pub(super) fn schedule_renewal(self) {
        if let Some(delay) = self
            .with_core(|c| c.tokens.next_renewal_in(now()))
            .flatten()
        {
            self.renew_in((delay.max(1) as u32).saturating_mul(1000));
        }
    }

    /// A background renewal's outcome: transient failures keep the session and retry with
    /// backoff; failures that need the user end it; others are reported.
    pub(super) fn after_background_renewal(self, outcome: Result<Option<Account>, AuthError>) {
        let error = match outcome {
            Ok(Some(account)) => {
                if self.is_signed_in() {
                    self.set_status(AuthStatus::SignedIn(account));
                }
                return;
            }
            Ok(None) => return,
            Err(AuthError::NoSession) => {
                // Signed out meanwhile (here or in another tab): nothing to renew any more.
                self.set_timer(None);
                if self.is_signed_in() {
                    self.set_status(AuthStatus::SignedOut);
                }
                return;
            }
            Err(e) => e,
        };
        let attempt = self
            .with_core(|c| {
                c.failed_renewals += 1;
                c.failed_renewals
            })
            .unwrap_or(1);
        match after_background_failure(error.kind(), attempt, js_sys::Math::random()) {
            AfterRenewalFailure::RetryIn { millis } => {
                self.renew_in(u32::try_from(millis).unwrap_or(u32::MAX));
            }
            AfterRenewalFailure::EndSession => {
                self.with_core(|c| c.tokens.clear());
                self.save_tokens();
                self.set_timer(None);
                self.set_status(AuthStatus::Failed(error));
            }
            AfterRenewalFailure::Report => {
                self.set_timer(None);
                self.set_status(AuthStatus::Failed(error));
            }
        }
    }
}
