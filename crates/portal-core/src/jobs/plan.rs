//! The plan of a bulk write, made by a dry run before anything is written: every user resolved
//! (unknown and disabled ones flagged), their installation of the app read, and the action each
//! gets. The job runs the plan's writes only after the administrator confirms it.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

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
    /// The same user as an earlier row.
    Duplicate {
        first_line: u64,
    },
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
            PlannedAction::Skip(SkipReason::Duplicate { .. }) => "skip_duplicate",
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
    /// The whole required RSC set of the definition installs and upgrades bring (as read by the
    /// dry run), so a 400 to a job's write is read from the consent it sent, never from Graph's
    /// words (`Write::checked_against`). `None` in a plan stored before it was kept: such a
    /// write's 400 is read back and retried once, as any unnamed 400.
    #[serde(default)]
    pub required: Option<Vec<ResourceSpecificPermission>>,
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

/// The plan rows of the listed users from their dry-run reads (`keys`, `lines` and `reads` in
/// the same order; `lines` are the input's line numbers, 0 or missing for a user added from a
/// search), one write per user at most: the rows are told apart by the object id Graph
/// resolved, not by the text typed, so a UPN and the same user's object id (or a UPN in
/// another letter case) give one write; every later row of a user is
/// [`SkipReason::Duplicate`] of the first row's line.
pub fn plan_rows(
    action: JobAction,
    app: &CatalogAppId,
    latest_version: &str,
    keys: &[String],
    lines: &[u64],
    reads: &[ReadTask],
) -> Vec<PlanRow> {
    let mut rows: Vec<PlanRow> = keys
        .iter()
        .zip(reads)
        .map(|(key, reads)| plan_row(action, app, latest_version, key, reads))
        .collect();
    mark_duplicates(&mut rows, lines);
    rows
}

/// Marks every row whose resolved user (object id, any letter case) an earlier row has as a
/// duplicate of that row's line (`lines[i]`, 0 when unknown). Rows not resolved are left.
pub fn mark_duplicates(rows: &mut [PlanRow], lines: &[u64]) {
    let mut first: HashMap<String, u64> = HashMap::new();
    for (i, row) in rows.iter_mut().enumerate() {
        let Some(id) = row.user_id.as_deref() else {
            continue;
        };
        let line = lines.get(i).copied().unwrap_or(0);
        match first.entry(id.to_lowercase()) {
            Entry::Occupied(seen) => {
                row.action = PlannedAction::Skip(SkipReason::Duplicate {
                    first_line: *seen.get(),
                });
                row.error = None;
            }
            Entry::Vacant(slot) => {
                slot.insert(line);
            }
        }
    }
}

/// The columns of [`plan_csv`].
pub const PLAN_CSV_HEADER: [&str; 11] = [
    "user",
    "userId",
    "userPrincipalName",
    "displayName",
    "installedVersion",
    "action",
    "duplicateOfLine",
    "status",
    "code",
    "message",
    "requestId",
];

/// The plan as CSV, one row per listed user (duplicates included, with the line of the row
/// they repeat), every cell neutralised against formula injection.
pub fn plan_csv(plan: &JobPlan) -> Result<String, String> {
    let records: Vec<Vec<String>> = plan
        .rows
        .iter()
        .map(|row| {
            let error = row.error.as_ref();
            let duplicate_of = match row.action {
                PlannedAction::Skip(SkipReason::Duplicate { first_line }) if first_line > 0 => {
                    first_line.to_string()
                }
                _ => String::new(),
            };
            let mut columns = vec![
                row.key.clone(),
                row.user_id.clone().unwrap_or_default(),
                row.upn.clone().unwrap_or_default(),
                row.display_name.clone().unwrap_or_default(),
                row.current_version.clone().unwrap_or_default(),
                row.action.key().to_string(),
                duplicate_of,
            ];
            columns.extend(ErrorSummary::csv_columns(error));
            columns
        })
        .collect();
    super::export::to_csv(&PLAN_CSV_HEADER, &records)
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

    /// The write of row `row`, if it gets one. Users are addressed by the object id the dry run
    /// resolved, never by the text typed (`row.key`).
    pub fn write_of(&self, row: &PlanRow) -> Option<Write> {
        let user = UserRef::ObjectId(row.user_id.clone()?);
        let app = self.app.clone();
        let write = match &row.action {
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
        };
        Some(match (&row.action, &self.required) {
            (PlannedAction::Uninstall { .. }, _) | (_, None) => write,
            (_, Some(required)) => write.checked_against(required),
        })
    }

    /// The job's tasks: one per row with a write, with the row's index. A plan made by
    /// [`plan_rows`] has one write per user; the rows are not deduplicated again here, so a
    /// stored job's records keep matching its tasks one for one.
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::graph::write::WritePolicy;
    use crate::jobs::engine::{Answer, Task};

    const APP: &str = "0a5e8f4c-1111-4d2b-9c3e-5f6a7b8c9d0e";
    const BASE: &str = "https://graph.microsoft.com/v1.0";
    const ADELE: &str = "5b649834-7412-4cce-9e69-176e95a394f5";

    fn ok(body: Value) -> Answer {
        Answer::Status {
            status: 200,
            retry_after_s: None,
            body: Some(body),
        }
    }

    /// The dry-run reads of `key`, answered as Graph answers for the user `id`.
    fn read(key: &str, id: &str, upn: &str) -> ReadTask {
        let app = CatalogAppId::new(APP);
        let mut task = dry_run_task(key, &app, BASE);
        let user = json!({"id": id, "userPrincipalName": upn, "accountEnabled": true});
        task.on_answer(ok(user), 0, 0.0);
        task.on_answer(ok(json!({"value": []})), 0, 0.0);
        task
    }

    #[test]
    fn a_jobs_writes_are_checked_against_the_required_set_the_dry_run_read() {
        // Issue #23, guess 5: a 400 to a job's write is read from the consent it sent. The plan
        // keeps the definition's required set, so its writes know a partial set before sending.
        use crate::graph::models::PermissionType;
        use crate::graph::write::ConsentSent;
        let rsc = |value: &str, kind| ResourceSpecificPermission {
            permission_value: value.into(),
            permission_type: kind,
        };
        let required = vec![
            rsc("TeamsActivity.Send.User", PermissionType::Application),
            rsc("ChatMessage.Read.User", PermissionType::Delegated),
        ];
        let row = PlanRow {
            key: "u1".into(),
            user_id: Some("u1".into()),
            upn: None,
            display_name: None,
            current_version: None,
            action: PlannedAction::Install,
            error: None,
        };
        let mut plan = plan_of(vec![row.clone()]);
        plan.consent = Some(required[..1].to_vec());
        plan.required = Some(required.clone());
        let partial = plan.write_of(&row).map(|w| w.consent_sent());
        assert!(
            matches!(partial, Some(ConsentSent::Mismatch(_))),
            "{partial:?}"
        );
        plan.consent = Some(required.clone());
        assert_eq!(
            plan.write_of(&row).map(|w| w.consent_sent()),
            Some(ConsentSent::Valid)
        );
        // A plan stored before the set was kept: nothing is read as a mismatch.
        plan.required = None;
        plan.consent = Some(required[..1].to_vec());
        assert_eq!(
            plan.write_of(&row).map(|w| w.consent_sent()),
            Some(ConsentSent::NotChecked)
        );
    }

    fn plan_of(rows: Vec<PlanRow>) -> JobPlan {
        JobPlan {
            id: "job-1".into(),
            action: JobAction::Install,
            app: CatalogAppId::new(APP),
            app_name: "App".into(),
            latest_version: "2.0.0".into(),
            consent: None,
            rows,
            created_ms: 0,
            pacing: Pacing::default(),
            required: None,
        }
    }

    #[test]
    fn a_upn_and_the_same_users_object_id_plan_one_write_addressed_by_object_id() {
        // Hole 2 of issue #22: rows were told apart by the text typed, so a UPN and the same
        // user's object id (in another case) gave two installs, possibly in one $batch.
        let keys: Vec<String> = vec![
            "Adele.Vance@contoso.com".into(),
            "megan@contoso.com".into(),
            ADELE.to_uppercase(),
        ];
        let reads = vec![
            read(&keys[0], ADELE, "adele.vance@contoso.com"),
            read(
                &keys[1],
                "7c1d2f3e-0000-4000-8000-000000000002",
                "megan@contoso.com",
            ),
            read(&keys[2], ADELE, "adele.vance@contoso.com"),
        ];
        let rows = plan_rows(
            JobAction::Install,
            &CatalogAppId::new(APP),
            "2.0.0",
            &keys,
            &[2, 3, 5],
            &reads,
        );
        let actions: Vec<&PlannedAction> = rows.iter().map(|r| &r.action).collect();
        assert_eq!(
            actions,
            [
                &PlannedAction::Install,
                &PlannedAction::Install,
                &PlannedAction::Skip(SkipReason::Duplicate { first_line: 2 }),
            ]
        );
        // The duplicate still says who it is.
        assert_eq!(rows[2].user_id.as_deref(), Some(ADELE));
        let plan = plan_of(rows);
        let tasks = plan.tasks(&WritePolicy::default());
        let users: Vec<(usize, UserRef)> = tasks
            .iter()
            .map(|(i, t)| (*i, t.write.user.clone()))
            .collect();
        assert_eq!(
            users,
            [
                (0, UserRef::ObjectId(ADELE.into())),
                (
                    1,
                    UserRef::ObjectId("7c1d2f3e-0000-4000-8000-000000000002".into())
                ),
            ]
        );
        // A stored plan with the new reason reads back.
        let json = serde_json::to_string(&plan).expect("serialises");
        assert_eq!(
            serde_json::from_str::<JobPlan>(&json).expect("parses"),
            plan
        );
        // The plan's CSV lists the duplicate with the line it repeats.
        let csv = plan_csv(&plan).expect("csv");
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], PLAN_CSV_HEADER.join(","));
        assert_eq!(
            lines[3],
            format!(
                "{},{ADELE},adele.vance@contoso.com,,,skip_duplicate,2,,,,",
                ADELE.to_uppercase()
            )
        );
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn a_stored_plan_from_before_duplicates_reads_back() {
        // Written by the version before rows knew duplicates: the same shape, no new field.
        let json = r#"{"id":"j","action":"Install","app":"a","app_name":"A","latest_version":"1",
            "consent":null,"created_ms":0,"rows":[{"key":"u@x.com","user_id":"u1","upn":null,
            "display_name":null,"current_version":null,"action":{"Skip":"UnknownUser"},"error":null},
            {"key":"v@x.com","user_id":"u2","upn":null,"display_name":null,"current_version":null,
            "action":"Install","error":null}]}"#;
        let plan: JobPlan = serde_json::from_str(json).expect("an old plan parses");
        assert_eq!(
            plan.rows[0].action,
            PlannedAction::Skip(SkipReason::UnknownUser)
        );
        assert_eq!(plan.tasks(&WritePolicy::default()).len(), 1);
    }

    #[test]
    fn rows_not_resolved_are_never_taken_for_duplicates_and_a_search_row_has_no_line() {
        let mut rows: Vec<PlanRow> = ["a", "b", "c", "d"]
            .iter()
            .map(|k| PlanRow {
                key: k.to_string(),
                user_id: None,
                upn: None,
                display_name: None,
                current_version: None,
                action: PlannedAction::Skip(SkipReason::UnknownUser),
                error: None,
            })
            .collect();
        rows[2].user_id = Some("U1".into());
        rows[2].action = PlannedAction::Install;
        rows[3].user_id = Some("u1".into());
        rows[3].action = PlannedAction::Install;
        // Rows 3 and 4 came from a search (no line).
        mark_duplicates(&mut rows, &[1, 2]);
        let actions: Vec<PlannedAction> = rows.iter().map(|r| r.action.clone()).collect();
        assert_eq!(
            actions,
            [
                PlannedAction::Skip(SkipReason::UnknownUser),
                PlannedAction::Skip(SkipReason::UnknownUser),
                PlannedAction::Install,
                PlannedAction::Skip(SkipReason::Duplicate { first_line: 0 }),
            ]
        );
    }
}
