//! Jobs across many users: the job service (in context, at the level of the shell so a job
//! outlives the page that started it), which starts a confirmed plan, persists it and every
//! outcome in IndexedDB after each batch, holds a Web Lock so two tabs never run the same job,
//! and resumes an unfinished job after a reload, a crash, a closed tab or a sign-in redirect.
//! The decisions are the job engine's (`portal_core::jobs::engine`), every write the write
//! model's.

pub mod dry_run;
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

use portal_core::jobs::plan::{JobAction, JobPlan};
use portal_core::RuntimeConfig;
use serde::{Deserialize, Serialize};

use crate::auth::{use_auth, AuthStatus};
use crate::job_store::{job_lock_name, try_lock, JobStore, LockGuard};
use runner::{drive, now_ms, RunEnd, Sink};

/// The item index under which a job's plan is stored (its tasks use 0..n).
const PLAN_ITEM: u32 = u32::MAX;

/// Where a job stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobStatus {
    Running,
    /// Stopped with work left (sign-in needed, storage refused): resumed when possible.
    Paused {
        reason: String,
    },
    Finished,
    Cancelled,
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
    store: Rc<JobStore>,
    lock: RefCell<Option<LockGuard>>,
}

impl ActiveJob {
    pub fn progress(&self) -> Progress {
        let elapsed = now_ms().saturating_sub(self.run_started_ms);
        progress(self.executor.borrow().tasks(), self.done_then, elapsed)
    }
}

/// The job service, in context.
#[derive(Clone, Copy)]
pub struct JobService {
    /// Every stored job (the list), newest first.
    pub jobs: RwSignal<Vec<JobHeader>>,
    /// Moves whenever the active job's tasks change (a batch answered).
    pub tick: RwSignal<u64>,
    /// Jobs another tab is running (their lock is held elsewhere).
    pub elsewhere: RwSignal<Vec<String>>,
    /// Why the browser's storage or locks cannot be used, when they cannot.
    pub problem: RwSignal<Option<String>>,
    active: StoredValue<Option<Rc<ActiveJob>>, LocalStorage>,
    config: StoredValue<RuntimeConfig>,
}

/// Provides the service (once, in the shell); unfinished jobs resume once signed in.
pub fn provide_job_service(config: RuntimeConfig) -> JobService {
    let service = JobService {
        jobs: RwSignal::new(Vec::new()),
        tick: RwSignal::new(0),
        elsewhere: RwSignal::new(Vec::new()),
        problem: RwSignal::new(None),
        active: StoredValue::new_local(None),
        config: StoredValue::new(config),
    };
    provide_context(service);
    let auth = use_auth();
    Effect::new(move |resumed: Option<bool>| {
        let signed_in = matches!(auth.status.get(), AuthStatus::SignedIn(_));
        if signed_in && resumed != Some(true) {
            leptos::task::spawn_local(async move { service.resume_pending().await });
            return true;
        }
        resumed.unwrap_or(false)
    });
    // A job another tab runs: every few seconds its stored progress is read again, and once
    // that tab no longer holds its lock (finished, closed, crashed), this tab takes it over.
    set_interval(
        move || {
            let idle = service
                .active()
                .is_none_or(|a| !matches!(a.header.get_untracked().status, JobStatus::Running));
            if idle && !service.elsewhere.with_untracked(Vec::is_empty) {
                leptos::task::spawn_local(async move { service.resume_pending().await });
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
fn header_of(plan: &JobPlan, tasks: &[WriteTask], status: JobStatus) -> JobHeader {
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
        let mut header = header_of(&self.plan, tasks, JobStatus::Running);
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

impl JobService {
    /// The job this tab runs, if any.
    pub fn active(&self) -> Option<Rc<ActiveJob>> {
        self.active.with_value(|a| a.clone())
    }

    /// Reads the stored jobs into the list.
    pub async fn refresh(&self) {
        let store = match JobStore::open().await {
            Ok(store) => store,
            Err(error) => {
                self.problem.set(Some(error.to_string()));
                return;
            }
        };
        match store.list_jobs().await {
            Ok(list) => {
                let mut jobs: Vec<JobHeader> = list
                    .iter()
                    .filter_map(|(_, json)| serde_json::from_str(json).ok())
                    .collect();
                jobs.sort_by_key(|j| std::cmp::Reverse(j.created_ms));
                self.jobs.set(jobs);
            }
            Err(error) => self.problem.set(Some(error.to_string())),
        }
        store.close();
    }

    /// Resumes the first unfinished job no other tab runs.
    pub async fn resume_pending(&self) {
        self.refresh().await;
        let pending: Vec<String> = self.jobs.with_untracked(|jobs| {
            jobs.iter()
                .filter(|j| matches!(j.status, JobStatus::Running | JobStatus::Paused { .. }))
                .map(|j| j.id.clone())
                .collect()
        });
        // A job another tab ended is no longer "running elsewhere".
        self.elsewhere
            .update(|e| e.retain(|id| pending.contains(id)));
        if let Some(active) = self.active() {
            match active.header.get_untracked().status {
                JobStatus::Running => return,
                // A paused job is picked up again below.
                JobStatus::Paused { .. } => self.active.set_value(None),
                JobStatus::Finished | JobStatus::Cancelled => {}
            }
        }
        for id in pending {
            if self.resume(&id).await {
                return;
            }
        }
    }

    /// Takes the job's lock; `None` when another tab holds it.
    async fn lock(&self, id: &str) -> Option<Option<LockGuard>> {
        match try_lock(&job_lock_name(id)).await {
            Ok(Some(guard)) => Some(Some(guard)),
            Ok(None) => {
                self.elsewhere.update(|e| {
                    if !e.iter().any(|x| x == id) {
                        e.push(id.to_string());
                    }
                });
                None
            }
            // No Web Locks in this browser: run, and say two tabs could both run it.
            Err(error) => {
                self.problem.set(Some(error.to_string()));
                Some(None)
            }
        }
    }

    /// Resumes stored job `id` in this tab; `false` if another tab runs it or it cannot be read.
    pub async fn resume(&self, id: &str) -> bool {
        let Some(lock) = self.lock(id).await else {
            return false;
        };
        self.elsewhere.update(|e| e.retain(|x| x != id));
        let store = match JobStore::open().await {
            Ok(store) => Rc::new(store),
            Err(error) => {
                self.problem.set(Some(error.to_string()));
                return false;
            }
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
        self.run(plan, rows, executor, header, store, lock);
        true
    }

    fn executor_config(&self, plan: &JobPlan) -> ExecutorConfig {
        let host = self.config.with_value(|c| c.cloud.graph_host());
        plan.pacing.config(host)
    }

    /// Starts a confirmed plan: stored first (plan and tasks), then run.
    pub async fn start(&self, plan: JobPlan) -> Result<(), String> {
        if self.active().is_some() {
            return Err("A job is already running in this tab.".into());
        }
        let lock = self
            .lock(&plan.id)
            .await
            .ok_or("Another tab runs this job.")?;
        let store = Rc::new(JobStore::open().await.map_err(|e| e.to_string())?);
        let planned = plan.tasks(&job_write_policy());
        let rows: Vec<usize> = planned.iter().map(|(r, _)| *r).collect();
        let tasks: Vec<WriteTask> = planned.into_iter().map(|(_, t)| t).collect();
        let header = header_of(&plan, &tasks, JobStatus::Running);
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
        self.run(plan, rows, executor, header, store, lock);
        Ok(())
    }

    fn run(
        &self,
        plan: JobPlan,
        rows: Vec<usize>,
        executor: Executor<WriteTask>,
        mut header: JobHeader,
        store: Rc<JobStore>,
        lock: Option<LockGuard>,
    ) {
        header.status = JobStatus::Running;
        let done_then = executor
            .tasks()
            .iter()
            .filter(|t| t.outcome.is_some())
            .count();
        let operations = operations_of(&plan);
        let plan = Rc::new(plan);
        let active = Rc::new(ActiveJob {
            plan: plan.clone(),
            rows,
            executor: Rc::new(RefCell::new(executor)),
            header: RwSignal::new(header),
            run_started_ms: now_ms(),
            done_then,
            store: store.clone(),
            lock: RefCell::new(lock),
        });
        self.active.set_value(Some(active.clone()));
        self.tick.update(|t| *t += 1);
        let service = *self;
        let graph_base = self.config.with_value(|c| c.graph_base_url());
        leptos::task::spawn_local(async move {
            let sink = JobSink {
                store: store.clone(),
                header: active.header,
                plan,
                service,
            };
            let end = drive(active.executor.clone(), graph_base, operations, sink).await;
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
            if let Ok(json) = to_json(&header) {
                if let Err(error) = active.store.put_job(&header.id, &json).await {
                    service.problem.set(Some(error.to_string()));
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
        match JobStore::open().await {
            Ok(store) => {
                if let Err(error) = store.delete_job(id).await {
                    self.problem.set(Some(error.to_string()));
                }
                store.close();
            }
            Err(error) => self.problem.set(Some(error.to_string())),
        }
        self.refresh().await;
    }
}
