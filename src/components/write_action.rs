//! Running a write (install, upgrade, uninstall) to the end: the request as built, the retry
//! policy inside the client, then the reconcile rules: a lost answer, or a 409/404 after a
//! retry, is settled by reading the user's installations of that app, so a change is never
//! sent twice and an applied change is reported as done.

use portal_core::auth::scopes::Operation;
use portal_core::graph::apps::compare_versions;
use portal_core::graph::encode::UserRef;
use portal_core::graph::models::Installation;
use portal_core::graph::request::{self, GraphRequest};
use portal_core::graph::retry::reconcile_install;

use crate::graph_client::{CallError, Graph};

/// What the write does, with what reconciling it needs.
#[derive(Clone, Debug)]
pub enum Write {
    Install {
        catalog_app_id: String,
    },
    Upgrade {
        catalog_app_id: String,
        to_version: String,
    },
    Uninstall {
        catalog_app_id: String,
    },
}

/// A write that succeeded.
#[derive(Clone, Debug, PartialEq)]
pub struct Done {
    pub attempts: u32,
    /// Statuses of failed attempts that were retried (0 for a lost answer).
    pub retried: Vec<u16>,
    pub request_id: Option<String>,
    /// The answer was lost (or contradicted by a retry) and reading back confirmed the change.
    pub reconciled: bool,
}

async fn installations_of(
    graph: &Graph,
    user: &UserRef,
    catalog_app_id: &str,
) -> Result<Vec<Installation>, CallError> {
    graph
        .get_all(
            &request::list_installations(user, Some(catalog_app_id)),
            Operation::ReadInstallations,
        )
        .await
}

/// Whether the installations read back show the write as applied.
fn applied(write: &Write, installations: &[Installation]) -> bool {
    match write {
        Write::Install { catalog_app_id } => {
            reconcile_install(installations, catalog_app_id).is_some()
        }
        Write::Uninstall { catalog_app_id } => {
            reconcile_install(installations, catalog_app_id).is_none()
        }
        Write::Upgrade {
            catalog_app_id,
            to_version,
        } => reconcile_install(installations, catalog_app_id)
            .and_then(|i| i.teams_app_definition.as_ref())
            .and_then(|d| d.version.as_deref())
            .is_some_and(|v| compare_versions(v, to_version).is_ge()),
    }
}

fn catalog_app_id(write: &Write) -> &str {
    match write {
        Write::Install { catalog_app_id }
        | Write::Upgrade { catalog_app_id, .. }
        | Write::Uninstall { catalog_app_id } => catalog_app_id,
    }
}

/// Sends `built` for `write`, reconciling as described above.
pub async fn run(
    graph: &Graph,
    user: &UserRef,
    write: &Write,
    built: &GraphRequest,
    operation: Operation,
) -> Result<Done, CallError> {
    let error = match graph.send(built, operation).await {
        Ok(answer) => {
            return Ok(Done {
                attempts: answer.attempts,
                retried: answer.retried,
                request_id: answer.request_id,
                reconciled: false,
            })
        }
        Err(error) => error,
    };
    let (attempts, status) = match &error {
        CallError::AnswerLost {
            maybe_applied: true,
            ..
        } => (1, 0),
        // A conflict or a missing installation after the client retried: an earlier attempt
        // may have been applied without its answer arriving.
        CallError::Graph {
            error: graph_error,
            attempts,
            ..
        } if *attempts > 1 && matches!(graph_error.status, 409 | 404) => {
            (*attempts, graph_error.status)
        }
        _ => return Err(error),
    };
    let mut retried = vec![status];
    let read = installations_of(graph, user, catalog_app_id(write)).await?;
    if applied(write, &read) {
        return Ok(Done {
            attempts,
            retried,
            request_id: None,
            reconciled: true,
        });
    }
    if !matches!(error, CallError::AnswerLost { .. }) {
        return Err(error);
    }
    // Not applied after a lost answer: now it is safe to send it once more.
    let answer = graph.send(built, operation).await?;
    retried.extend(answer.retried.iter().copied());
    Ok(Done {
        attempts: attempts + answer.attempts,
        retried,
        request_id: answer.request_id,
        reconciled: false,
    })
}
