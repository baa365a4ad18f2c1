//! sessionStorage as the key-value store of pending sign-ins and (with `tokenCache: session`) the
//! refresh token. Never localStorage. When sessionStorage is unavailable, memory stands in for
//! the session itself, but a redirect, whose pending request must outlive the page, is refused
//! (see [`session_storage_available`]). A write the browser refuses is an error, not a silence.

use std::cell::RefCell;

use portal_core::auth::pending::{KeyValueStore, MemoryStore, StorageError};
use portal_core::auth::session_keys::PREFIX;
use wasm_bindgen::JsValue;

// Memory standing in for sessionStorage, which is page-global: so is this (the one thread-local
// of `auth`; the session's own state lives in its context value).
thread_local! {
    static MEMORY: RefCell<MemoryStore> = const { RefCell::new(MemoryStore::new()) };
}

/// The tab's sessionStorage, or memory when the browser refuses it.
pub struct SessionStore;

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
}

/// Whether the tab has a sessionStorage (it survives the redirect to the identity provider).
pub fn session_storage_available() -> bool {
    session_storage().is_some()
}

/// The name (or message) of a thrown DOM exception, e.g. `QuotaExceededError`.
fn reason(error: &JsValue) -> String {
    ["name", "message"]
        .iter()
        .filter_map(|k| js_sys::Reflect::get(error, &JsValue::from_str(k)).ok())
        .find_map(|v| v.as_string().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "the browser refused the write".into())
}

impl KeyValueStore for SessionStore {
    fn get(&self, key: &str) -> Option<String> {
        match session_storage() {
            Some(s) => s.get_item(key).ok().flatten(),
            None => MemoryOnly.get(key),
        }
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        match session_storage() {
            Some(s) => s
                .set_item(key, value)
                .map_err(|e| StorageError { reason: reason(&e) }),
            None => MemoryOnly.set(key, value),
        }
    }
    fn remove(&mut self, key: &str) {
        match session_storage() {
            Some(s) => {
                let _ = s.remove_item(key);
            }
            None => MemoryOnly.remove(key),
        }
    }
    fn keys(&self) -> Vec<String> {
        match session_storage() {
            Some(s) => {
                let length = s.length().unwrap_or(0);
                (0..length)
                    .filter_map(|i| s.key(i).ok().flatten())
                    .collect()
            }
            None => MemoryOnly.keys(),
        }
    }
}

/// Memory only (`tokenCache: memory`): gone on reload.
pub struct MemoryOnly;

impl KeyValueStore for MemoryOnly {
    fn get(&self, key: &str) -> Option<String> {
        MEMORY.with(|m| m.borrow().get(key))
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        MEMORY.with(|m| m.borrow_mut().set(key, value))
    }
    fn remove(&mut self, key: &str) {
        MEMORY.with(|m| m.borrow_mut().remove(key));
    }
    fn keys(&self) -> Vec<String> {
        MEMORY.with(|m| m.borrow().keys())
    }
}

/// Removes every `tap.auth.*` entry, from sessionStorage and from memory (sign-out).
pub fn remove_all_auth_keys() {
    for store in [
        &mut SessionStore as &mut dyn KeyValueStore,
        &mut MemoryOnly as &mut dyn KeyValueStore,
    ] {
        for key in store.keys() {
            if key.starts_with(PREFIX) {
                store.remove(&key);
            }
        }
    }
}
