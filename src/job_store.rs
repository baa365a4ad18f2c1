//! Where an account's unfinished work outlives the tab (issues #12 and #22): bulk jobs (each
//! job's plan and the state of every item, written after each `$batch`) and single writes that
//! may have been applied (kept from before they are sent until they settle), so a reload, a
//! crash, a closed tab or a sign-in redirect loses nothing and sends nothing twice. A finished
//! job stays listed until it is cleared. Web Locks keep two tabs from running the same job, or
//! from writing the same user's app at once.
//!
//! Every account has a database of its own, named from its tenant and object ids
//! (`portal_core::ownership::Owner::database`: `teams-app-portal:{tid}:{oid}`), version 1, with
//! three object stores: `jobs`, keyed by the job id, holding the job's header; `items`, keyed
//! by `[job id, item index]`, holding one item's state (the plan under the last index); and
//! `writes`, keyed by the write's id, holding a single write kept until it settles. Each value is
//! `{ o: owner, v: JSON string }`: the owner is checked on every read (an entry of another owner
//! is never returned), on top of the database being the owner's. The callers serialise; this
//! module never reads the JSON. Nothing here may hold a token or any other secret: a job is its
//! plan (app, definition, users) and Graph's answers. IndexedDB outlives the session: sign-out
//! offers to discard the account's database ([`discard_work`]), else it stays for the next
//! sign-in of the same account. The jobs of the portal before owners
//! ([`LEGACY_JOB_DATABASE`], one database for everyone) are never resumed: the portal removes
//! that database at start ([`remove_legacy`]).
//!
//! The header's unfinished-work hint and the sign-out question read only the account's marker in
//! localStorage (counts of unfinished jobs and writes, [`read_marker`]), which the job and write
//! services keep up to date.
//!
//! Writes are one transaction each (a batch's items all stored or none), answered when the
//! transaction completes, not when its requests succeed, and asked with `durability: "strict"`
//! (the browser flushes them to disk before it says so; a browser that does not know the option
//! ignores it).
//!
//! A thin wrapper over `web-sys` rather than the `idb` or `rexie` crates, for the wasm's size:
//! measured in the portal's release build, the same calls through `idb` 0.6.5 (a Rust closure
//! and a tokio oneshot per request and per transaction) cost more than this module does
//! (`docs/performance.md` has the figures); `rexie` 0.6.2 is `idb` with its builder on top.
//! Here every wait is one JS promise whose `resolve` is itself the event handler, and every
//! operation goes through one non-generic [`JobStore`] transaction runner.

use js_sys::{Array, Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbKeyRange, IdbObjectStore, IdbRequest, IdbTransaction};

pub use portal_core::ownership::LEGACY_JOB_DATABASE;
use portal_core::ownership::{Marker, Owner};

/// The schema version of an account's database: the three stores below.
pub const VERSION: u32 = 1;
/// Job id → the job's header (JSON).
const JOBS: &str = "jobs";
/// `[job id, item index]` → one item's state, or the plan (JSON).
const ITEMS: &str = "items";
/// Write id → a single write kept until it settles (JSON).
const WRITES: &str = "writes";
/// The fields of a stored value: its owner, and the JSON the caller gave.
const OWNER_FIELD: &str = "o";
const JSON_FIELD: &str = "v";

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
    /// An entry not written by this module (not a JSON string, or a key not `[id, index]`),
    /// or one of another account.
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

/// The value stored for `json` of `owner`: `{ o: owner, v: json }`.
fn owned_value(owner: &str, json: &str) -> JsValue {
    let value = object_with(OWNER_FIELD, &JsValue::from_str(owner));
    let _ = Reflect::set(
        &value,
        &JsValue::from_str(JSON_FIELD),
        &JsValue::from_str(json),
    );
    value.into()
}

/// The JSON string of a stored value of `owner`; `None` for a value of another owner (or of
/// none), which is never returned.
fn json_of(value: &JsValue, owner: &str) -> Result<Option<String>, JobStoreError> {
    let field = |name: &str| Reflect::get(value, &JsValue::from_str(name)).ok();
    let Some(json) = field(JSON_FIELD).and_then(|v| v.as_string()) else {
        return Err(JobStoreError::Unexpected(
            "a value that is not an owned JSON string".into(),
        ));
    };
    let mine = field(OWNER_FIELD)
        .and_then(|o| o.as_string())
        .is_some_and(|o| o == owner);
    Ok(mine.then_some(json))
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

/// The open database of one account. Cheap to clone (one connection).
#[derive(Clone, Debug)]
pub struct JobStore {
    db: IdbDatabase,
    /// The owner's key ([`Owner::key`]): written with every value, checked on every read.
    owner: String,
}

impl JobStore {
    /// Opens (and on first use creates) the database of `owner`'s work.
    ///
    /// ```ignore
    /// let store = JobStore::open(&owner).await?;
    /// for (id, json) in store.list_jobs().await? { /* the jobs to show or resume */ }
    /// ```
    pub async fn open(owner: &Owner) -> Result<JobStore, JobStoreError> {
        Self::open_database(&owner.database(), owner).await
    }

    /// Opens database `name` as `owner` (reads return only `owner`'s entries). For tests: the
    /// portal opens an account's own database with [`JobStore::open`].
    #[doc(hidden)]
    pub async fn open_database(name: &str, owner: &Owner) -> Result<JobStore, JobStoreError> {
        let factory = web_sys::window()
            .and_then(|w| w.indexed_db().ok().flatten())
            .ok_or(JobStoreError::Unavailable)?;
        let request = factory
            .open_with_u32(name, VERSION)
            .map_err(|e| JobStoreError::Open(reason(&e)))?;
        // Version 1 from nothing: create the stores. A throw here aborts the upgrade, and the
        // open fails with it.
        let upgrade = Closure::<dyn FnMut() -> Result<(), JsValue>>::new({
            let request = request.clone();
            move || {
                let db: IdbDatabase = request.result()?.unchecked_into();
                let names = db.object_store_names();
                for store in [JOBS, ITEMS, WRITES] {
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
        Ok(JobStore {
            db,
            owner: owner.key(),
        })
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
            put_all(&tx.object_store(ITEMS)?, &self.owner, id, items)
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
                .put_with_key(&owned_value(&self.owner, json), &JsValue::from_str(id))?;
            put_all(&tx.object_store(ITEMS)?, &self.owner, id, items)
        })
        .await
        .map(drop)
    }

    /// A job's header and its items in index order; `None` when there is no such job (items
    /// stored without a header are not a job), or it is not the owner's. An item of another
    /// owner under the owner's job is an error (the job cannot be read whole).
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
        let Some(header) = json_of(&job, &self.owner)? else {
            return Ok(None);
        };
        let items = pairs(&keys, &values, &self.owner, index_of)?;
        if items.len() != Array::from(&keys).length() as usize {
            return Err(JobStoreError::Unexpected(
                "an item of the job stored by another account".into(),
            ));
        }
        Ok(Some((header, items)))
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
        pairs(&keys, &values, &self.owner, text_key)
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

    /// Stores (or replaces) a single write kept until it settles: answered once it is on disk,
    /// so the write may be sent then.
    pub async fn put_write(&self, id: &str, json: &str) -> Result<(), JobStoreError> {
        self.run(&[WRITES], true, "keep the write", &|tx| {
            tx.object_store(WRITES)?
                .put_with_key(&owned_value(&self.owner, json), &JsValue::from_str(id))?;
            Ok(Vec::new())
        })
        .await
        .map(drop)
    }

    /// Forgets a single write (it settled).
    pub async fn delete_write(&self, id: &str) -> Result<(), JobStoreError> {
        self.run(&[WRITES], true, "forget the write", &|tx| {
            tx.object_store(WRITES)?.delete(&JsValue::from_str(id))?;
            Ok(Vec::new())
        })
        .await
        .map(drop)
    }

    /// Every single write kept, `(id, JSON)`, in id order.
    pub async fn list_writes(&self) -> Result<Vec<(String, String)>, JobStoreError> {
        let results = self
            .run(&[WRITES], false, "list the writes", &|tx| {
                let writes = tx.object_store(WRITES)?;
                Ok(vec![writes.get_all_keys()?, writes.get_all()?])
            })
            .await?;
        let [keys, values] = <[JsValue; 2]>::try_from(results)
            .map_err(|_| JobStoreError::Unexpected("a missing result".into()))?;
        pairs(&keys, &values, &self.owner, text_key)
    }
}

/// Queues the writes of items (their requests' results are not needed).
fn put_all(
    store: &IdbObjectStore,
    owner: &str,
    id: &str,
    items: &[(u32, String)],
) -> Result<Vec<IdbRequest>, JsValue> {
    for (index, json) in items {
        store.put_with_key(&owned_value(owner, json), &item_key(id, *index))?;
    }
    Ok(Vec::new())
}

/// A key that is text (a job's or a write's id).
fn text_key(key: &JsValue) -> Result<String, JobStoreError> {
    key.as_string()
        .ok_or_else(|| JobStoreError::Unexpected("an id that is not text".into()))
}

/// `getAllKeys` and `getAll` of one range (both in key order) as `(key, JSON)` pairs, the
/// entries of `owner` only.
fn pairs<K>(
    keys: &JsValue,
    values: &JsValue,
    owner: &str,
    key_of: impl Fn(&JsValue) -> Result<K, JobStoreError>,
) -> Result<Vec<(K, String)>, JobStoreError> {
    let keys = Array::from(keys);
    let values = Array::from(values);
    let mut out = Vec::with_capacity(keys.length() as usize);
    for (key, value) in keys.iter().zip(values.iter()) {
        if let Some(json) = json_of(&value, owner)? {
            out.push((key_of(&key)?, json));
        }
    }
    Ok(out)
}

/// The Web Lock name of `owner`'s job `id`: the tab holding it is the one running the job.
pub fn job_lock_name(owner: &Owner, id: &str) -> String {
    owner.lock_name("job", id)
}

/// The Web Lock of a write's target (a user's app) in `owner`'s tenant: held by the tab that
/// sends a write to it, until the write settles. Named by tenant, not by account: two
/// administrators of one tenant signed in in two tabs never write one user's app at once.
pub fn target_lock_name(owner: &Owner, target: &portal_core::outbox::Target) -> String {
    owner.tenant_lock_name("target", &target.lock_part())
}

/// The owner of what the signed-in account starts, stores and sees: `None` when signed out (or
/// when the ID token gave no tenant or object id).
pub fn signed_in_owner(status: &crate::auth::AuthStatus) -> Option<Owner> {
    match status {
        crate::auth::AuthStatus::SignedIn(account) => Owner::new(&account.tid, &account.oid),
        _ => None,
    }
}

// ------------------------------------------------------------------ the marker, and discarding

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// `owner`'s marker: how many jobs and writes the portal last counted as unfinished
/// (nothing when absent or unreadable).
pub fn read_marker(owner: &Owner) -> Marker {
    local_storage()
        .and_then(|s| s.get_item(&owner.marker_key()).ok().flatten())
        .and_then(|text| Marker::decode(&text))
        .unwrap_or_default()
}

/// Writes `owner`'s marker (removes it when there is nothing left). Best effort: a browser that
/// refuses localStorage only loses the header's hint.
pub fn write_marker(owner: &Owner, marker: Marker) {
    let Some(storage) = local_storage() else {
        return;
    };
    let key = owner.marker_key();
    let _ = if marker.is_empty() {
        storage.remove_item(&key)
    } else {
        storage.set_item(&key, &marker.encode())
    };
}

/// Deletes database `name` and waits until the browser has (or says another tab keeps it open:
/// it is then deleted once that tab lets go, which the portal's tabs do at once).
async fn delete_database(name: &str) -> Result<(), JobStoreError> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or(JobStoreError::Unavailable)?;
    let request = factory
        .delete_database(name)
        .map_err(|e| refused("delete the database", &e))?;
    let deleted = Promise::new(&mut |resolve, reject| {
        let _ = Reflect::set(&request, &JsValue::from_str("onsuccess"), &resolve);
        let _ = Reflect::set(&request, &JsValue::from_str("onblocked"), &resolve);
        let _ = Reflect::set(&request, &JsValue::from_str("onerror"), &reject);
    });
    JsFuture::from(deleted)
        .await
        .map(drop)
        .map_err(|e| refused("delete the database", &e))
}

/// Discards `owner`'s unfinished work in this browser: their database (jobs, plans with the
/// users' UPNs and names, outcomes, writes kept) and their marker.
pub async fn discard_work(owner: &Owner) -> Result<(), JobStoreError> {
    write_marker(owner, Marker::default());
    delete_database(&owner.database()).await
}

/// The names of the origin's IndexedDB databases, where the browser can list them.
async fn database_names() -> Option<Vec<String>> {
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten())?;
    let list = Reflect::get(&factory, &JsValue::from_str("databases"))
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    let promise = list.call0(&factory).ok()?.dyn_into::<Promise>().ok()?;
    let found = JsFuture::from(promise).await.ok()?;
    Some(
        Array::from(&found)
            .iter()
            .filter_map(|d| {
                Reflect::get(&d, &JsValue::from_str("name"))
                    .ok()?
                    .as_string()
            })
            .collect(),
    )
}

/// Removes the database of the portal before owners ([`LEGACY_JOB_DATABASE`]): its jobs belong
/// to no account, so none may be resumed, shown or kept under whoever signs in. Answers the
/// headers its jobs had (JSON, to count the unfinished ones); nothing when it was not there.
pub async fn remove_legacy() -> Result<Vec<String>, JobStoreError> {
    match database_names().await {
        Some(names) if !names.iter().any(|n| n == LEGACY_JOB_DATABASE) => return Ok(Vec::new()),
        // Listed, or a browser that cannot list: delete it (nothing happens if it is absent).
        Some(_) | None => {}
    }
    let headers = legacy_headers().await.unwrap_or_default();
    delete_database(LEGACY_JOB_DATABASE).await?;
    Ok(headers)
}

/// The job headers of the legacy database (plain JSON strings there), read without creating
/// anything: a database or store that is not there gives none.
async fn legacy_headers() -> Option<Vec<String>> {
    let factory = web_sys::window().and_then(|w| w.indexed_db().ok().flatten())?;
    let request = factory.open(LEGACY_JOB_DATABASE).ok()?;
    settled_by(&request, "onsuccess", &["onerror"]).await.ok()?;
    let db: IdbDatabase = request.result().ok()?.unchecked_into();
    let headers = async {
        let tx = db.transaction_with_str(JOBS).ok()?;
        let all = tx.object_store(JOBS).ok()?.get_all().ok()?;
        settled_by(&all, "onsuccess", &["onerror"]).await.ok()?;
        Some(
            Array::from(&all.result().ok()?)
                .iter()
                .filter_map(|v| v.as_string())
                .collect(),
        )
    }
    .await;
    db.close();
    headers
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
