//! Browser tests of the job store (IndexedDB) and the job lock (Web Locks), in headless
//! Chromium: what a reload, a crash or a second tab relies on for bulk jobs (issue #12).
#![cfg(target_arch = "wasm32")]

use portal::job_store::{job_lock_name, try_lock, JobStore};
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

#[wasm_bindgen_test]
async fn a_job_and_its_items_round_trip_until_deleted() {
    let store = JobStore::open().await.unwrap();
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
    let store = JobStore::open().await.unwrap();
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
    let store = JobStore::open().await.unwrap();
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
    let store = JobStore::open().await.unwrap();
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
    let store = JobStore::open().await.unwrap();
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
    let store = JobStore::open().await.unwrap();
    let id = job("refused");
    store
        .put_job_and_items(&id, "before", &items(0..2, "planned"))
        .await
        .unwrap();
    let closed = JobStore::open().await.unwrap();
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
    let id = job("reopen");
    {
        let store = JobStore::open().await.unwrap();
        store
            .put_job_and_items(&id, "kept", &items(0..5, "installed"))
            .await
            .unwrap();
        store.close();
    }
    let store = JobStore::open().await.unwrap();
    assert_eq!(
        store.load_job(&id).await.unwrap(),
        Some(("kept".into(), items(0..5, "installed")))
    );
    store.delete_job(&id).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_held_job_lock_is_refused_until_released() {
    let name = job_lock_name(&job("lock"));
    let first = try_lock(&name)
        .await
        .unwrap()
        .expect("a free lock is taken");
    assert!(try_lock(&name).await.unwrap().is_none(), "held: refused");
    // Another job's lock is independent.
    let other = try_lock(&job_lock_name(&job("lock-other"))).await.unwrap();
    assert!(other.is_some());

    first.release().await;
    let again = try_lock(&name).await.unwrap();
    assert!(again.is_some(), "released: taken again");
}

#[wasm_bindgen_test]
async fn a_dropped_guard_releases_its_lock() {
    let name = job_lock_name(&job("drop"));
    let guard = try_lock(&name).await.unwrap().unwrap();
    drop(guard);
    // The browser releases it once the callback's promise settles: a timer later at most.
    gloo_timers::future::TimeoutFuture::new(0).await;
    assert!(try_lock(&name).await.unwrap().is_some());
}
