//! Authorization requests waiting for their callback, keyed by `state`: stored before the
//! redirect (in sessionStorage in the browser), taken exactly once on the callback, refused when
//! unknown, already used or too old.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What the callback needs to finish a sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where the user was going (path and query inside the portal).
    pub return_to: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Unix seconds when the request was made.
    pub created_at: i64,
}

/// How long a pending request may wait for its callback.
pub const PENDING_LIFETIME_SECONDS: i64 = 600;
/// Storage key prefix.
pub const KEY_PREFIX: &str = "tap.auth.pending.";

/// The browser would not store a value (sessionStorage full, disabled, or missing).
#[derive(Clone, Debug, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[error("the browser's session storage refused to keep the sign-in data ({reason})")]
pub struct StorageError {
    /// What the browser said.
    pub reason: String,
}

/// A string key-value store (sessionStorage in the browser, a map in tests).
pub trait KeyValueStore {
    fn get(&self, key: &str) -> Option<String>;
    /// Stores a value; an `Err` when the store refused it.
    fn set(&mut self, key: &str, value: &str) -> Result<(), StorageError>;
    fn remove(&mut self, key: &str);
    fn keys(&self) -> Vec<String>;
}

/// Why a callback was refused.
#[derive(Clone, Debug, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
pub enum PendingError {
    /// No request with this state: forged, replayed, or from another tab or browser.
    #[error("the sign-in answer matches no sign-in started in this tab (forged, replayed or from another tab)")]
    UnknownState,
    /// The request is older than [`PENDING_LIFETIME_SECONDS`].
    #[error("the sign-in took more than 10 minutes and was abandoned")]
    Expired,
}

/// Saves a pending request; an `Err` when the store refused it (then do not redirect: the
/// callback could not be finished and would look forged).
pub fn save(
    store: &mut dyn KeyValueStore,
    pending: &PendingAuthorization,
) -> Result<(), StorageError> {
    let json = serde_json::to_string(pending).map_err(|e| StorageError {
        reason: e.to_string(),
    })?;
    let key = format!("{KEY_PREFIX}{}", pending.state);
    store.set(&key, &json)?;
    // Read it back: some browsers accept a write they then drop (storage disabled by policy).
    match store.get(&key) {
        Some(stored) if stored == json => Ok(()),
        _ => Err(StorageError {
            reason: "the value written could not be read back".into(),
        }),
    }
}

/// Takes the request for `state` (removing it whatever the outcome) and drops expired ones.
pub fn take(
    store: &mut dyn KeyValueStore,
    state: &str,
    now: i64,
) -> Result<PendingAuthorization, PendingError> {
    // Housekeeping: forget every expired request.
    for key in store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(KEY_PREFIX))
    {
        let expired = store
            .get(&key)
            .and_then(|json| serde_json::from_str::<PendingAuthorization>(&json).ok())
            .is_none_or(|p| now - p.created_at > PENDING_LIFETIME_SECONDS);
        if expired && key != format!("{KEY_PREFIX}{state}") {
            store.remove(&key);
        }
    }
    if state.is_empty() {
        return Err(PendingError::UnknownState);
    }
    let key = format!("{KEY_PREFIX}{state}");
    let json = store.get(&key).ok_or(PendingError::UnknownState)?;
    store.remove(&key);
    let pending: PendingAuthorization =
        serde_json::from_str(&json).map_err(|_| PendingError::UnknownState)?;
    if pending.state != state {
        return Err(PendingError::UnknownState);
    }
    if now - pending.created_at > PENDING_LIFETIME_SECONDS {
        return Err(PendingError::Expired);
    }
    Ok(pending)
}

/// Removes every pending request (sign-out).
pub fn clear(store: &mut dyn KeyValueStore) {
    for key in store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with(KEY_PREFIX))
    {
        store.remove(&key);
    }
}

/// An in-memory store: the session's memory fallback in the browser (a handful of keys, so a
/// plain list, issue #10) and the tests' store.
#[derive(Default, Debug)]
pub struct MemoryStore(Vec<(String, String)>);

impl MemoryStore {
    /// An empty store (usable in a `static`).
    pub const fn new() -> MemoryStore {
        MemoryStore(Vec::new())
    }
}

impl KeyValueStore for MemoryStore {
    fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
    fn set(&mut self, key: &str, value: &str) -> Result<(), StorageError> {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value.to_string(),
            None => self.0.push((key.to_string(), value.to_string())),
        }
        Ok(())
    }
    fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }
    fn keys(&self) -> Vec<String> {
        self.0.iter().map(|(k, _)| k.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save_ok(store: &mut MemoryStore, pending: &PendingAuthorization) {
        save(store, pending).unwrap();
    }

    /// A store that refuses every write, like sessionStorage over its quota.
    struct FullStore;

    impl KeyValueStore for FullStore {
        fn get(&self, _: &str) -> Option<String> {
            None
        }
        fn set(&mut self, _: &str, _: &str) -> Result<(), StorageError> {
            Err(StorageError {
                reason: "QuotaExceededError".into(),
            })
        }
        fn remove(&mut self, _: &str) {}
        fn keys(&self) -> Vec<String> {
            Vec::new()
        }
    }

    /// A store that accepts writes and keeps nothing.
    struct ForgetfulStore;

    impl KeyValueStore for ForgetfulStore {
        fn get(&self, _: &str) -> Option<String> {
            None
        }
        fn set(&mut self, _: &str, _: &str) -> Result<(), StorageError> {
            Ok(())
        }
        fn remove(&mut self, _: &str) {}
        fn keys(&self) -> Vec<String> {
            Vec::new()
        }
    }

    #[test]
    fn a_refused_write_is_reported_as_such() {
        let refused = save(&mut FullStore, &pending("s", 0)).unwrap_err();
        assert!(refused.reason.contains("QuotaExceededError"));
        assert!(refused.to_string().contains("session storage"), "{refused}");
        assert!(save(&mut ForgetfulStore, &pending("s", 0)).is_err());
    }

    #[test]
    fn refusals_read_as_sentences() {
        assert!(!PendingError::UnknownState
            .to_string()
            .contains("UnknownState"));
        assert!(PendingError::Expired.to_string().contains("10 minutes"));
    }

    fn pending(state: &str, created_at: i64) -> PendingAuthorization {
        PendingAuthorization {
            state: state.into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            return_to: "/users".into(),
            scopes: vec!["profile".into()],
            created_at,
        }
    }

    #[test]
    fn a_state_is_taken_once() {
        let mut store = MemoryStore::default();
        save_ok(&mut store, &pending("s1", 100));
        assert_eq!(take(&mut store, "s1", 150).unwrap().return_to, "/users");
        assert_eq!(
            take(&mut store, "s1", 150),
            Err(PendingError::UnknownState),
            "replayed callback"
        );
    }

    #[test]
    fn forged_and_empty_states_are_refused() {
        let mut store = MemoryStore::default();
        save_ok(&mut store, &pending("real", 100));
        assert_eq!(
            take(&mut store, "forged", 100),
            Err(PendingError::UnknownState)
        );
        assert_eq!(take(&mut store, "", 100), Err(PendingError::UnknownState));
        assert!(
            take(&mut store, "real", 100).is_ok(),
            "a forged attempt does not burn the real one"
        );
    }

    #[test]
    fn old_requests_expire_and_are_swept() {
        let mut store = MemoryStore::default();
        save_ok(&mut store, &pending("old", 0));
        save_ok(&mut store, &pending("stale", 0));
        save_ok(&mut store, &pending("fresh", 1000));
        assert_eq!(take(&mut store, "old", 1000), Err(PendingError::Expired));
        assert!(store.get(&format!("{KEY_PREFIX}stale")).is_none(), "swept");
        assert!(take(&mut store, "fresh", 1000).is_ok());
    }

    #[test]
    fn clear_removes_only_pending_requests() {
        let mut store = MemoryStore::default();
        save_ok(&mut store, &pending("a", 0));
        store.set("other", "x").unwrap();
        clear(&mut store);
        assert_eq!(store.keys(), vec!["other".to_string()]);
    }
}
