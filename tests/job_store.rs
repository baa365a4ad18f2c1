//! Browser tests of the job store (IndexedDB) and the job lock (Web Locks), in headless
//! Chromium: what a reload, a crash or a second tab relies on for bulk jobs (issue #12), and
//! that each account's work is its own (issue #22): one database per account, entries of
//! another owner never returned, single writes kept until they settle, discarding one account's
//! work leaving the others', and the legacy database of the portal before owners removed.
#![cfg(target_arch = "wasm32")]

use portal::job_store::{
    discard_work, job_lock_name, read_marker, remove_legacy, target_lock_name, try_lock,
    write_marker, JobStore, LEGACY_JOB_DATABASE,
};
use portal_core::outbox::Target;
use portal_core::ownership::{Marker, Owner};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Item states as the job runner would store them.
fn items(range: std::ops::Range<u32>, state: &str) -> Vec<(u32, String)> {
    range
        .map(|i| (i, format!(r#"{{"user":"u{i}","state":"{state}"}}"#)))
        .collect()
}

/// A job id of its own per test: the tests share one database.
fn job(test: &str) -> String {
    format!("test-{test}-{}", js_sys::Math::random())
}

/// An account of its own per test (its own database), in `tenant`.
fn account_in(tenant: &str) -> Owner {
    let oid = format!(
        "{:08x}-0000-0000-0000-000000000000",
        (js_sys::Math::random() * 1e9) as u32
    );
    Owner::new(tenant, &oid).unwrap()
}

fn account() -> Owner {
    account_in("72f988bf-86f1-41af-91ab-2d7cd011db47")
}

/// The names of the origin's databases.
async fn database_names() -> Vec<String> {
    let factory = web_sys::window().unwrap().indexed_db().unwrap().unwrap();
    let list: js_sys::Function = js_sys::Reflect::get(&factory, &"databases".into())
        .unwrap()
        .unchecked_into();
    let promise: js_sys::Promise = list.call0(&factory).unwrap().unchecked_into();
    let found = wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
    js_sys::Array::from(&found)
        .iter()
        .filter_map(|d| js_sys::Reflect::get(&d, &"name".into()).ok()?.as_string())
        .collect()
}

#[wasm_bindgen_test]
async fn a_job_and_its_items_round_trip_until_deleted() {
    let owner = account();
    let store = JobStore::open(&owner).await.unwrap();
    let id = job("round-trip");
    store.put_job(&id, r#"{"app":"a1"}"#).await.unwrap();
    store.put_items(&id, &items(0..3, "planned")).await.unwrap();
    // A later batch's outcomes replace the planned state.
    store
        .put_items(&id, &items(1..2, "installed"))
        .await
        .unwrap();

    let (header, stored) = store.load_job(&id).await.unwrap().expect("the job");
    assert_eq!(header, r#"{"app":"a1"}"#);
    let mut expected = items(0..3, "planned");
    expected[1] = items(1..2, "installed").remove(0);
    assert_eq!(stored, expected);
    assert!(store
        .list_jobs()
        .await
        .unwrap()
        .contains(&(id.clone(), r#"{"app":"a1"}"#.to_string())));

    store.delete_job(&id).await.unwrap();
    assert_eq!(store.load_job(&id).await.unwrap(), None);
    assert!(!store
        .list_jobs()
        .await
        .unwrap()
        .iter()
        .any(|(j, _)| *j == id));
}

#[wasm_bindgen_test]
async fn items_come_back_in_index_order_not_string_order() {
    let owner = account();
    let store = JobStore::open(&owner).await.unwrap();
    let id = job("order");
    let mut written = items(0..12, "planned");
    written.reverse();
    store.put_job_and_items(&id, "{}", &written).await.unwrap();
    let (_, stored) = store.load_job(&id).await.unwrap().unwrap();
    let indices: Vec<u32> = stored.iter().map(|(i, _)| *i).collect();
    assert_eq!(indices, (0..12).collect::<Vec<_>>());
    store.delete_job(&id).await.unwrap();
}

#[wasm_bindgen_test]
async fn items_of_two_jobs_do_not_mix() {
    let owner = account();
    let store = JobStore::open(&owner).await.unwrap();
    // One id a prefix of the other: a string-prefix range would mix them.
    let a = job("mix");
    let b = format!("{a}0");
    store
        .put_job_and_items(&a, "a", &items(0..2, "a"))
        .await
        .unwrap();
    store
        .put_job_and_items(&b, "b", &items(0..3, "b"))
        .await
        .unwrap();

    assert_eq!(
        store.load_job(&a).await.unwrap(),
        Some(("a".into(), items(0..2, "a")))
    );
    assert_eq!(
        store.load_job(&b).await.unwrap(),
        Some(("b".into(), items(0..3, "b")))
    );

    store.delete_job(&a).await.unwrap();
    assert_eq!(store.load_job(&a).await.unwrap(), None);
    assert_eq!(
        store.load_job(&b).await.unwrap(),
        Some(("b".into(), items(0..3, "b")))
    );
    store.delete_job(&b).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_batch_is_listed_in_full_once_put_items_answers() {
    let owner = account();
    let store = JobStore::open(&owner).await.unwrap();
    let id = job("batch");
    store.put_job(&id, "{}").await.unwrap();
    // $batch's maximum, at once: answered on `complete`, so a read just after sees all of it.
    store.put_items(&id, &items(0..20, "sent")).await.unwrap();
    let (_, stored) = store.load_job(&id).await.unwrap().unwrap();
    assert_eq!(stored, items(0..20, "sent"));
    store.delete_job(&id).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_read_during_a_batch_write_sees_all_of_it_or_none() {
    let owner = account();
    let store = JobStore::open(&owner).await.unwrap();
    let id = job("atomic");
    store.put_job(&id, "{}").await.unwrap();
    // The write's transaction starts first; the read, started while it runs, waits for it.
    let batch = items(0..20, "sent");
    let (written, read) = futures::join!(store.put_items(&id, &batch), store.load_job(&id));
    written.unwrap();
    assert_eq!(read.unwrap(), Some(("{}".into(), batch)));
    store.delete_job(&id).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_refused_write_says_why_and_keeps_nothing() {
    let owner = account();
    let store = JobStore::open(&owner).await.unwrap();
    let id = job("refused");
    store
        .put_job_and_items(&id, "before", &items(0..2, "planned"))
        .await
        .unwrap();
    let closed = JobStore::open(&owner).await.unwrap();
    closed.close();
    let error = closed
        .put_job_and_items(&id, "after", &items(0..4, "sent"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("InvalidStateError"), "{error}");
    assert_eq!(
        store.load_job(&id).await.unwrap(),
        Some(("before".into(), items(0..2, "planned")))
    );
    store.delete_job(&id).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_reopened_store_finds_what_was_written() {
    let owner = account();
    let id = job("reopen");
    {
        let store = JobStore::open(&owner).await.unwrap();
        store
            .put_job_and_items(&id, "kept", &items(0..5, "installed"))
            .await
            .unwrap();
        store.close();
    }
    let store = JobStore::open(&owner).await.unwrap();
    assert_eq!(
        store.load_job(&id).await.unwrap(),
        Some(("kept".into(), items(0..5, "installed")))
    );
    store.delete_job(&id).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_held_job_lock_is_refused_until_released() {
    let owner = account();
    let name = job_lock_name(&owner, &job("lock"));
    let first = try_lock(&name)
        .await
        .unwrap()
        .expect("a free lock is taken");
    assert!(try_lock(&name).await.unwrap().is_none(), "held: refused");
    // Another job's lock is independent.
    let other = try_lock(&job_lock_name(&owner, &job("lock-other")))
        .await
        .unwrap();
    assert!(other.is_some());

    first.release().await;
    let again = try_lock(&name).await.unwrap();
    assert!(again.is_some(), "released: taken again");
}

#[wasm_bindgen_test]
async fn a_dropped_guard_releases_its_lock() {
    let name = job_lock_name(&account(), &job("drop"));
    let guard = try_lock(&name).await.unwrap().unwrap();
    drop(guard);
    // The browser releases it once the callback's promise settles: a timer later at most.
    gloo_timers::future::TimeoutFuture::new(0).await;
    assert!(try_lock(&name).await.unwrap().is_some());
}

#[wasm_bindgen_test]
async fn another_account_sees_nothing_of_a_job() {
    let admin = account();
    let member = account();
    let id = job("owned");
    let store = JobStore::open(&admin).await.unwrap();
    store
        .put_job_and_items(&id, r#"{"app":"a1"}"#, &items(0..3, "planned"))
        .await
        .unwrap();
    store
        .put_write("w1", r#"{"user":"adele@contoso"}"#)
        .await
        .unwrap();
    // Each account has a database of its own, named after it.
    let names = database_names().await;
    assert!(names.contains(&admin.database()), "{names:?}");
    let theirs = JobStore::open(&member).await.unwrap();
    assert_eq!(theirs.list_jobs().await.unwrap(), vec![]);
    assert_eq!(theirs.load_job(&id).await.unwrap(), None);
    assert_eq!(theirs.list_writes().await.unwrap(), vec![]);
    // The same job id in another tenant's account: nothing either.
    let elsewhere = JobStore::open(&account_in("another-tenant")).await.unwrap();
    assert_eq!(elsewhere.load_job(&id).await.unwrap(), None);
    // The owner still has it all.
    assert_eq!(
        store.load_job(&id).await.unwrap(),
        Some((r#"{"app":"a1"}"#.into(), items(0..3, "planned")))
    );
    store.delete_job(&id).await.unwrap();
}

#[wasm_bindgen_test]
async fn entries_of_another_owner_are_never_returned_even_from_the_owners_database() {
    // Defence in depth: opened as someone else, the admin's own database yields nothing.
    let admin = account();
    let intruder = account();
    let id = job("foreign");
    let store = JobStore::open(&admin).await.unwrap();
    store
        .put_job_and_items(&id, "header", &items(0..2, "sent"))
        .await
        .unwrap();
    store.put_write("w1", "{}").await.unwrap();
    store.close();
    let foreign = JobStore::open_database(&admin.database(), &intruder)
        .await
        .unwrap();
    assert_eq!(foreign.list_jobs().await.unwrap(), vec![]);
    assert_eq!(foreign.load_job(&id).await.unwrap(), None);
    assert_eq!(foreign.list_writes().await.unwrap(), vec![]);
    // A job of the intruder's own beside the admin's items cannot be read whole.
    foreign.put_job(&id, "mine").await.unwrap();
    assert!(foreign.load_job(&id).await.is_err());
    foreign.close();
}

#[wasm_bindgen_test]
async fn a_kept_write_round_trips_until_it_settles() {
    let owner = account();
    let store = JobStore::open(&owner).await.unwrap();
    store.put_write("b", r#"{"n":2}"#).await.unwrap();
    store.put_write("a", r#"{"n":1}"#).await.unwrap();
    // A later state replaces the first.
    store.put_write("a", r#"{"n":3}"#).await.unwrap();
    store.close();
    let reopened = JobStore::open(&owner).await.unwrap();
    assert_eq!(
        reopened.list_writes().await.unwrap(),
        vec![
            ("a".to_string(), r#"{"n":3}"#.to_string()),
            ("b".to_string(), r#"{"n":2}"#.to_string())
        ]
    );
    reopened.delete_write("a").await.unwrap();
    assert_eq!(
        reopened.list_writes().await.unwrap(),
        vec![("b".to_string(), r#"{"n":2}"#.to_string())]
    );
    reopened.delete_write("b").await.unwrap();
}

#[wasm_bindgen_test]
async fn discarding_an_accounts_work_leaves_every_other_account_s() {
    let admin = account();
    let member = account();
    let id = job("discard");
    for owner in [&admin, &member] {
        let store = JobStore::open(owner).await.unwrap();
        store
            .put_job_and_items(&id, "header", &items(0..2, "planned"))
            .await
            .unwrap();
        store.put_write("w", "{}").await.unwrap();
        store.close();
        write_marker(owner, Marker { jobs: 1, writes: 1 });
    }
    discard_work(&admin).await.unwrap();
    assert!(!database_names().await.contains(&admin.database()));
    assert_eq!(read_marker(&admin), Marker::default());
    // The member's work is untouched.
    assert_eq!(read_marker(&member), Marker { jobs: 1, writes: 1 });
    let store = JobStore::open(&member).await.unwrap();
    assert!(store.load_job(&id).await.unwrap().is_some());
    assert_eq!(store.list_writes().await.unwrap().len(), 1);
    store.close();
    discard_work(&member).await.unwrap();
    assert_eq!(read_marker(&member), Marker::default());
}

#[wasm_bindgen_test]
async fn a_marker_holds_counts_and_an_empty_one_is_removed() {
    let owner = account();
    write_marker(&owner, Marker { jobs: 2, writes: 0 });
    assert_eq!(read_marker(&owner), Marker { jobs: 2, writes: 0 });
    let stored = web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .get_item(&owner.marker_key())
        .unwrap();
    assert_eq!(stored.as_deref(), Some(r#"{"jobs":2,"writes":0}"#));
    write_marker(&owner, Marker::default());
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    assert_eq!(storage.get_item(&owner.marker_key()).unwrap(), None);
}

#[wasm_bindgen_test]
async fn two_accounts_job_locks_are_independent_and_a_target_lock_is_the_tenant_s() {
    let admin = account();
    let member = account();
    let id = job("locks");
    let mine = try_lock(&job_lock_name(&admin, &id)).await.unwrap();
    assert!(mine.is_some());
    let theirs = try_lock(&job_lock_name(&member, &id)).await.unwrap();
    assert!(theirs.is_some(), "another account's job of the same id");
    let target = Target {
        user: "u1".into(),
        app: "a1".into(),
    };
    let held = try_lock(&target_lock_name(&admin, &target)).await.unwrap();
    assert!(held.is_some());
    // Another administrator of the tenant may not write the same user's app meanwhile.
    assert!(try_lock(&target_lock_name(&member, &target))
        .await
        .unwrap()
        .is_none());
    // Another tenant's user of the same ids is another target.
    let other_tenant = account_in("another-tenant");
    assert!(try_lock(&target_lock_name(&other_tenant, &target))
        .await
        .unwrap()
        .is_some());
}

#[wasm_bindgen_test]
async fn the_database_before_owners_is_removed_and_its_jobs_counted() {
    // As the portal before issue #22 wrote it: one database, headers as JSON strings.
    let create = js_sys::Function::new_no_args(&format!(
        r#"return new Promise((resolve, reject) => {{
            const open = indexedDB.open("{LEGACY_JOB_DATABASE}", 1);
            open.onupgradeneeded = () => {{
                open.result.createObjectStore("jobs");
                open.result.createObjectStore("items");
            }};
            open.onsuccess = () => {{
                const tx = open.result.transaction(["jobs"], "readwrite");
                tx.objectStore("jobs").put('{{"status":"Running"}}', "j1");
                tx.objectStore("jobs").put('{{"status":"Finished"}}', "j2");
                tx.oncomplete = () => {{ open.result.close(); resolve(); }};
                tx.onabort = () => reject(tx.error);
            }};
            open.onerror = () => reject(open.error);
        }});"#
    ));
    let promise: js_sys::Promise = create
        .call0(&wasm_bindgen::JsValue::NULL)
        .unwrap()
        .unchecked_into();
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
    assert!(database_names()
        .await
        .contains(&LEGACY_JOB_DATABASE.to_string()));
    let mut headers = remove_legacy().await.unwrap();
    headers.sort();
    assert_eq!(
        headers,
        vec![
            r#"{"status":"Finished"}"#.to_string(),
            r#"{"status":"Running"}"#.to_string()
        ]
    );
    assert!(!database_names()
        .await
        .contains(&LEGACY_JOB_DATABASE.to_string()));
    // Nothing there: nothing to do, and nothing created.
    assert_eq!(remove_legacy().await.unwrap(), Vec::<String>::new());
    assert!(!database_names()
        .await
        .contains(&LEGACY_JOB_DATABASE.to_string()));
}
