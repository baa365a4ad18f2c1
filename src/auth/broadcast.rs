//! Sign-out reaches every tab of the portal: the tab that signs out posts `signed-out` on a
//! `BroadcastChannel` named after the session binding (client, authority, tenant); the others
//! clear their caches and show signed-out. sessionStorage is per tab, so each tab forgets its
//! own refresh token when it hears the message.

use std::cell::RefCell;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

/// The message a signing-out tab posts.
pub const SIGNED_OUT: &str = "signed-out";

/// The open channel and its message handler (kept alive as long as the channel).
type Listener = (BroadcastChannel, Closure<dyn FnMut(MessageEvent)>);

thread_local! {
    static CHANNEL: RefCell<Option<Listener>> = const { RefCell::new(None) };
}

fn channel_name(binding: &str) -> String {
    format!("tap.auth.{binding}")
}

/// Listens for sign-outs of other tabs of the same binding; `on_signed_out` runs on each.
/// Replaces an earlier listener. Without `BroadcastChannel` (very old browsers) tabs stay
/// independent.
pub fn listen(binding: &str, on_signed_out: impl Fn() + 'static) {
    let Ok(channel) = BroadcastChannel::new(&channel_name(binding)) else {
        return;
    };
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if event.data().as_string().as_deref() == Some(SIGNED_OUT) {
            on_signed_out();
        }
    });
    channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    CHANNEL.with(|c| {
        if let Some((old, _)) = c.borrow_mut().replace((channel, handler)) {
            old.close();
        }
    });
}

/// Tells the other tabs this session signed out (a tab never hears its own message).
pub fn announce_sign_out() {
    CHANNEL.with(|c| {
        if let Some((channel, _)) = c.borrow().as_ref() {
            let _ = channel.post_message(&wasm_bindgen::JsValue::from_str(SIGNED_OUT));
        }
    });
}
