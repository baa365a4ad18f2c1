//! Where bulk jobs (issue #12) outlive the tab: each job's plan and the state of every item are
//! kept in IndexedDB, written after each `$batch`, so a reload, a crash or a closed tab resumes
//! with nothing lost or sent twice, and a finished job stays listed until it is cleared. A Web
//! Lock per job keeps two tabs from running the same job at once.
//!
//! The database `teams-app-portal-jobs` (version 1) has two object stores: `jobs`, keyed by the
//! job id, holding the job's header and plan as a JSON string, and `items`, keyed by
//! `[job id, item index]`, holding one item's state (planned, sent, installed, failed with
//! Graph's error…) as a JSON string. The callers serialise; this module never reads the JSON.
//! Nothing here may hold a token or any other secret: a job is its plan (app, definition, users)
//! and Graph's answers, and IndexedDB outlives the session.
//!
//! Writes are one transaction each (a batch's items all stored or none), answered when the
//! transaction completes, not when its requests succeed, and asked with `durability: "strict"`
//! (the browser flushes them to disk before it says so; a browser that does not know the option
//! ignores it).
//!
//! A thin wrapper over `web-sys` rather than the `idb` or `rexie` crates, for the wasm's size.
//! Measured in the portal's release build with every operation and the lock called at start
//! (wasm-opt -Os, brotli q11): this module adds 8.0 KB (`cargo xtask size`: 485.8 -> 493.8 KB,
//! wasm +7.4 KB, JS glue +0.6 KB). The same calls with the store through `idb` 0.6.5 (a
//! Rust closure and a tokio oneshot per request and per transaction) add 12.5 KB, against 7.7 KB
//! here measured the same way; `rexie` 0.6.2 is `idb` with its builder on top. Here every wait
//! is one JS promise whose `resolve` is itself the event handler, and every operation goes
//! through one non-generic [`JobStore`] transaction runner.

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransaction};

/// The IndexedDB database of bulk jobs.
pub const DATABASE: &str = "teams-app-portal-jobs";
/// Its schema version: the two stores below.
pub const VERSION: u32 = 1;
/// Job id → the job's header and plan (JSON).
const JOBS: &str = "jobs";
/// `[job id, item index]` → one item's state (JSON).
const ITEMS: &str = "items";

/// Why the job store failed. Its `Display` is what a user may read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JobStoreError {
    /// No IndexedDB here (site storage blocked, a sandboxed frame, the private window of some
    /// browsers): a job could run but not resume after a reload.
    #[error("this browser gives the portal no IndexedDB (site storage blocked, or a private window): a job would not survive a reload")]
    Unavailable,
    /// The database did not open (storage full, blocked, or a newer version open elsewhere).
    #[error("the job database did not open: {0}")]
    Open(String),
    /// A read or write failed; a write's transaction was aborted, so none of it was kept.
    #[error("the job database refused to {action}: {reason}")]
    Refused {
        action: &'static str,
        reason: String,
    },
    /// An entry not written by this module (not a JSON string, or a key not `[id, index]`).
    #[error("the job database holds an unexpected entry: {0}")]
    Unexpected(String),
}

/// Why the lock of a job could not be asked for. Its `Display` is what a user may read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// No `navigator.locks` (an old browser, or a page not served over HTTPS or localhost).
    #[error("this browser has no Web Locks (navigator.locks): it cannot keep two tabs from running the same job")]
    Unsupported,
    /// The browser refused the request.
    #[error("the browser refused the job lock: {0}")]
    Refused(String),
}

/// The name and message of what the browser threw or reported (a `DOMException`, usually).
fn reason(error: &JsValue) -> String {
    let field = |key: &str| {
        Reflect::get(error, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    match (field("name"), field("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (Some(one), None) | (None, Some(one)) => one,
        (None, None) => error
            .as_string()
            .unwrap_or_else(|| "no reason given".into()),
    }
}

#[wasm_bindgen]
extern "C" {
    /// An `IDBDatabase` seen through `transaction(stores, mode, options)`: web-sys has the
    /// options dictionary (durability) only behind `web_sys_unstable_apis`.
    type Connection;
    #[wasm_bindgen(catch, method, js_name = transaction)]
    fn transaction_with_options(
        this: &Connection,
        stores: &Array,
        mode: &str,
        options: &Object,
    ) -> Result<IdbTransaction, JsValue>;

    /// `navigator.locks`: web-sys has it only behind `web_sys_unstable_apis`.
    type LockManager;
    #[wasm_bindgen(catch, method)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &Object,
        callback: &Function,
    ) -> Result<Promise, JsValue>;
}

/// A plain object with one property.
fn object_with(key: &str, value: &JsValue) -> Object {
    let object = Object::new();
    let _ = Reflect::set(&object, &JsValue::from_str(key), value);
    object
}

/// A promise settled by the first of `target`'s events named in `resolve_on` (resolved) or
/// `reject_on` (rejected). The handlers are the promise's own functions: no Rust closure to
/// keep alive.
fn settled_by(target: &JsValue, resolve_on: &str, reject_on: &[&str]) -> JsFuture {
    let promise = Promise::new(&mut |resolve, reject| {
        let _ = Reflect::set(target, &JsValue::from_str(resolve_on), &resolve);
        for event in reject_on {
            let _ = Reflect::set(target, &JsValue::from_str(event), &reject);
        }
    });
    JsFuture::from(promise)
}

/// The key of one item: `[job id, index]`.
fn item_key(id: &str, index: u32) -> JsValue {
    Array::of2(&JsValue::from_str(id), &JsValue::from(index)).into()
}

/// Every item key of a job: `[id, 0]` to `[id, +∞]`.
fn item_range(id: &str) -> Result<IdbKeyRange, JsValue> {
    let id = JsValue::from_str(id);
    IdbKeyRange::bound(
        &Array::of2(&id, &JsValue::from(0)),
        &Array::of2(&id, &JsValue::from(f64::INFINITY)),
    )
}

/// A stored JSON string.
fn json_of(value: JsValue) -> Result<String, JobStoreError> {
    value
        .as_string()
        .ok_or_else(|| JobStoreError::Unexpected("a value that is not a JSON string".into()))
}

/// The index of an item key `[id, index]`.
fn index_of(key: &JsValue) -> Result<u32, JobStoreError> {
    let index = Array::from(key).get(1).as_f64();
    match index {
        Some(i) if i >= 0.0 && i <= f64::from(u32::MAX) && i.fract() == 0.0 => Ok(i as u32),
        _ => Err(JobStoreError::Unexpected(
            "an item key that is not [job id, index]".into(),
        )),
    }
}

fn refused(action: &'static str, error: &JsValue) -> JobStoreError {
    JobStoreError::Refused {
        action,
        reason: reason(error),
    }
}

/// Queues a transaction's requests (the transaction is given; the requests whose results are
/// wanted are returned).
type Queue<'a> = &'a dyn Fn(&IdbTransaction) -> Result<Vec<IdbRequest>, JsValue>;

/// The open job database. Cheap to clone (one connection).
#[derive(Clone, Debug)]
pub struct JobStore {
    db: IdbDatabase,
}

impl JobStore {
    /// Opens (and on first use creates) the job database.
    ///
    /// ```ignore
    /// let store = JobStore::open().await?;
    /// for (id, json) in store.list_jobs().await? { /* the jobs to show or resume */ }
    /// ```
    pub async fn open() -> Result<JobStore, JobStoreError> {
        let factory = web_sys::window()
            .and_then(|w| w.indexed_db().ok().flatten())
            .ok_or(JobStoreError::Unavailable)?;
        let request = factory
            .open_with_u32(DATABASE, VERSION)
            .map_err(|e| JobStoreError::Open(reason(&e)))?;
        // Version 1 from nothing: create both stores. A throw here aborts the upgrade, and the
        // open fails with it.
        let upgrade = Closure::<dyn FnMut() -> Result<(), JsValue>>::new({
            let request = request.clone();
            move || {
                let db: IdbDatabase = request.result()?.unchecked_into();
                let names = db.object_store_names();
                for store in [JOBS, ITEMS] {
                    if !names.contains(store) {
                        db.create_object_store(store)?;
                    }
                }
                Ok(())
            }
        });
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let opened = settled_by(&request, "onsuccess", &["onerror"]).await;
        request.set_onupgradeneeded(None);
        drop(upgrade);
        if opened.is_err() {
            let why = request
                .error()
                .ok()
                .flatten()
                .map(|e| reason(&e))
                .unwrap_or_else(|| "no reason given".into());
            return Err(JobStoreError::Open(why));
        }
        let db: IdbDatabase = request
            .result()
            .map_err(|e| JobStoreError::Open(reason(&e)))?
            .unchecked_into();
        // A newer version of the portal opening the database in another tab must not wait for
        // this one: close on `versionchange` (later calls fail with a clear error instead).
        if let Ok(close) = Reflect::get(&db, &JsValue::from_str("close")) {
            if let Some(close) = close.dyn_ref::<Function>() {
                db.set_onversionchange(Some(&close.bind0(&db)));
            }
        }
        Ok(JobStore { db })
    }

    /// Closes the connection once its transactions are done; later calls are refused.
    pub fn close(&self) {
        self.db.close();
    }

    /// Every operation: a transaction over `stores` whose requests `queue` makes, waited for
    /// until it completes (every request done and, for a write, on disk), then the results of
    /// the requests `queue` returned. If queueing throws, the transaction is aborted, so none of
    /// its writes is kept; an `abort` (a request failed, the quota, the tab closing) is an error.
    async fn run(
        &self,
        stores: &[&str],
        write: bool,
        action: &'static str,
        queue: Queue<'_>,
    ) -> Result<Vec<JsValue>, JobStoreError> {
        let names: Array = stores.iter().map(|s| JsValue::from_str(s)).collect();
        let (mode, options) = if write {
            ("readwrite", object_with("durability", &"strict".into()))
        } else {
            ("readonly", Object::new())
        };
        let tx = self
            .db
            .unchecked_ref::<Connection>()
            .transaction_with_options(&names, mode, &options)
            .map_err(|e| refused(action, &e))?;
        let done = settled_by(&tx, "oncomplete", &["onabort"]);
        let requests = queue(&tx).map_err(|e| {
            let _ = tx.abort();
            refused(action, &e)
        })?;
        if done.await.is_err() {
            return Err(match tx.error() {
                Some(error) => refused(action, &error),
                None => refused(action, &"the transaction was aborted".into()),
            });
        }
        requests
            .iter()
            .map(|r| r.result().map_err(|e| refused(action, &e)))
            .collect()
    }

    /// Stores (or replaces) a job's header and plan.
    pub async fn put_job(&self, id: &str, json: &str) -> Result<(), JobStoreError> {
        self.put_job_and_items(id, json, &[]).await
    }

    /// Stores (or replaces) items of a job, `(index, state as JSON)`, in one transaction: after a
    /// batch, all its outcomes are kept or none. Answers once the transaction has completed.
    pub async fn put_items(&self, id: &str, items: &[(u32, String)]) -> Result<(), JobStoreError> {
        self.run(&[ITEMS], true, "store the job's items", &|tx| {
            put_all(&tx.object_store(ITEMS)?, id, items)
        })
        .await
        .map(drop)
    }

    /// Stores a job's header and items in one transaction: the write-ahead before a batch is
    /// sent (the items marked as sent, and the header's progress, together or not at all).
    pub async fn put_job_and_items(
        &self,
        id: &str,
        json: &str,
        items: &[(u32, String)],
    ) -> Result<(), JobStoreError> {
        self.run(&[JOBS, ITEMS], true, "store the job", &|tx| {
            tx.object_store(JOBS)?
                .put_with_key(&JsValue::from_str(json), &JsValue::from_str(id))?;
            put_all(&tx.object_store(ITEMS)?, id, items)
        })
        .await
        .map(drop)
    }

    /// A job's header and its items in index order; `None` when there is no such job (items
    /// stored without a header are not a job).
    pub async fn load_job(
        &self,
        id: &str,
    ) -> Result<Option<(String, Vec<(u32, String)>)>, JobStoreError> {
        let results = self
            .run(&[JOBS, ITEMS], false, "read the job", &|tx| {
                let items = tx.object_store(ITEMS)?;
                let range = item_range(id)?;
                Ok(vec![
                    tx.object_store(JOBS)?.get(&JsValue::from_str(id))?,
                    items.get_all_keys_with_key(&range)?,
                    items.get_all_with_key(&range)?,
                ])
            })
            .await?;
        let [job, keys, values] = <[JsValue; 3]>::try_from(results)
            .map_err(|_| JobStoreError::Unexpected("a missing result".into()))?;
        if job.is_undefined() {
            return Ok(None);
        }
        let items = pairs(&keys, &values, index_of)?;
        Ok(Some((json_of(job)?, items)))
    }

    /// Every job, `(id, header JSON)`, in id order.
    pub async fn list_jobs(&self) -> Result<Vec<(String, String)>, JobStoreError> {
        let results = self
            .run(&[JOBS], false, "list the jobs", &|tx| {
                let jobs = tx.object_store(JOBS)?;
                Ok(vec![jobs.get_all_keys()?, jobs.get_all()?])
            })
            .await?;
        let [keys, values] = <[JsValue; 2]>::try_from(results)
            .map_err(|_| JobStoreError::Unexpected("a missing result".into()))?;
        pairs(&keys, &values, |key| {
            key.as_string()
                .ok_or_else(|| JobStoreError::Unexpected("a job id that is not text".into()))
        })
    }

    /// Removes a job and all its items, in one transaction (clearing a finished job).
    pub async fn delete_job(&self, id: &str) -> Result<(), JobStoreError> {
        self.run(&[JOBS, ITEMS], true, "delete the job", &|tx| {
            tx.object_store(JOBS)?.delete(&JsValue::from_str(id))?;
            tx.object_store(ITEMS)?.delete(&item_range(id)?.into())?;
            Ok(Vec::new())
        })
        .await
        .map(drop)
    }
}

/// Queues the writes of items (their requests' results are not needed).
fn put_all(
    store: &IdbObjectStore,
    id: &str,
    items: &[(u32, String)],
) -> Result<Vec<IdbRequest>, JsValue> {
    for (index, json) in items {
        store.put_with_key(&JsValue::from_str(json), &item_key(id, *index))?;
    }
    Ok(Vec::new())
}

/// `getAllKeys` and `getAll` of one range (both in key order) as `(key, JSON)` pairs.
fn pairs<K>(
    keys: &JsValue,
    values: &JsValue,
    key_of: impl Fn(&JsValue) -> Result<K, JobStoreError>,
) -> Result<Vec<(K, String)>, JobStoreError> {
    let keys = Array::from(keys);
    let values = Array::from(values);
    keys.iter()
        .zip(values.iter())
        .map(|(key, value)| Ok((key_of(&key)?, json_of(value)?)))
        .collect()
}

/// The Web Lock name of a job: the tab holding it is the one running the job.
pub fn job_lock_name(id: &str) -> String {
    format!("{DATABASE}/{id}")
}

/// A Web Lock held by this tab until the guard is dropped (or [`LockGuard::release`]d). The
/// browser releases it too when the tab closes or crashes.
#[derive(Debug)]
pub struct LockGuard {
    /// Resolves the promise the lock's callback returned: the browser then releases the lock.
    release: Function,
    /// `navigator.locks.request`'s promise, settled once the lock is released.
    request: Promise,
}

impl LockGuard {
    /// Releases the lock and waits until the browser has, so that a request made next (in this
    /// tab or another) can take it. Dropping the guard releases it too, without waiting.
    pub async fn release(self) {
        let request = self.request.clone();
        drop(self);
        let _ = JsFuture::from(request).await;
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = self.release.call0(&JsValue::UNDEFINED);
    }
}

/// Takes the Web Lock `name` if no tab (this one included) holds it: `Ok(None)` when another
/// holder has it. Never waits for it.
///
/// ```ignore
/// match try_lock(&job_lock_name(&id)).await {
///     Ok(Some(guard)) => { /* run the job; `guard` lives as long as the run */ }
///     Ok(None) => { /* another tab runs this job */ }
///     Err(error) => { /* say so: two tabs could run it */ }
/// }
/// ```
pub async fn try_lock(name: &str) -> Result<Option<LockGuard>, LockError> {
    let locks = web_sys::window()
        .and_then(|w| Reflect::get(&w.navigator(), &JsValue::from_str("locks")).ok())
        .filter(|locks| locks.is_object())
        .ok_or(LockError::Unsupported)?
        .unchecked_into::<LockManager>();
    // `held` is what the lock's callback returns: the lock is kept until it resolves.
    let mut release = None;
    let held = Promise::new(&mut |resolve, _| release = Some(resolve));
    // `answered` says (true or false) whether the callback got the lock.
    let mut answer = None;
    let answered = Promise::new(&mut |resolve, _| answer = Some(resolve));
    let (Some(release), Some(answer)) = (release, answer) else {
        return Err(LockError::Refused("no promise".into()));
    };
    let callback = Closure::once(move |lock: JsValue| -> JsValue {
        let acquired = !lock.is_null();
        let _ = answer.call1(&JsValue::UNDEFINED, &JsValue::from_bool(acquired));
        if acquired {
            held.into()
        } else {
            JsValue::UNDEFINED
        }
    });
    let request = locks
        .request(
            name,
            &object_with("ifAvailable", &JsValue::TRUE),
            callback.as_ref().unchecked_ref(),
        )
        .map_err(|e| LockError::Refused(reason(&e)))?;
    // Released when dropped, however this ends (this future dropped too): releasing a lock not
    // taken does nothing.
    let guard = LockGuard {
        release,
        request: request.clone(),
    };
    // The callback answers first; a request that fails instead rejects.
    let first = Promise::race(&Array::of2(&answered, &request));
    let acquired = JsFuture::from(first)
        .await
        .map_err(|e| LockError::Refused(reason(&e)))?;
    drop(callback);
    Ok((acquired.as_bool() == Some(true)).then_some(guard))
}
