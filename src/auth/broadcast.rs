//! Sign-out reaches every tab of the portal: the tab that signs out posts `signed-out` on a
//! `BroadcastChannel` named after the session binding (client, authority, tenant); the others
//! clear their caches and show signed-out. sessionStorage is per tab, so each tab forgets its
//! own refresh token when it hears the message.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

/// The message a signing-out tab posts.
pub const SIGNED_OUT: &str = "signed-out";

/// The open channel of one session binding and its message handler (kept alive as long as the
/// channel; the session keeps it). Closed when dropped.
pub struct SignOutChannel {
    channel: BroadcastChannel,
    _handler: Closure<dyn FnMut(MessageEvent)>,
}

fn channel_name(binding: &str) -> String {
    format!("tap.auth.{binding}")
}

impl SignOutChannel {
    /// Listens for sign-outs of other tabs of the same binding; `on_signed_out` runs on each.
    /// `None` without `BroadcastChannel` (very old browsers): tabs then stay independent.
    pub fn listen(binding: &str, on_signed_out: impl Fn() + 'static) -> Option<SignOutChannel> {
        let channel = BroadcastChannel::new(&channel_name(binding)).ok()?;
        let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if event.data().as_string().as_deref() == Some(SIGNED_OUT) {
                on_signed_out();
            }
        });
        channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        Some(SignOutChannel {
            channel,
            _handler: handler,
        })
    }

    /// Tells the other tabs this session signed out (a tab never hears its own message).
    pub fn announce_sign_out(&self) {
        let _ = self
            .channel
            .post_message(&wasm_bindgen::JsValue::from_str(SIGNED_OUT));
    }
}

impl Drop for SignOutChannel {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
