//! The redirect gate: auth never navigates the tab away (sign-in, renewal by redirect,
//! incremental consent, sign-out) while a Graph write is in flight, because a write whose page
//! unloads may be applied with nobody left to see or reconcile its answer.
//!
//! The session owns one gate ([`crate::auth::Session::hold_redirects`]). For the write service:
//! take a hold when a write starts and keep the returned [`RedirectHold`] alive until its
//! outcome is known (it is released when dropped, so a write future that is dropped or panics
//! releases it too):
//!
//! ```ignore
//! let _hold = session.hold_redirects();
//! let outcome = send_and_reconcile(write).await; // redirects wait meanwhile
//! // `_hold` dropped here: a waiting redirect may go ahead.
//! ```
//!
//! Auth awaits [`RedirectGate::settled`] before every `window.location` assignment. A write must
//! not wait on a redirect while holding the gate (that would deadlock): auth never makes
//! `access_token` wait for a redirect; it starts the redirect in its own task and answers
//! `AuthError::Reauthorizing` at once, so the write ends (unsent), drops its hold, and the
//! redirect proceeds.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A gate: how many holds are alive, and who waits for none. Clones share it.
#[derive(Clone, Debug, Default)]
pub struct RedirectGate(Rc<Gate>);

#[derive(Debug, Default)]
struct Gate {
    holds: Cell<usize>,
    waiters: RefCell<Vec<Waker>>,
}

/// While any hold lives, auth's redirects wait. Released on drop.
#[must_use = "the gate is released as soon as the hold is dropped"]
#[derive(Debug)]
pub struct RedirectHold {
    gate: Rc<Gate>,
}

impl RedirectGate {
    /// Holds redirects back until the returned guard is dropped.
    pub fn hold(&self) -> RedirectHold {
        self.0.holds.set(self.0.holds.get() + 1);
        RedirectHold {
            gate: self.0.clone(),
        }
    }

    /// How many holds are alive (writes in flight).
    pub fn holds(&self) -> usize {
        self.0.holds.get()
    }

    /// Whether a redirect may go ahead now.
    pub fn is_settled(&self) -> bool {
        self.holds() == 0
    }

    /// Resolves once no hold is alive (at once when none is).
    pub fn settled(&self) -> Settled {
        Settled {
            gate: self.0.clone(),
        }
    }
}

impl Drop for RedirectHold {
    fn drop(&mut self) {
        let left = self.gate.holds.get().saturating_sub(1);
        self.gate.holds.set(left);
        if left == 0 {
            for waker in std::mem::take(&mut *self.gate.waiters.borrow_mut()) {
                waker.wake();
            }
        }
    }
}

/// The future of [`RedirectGate::settled`].
#[derive(Debug)]
pub struct Settled {
    gate: Rc<Gate>,
}

impl Future for Settled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.gate.holds.get() == 0 {
            Poll::Ready(())
        } else {
            let mut waiters = self.gate.waiters.borrow_mut();
            if !waiters.iter().any(|waker| waker.will_wake(cx.waker())) {
                waiters.push(cx.waker().clone());
            }
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
        let gate = RedirectGate::default();
        let mut waiting = gate.settled();
        assert_eq!(
            poll(&mut waiting, &waker),
            Poll::Ready(()),
            "nothing in flight"
        );

        let first = gate.hold();
        let second = gate.hold();
        assert_eq!(gate.holds(), 2);
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
        assert!(gate.is_settled());
    }

    #[test]
    fn a_hold_on_one_gate_does_not_hold_another() {
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(counter);
        let one = RedirectGate::default();
        let other = RedirectGate::default();
        let _held = one.hold();
        assert_eq!(poll(&mut one.settled(), &waker), Poll::Pending);
        assert_eq!(
            poll(&mut other.settled(), &waker),
            Poll::Ready(()),
            "another session's gate is free"
        );
        let shared = one.clone();
        assert_eq!(shared.holds(), 1, "clones are the same gate");
    }
}
