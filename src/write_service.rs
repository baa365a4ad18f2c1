//! The write service: every write (install, upgrade, uninstall) of every page runs here, at the
//! level of the shell, not of the page that asked for it. Closing a panel, pressing Esc,
//! navigating away or a change of sign-in status never drops a write: it is driven to its end
//! by the write model (`portal_core::graph::write`), reading back before anything is resent,
//! and its outcome is shown wherever the user is (the outbox).
//!
//! One write per target (a user's app) at a time, whichever page asks (issue #22): a second
//! write to a target while one is in flight or in doubt, or while a job of the account has a
//! task for it, or while another tab writes it (a Web Lock per target), is not sent, and says
//! why, with a link to what holds the target. Pages read the service's state, not markers of
//! their own.
//!
//! Durable (issue #22): a write is stored in the account's database before it is sent, and
//! stays there until it settles, so a reload, a crash, a closed tab or a sign-in redirect never
//! loses one that may have been applied. The next time the same account opens the portal,
//! each stored write is read back (never sent again) and shown in the outbox. While a write is
//! being sent, leaving the page asks for confirmation and a sign-in redirect waits; once it is
//! in doubt and stored, a redirect may go (the write survives it).

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use leptos::prelude::*;
use portal_core::auth::challenge::ClaimsChallenge;
use portal_core::graph::models::Installation;
use portal_core::graph::retry::GiveUp;
use portal_core::graph::write::{
    Confirmed, Event, Failure, ReadBackResult, SendResult, Step, Write, WritePolicy, WriteRun,
};
use portal_core::jobs::engine::ErrorSummary;
use portal_core::outbox::{holder_of, keeps, restored_run, Busy, Holder, StoredWrite, Target};
use portal_core::ownership::{Marker, Owner};
use portal_core::RuntimeConfig;

use crate::auth::redirect_gate::RedirectHold;
use crate::auth::{use_session, Session};
use crate::graph_client::{attempt, unabortable_graph, Attempt, CallError};
use crate::job_store::{
    read_marker, signed_in_owner, target_lock_name, try_lock, write_marker, JobStore, LockGuard,
};

/// Where a write stands.
#[derive(Clone, Debug)]
pub enum WriteState {
    /// Being sent.
    Sending,
    /// In doubt (no answer, or a server error): reading the user's apps back.
    Checking,
    /// Waiting before sending again (throttled, or not applied after a doubt).
    Waiting,
    Done {
        confirmed: Confirmed,
        request_id: Option<String>,
        sends: u32,
        /// Statuses of the sends that did not go through (0: no answer), in order.
        retried: Vec<u16>,
    },
    Failed {
        failure: Failure,
        error: CallError,
        sends: u32,
    },
    /// Not sent: its target (the user's app) is held by another write or a job.
    NotSent { held_by: HeldBy },
}

impl WriteState {
    /// Ended having changed nothing (read back as not applied, or never sent): the user may
    /// send it again; the service never does so by itself.
    pub fn changed_nothing(&self) -> bool {
        matches!(
            self,
            WriteState::Failed {
                failure: Failure::NotApplied | Failure::NotSent,
                ..
            }
        )
    }

    pub fn is_settled(&self) -> bool {
        matches!(
            self,
            WriteState::Done { .. } | WriteState::Failed { .. } | WriteState::NotSent { .. }
        )
    }
}

/// What holds the target of a write that was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeldBy {
    /// A write of this tab's outbox (its id there), in flight or in doubt.
    Write(u32),
    /// A job of the account (its id) with a task for the target that has not ended.
    Job(String),
    /// A write another tab of this browser is sending.
    OtherTab,
}

impl From<Holder> for HeldBy {
    fn from(holder: Holder) -> HeldBy {
        match holder {
            Holder::Write(id) => HeldBy::Write(id),
            Holder::Job(id) => HeldBy::Job(id),
        }
    }
}

/// Whether a write is kept in the browser until it settles.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Kept {
    /// Not stored (yet, or any more: it settled, or it was not sent).
    No,
    /// Stored in the account's database under this id.
    Stored(String),
    /// The browser refused to store it (the reason): it was sent all the same, and only this
    /// tab knows of it.
    Refused(String),
}

/// One write in the outbox.
#[derive(Clone, Debug)]
pub struct OutboxEntry {
    pub id: u32,
    /// What the write does, in words ("Install Polls for Adele Vance").
    pub label: String,
    /// What to say when it is done ("Polls installed for Adele Vance").
    pub done_message: String,
    pub write: Write,
    /// Its user and app.
    pub target: Target,
    pub state: WriteState,
    /// Kept in the browser until it settles?
    pub kept: Kept,
    /// Picked up again from the browser's storage after a reload (read back, not resent).
    pub restored: bool,
    /// The user hid it from the outbox.
    pub dismissed: bool,
}

impl OutboxEntry {
    /// Whether it holds its target: in flight, or ended without anyone knowing whether it was
    /// applied (unsettled, and still kept).
    pub fn holds_target(&self) -> bool {
        match &self.state {
            WriteState::Done { .. } | WriteState::NotSent { .. } => false,
            WriteState::Failed { failure, .. } => {
                keeps(Some(*failure)) && matches!(self.kept, Kept::Stored(_))
            }
            WriteState::Sending | WriteState::Checking | WriteState::Waiting => true,
        }
    }
}

/// What the job service tells the write service about the targets of the account's jobs.
pub trait JobTargets {
    /// The job this tab has open (running or paused), if a task of it for `target` has not
    /// ended (tracked).
    fn active(&self, target: &Target) -> Option<String>;
    /// Any unfinished job of the account with a task for `target` not ended: this tab's, one
    /// another tab runs, or one paused or waiting to be resumed.
    fn any(&self, target: Target) -> LocalBoxFuture<'static, Option<String>>;
}

/// The service, in context (provided once by the shell).
#[derive(Clone, Copy)]
pub struct WriteService {
    entries: RwSignal<Vec<OutboxEntry>>,
    next_id: StoredValue<u32>,
    config: StoredValue<RuntimeConfig>,
    session: Session,
    /// The account whose stored writes were picked up in this document.
    restored_for: StoredValue<Option<Owner>>,
    /// Sign-out discards the account's work: nothing is stored or read any more.
    closed: StoredValue<bool>,
    jobs: StoredValue<Option<Rc<dyn JobTargets>>, LocalStorage>,
}

/// Provides the service and the `beforeunload` guard (call once, in the shell); once signed in,
/// the account's stored writes are read back.
pub fn provide_write_service(config: RuntimeConfig) -> WriteService {
    let service = WriteService {
        entries: RwSignal::new(Vec::new()),
        next_id: StoredValue::new(1),
        config: StoredValue::new(config),
        session: use_session(),
        restored_for: StoredValue::new(None),
        closed: StoredValue::new(false),
        jobs: StoredValue::new_local(None),
    };
    provide_context(service);
    // While a write is being sent, leaving or reloading the page asks first (a write stored in
    // the browser survives it, but one the browser refused to store would be lost).
    let handle = window_event_listener(leptos::ev::beforeunload, move |ev| {
        if service.in_flight_untracked() > 0 {
            ev.prevent_default();
            ev.set_return_value("A change is still being sent to Microsoft Graph.");
        }
    });
    on_cleanup(move || handle.remove());
    Effect::new(move |_| {
        let Some(owner) = signed_in_owner(&service.session.status.get()) else {
            return;
        };
        if service.restored_for.with_value(Option::is_none) {
            service.restored_for.set_value(Some(owner.clone()));
            leptos::task::spawn_local(async move { service.restore(owner).await });
        }
    });
    service
}

/// The write service from context.
pub fn use_write_service() -> WriteService {
    expect_context::<WriteService>()
}

/// A unique id for a stored write.
fn new_stored_id() -> String {
    format!(
        "{:x}-{:08x}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * f64::from(u32::MAX)) as u32
    )
}

impl WriteService {
    /// The job service tells the service about the account's jobs (once, in the shell).
    pub fn set_job_targets(&self, jobs: Rc<dyn JobTargets>) {
        self.jobs.set_value(Some(jobs));
    }

    fn job_targets(&self) -> Option<Rc<dyn JobTargets>> {
        self.jobs.with_value(Clone::clone)
    }

    /// The signed-in account's owner and object id (what `/me` stands for).
    fn owner(&self) -> Option<Owner> {
        signed_in_owner(&self.session.status.get_untracked())
    }

    /// The account whose writes are stored: the signed-in one, until its work is discarded.
    fn storing_for(&self) -> Option<Owner> {
        if self.closed.get_value() {
            return None;
        }
        self.owner()
    }

    /// Sign-out discards the account's work: stop storing and reading writes (those still in
    /// doubt run on in this tab until it leaves, but are no longer kept).
    pub fn close(&self) {
        self.closed.set_value(true);
    }

    /// The target of `write` for the signed-in account.
    pub fn target_of(&self, write: &Write) -> Target {
        let me = self.owner().map(|o| o.oid).unwrap_or_default();
        Target::of(write, &me)
    }

    /// Targets held by this tab's writes, untracked (for a job about to start).
    pub fn busy_untracked(&self) -> Vec<Busy> {
        self.entries.with_untracked(|entries| busy_of(entries))
    }

    /// What holds `target` now (tracked): a write of this tab in flight or in doubt, or the job
    /// this tab runs. Writes of other tabs and jobs other tabs run are found when a write is
    /// submitted.
    pub fn holder(&self, target: &Target) -> Option<HeldBy> {
        let write = self
            .entries
            .with(|entries| holder_of(target, &busy_of(entries)).cloned());
        write
            .or_else(|| {
                self.job_targets()
                    .and_then(|jobs| jobs.active(target))
                    .map(Holder::Job)
            })
            .map(HeldBy::from)
    }

    /// The label of what holds a target, for a message ("Install Polls for Adele Vance").
    pub fn label_of(&self, holder: &Holder) -> String {
        match holder {
            Holder::Write(id) => self.entries.with_untracked(|entries| {
                entries
                    .iter()
                    .find(|e| e.id == *id)
                    .map(|e| e.label.clone())
                    .unwrap_or_default()
            }),
            Holder::Job(id) => id.clone(),
        }
    }

    fn push(&self, entry: OutboxEntry) {
        self.entries.update(|entries| entries.push(entry));
    }

    fn next_id(&self) -> u32 {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        id
    }

    /// Submits `write`; returns its id in the outbox. It runs to its end whatever the page does,
    /// unless its target is held (then it ends at once as not sent, saying by what).
    pub fn submit(&self, write: Write, label: String, done_message: String) -> u32 {
        let id = self.next_id();
        let owner = self.owner();
        let target = self.target_of(&write);
        let held = self.holder(&target);
        self.push(OutboxEntry {
            id,
            label: label.clone(),
            done_message: done_message.clone(),
            write: write.clone(),
            target: target.clone(),
            state: match &held {
                Some(held_by) => WriteState::NotSent {
                    held_by: held_by.clone(),
                },
                None => WriteState::Sending,
            },
            kept: Kept::No,
            restored: false,
            dismissed: false,
        });
        if held.is_some() {
            return id;
        }
        let service = *self;
        leptos::task::spawn_local(async move {
            // A sign-in redirect waits while the write is being sent.
            let hold = service.session.hold_redirects();
            // A job another tab of the account runs may hold the target.
            if let Some(jobs) = service.job_targets() {
                if let Some(job) = jobs.any(target.clone()).await {
                    service.set_state(
                        id,
                        WriteState::NotSent {
                            held_by: HeldBy::Job(job),
                        },
                    );
                    return;
                }
            }
            // Another tab may be writing the same target (its lock); no Web Locks: this tab's
            // own rule above is all there is.
            let lock = match &owner {
                Some(owner) => match try_lock(&target_lock_name(owner, &target)).await {
                    Ok(Some(guard)) => Some(guard),
                    Ok(None) => {
                        service.set_state(
                            id,
                            WriteState::NotSent {
                                held_by: HeldBy::OtherTab,
                            },
                        );
                        return;
                    }
                    Err(_) => None,
                },
                None => None,
            };
            // Stored before it is sent: from now on it may be applied.
            let kept = match &service.storing_for() {
                Some(owner) => {
                    let stored = StoredWrite {
                        owner: owner.clone(),
                        id: new_stored_id(),
                        write: write.clone(),
                        label,
                        done_message,
                        created_ms: js_sys::Date::now().max(0.0) as u64,
                        last_error: None,
                    };
                    keep(owner, &stored).await
                }
                None => Kept::Refused("not signed in".into()),
            };
            service.set_kept(id, kept);
            let start = {
                let run = WriteRun::new(write.kind(), WritePolicy::default());
                let step = run.start();
                (run, step)
            };
            service.run(id, write, start, Some(hold), lock).await;
        });
        id
    }

    /// Drives write `id` from `start` to its end, then forgets its stored copy unless it may
    /// have been applied and nobody could tell. `hold` keeps sign-in redirects back while it is
    /// being sent; once it is stored and in doubt, it is released (the write survives a
    /// redirect), and taken again for a send.
    async fn run(
        &self,
        id: u32,
        write: Write,
        start: Start,
        hold: Option<RedirectHold>,
        lock: Option<LockGuard>,
    ) {
        let service = *self;
        let config = self.config.get_value();
        let hold = Rc::new(RefCell::new(hold));
        let report = {
            let hold = hold.clone();
            move |state: WriteState| {
                let stored = service.stored_id(id).is_some();
                match state {
                    WriteState::Sending => {
                        let mut hold = hold.borrow_mut();
                        if hold.is_none() {
                            *hold = Some(service.session.hold_redirects());
                        }
                    }
                    WriteState::Checking | WriteState::Waiting if stored => {
                        hold.borrow_mut().take();
                    }
                    _ => {}
                }
                service.set_state(id, state);
            }
        };
        let final_state = drive(&config, self.session, &write, start, report).await;
        hold.borrow_mut().take();
        self.settle(id, final_state).await;
        drop(lock);
    }

    /// Records how write `id` ended, and forgets or keeps its stored copy accordingly.
    async fn settle(&self, id: u32, state: WriteState) {
        let failure = match &state {
            WriteState::Failed { failure, .. } => Some(*failure),
            _ => None,
        };
        let last_error = match &state {
            WriteState::Failed { error, .. } => Some(error_summary(error)),
            _ => None,
        };
        self.set_state(id, state);
        let (Some(owner), Some(stored_id)) = (self.storing_for(), self.stored_id(id)) else {
            return;
        };
        let Ok(store) = JobStore::open(&owner).await else {
            return;
        };
        if keeps(failure) {
            // Unsettled: kept, with the reason, for the next load (or "Check again").
            if let Some(mut stored) = self.stored_write(id, &owner, &stored_id) {
                stored.last_error = last_error;
                if let Ok(json) = serde_json::to_string(&stored) {
                    let _ = store.put_write(&stored_id, &json).await;
                }
            }
        } else if store.delete_write(&stored_id).await.is_ok() {
            self.set_kept(id, Kept::No);
        }
        count_kept(&owner, &store).await;
        store.close();
    }

    /// The stored form of entry `id`.
    fn stored_write(&self, id: u32, owner: &Owner, stored_id: &str) -> Option<StoredWrite> {
        self.entries.with_untracked(|entries| {
            entries.iter().find(|e| e.id == id).map(|e| StoredWrite {
                owner: owner.clone(),
                id: stored_id.to_string(),
                write: e.write.clone(),
                label: e.label.clone(),
                done_message: e.done_message.clone(),
                created_ms: js_sys::Date::now().max(0.0) as u64,
                last_error: None,
            })
        })
    }

    fn stored_id(&self, id: u32) -> Option<String> {
        self.entries.with_untracked(|entries| {
            entries
                .iter()
                .find(|e| e.id == id)
                .and_then(|e| match &e.kept {
                    Kept::Stored(stored) => Some(stored.clone()),
                    _ => None,
                })
        })
    }

    fn set_kept(&self, id: u32, kept: Kept) {
        self.entries.update(|entries| {
            if let Some(entry) = entries.iter_mut().find(|e| e.id == id) {
                entry.kept = kept;
            }
        });
    }

    fn set_state(&self, id: u32, state: WriteState) {
        self.entries.update(|entries| {
            if let Some(entry) = entries.iter_mut().find(|e| e.id == id) {
                entry.state = state;
            }
        });
    }

    /// Picks up `owner`'s stored writes (after a reload, a crash, a closed tab or a sign-in
    /// redirect): each is read back, never sent again, and shown in the outbox. One another tab
    /// is writing (its target's lock held) is left to that tab.
    async fn restore(&self, owner: Owner) {
        let Ok(store) = JobStore::open(&owner).await else {
            return;
        };
        let stored: Vec<StoredWrite> = store
            .list_writes()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|(_, json)| StoredWrite::read(json, &owner))
            .collect();
        store.close();
        for write in stored {
            let known = self.entries.with_untracked(|entries| {
                entries
                    .iter()
                    .any(|e| e.kept == Kept::Stored(write.id.clone()))
            });
            if known {
                continue;
            }
            self.pick_up(&owner, write).await;
        }
        write_marker(
            &owner,
            Marker {
                writes: self.kept_untracked() as u32,
                ..read_marker(&owner)
            },
        );
    }

    /// Reads stored write `stored` back, as a new entry of the outbox; `false` when another tab
    /// writes its target (it is left to that tab).
    async fn pick_up(&self, owner: &Owner, stored: StoredWrite) -> bool {
        let target = Target::of(&stored.write, &owner.oid);
        let lock = match try_lock(&target_lock_name(owner, &target)).await {
            Ok(Some(guard)) => Some(guard),
            Ok(None) => return false,
            Err(_) => None,
        };
        let id = self.next_id();
        self.push(OutboxEntry {
            id,
            label: stored.label.clone(),
            done_message: stored.done_message.clone(),
            write: stored.write.clone(),
            target,
            state: WriteState::Checking,
            kept: Kept::Stored(stored.id.clone()),
            restored: true,
            dismissed: false,
        });
        let service = *self;
        leptos::task::spawn_local(async move {
            let start = restored_run(&stored.write);
            service.run(id, stored.write, start, None, lock).await;
        });
        true
    }

    /// Reads a kept write that could not be settled back again ("Check again").
    pub fn check_again(&self, id: u32) {
        let Some(owner) = self.storing_for() else {
            return;
        };
        let Some(stored_id) = self.stored_id(id) else {
            return;
        };
        let Some(stored) = self.stored_write(id, &owner, &stored_id) else {
            return;
        };
        // The old entry gives way to the new one, which holds the target from now on.
        self.entries
            .update(|entries| entries.retain(|e| e.id != id));
        let service = *self;
        leptos::task::spawn_local(async move {
            service.pick_up(&owner, stored).await;
        });
    }

    /// Sends write `id` again at the user's request, once its end says it changed nothing (not
    /// applied after reading back, or never sent): a new write in its place, held and read back
    /// like any other (another write or a job holding its target still comes first). `None`
    /// when `id` did not end so.
    pub fn send_again(&self, id: u32) -> Option<u32> {
        let entry = self
            .entries
            .with_untracked(|entries| entries.iter().find(|e| e.id == id).cloned())?;
        if !entry.state.changed_nothing() {
            return None;
        }
        self.entries
            .update(|entries| entries.retain(|e| e.id != id));
        Some(self.submit(entry.write, entry.label, entry.done_message))
    }

    /// Forgets a kept write nobody could settle: the user checks the user's apps themselves.
    pub fn forget(&self, id: u32) {
        let owner = self.storing_for();
        let stored_id = self.stored_id(id);
        self.set_kept(id, Kept::No);
        self.dismiss(id);
        let (Some(owner), Some(stored_id)) = (owner, stored_id) else {
            return;
        };
        leptos::task::spawn_local(async move {
            if let Ok(store) = JobStore::open(&owner).await {
                let _ = store.delete_write(&stored_id).await;
                count_kept(&owner, &store).await;
                store.close();
            }
        });
    }

    /// The state of write `id` (tracked).
    pub fn state(&self, id: u32) -> Option<WriteState> {
        self.entries
            .with(|entries| entries.iter().find(|e| e.id == id).map(|e| e.state.clone()))
    }

    /// Every entry (tracked).
    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.entries.get()
    }

    /// How many writes are not settled yet (tracked).
    pub fn in_flight(&self) -> usize {
        self.entries
            .with(|entries| entries.iter().filter(|e| !e.state.is_settled()).count())
    }

    /// Writes being sent now, which a page unload would cut (untracked).
    fn in_flight_untracked(&self) -> usize {
        self.entries.with_untracked(|entries| {
            entries
                .iter()
                .filter(|e| {
                    matches!(e.state, WriteState::Sending)
                        || (!e.state.is_settled() && !matches!(e.kept, Kept::Stored(_)))
                })
                .count()
        })
    }

    /// Writes kept in the browser (maybe applied, not settled), untracked.
    pub fn kept_untracked(&self) -> usize {
        self.entries.with_untracked(|entries| {
            entries
                .iter()
                .filter(|e| matches!(e.kept, Kept::Stored(_)))
                .count()
        })
    }

    /// How many writes have settled so far (tracked): pages reload their data when it moves.
    pub fn settled_count(&self) -> usize {
        self.entries
            .with(|entries| entries.iter().filter(|e| e.state.is_settled()).count())
    }

    /// Hides a settled entry from the outbox.
    pub fn dismiss(&self, id: u32) {
        self.entries.update(|entries| {
            if let Some(entry) = entries.iter_mut().find(|e| e.id == id) {
                entry.dismissed = true;
            }
        });
    }
}

/// The targets held by `entries`.
fn busy_of(entries: &[OutboxEntry]) -> Vec<Busy> {
    entries
        .iter()
        .filter(|e| e.holds_target())
        .map(|e| Busy {
            target: e.target.clone(),
            holder: Holder::Write(e.id),
        })
        .collect()
}

/// Stores `stored` in its owner's database, answering how it is kept.
async fn keep(owner: &Owner, stored: &StoredWrite) -> Kept {
    let json = match serde_json::to_string(stored) {
        Ok(json) => json,
        Err(error) => return Kept::Refused(error.to_string()),
    };
    let store = match JobStore::open(owner).await {
        Ok(store) => store,
        Err(error) => return Kept::Refused(error.to_string()),
    };
    let kept = match store.put_write(&stored.id, &json).await {
        Ok(()) => Kept::Stored(stored.id.clone()),
        Err(error) => Kept::Refused(error.to_string()),
    };
    count_kept(owner, &store).await;
    store.close();
    kept
}

/// Keeps the account's marker up to date with the writes stored.
async fn count_kept(owner: &Owner, store: &JobStore) {
    if let Ok(writes) = store.list_writes().await {
        write_marker(
            owner,
            Marker {
                writes: writes.len() as u32,
                ..read_marker(owner)
            },
        );
    }
}

/// What a stored write keeps of the error that left it unsettled.
fn error_summary(error: &CallError) -> ErrorSummary {
    match error.graph_error() {
        Some(graph) => ErrorSummary::of(graph),
        None => ErrorSummary {
            status: None,
            code: String::new(),
            message: error.to_string(),
            request_id: None,
        },
    }
}

/// Where [`drive`] starts: the write model's run and its first step.
type Start = (WriteRun, Step);

async fn sleep(ms: u64) {
    if ms > 0 {
        gloo_timers::future::TimeoutFuture::new(ms.min(u32::MAX as u64) as u32).await;
    }
}

/// Runs `write` to its end with the write model from `start` (a new run and its first step, or
/// a restored one: see [`Start`]), reporting each intermediate state. The elapsed time counts
/// from this call: a restored write gets a fresh window.
async fn drive(
    config: &RuntimeConfig,
    session: Session,
    write: &Write,
    start: Start,
    report: impl Fn(WriteState),
) -> WriteState {
    let graph = unabortable_graph(config, session);
    let request = write.request(graph.host);
    let operation = write.operation();
    let (mut run, mut step) = start;
    let started = js_sys::Date::now();
    let elapsed = move || (js_sys::Date::now() - started).max(0.0) as u64;
    let mut last_error: Option<CallError> = None;
    let mut last_request_id: Option<String> = None;
    let mut challenge: Option<ClaimsChallenge> = None;
    let mut retried: Vec<u16> = Vec::new();
    // Transient failures to get a token in a row (nothing was sent).
    let mut token_failures: u32 = 0;
    loop {
        match step {
            Step::Send {
                after_ms,
                renew_token,
            } => {
                if after_ms > 0 {
                    report(WriteState::Waiting);
                    sleep(after_ms).await;
                }
                report(WriteState::Sending);
                let claims = challenge.take();
                let result = attempt(
                    session,
                    &graph.base,
                    &request,
                    operation,
                    renew_token,
                    claims.as_ref(),
                )
                .await;
                if !matches!(result, Attempt::Auth(_)) {
                    token_failures = 0;
                }
                let event = match result {
                    Attempt::Answered {
                        request_id,
                        error: None,
                        ..
                    } => {
                        last_request_id = request_id;
                        Event::Sent(SendResult::Applied)
                    }
                    Attempt::Answered {
                        error: Some(error), ..
                    } => {
                        if error.status == 401 {
                            challenge = error.claims_challenge.clone();
                        }
                        let result = write.send_result(&error);
                        retried.push(error.status);
                        last_request_id = error.request_id.clone();
                        last_error = Some(CallError::Graph {
                            error,
                            attempts: run.sends() + 1,
                            gave_up: None,
                        });
                        Event::Sent(result)
                    }
                    Attempt::Lost(detail) => {
                        retried.push(0);
                        last_error = Some(CallError::AnswerLost {
                            maybe_applied: true,
                            detail,
                        });
                        Event::Sent(SendResult::Lost)
                    }
                    // No token, nothing sent. A transient failure (network, the token
                    // endpoint's 5xx or 429) is tried again with backoff; otherwise the write
                    // ends "not sent" (never "refused by Graph": Graph saw nothing), unless an
                    // earlier send left a doubt, which stays unsettled.
                    Attempt::Auth(error) => {
                        token_failures += 1;
                        if let Some(wait) = portal_core::graph::retry::token_retry_ms(
                            error.kind(),
                            token_failures,
                            js_sys::Math::random(),
                        ) {
                            report(WriteState::Waiting);
                            sleep(wait).await;
                            challenge = claims;
                            step = Step::Send {
                                after_ms: 0,
                                renew_token,
                            };
                            continue;
                        }
                        let failure = if run.in_doubt() {
                            Failure::Unsettled
                        } else {
                            Failure::NotSent
                        };
                        return WriteState::Failed {
                            failure,
                            error: CallError::Auth(error),
                            sends: run.sends(),
                        };
                    }
                };
                step = run.on(event, elapsed(), js_sys::Math::random());
            }
            Step::ReadBack { after_ms } => {
                report(WriteState::Checking);
                sleep(after_ms).await;
                let read = graph
                    .get_all::<Installation>(
                        &write.read_back(),
                        portal_core::auth::scopes::Operation::ReadInstallations,
                    )
                    .await;
                let result = match read {
                    // Installations lacking what the comparison needs cannot tell (read again,
                    // never "applied").
                    Ok(installations) => match write.read_back_result(&installations) {
                        ReadBackResult::CannotTell => {
                            let reason = portal_core::jobs::engine::ErrorSummary::cannot_tell();
                            last_error = Some(CallError::Decode(reason.message));
                            ReadBackResult::CannotTell
                        }
                        result => result,
                    },
                    Err(CallError::Graph { error, .. }) => ReadBackResult::Failed {
                        status: Some(error.status),
                        retry_after_s: error.retry_after,
                    },
                    Err(_) => ReadBackResult::Failed {
                        status: None,
                        retry_after_s: None,
                    },
                };
                step = run.on(Event::ReadBack(result), elapsed(), js_sys::Math::random());
            }
            Step::Done(confirmed) => {
                return WriteState::Done {
                    confirmed,
                    request_id: last_request_id,
                    sends: run.sends(),
                    retried,
                }
            }
            Step::Fail(failure) => {
                let mut error = last_error.unwrap_or(CallError::Decode("no answer".into()));
                // Say so when Graph asked for a wait longer than the time left.
                if let CallError::Graph {
                    error: graph_error,
                    gave_up,
                    ..
                } = &mut error
                {
                    if let Some(seconds) = graph_error.retry_after {
                        *gave_up = Some(GiveUp::OutOfTime {
                            elapsed_ms: elapsed(),
                            next_wait_ms: seconds.saturating_mul(1000),
                        });
                    } else if run.sends() > 1 {
                        *gave_up = Some(GiveUp::AttemptsExhausted {
                            attempts: run.sends(),
                        });
                    }
                }
                return WriteState::Failed {
                    failure,
                    error,
                    sends: run.sends(),
                };
            }
        }
    }
}
