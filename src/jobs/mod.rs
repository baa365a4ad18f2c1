//! Jobs across many users: the job service (in context, at the level of the shell so a job
//! outlives the page that started it), which starts a confirmed plan, persists it and every
//! outcome in IndexedDB after each batch, holds a Web Lock so two tabs never run the same job,
//! and picks an unfinished job up again after a reload, a crash, a closed tab or a sign-in
//! redirect, once the user says so ([`resume::ResumePrompt`]). The decisions are the job
//! engine's (`portal_core::jobs::engine`), every write the write model's.
//!
//! A job belongs to the account that started it (issue #22): it lives in that account's own
//! database (`job_store`), its header names its owner, its lock name does too, and the service
//! serves only the account signed in in this document. Another account signed in in the same
//! browser sees none of it; a tab running another account's job never exists. Without Web
//! Locks no job runs (two tabs could run one job twice).

pub mod dry_run;
pub mod resume;
pub mod runner;
pub mod users_input;
pub mod views;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use leptos::prelude::*;
use portal_core::auth::scopes::Operation;
use portal_core::jobs::engine::{
    job_write_policy, progress, Executor, ExecutorConfig, Progress, TaskRecord, WriteTask,
};
use portal_core::outbox::Target;
use portal_core::ownership::{Marker, Owner};

use portal_core::jobs::plan::{JobAction, JobPlan};
use portal_core::RuntimeConfig;
use serde::{Deserialize, Serialize};

use crate::auth::{use_session, Session};
use crate::i18n::{use_i18n, I18n};
use crate::job_store::{
    job_lock_name, read_marker, remove_legacy, signed_in_owner, try_lock, write_marker, JobStore,
    LockError, LockGuard,
};
use crate::write_service::{JobTargets, WriteService};
use runner::{drive, now_ms, RunEnd, Sink};

use crate::graph_client::unabortable_graph;

/// The item index under which a job's plan is stored (its tasks use 0..n).
const PLAN_ITEM: u32 = u32::MAX;

/// Where a job stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    Running,
    /// Stopped with work left (sign-in needed, storage refused): resumed when the user says so.
    Paused {
        reason: String,
    },
    Finished,
    Cancelled,
}

impl JobStatus {
    /// Work left: running (here, in another tab, or in a tab that went away) or paused.
    pub fn is_unfinished(&self) -> bool {
        matches!(self, JobStatus::Running | JobStatus::Paused { .. })
    }
}

/// What the job list shows of a job (stored as the job's header).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobHeader {
    pub id: String,
    pub app_name: String,
    pub action: JobAction,
    pub status: JobStatus,
    pub total: usize,
    pub done: usize,
    pub counts: BTreeMap<String, usize>,
    pub created_ms: u64,
    pub finished_ms: Option<u64>,
    pub cancel_requested: bool,
    /// The account that started the job (`None` only in a header written before owners, which
    /// nobody may use).
    #[serde(default)]
    pub owner: Option<Owner>,
}

/// The job this tab runs.
pub struct ActiveJob {
    pub plan: Rc<JobPlan>,
    /// The plan row of each task.
    pub rows: Vec<usize>,
    pub executor: Rc<RefCell<Executor<WriteTask>>>,
    pub header: RwSignal<JobHeader>,
    /// When this tab (re)started it, and the tasks already done then (for the rate).
    pub run_started_ms: u64,
    pub done_then: usize,
    /// The tasks of each target (a user's app), to answer "does this job hold it?".
    targets: BTreeMap<Target, Vec<usize>>,
    store: Rc<JobStore>,
    lock: RefCell<Option<LockGuard>>,
}

impl ActiveJob {
    pub fn progress(&self) -> Progress {
        let elapsed = now_ms().saturating_sub(self.run_started_ms);
        progress(self.executor.borrow().tasks(), self.done_then, elapsed)
    }

    /// Whether a task of this job for `target` has not ended.
    fn holds(&self, target: &Target) -> bool {
        self.targets.get(target).is_some_and(|tasks| {
            let executor = self.executor.borrow();
            tasks
                .iter()
                .any(|&i| executor.tasks().get(i).is_some_and(|t| t.outcome.is_none()))
        })
    }
}

/// The targets of `tasks`, each with the tasks that write it.
fn targets_of(tasks: &[WriteTask], me: &str) -> BTreeMap<Target, Vec<usize>> {
    let mut targets: BTreeMap<Target, Vec<usize>> = BTreeMap::new();
    for (i, task) in tasks.iter().enumerate() {
        targets
            .entry(Target::of(&task.write, me))
            .or_default()
            .push(i);
    }
    targets
}

/// The job service, in context.
#[derive(Clone, Copy)]
pub struct JobService {
    /// Every stored job of the signed-in account (the list), newest first.
    pub jobs: RwSignal<Vec<JobHeader>>,
    /// Moves whenever the active job's tasks change (a batch answered).
    pub tick: RwSignal<u64>,
    /// Jobs another tab is running (their lock is held elsewhere).
    pub elsewhere: RwSignal<Vec<String>>,
    /// Why the browser's storage or locks cannot be used, when they cannot.
    pub problem: RwSignal<Option<String>>,
    /// The unfinished job to ask about ("Resume job …?"), once signed in or after a reload.
    pub prompt: RwSignal<Option<JobHeader>>,
    /// How many unfinished jobs of the portal before owners were removed at start (never
    /// resumed: they belong to no account).
    pub legacy_removed: RwSignal<usize>,
    /// The account this document serves, once signed in (it never changes within a document:
    /// a sign-in as someone else loads the portal again).
    owner: StoredValue<Option<Owner>>,
    /// Sign-out discarded the account's work: nothing is read or stored any more.
    closed: StoredValue<bool>,
    /// Jobs the user answered "Not now" about, in this document.
    declined: StoredValue<Vec<String>>,
    active: StoredValue<Option<Rc<ActiveJob>>, LocalStorage>,
    config: StoredValue<RuntimeConfig>,
    i18n: I18n,
    session: Session,
    writes: Option<WriteService>,
}

/// Provides the service (once, in the shell, after the write service). Once signed in, the
/// account's jobs are listed and an unfinished one is asked about, never resumed silently.
pub fn provide_job_service(config: RuntimeConfig) -> JobService {
    let service = JobService {
        jobs: RwSignal::new(Vec::new()),
        tick: RwSignal::new(0),
        elsewhere: RwSignal::new(Vec::new()),
        problem: RwSignal::new(None),
        prompt: RwSignal::new(None),
        legacy_removed: RwSignal::new(0),
        owner: StoredValue::new(None),
        closed: StoredValue::new(false),
        declined: StoredValue::new(Vec::new()),
        active: StoredValue::new_local(None),
        config: StoredValue::new(config),
        i18n: use_i18n(),
        session: use_session(),
        writes: use_context::<WriteService>(),
    };
    provide_context(service);
    if let Some(writes) = service.writes {
        writes.set_job_targets(Rc::new(service));
    }
    Effect::new(move |_| {
        let status = service.session.status.get();
        let owner = signed_in_owner(&status);
        let bound = service.owner.get_value();
        let same = owner.is_some() && (bound.is_none() || bound == owner);
        let Some(owner) = owner.filter(|_| same) else {
            // Signed out (here or in another tab): this document shows no job any more.
            service.jobs.set(Vec::new());
            service.prompt.set(None);
            service.elsewhere.set(Vec::new());
            return;
        };
        if bound.is_none() {
            service.owner.set_value(Some(owner));
            leptos::task::spawn_local(async move {
                service.remove_legacy().await;
                service.ask().await;
            });
        }
    });
    // A job another tab of the same account runs: every few seconds its stored progress is
    // read again, and once that tab no longer holds its lock (finished, closed, crashed), this
    // tab takes it over (it was already showing it as running).
    set_interval(
        move || {
            let idle = service
                .active()
                .is_none_or(|a| !matches!(a.header.get_untracked().status, JobStatus::Running));
            if idle && !service.elsewhere.with_untracked(Vec::is_empty) {
                leptos::task::spawn_local(async move { service.take_over().await });
            }
        },
        std::time::Duration::from_secs(5),
    );
    service
}

pub fn use_job_service() -> JobService {
    expect_context::<JobService>()
}

/// A job's header from its plan and tasks.
fn header_of(plan: &JobPlan, tasks: &[WriteTask], status: JobStatus, owner: &Owner) -> JobHeader {
    let p = progress(tasks, 0, 0);
    JobHeader {
        id: plan.id.clone(),
        app_name: plan.app_name.clone(),
        action: plan.action,
        status,
        total: p.total,
        done: p.done,
        counts: p
            .by_outcome
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        created_ms: plan.created_ms,
        finished_ms: None,
        cancel_requested: false,
        owner: Some(owner.clone()),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

/// The operations a job's batches need: the writes' (with consent when the plan sends
/// application RSC) and the read-backs'.
fn operations_of(plan: &JobPlan) -> Vec<Operation> {
    let write = portal_core::graph::consent::operation_for(plan.consent.as_deref());
    vec![Operation::ReadInstallations, write]
}

/// Stores the tasks a batch changed with the job's header, in one transaction.
struct JobSink {
    store: Rc<JobStore>,
    header: RwSignal<JobHeader>,
    plan: Rc<JobPlan>,
    owner: Owner,
    service: JobService,
}

impl Sink<WriteTask> for JobSink {
    fn save(
        &self,
        executor: &Executor<WriteTask>,
        dirty: Vec<usize>,
    ) -> LocalBoxFuture<'static, Result<(), String>> {
        let tasks = executor.tasks();
        let items: Result<Vec<(u32, String)>, String> = dirty
            .iter()
            .map(|&i| Ok((i as u32, to_json(&tasks[i].record())?)))
            .collect();
        let mut header = header_of(&self.plan, tasks, JobStatus::Running, &self.owner);
        let previous = self.header.get_untracked();
        header.cancel_requested = previous.cancel_requested;
        self.header.set(header.clone());
        let store = self.store.clone();
        Box::pin(async move {
            let items = items?;
            let json = to_json(&header)?;
            store
                .put_job_and_items(&header.id, &json, &items)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn changed(&self) {
        self.service.tick.update(|t| *t += 1);
    }
}

/// Why a job's lock could not be taken.
enum Locked {
    /// Taken: this tab runs the job.
    Here(LockGuard),
    /// Another tab holds it.
    Elsewhere,
    /// No Web Locks, or the browser refused: the job must not run (the message says why).
    Refused(String),
}

impl JobService {
    /// The job this tab runs, if any.
    pub fn active(&self) -> Option<Rc<ActiveJob>> {
        self.active.with_value(|a| a.clone())
    }

    /// The account this document serves, while it is signed in and its work not discarded.
    fn owner(&self) -> Option<Owner> {
        if self.closed.get_value() {
            return None;
        }
        let owner = self.owner.get_value()?;
        // The status must still name the same account (signed out meanwhile: none).
        let now = signed_in_owner(&self.session.status.get_untracked())?;
        (now == owner).then_some(owner)
    }

    /// Opens the account's database; `None` (with the problem shown) when it cannot.
    async fn store(&self, owner: &Owner) -> Option<JobStore> {
        match JobStore::open(owner).await {
            Ok(store) => Some(store),
            Err(error) => {
                self.problem.set(Some(error.to_string()));
                None
            }
        }
    }

    /// Reads the account's stored jobs into the list, and keeps the account's marker.
    pub async fn refresh(&self) {
        let Some(owner) = self.owner() else {
            return;
        };
        let Some(store) = self.store(&owner).await else {
            return;
        };
        match store.list_jobs().await {
            Ok(list) => {
                let mut jobs: Vec<JobHeader> = list
                    .iter()
                    .filter_map(|(_, json)| serde_json::from_str::<JobHeader>(json).ok())
                    // Defence in depth: the database is the account's, and so must each job be.
                    .filter(|job| owner.may_use(job.owner.as_ref()))
                    .collect();
                jobs.sort_by_key(|j| std::cmp::Reverse(j.created_ms));
                let unfinished = jobs.iter().filter(|j| j.status.is_unfinished()).count();
                write_marker(
                    &owner,
                    Marker {
                        jobs: unfinished as u32,
                        ..read_marker(&owner)
                    },
                );
                self.jobs.set(jobs);
            }
            Err(error) => self.problem.set(Some(error.to_string())),
        }
        store.close();
    }

    /// After a sign-in or a reload: lists the jobs and asks about the newest unfinished one that
    /// no tab runs (the others stay listed, each with its Resume button).
    async fn ask(&self) {
        self.refresh().await;
        let Some(owner) = self.owner() else {
            return;
        };
        let candidates: Vec<JobHeader> = self.jobs.with_untracked(|jobs| {
            jobs.iter()
                .filter(|j| j.status.is_unfinished())
                .cloned()
                .collect()
        });
        for header in candidates {
            if self.active().is_some_and(|a| a.plan.id == header.id) {
                continue;
            }
            match try_lock(&job_lock_name(&owner, &header.id)).await {
                Ok(Some(guard)) => {
                    // Nobody runs it: ask (the lock is taken again when the user says yes).
                    guard.release().await;
                    let declined = self.declined.with_value(|d| d.contains(&header.id));
                    if !declined && self.prompt.with_untracked(Option::is_none) {
                        self.prompt.set(Some(header));
                    }
                }
                Ok(None) => self.mark_elsewhere(&header.id),
                Err(error) => {
                    self.problem.set(Some(self.lock_refusal(&error)));
                    return;
                }
            }
        }
    }

    /// "Not now": the job stays as it is, and is not asked about again in this document.
    pub fn decline(&self) {
        if let Some(header) = self.prompt.get_untracked() {
            self.declined.update_value(|d| d.push(header.id));
        }
        self.prompt.set(None);
    }

    /// "Resume": runs the job the prompt asked about.
    pub async fn accept(&self) {
        let Some(header) = self.prompt.get_untracked() else {
            return;
        };
        self.prompt.set(None);
        self.resume(&header.id).await;
    }

    fn mark_elsewhere(&self, id: &str) {
        self.elsewhere.update(|e| {
            if !e.iter().any(|x| x == id) {
                e.push(id.to_string());
            }
        });
    }

    /// Takes over the jobs another tab of this account was running, once it let go of them.
    async fn take_over(&self) {
        self.refresh().await;
        let unfinished: Vec<String> = self.jobs.with_untracked(|jobs| {
            jobs.iter()
                .filter(|j| j.status.is_unfinished())
                .map(|j| j.id.clone())
                .collect()
        });
        // A job another tab ended (or cleared) is no longer "running elsewhere".
        self.elsewhere
            .update(|e| e.retain(|id| unfinished.contains(id)));
        if self
            .active()
            .is_some_and(|a| matches!(a.header.get_untracked().status, JobStatus::Running))
        {
            return;
        }
        for id in self.elsewhere.get_untracked() {
            if self.resume(&id).await {
                return;
            }
        }
    }

    /// The message of a lock that cannot be used: no job runs then.
    fn lock_refusal(&self, error: &LockError) -> String {
        match error {
            LockError::Unsupported => self.i18n.t("jobs.no_locks"),
            LockError::Refused(detail) => self.i18n.tf("jobs.lock_refused", &[("detail", detail)]),
        }
    }

    /// Takes the lock of `owner`'s job `id`.
    async fn lock(&self, owner: &Owner, id: &str) -> Locked {
        match try_lock(&job_lock_name(owner, id)).await {
            Ok(Some(guard)) => Locked::Here(guard),
            Ok(None) => {
                self.mark_elsewhere(id);
                Locked::Elsewhere
            }
            Err(error) => Locked::Refused(self.lock_refusal(&error)),
        }
    }

    /// Resumes stored job `id` in this tab; `false` if another tab runs it, it cannot be read,
    /// it is not the signed-in account's, or this browser cannot lock it.
    pub async fn resume(&self, id: &str) -> bool {
        let Some(owner) = self.owner() else {
            return false;
        };
        if self
            .active()
            .is_some_and(|a| matches!(a.header.get_untracked().status, JobStatus::Running))
        {
            return false;
        }
        let lock = match self.lock(&owner, id).await {
            Locked::Here(guard) => guard,
            Locked::Elsewhere => return false,
            Locked::Refused(reason) => {
                self.problem.set(Some(reason));
                return false;
            }
        };
        self.elsewhere.update(|e| e.retain(|x| x != id));
        if self
            .prompt
            .with_untracked(|p| p.as_ref().is_some_and(|h| h.id == id))
        {
            self.prompt.set(None);
        }
        let Some(store) = self.store(&owner).await.map(Rc::new) else {
            return false;
        };
        let loaded = match store.load_job(id).await {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return false,
            Err(error) => {
                self.problem.set(Some(error.to_string()));
                return false;
            }
        };
        let (header_json, items) = loaded;
        let Ok(header) = serde_json::from_str::<JobHeader>(&header_json) else {
            return false;
        };
        if !owner.may_use(header.owner.as_ref()) {
            return false;
        }
        let plan: Option<JobPlan> = items
            .iter()
            .find(|(i, _)| *i == PLAN_ITEM)
            .and_then(|(_, json)| serde_json::from_str(json).ok());
        let Some(plan) = plan else {
            self.problem
                .set(Some(format!("The plan of job {id} could not be read.")));
            return false;
        };
        // The writes come from the plan; the records, one per task, say where each stands.
        let records: Vec<TaskRecord> = items
            .iter()
            .filter(|(i, _)| *i != PLAN_ITEM)
            .filter_map(|(_, json)| serde_json::from_str(json).ok())
            .collect();
        let planned = plan.tasks(&job_write_policy());
        if records.len() != planned.len() {
            self.problem.set(Some(format!(
                "The tasks of job {id} could not all be read."
            )));
            return false;
        }
        let rows: Vec<usize> = planned.iter().map(|(r, _)| *r).collect();
        let tasks: Vec<WriteTask> = planned
            .into_iter()
            .zip(records)
            .map(|((_, task), record)| WriteTask::restore(task.write, job_write_policy(), record))
            .collect();
        let config = self.executor_config(&plan);
        let mut executor = Executor::resume(tasks, config, now_ms());
        if header.cancel_requested {
            executor.cancel();
        }
        self.run(plan, rows, executor, header, store, lock, owner);
        true
    }

    fn executor_config(&self, plan: &JobPlan) -> ExecutorConfig {
        let host = self.config.with_value(|c| c.cloud.graph_host());
        plan.pacing.config(host)
    }

    /// A single write of this tab that holds a target of `tasks`, as the message to show.
    fn single_write_on(&self, tasks: &[WriteTask], owner: &Owner) -> Option<String> {
        let writes = self.writes?;
        let busy = writes.busy_untracked();
        if busy.is_empty() {
            return None;
        }
        let targets = targets_of(tasks, &owner.oid);
        let held = busy.iter().find(|b| targets.contains_key(&b.target))?;
        Some(self.i18n.tf(
            "jobs.start.busy_write",
            &[
                ("user", &held.target.user),
                ("label", &writes.label_of(&held.holder)),
            ],
        ))
    }

    /// Starts a confirmed plan: stored first (plan and tasks), then run. Refused, with the
    /// reason, when not signed in, when a job runs in this tab, when a single write of this
    /// tab holds one of its targets, or when the browser cannot lock the job.
    pub async fn start(&self, plan: JobPlan) -> Result<(), String> {
        let owner = self
            .owner()
            .ok_or_else(|| self.i18n.t("jobs.start.signed_out"))?;
        if self
            .active()
            .is_some_and(|a| matches!(a.header.get_untracked().status, JobStatus::Running))
        {
            return Err(self.i18n.t("jobs.start.running_here"));
        }
        let planned = plan.tasks(&job_write_policy());
        let rows: Vec<usize> = planned.iter().map(|(r, _)| *r).collect();
        let tasks: Vec<WriteTask> = planned.into_iter().map(|(_, t)| t).collect();
        if let Some(reason) = self.single_write_on(&tasks, &owner) {
            return Err(reason);
        }
        let lock = match self.lock(&owner, &plan.id).await {
            Locked::Here(guard) => guard,
            Locked::Elsewhere => return Err(self.i18n.t("jobs.start.elsewhere")),
            Locked::Refused(reason) => return Err(reason),
        };
        let store = Rc::new(JobStore::open(&owner).await.map_err(|e| e.to_string())?);
        let header = header_of(&plan, &tasks, JobStatus::Running, &owner);
        let mut items: Vec<(u32, String)> = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| Ok((i as u32, to_json(&t.record())?)))
            .collect::<Result<_, String>>()?;
        items.push((PLAN_ITEM, to_json(&plan)?));
        store
            .put_job_and_items(&plan.id, &to_json(&header)?, &items)
            .await
            .map_err(|e| e.to_string())?;
        let executor = Executor::new(tasks, self.executor_config(&plan), now_ms());
        self.run(plan, rows, executor, header, store, lock, owner);
        // Listed, and counted in the account's marker, from now on.
        self.refresh().await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        plan: JobPlan,
        rows: Vec<usize>,
        executor: Executor<WriteTask>,
        mut header: JobHeader,
        store: Rc<JobStore>,
        lock: LockGuard,
        owner: Owner,
    ) {
        header.status = JobStatus::Running;
        let done_then = executor
            .tasks()
            .iter()
            .filter(|t| t.outcome.is_some())
            .count();
        let targets = targets_of(executor.tasks(), &owner.oid);
        let operations = operations_of(&plan);
        let plan = Rc::new(plan);
        let active = Rc::new(ActiveJob {
            plan: plan.clone(),
            rows,
            executor: Rc::new(RefCell::new(executor)),
            header: RwSignal::new(header),
            run_started_ms: now_ms(),
            done_then,
            targets,
            store: store.clone(),
            lock: RefCell::new(Some(lock)),
        });
        self.active.set_value(Some(active.clone()));
        self.tick.update(|t| *t += 1);
        let service = *self;
        let graph = self
            .config
            .with_value(|c| unabortable_graph(c, service.session));
        leptos::task::spawn_local(async move {
            let sink = JobSink {
                store: store.clone(),
                header: active.header,
                plan,
                owner,
                service,
            };
            let end = drive(active.executor.clone(), graph, operations, sink).await;
            let mut header = active.header.get_untracked();
            header.status = match end {
                RunEnd::Finished if active.executor.borrow().is_cancelled() => JobStatus::Cancelled,
                RunEnd::Finished => JobStatus::Finished,
                RunEnd::Paused(reason) => JobStatus::Paused { reason },
            };
            if matches!(header.status, JobStatus::Finished | JobStatus::Cancelled) {
                header.finished_ms = Some(now_ms());
            }
            active.header.set(header.clone());
            if !service.closed.get_value() {
                if let Ok(json) = to_json(&header) {
                    if let Err(error) = active.store.put_job(&header.id, &json).await {
                        service.problem.set(Some(error.to_string()));
                    }
                }
            }
            let lock = active.lock.borrow_mut().take();
            if let Some(lock) = lock {
                lock.release().await;
            }
            service.tick.update(|t| *t += 1);
            service.refresh().await;
        });
    }

    /// Cancels the running job: nothing new is sent; writes in doubt are still settled.
    pub fn cancel(&self) {
        if let Some(active) = self.active() {
            active.executor.borrow_mut().cancel();
            active.header.update(|h| h.cancel_requested = true);
            self.tick.update(|t| *t += 1);
        }
    }

    /// Forgets the active job once it has ended (its record stays in the list).
    pub fn dismiss_active(&self) {
        let ended = self
            .active()
            .is_some_and(|a| !matches!(a.header.get_untracked().status, JobStatus::Running));
        if ended {
            self.active.set_value(None);
            self.tick.update(|t| *t += 1);
        }
    }

    /// Removes a job that is not running from the list and the browser.
    pub async fn clear(&self, id: &str) {
        let running_here = self.active().is_some_and(|a| {
            a.plan.id == id && matches!(a.header.get_untracked().status, JobStatus::Running)
        });
        if running_here {
            return;
        }
        if self.active().is_some_and(|a| a.plan.id == id) {
            self.active.set_value(None);
        }
        if self
            .prompt
            .with_untracked(|p| p.as_ref().is_some_and(|h| h.id == id))
        {
            self.prompt.set(None);
        }
        let Some(owner) = self.owner() else {
            return;
        };
        if let Some(store) = self.store(&owner).await {
            if let Err(error) = store.delete_job(id).await {
                self.problem.set(Some(error.to_string()));
            }
            store.close();
        }
        self.refresh().await;
    }

    /// The account's work is being discarded (sign-out): stop reading and storing, and let go
    /// of the database so it can be deleted. A job running here stops sending.
    pub fn close(&self) {
        self.closed.set_value(true);
        self.prompt.set(None);
        if let Some(active) = self.active() {
            active.executor.borrow_mut().cancel();
            active.store.close();
        }
    }

    /// Removes the database of the portal before owners (once per document), and says how many
    /// unfinished jobs it held.
    async fn remove_legacy(&self) {
        match remove_legacy().await {
            Ok(headers) => {
                let unfinished = headers
                    .iter()
                    .filter_map(|json| serde_json::from_str::<JobHeader>(json).ok())
                    .filter(|h| h.status.is_unfinished())
                    .count();
                self.legacy_removed.set(unfinished);
            }
            Err(error) => self.problem.set(Some(error.to_string())),
        }
    }

    /// The job of the account that holds `target` (a task for it not ended): the job this tab
    /// runs, or one another tab runs (read from the database).
    async fn job_holding(&self, target: &Target) -> Option<String> {
        if let Some(id) = JobTargets::active(self, target) {
            return Some(id);
        }
        let owner = self.owner()?;
        // Every unfinished job of the account holds its open targets, wherever it stands:
        // running in another tab, paused, or waiting to be resumed (a tab that went away, or
        // "Not now"). Resuming it must never meet a write someone sent meanwhile.
        let active = self.active().map(|a| a.plan.id.clone());
        let mut candidates = self.elsewhere.get_untracked();
        for header in self.jobs.get_untracked() {
            if header.status.is_unfinished() && !candidates.contains(&header.id) {
                candidates.push(header.id);
            }
        }
        candidates.retain(|id| Some(id) != active.as_ref());
        if candidates.is_empty() {
            return None;
        }
        let store = JobStore::open(&owner).await.ok()?;
        let mut found = None;
        for id in candidates {
            let Ok(Some((_, items))) = store.load_job(&id).await else {
                continue;
            };
            let Some(plan) = items
                .iter()
                .find(|(i, _)| *i == PLAN_ITEM)
                .and_then(|(_, json)| serde_json::from_str::<JobPlan>(json).ok())
            else {
                continue;
            };
            let records = items.iter().filter(|(i, _)| *i != PLAN_ITEM);
            let open = plan
                .tasks(&job_write_policy())
                .into_iter()
                .zip(records)
                .any(|((_, task), (_, record))| {
                    let ended = serde_json::from_str::<TaskRecord>(record)
                        .map(|r| r.outcome.is_some())
                        .unwrap_or(false);
                    !ended && Target::of(&task.write, &owner.oid) == *target
                });
            if open {
                found = Some(id);
                break;
            }
        }
        store.close();
        found
    }
}

impl JobTargets for JobService {
    fn active(&self, target: &Target) -> Option<String> {
        self.tick.track();
        let active = JobService::active(self)?;
        // Running or paused here: its open targets stay its own until it ends or is cancelled.
        let unfinished = active.header.get_untracked().status.is_unfinished();
        (unfinished && active.holds(target)).then(|| active.plan.id.clone())
    }

    fn any(&self, target: Target) -> LocalBoxFuture<'static, Option<String>> {
        let service = *self;
        Box::pin(async move { service.job_holding(&target).await })
    }
}
