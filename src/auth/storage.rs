//! sessionStorage as the key-value store of pending sign-ins and (with `tokenCache: session`) the
//! refresh token. Never localStorage. When sessionStorage is unavailable, memory stands in.

use std::cell::RefCell;
use std::collections::BTreeMap;

use portal_core::auth::pending::KeyValueStore;

thread_local! {
    static MEMORY: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

/// The tab's sessionStorage, or memory when the browser refuses it.
pub struct SessionStore;

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.session_storage().ok().flatten())
}

impl KeyValueStore for SessionStore {
    fn get(&self, key: &str) -> Option<String> {
        match session_storage() {
            Some(s) => s.get_item(key).ok().flatten(),
            None => MEMORY.with(|m| m.borrow().get(key).cloned()),
        }
    }
    fn set(&mut self, key: &str, value: &str) {
        match session_storage() {
            Some(s) => {
                let _ = s.set_item(key, value);
            }
            None => MEMORY.with(|m| {
                m.borrow_mut().insert(key.to_string(), value.to_string());
            }),
        }
    }
    fn remove(&mut self, key: &str) {
        match session_storage() {
            Some(s) => {
                let _ = s.remove_item(key);
            }
            None => MEMORY.with(|m| {
                m.borrow_mut().remove(key);
            }),
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
            None => MEMORY.with(|m| m.borrow().keys().cloned().collect()),
        }
    }
}

/// Memory only (`tokenCache: memory`): gone on reload.
pub struct MemoryOnly;

impl KeyValueStore for MemoryOnly {
    fn get(&self, key: &str) -> Option<String> {
        MEMORY.with(|m| m.borrow().get(key).cloned())
    }
    fn set(&mut self, key: &str, value: &str) {
        MEMORY.with(|m| {
            m.borrow_mut().insert(key.to_string(), value.to_string());
        });
    }
    fn remove(&mut self, key: &str) {
        MEMORY.with(|m| {
            m.borrow_mut().remove(key);
        });
    }
    fn keys(&self) -> Vec<String> {
        MEMORY.with(|m| m.borrow().keys().cloned().collect())
    }
}
