//! Background renewal: a timer renews when the earliest token enters its renewal window;
//! transient failures retry with backoff, failures that need the user end the session.

use leptos::prelude::*;
use portal_core::auth::renewal::{after_background_failure, AfterRenewalFailure};

use super::tokens::renew_shared;
use super::{auth, now, save_tokens, set_status, with_core, TIMER};
use crate::auth::{Account, AuthError, AuthStatus};

fn set_timer(millis: u32) {
    let timeout = gloo_timers::callback::Timeout::new(millis, || {
        leptos::task::spawn_local(async {
            let outcome = renew_shared(&[], None).await;
            after_background_renewal(outcome);
        });
    });
    TIMER.with(|t| *t.borrow_mut() = Some(timeout));
}

/// Renews in the background when the earliest token enters its renewal window.
pub(super) fn schedule_renewal() {
    if let Some(delay) = with_core(|c| c.tokens.next_renewal_in(now())).flatten() {
        set_timer((delay.max(1) as u32).saturating_mul(1000));
    }
}

/// A background renewal's outcome: transient failures keep the session and retry with backoff;
/// failures that need the user end it; others are reported.
pub(super) fn after_background_renewal(outcome: Result<Option<Account>, AuthError>) {
    let error = match outcome {
        Ok(Some(account)) => {
            if matches!(
                auth().map(|a| a.status.get_untracked()),
                Some(AuthStatus::SignedIn(_))
            ) {
                set_status(AuthStatus::SignedIn(account));
            }
            return;
        }
        Ok(None) => return,
        Err(AuthError::NoSession) => {
            // Signed out meanwhile (here or in another tab): nothing to renew any more.
            TIMER.with(|t| t.borrow_mut().take());
            if matches!(
                auth().map(|a| a.status.get_untracked()),
                Some(AuthStatus::SignedIn(_))
            ) {
                set_status(AuthStatus::SignedOut);
            }
            return;
        }
        Err(e) => e,
    };
    let attempt = with_core(|c| {
        c.failed_renewals += 1;
        c.failed_renewals
    })
    .unwrap_or(1);
    match after_background_failure(error.kind(), attempt, js_sys::Math::random()) {
        AfterRenewalFailure::RetryIn { millis } => {
            set_timer(u32::try_from(millis).unwrap_or(u32::MAX));
        }
        AfterRenewalFailure::EndSession => {
            with_core(|c| c.tokens.clear());
            save_tokens();
            TIMER.with(|t| t.borrow_mut().take());
            set_status(AuthStatus::Failed(error));
        }
        AfterRenewalFailure::Report => {
            TIMER.with(|t| t.borrow_mut().take());
            set_status(AuthStatus::Failed(error));
        }
    }
}
