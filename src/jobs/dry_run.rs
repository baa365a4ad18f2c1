//! The dry run of a bulk write: every listed user resolved to their object id and their
//! installation of the app read, through the job engine (reads in `$batch`es, paced, retried),
//! then planned, one write per user however they were listed (a UPN and the same user's object
//! id give one write; the later row is a duplicate of the first's line). Nothing is written.

use portal_core::auth::scopes::Operation;
use portal_core::graph::ids::CatalogAppId;
use portal_core::graph::models::ResourceSpecificPermission;
use portal_core::jobs::engine::ReadTask;
use portal_core::jobs::plan::{dry_run_task, plan_rows, JobAction, JobPlan, Pacing};

use super::runner::{now_ms, read_all};
use crate::graph_client::Graph;

/// What the dry run is about.
#[derive(Clone, Debug)]
pub struct DryRunInput {
    /// The users as listed (object id or UPN).
    pub keys: Vec<String>,
    /// The input line of each of `keys` (`UserList::lines`; 0 for one added from a search), to
    /// name the first row of a user listed twice.
    pub lines: Vec<u64>,
    pub action: JobAction,
    pub app: CatalogAppId,
    pub app_name: String,
    pub latest_version: String,
    pub consent: Option<Vec<ResourceSpecificPermission>>,
    /// The latest definition's whole required RSC set (what the consent is checked against).
    pub required: Vec<ResourceSpecificPermission>,
    pub pacing: Pacing,
}

fn job_id() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("job-{}", now_ms()))
}

/// Runs the dry run, reporting `(read, total)` users; the plan, and why it stopped early if it
/// did (its unread users are planned as "could not be read").
pub async fn dry_run(
    input: DryRunInput,
    graph: &Graph,
    progress: impl Fn(usize, usize) + 'static,
) -> (JobPlan, Option<String>) {
    let tasks: Vec<ReadTask> = input
        .keys
        .iter()
        .map(|k| dry_run_task(k, &input.app, &graph.base))
        .collect();
    let operations = vec![Operation::ReadUsers, Operation::ReadInstallations];
    let (done, stopped) = read_all(tasks, graph, operations, progress).await;
    let rows = plan_rows(
        input.action,
        &input.app,
        &input.latest_version,
        &input.keys,
        &input.lines,
        &done,
    );
    (
        JobPlan {
            id: job_id(),
            action: input.action,
            app: input.app,
            app_name: input.app_name,
            latest_version: input.latest_version,
            consent: input.consent,
            rows,
            created_ms: now_ms(),
            pacing: input.pacing,
            required: Some(input.required),
        },
        stopped,
    )
}
