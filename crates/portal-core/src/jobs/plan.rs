//! The plan of a bulk write, made by a dry run before anything is written: every user resolved
//! (unknown and disabled ones flagged), their installation of the app read, and the action each
//! gets. The job runs the plan's writes only after the administrator confirms it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::engine::{ErrorSummary, ReadTask, WriteTask};
use crate::graph::apps::compare_versions;
use crate::graph::encode::UserRef;
use crate::graph::ids::{CatalogAppId, InstallationId};
use crate::graph::models::{Installation, ResourceSpecificPermission, User};
use crate::graph::request;
use crate::graph::write::{Write, WritePolicy};

/// What the administrator asks of every chosen user.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobAction {
    Install,
    Upgrade,
    Uninstall,
    /// Install where missing, upgrade where behind.
    EnsureLatest,
}

impl JobAction {
    pub const ALL: [JobAction; 4] = [
        JobAction::Install,
        JobAction::Upgrade,
        JobAction::Uninstall,
        JobAction::EnsureLatest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobAction::Install => "install",
            JobAction::Upgrade => "upgrade",
            JobAction::Uninstall => "uninstall",
            JobAction::EnsureLatest => "ensure_latest",
        }
    }

    pub fn parse(value: &str) -> Option<JobAction> {
        JobAction::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

/// Why a user gets no write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SkipReason {
    /// Graph does not know the user (404).
    UnknownUser,
    /// The account is disabled.
    DisabledUser,
    AlreadyInstalled,
    AlreadyLatest,
    NotInstalled,
    /// The user or their installations could not be read (the error says why).
    ReadFailed,
}

/// What one user gets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlannedAction {
    Install,
    Upgrade { installation: InstallationId },
    Uninstall { installation: InstallationId },
    Skip(SkipReason),
}

impl PlannedAction {
    /// The i18n key suffix (and CSV value) of the action.
    pub fn key(&self) -> &'static str {
        match self {
            PlannedAction::Install => "install",
            PlannedAction::Upgrade { .. } => "upgrade",
            PlannedAction::Uninstall { .. } => "uninstall",
            PlannedAction::Skip(SkipReason::UnknownUser) => "skip_unknown_user",
            PlannedAction::Skip(SkipReason::DisabledUser) => "skip_disabled_user",
            PlannedAction::Skip(SkipReason::AlreadyInstalled) => "skip_already_installed",
            PlannedAction::Skip(SkipReason::AlreadyLatest) => "skip_already_latest",
            PlannedAction::Skip(SkipReason::NotInstalled) => "skip_not_installed",
            PlannedAction::Skip(SkipReason::ReadFailed) => "skip_read_failed",
        }
    }

    pub fn is_write(&self) -> bool {
        !matches!(self, PlannedAction::Skip(_))
    }
}

/// One user's row of the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRow {
    /// The user as listed (object id or UPN).
    pub key: String,
    /// The object id, once resolved.
    pub user_id: Option<String>,
    pub upn: Option<String>,
    pub display_name: Option<String>,
    /// The installed version, if any.
    pub current_version: Option<String>,
    pub action: PlannedAction,
    pub error: Option<ErrorSummary>,
}

/// How hard a job may push: the share of the tenant's Teams limits it may use (the rest is
/// left to everything else calling Graph), requests per batch and batches in flight. One
/// request at a time (1 and 1) is how a script loops; it is there to compare.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pacing {
    pub share: f64,
    pub batch_size: usize,
    pub max_in_flight: usize,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            share: 0.9,
            batch_size: super::batch::MAX_BATCH,
            max_in_flight: 4,
        }
    }
}

impl Pacing {
    /// One request at a time, as a script would.
    pub fn one_at_a_time() -> Pacing {
        Pacing {
            share: 1.0,
            batch_size: 1,
            max_in_flight: 1,
        }
    }

    /// The engine's configuration for the cloud's Graph host.
    pub fn config(&self, graph_host: &str) -> super::engine::ExecutorConfig {
        super::engine::ExecutorConfig {
            max_in_flight: self.max_in_flight,
            batch_size: self.batch_size,
            share: self.share,
            graph_host: graph_host.to_string(),
        }
    }
}

/// A confirmed-or-not plan: what the job will write.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPlan {
    pub id: String,
    pub action: JobAction,
    pub app: CatalogAppId,
    pub app_name: String,
    /// The latest published definition's version (what installs and upgrades bring).
    pub latest_version: String,
    /// The consented permission set every install and upgrade sends (the consent editor's).
    pub consent: Option<Vec<ResourceSpecificPermission>>,
    pub rows: Vec<PlanRow>,
    /// When the dry run made the plan (ms since the epoch).
    pub created_ms: u64,
    #[serde(default)]
    pub pacing: Pacing,
}

/// The labels of a dry run's reads.
pub const READ_USER: u8 = 0;
pub const READ_INSTALLATIONS: u8 = 1;

/// The dry run's reads of one listed user: the user, then their installations of `app`.
pub fn dry_run_task(key: &str, app: &CatalogAppId, graph_base: &str) -> ReadTask {
    let user = UserRef::from_key(key);
    ReadTask::new(
        vec![
            (READ_USER, request::resolve_user(&user)),
            (
                READ_INSTALLATIONS,
                request::list_installations(&user, Some(app)),
            ),
        ],
        graph_base,
    )
}

/// The plan row of one user from their dry-run reads.
pub fn plan_row(
    action: JobAction,
    app: &CatalogAppId,
    latest_version: &str,
    key: &str,
    reads: &ReadTask,
) -> PlanRow {
    let user: Option<User> = reads
        .object(READ_USER)
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let mut row = PlanRow {
        key: key.to_string(),
        user_id: user.as_ref().map(|u| u.id.clone()),
        upn: user.as_ref().and_then(|u| u.user_principal_name.clone()),
        display_name: user.as_ref().and_then(|u| u.display_name.clone()),
        current_version: None,
        action: PlannedAction::Skip(SkipReason::ReadFailed),
        error: reads.error.clone(),
    };
    let Some(user) = user else {
        if reads.error.as_ref().and_then(|e| e.status) == Some(404) {
            row.action = PlannedAction::Skip(SkipReason::UnknownUser);
        }
        return row;
    };
    if user.account_enabled == Some(false) {
        row.action = PlannedAction::Skip(SkipReason::DisabledUser);
        return row;
    }
    if reads.error.is_some() {
        return row;
    }
    let installations: Vec<Installation> = reads
        .collection(READ_INSTALLATIONS)
        .into_iter()
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    let installation = installations
        .iter()
        .find(|i| i.teams_app.as_ref().is_some_and(|a| app.matches(&a.id)));
    row.current_version = installation
        .and_then(|i| i.teams_app_definition.as_ref())
        .and_then(|d| d.version.clone());
    let behind = row
        .current_version
        .as_deref()
        .is_none_or(|v| compare_versions(v, latest_version).is_lt());
    row.action = match (action, installation) {
        (JobAction::Install | JobAction::EnsureLatest, None) => PlannedAction::Install,
        (JobAction::Install, Some(_)) => PlannedAction::Skip(SkipReason::AlreadyInstalled),
        (JobAction::Upgrade | JobAction::EnsureLatest, Some(i)) if behind => {
            PlannedAction::Upgrade {
                installation: InstallationId::new(i.id.clone()),
            }
        }
        (JobAction::Upgrade | JobAction::EnsureLatest, Some(_)) => {
            PlannedAction::Skip(SkipReason::AlreadyLatest)
        }
        (JobAction::Upgrade | JobAction::Uninstall, None) => {
            PlannedAction::Skip(SkipReason::NotInstalled)
        }
        (JobAction::Uninstall, Some(i)) => PlannedAction::Uninstall {
            installation: InstallationId::new(i.id.clone()),
        },
    };
    row
}

impl JobPlan {
    /// Rows per action key, for the plan's summary.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for row in &self.rows {
            *counts.entry(row.action.key()).or_insert(0) += 1;
        }
        counts
    }

    /// The write of row `row`, if it gets one. Users are addressed by object id.
    pub fn write_of(&self, row: &PlanRow) -> Option<Write> {
        let user = UserRef::ObjectId(row.user_id.clone()?);
        let app = self.app.clone();
        Some(match &row.action {
            PlannedAction::Install => Write::install(user, app, self.consent.clone()),
            PlannedAction::Upgrade { installation } => Write::upgrade(
                user,
                app,
                installation.clone(),
                self.latest_version.clone(),
                self.consent.clone(),
            ),
            PlannedAction::Uninstall { installation } => {
                Write::uninstall(user, app, installation.clone())
            }
            PlannedAction::Skip(_) => return None,
        })
    }

    /// The job's tasks: one per row with a write, with the row's index.
    pub fn tasks(&self, policy: &WritePolicy) -> Vec<(usize, WriteTask)> {
        self.rows
            .iter()
            .enumerate()
            .filter_map(|(i, row)| {
                self.write_of(row)
                    .map(|w| (i, WriteTask::new(w, policy.clone())))
            })
            .collect()
    }
}

/// Users from pages of `GET /users`.
pub fn users_of(values: &[Value]) -> Vec<User> {
    values
        .iter()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect()
}
