//! The redirect gate: auth never navigates the tab away (sign-in, renewal by redirect,
//! incremental consent, sign-out) while a Graph write is in flight, because a write whose page
//! unloads may be applied with nobody left to see or reconcile its answer.
//!
//! For the write service: take a [`hold`] when a write starts and keep the returned
//! [`RedirectHold`] alive until its outcome is known (it is released when dropped, so a write
//! future that is dropped or panics releases it too):
//!
//! ```ignore
//! let _hold = portal::auth::redirect_gate::hold();
//! let outcome = send_and_reconcile(write).await; // redirects wait meanwhile
//! // `_hold` dropped here: a waiting redirect may go ahead.
//! ```
//!
//! Auth awaits [`settled`] before every `window.location` assignment. A write must not wait on a
//! redirect while holding the gate (that would deadlock): auth never makes `access_token`
//! wait for a redirect; it starts the redirect in its own task and answers
//! `AuthError::Reauthorizing` at once, so the write ends (unsent), drops its hold, and the
//! redirect proceeds.
//!
//! One thread (the browser's): the count lives in a thread-local.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

thread_local! {
    static HOLDS: Cell<usize> = const { Cell::new(0) };
    static WAITERS: RefCell<Vec<Waker>> = const { RefCell::new(Vec::new()) };
}

/// While any hold lives, auth's redirects wait. Released on drop.
#[must_use = "the gate is released as soon as the hold is dropped"]
#[derive(Debug)]
pub struct RedirectHold {
    _private: (),
}

/// Holds redirects back until the returned guard is dropped.
pub fn hold() -> RedirectHold {
    HOLDS.with(|h| h.set(h.get() + 1));
    RedirectHold { _private: () }
}

impl Drop for RedirectHold {
    fn drop(&mut self) {
        let left = HOLDS.with(|h| {
            let left = h.get().saturating_sub(1);
            h.set(left);
            left
        });
        if left == 0 {
            for waker in WAITERS.with(|w| std::mem::take(&mut *w.borrow_mut())) {
                waker.wake();
            }
        }
    }
}

/// How many holds are alive (writes in flight).
pub fn holds() -> usize {
    HOLDS.with(Cell::get)
}

/// Whether a redirect may go ahead now.
pub fn is_settled() -> bool {
    holds() == 0
}

/// Resolves once no hold is alive (at once when none is).
pub fn settled() -> Settled {
    Settled
}

/// The future of [`settled`].
#[derive(Debug)]
pub struct Settled;

impl Future for Settled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if is_settled() {
            Poll::Ready(())
        } else {
            WAITERS.with(|w| {
                let mut waiters = w.borrow_mut();
                if !waiters.iter().any(|waker| waker.will_wake(cx.waker())) {
                    waiters.push(cx.waker().clone());
                }
            });
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(future: &mut Settled, waker: &Waker) -> Poll<()> {
        Pin::new(future).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn redirects_wait_until_every_hold_is_dropped() {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut waiting = settled();
        assert_eq!(
            poll(&mut waiting, &waker),
            Poll::Ready(()),
            "nothing in flight"
        );

        let first = hold();
        let second = hold();
        assert_eq!(holds(), 2);
        assert_eq!(poll(&mut waiting, &waker), Poll::Pending);
        assert_eq!(poll(&mut waiting, &waker), Poll::Pending, "registered once");
        drop(first);
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            0,
            "one write still in flight"
        );
        assert_eq!(poll(&mut waiting, &waker), Poll::Pending);
        drop(second);
        assert_eq!(
            counter.0.load(Ordering::SeqCst),
            1,
            "woken when the last hold goes"
        );
        assert_eq!(poll(&mut waiting, &waker), Poll::Ready(()));
        assert!(is_settled());
    }
}
