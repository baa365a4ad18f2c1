//! The write model: every write the portal makes in a user's personal scope (install, upgrade,
//! uninstall) as one type with typed ids, giving its request, its read-back, whether a read-back
//! shows it applied, its "Show request" commands, and the pure decision after each outcome
//! ([`WriteRun::on`], in the style of `RetryPolicy::decide`). Pages and bulk jobs only drive it.
//!
//! The promise it keeps: a write is never lost and never sent twice. A missing answer, or a
//! 500/502/503/504 to a POST or DELETE, means "maybe applied": the user's installations of the
//! app are read back, a few times over about five seconds (a write just applied may not be
//! visible yet), before anything is resent. A 409 to an install (or a 404 to an uninstall) that
//! we resent after such a doubt means our earlier attempt was applied. A 400 to an install is
//! read from what the portal sent, never from Graph's words (undocumented, and free to change):
//! a consented permission set the portal knew did not equal the definition's whole required set
//! ([`Write::checked_against`]) is the consent mismatch, refused at once; any other 400 that names
//! none of the request's properties (Graph's known transient backend failure, or a definition
//! published since the set was checked) is read back, retried once, and, refused again, read
//! back once more before it ends refused.
//!
//! A 429 was not applied: it is a reason to wait as told, however often, never to refuse. Only
//! a stated total wait ([`WritePolicy::max_throttled_wait_ms`]) ends a throttled write, as "not
//! sent" ([`Failure::NotSent`]), after a read-back when an earlier send may have been applied.
//! A read-back that lacks what the comparison needs "cannot tell": it is read again, and is
//! never taken as applied.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::apps::compare_versions;
use super::encode::UserRef;
use super::error::GraphError;
use super::ids::{CatalogAppId, InstallationId};
use super::models::{Installation, ResourceSpecificPermission};
use super::request::{self, GraphRequest};
use super::retry::RetryPolicy;
use crate::auth::scopes::Operation;

/// What a write does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WriteKind {
    Install,
    Upgrade,
    Uninstall,
}

impl WriteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteKind::Install => "install",
            WriteKind::Upgrade => "upgrade",
            WriteKind::Uninstall => "uninstall",
        }
    }
}

/// The write's own data, by kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WriteAction {
    /// `POST {user}/teamwork/installedApps`.
    Install {
        consent: Option<Vec<ResourceSpecificPermission>>,
    },
    /// `POST {user}/teamwork/installedApps/{id}/upgrade`: to the latest published definition.
    Upgrade {
        installation: InstallationId,
        to_version: String,
        consent: Option<Vec<ResourceSpecificPermission>>,
    },
    /// `DELETE {user}/teamwork/installedApps/{id}`.
    Uninstall { installation: InstallationId },
}

/// One write in a user's personal scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Write {
    pub user: UserRef,
    /// The catalog app the write is about (what a read-back filters on).
    pub app: CatalogAppId,
    pub action: WriteAction,
    /// The whole required RSC set of the definition the write's consent was checked against
    /// before sending ([`Write::checked_against`]); `None` when its maker did not say. How a
    /// 400 is read follows from it ([`Write::send_result`]), never from Graph's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<ResourceSpecificPermission>>,
}

/// What the portal knows of the consent a write sends, before sending it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsentSent {
    /// Nothing to consent (an uninstall), or the required set it was checked against is not
    /// known: no 400 is read as a consent mismatch.
    NotChecked,
    /// The set sent (or its omission) is what Graph's rule accepts for the definition checked
    /// against ([`super::consent::validate`]).
    Valid,
    /// It is not: Graph will refuse it with a 400, whatever words it uses.
    Mismatch(super::consent::Invalid),
}

impl Write {
    pub fn install(
        user: UserRef,
        app: CatalogAppId,
        consent: Option<Vec<ResourceSpecificPermission>>,
    ) -> Write {
        Write {
            user,
            app,
            action: WriteAction::Install { consent },
            required: None,
        }
    }

    pub fn upgrade(
        user: UserRef,
        app: CatalogAppId,
        installation: InstallationId,
        to_version: impl Into<String>,
        consent: Option<Vec<ResourceSpecificPermission>>,
    ) -> Write {
        Write {
            user,
            app,
            action: WriteAction::Upgrade {
                installation,
                to_version: to_version.into(),
                consent,
            },
            required: None,
        }
    }

    pub fn uninstall(user: UserRef, app: CatalogAppId, installation: InstallationId) -> Write {
        Write {
            user,
            app,
            action: WriteAction::Uninstall { installation },
            required: None,
        }
    }

    /// The write, its consent checked against `required`, the whole required RSC set of the
    /// definition it installs or upgrades to (as read before sending): a 400 to it is then
    /// read from that check ([`Write::consent_sent`]).
    pub fn checked_against(mut self, required: &[ResourceSpecificPermission]) -> Write {
        self.required = Some(required.to_vec());
        self
    }

    /// What the portal knows of the consent it sends: see [`ConsentSent`].
    pub fn consent_sent(&self) -> ConsentSent {
        match (&self.action, &self.required) {
            (WriteAction::Uninstall { .. }, _) | (_, None) => ConsentSent::NotChecked,
            (_, Some(required)) => match super::consent::validate(required, self.consent()) {
                Ok(()) => ConsentSent::Valid,
                Err(invalid) => ConsentSent::Mismatch(invalid),
            },
        }
    }

    /// The result of Graph's error answer to this write's request. A 400 is named from the
    /// request sent: the consent mismatch when the set sent was known not to match
    /// ([`ConsentSent::Mismatch`]), whatever Graph's message says; otherwise only a property of
    /// the body named by its property name ([`validation_failure`]); anything else is left
    /// unnamed (the transient install 400: read back, retried once).
    pub fn send_result(&self, error: &GraphError) -> SendResult {
        let validation = if error.status != 400 {
            None
        } else if matches!(self.consent_sent(), ConsentSent::Mismatch(_)) {
            Some(Validation::ConsentSetMismatch)
        } else {
            validation_failure(error)
        };
        SendResult::Refused {
            status: error.status,
            retry_after_s: error.retry_after,
            validation,
        }
    }

    pub fn kind(&self) -> WriteKind {
        match self.action {
            WriteAction::Install { .. } => WriteKind::Install,
            WriteAction::Upgrade { .. } => WriteKind::Upgrade,
            WriteAction::Uninstall { .. } => WriteKind::Uninstall,
        }
    }

    /// The consented permission set the write sends, if any.
    pub fn consent(&self) -> Option<&[ResourceSpecificPermission]> {
        match &self.action {
            WriteAction::Install { consent } | WriteAction::Upgrade { consent, .. } => {
                consent.as_deref()
            }
            WriteAction::Uninstall { .. } => None,
        }
    }

    /// The installation the write addresses (none for an install).
    pub fn installation(&self) -> Option<&InstallationId> {
        match &self.action {
            WriteAction::Install { .. } => None,
            WriteAction::Upgrade { installation, .. } | WriteAction::Uninstall { installation } => {
                Some(installation)
            }
        }
    }

    /// The operation (and so delegated scope) the write needs: `…ReadWriteAndConsentForUser`
    /// whenever it sends a consented permission set, `…ReadWriteForUser` otherwise (the rule
    /// and why: [`super::consent::operation_for`]).
    pub fn operation(&self) -> Operation {
        super::consent::operation_for(self.consent())
    }

    /// The request, exactly as sent (`graph_host` is the cloud's, for `teamsApp@odata.bind`).
    pub fn request(&self, graph_host: &str) -> GraphRequest {
        match &self.action {
            WriteAction::Install { consent } => {
                request::install(graph_host, &self.user, &self.app, consent.as_deref())
            }
            WriteAction::Upgrade {
                installation,
                consent,
                ..
            } => request::upgrade(&self.user, installation, consent.as_deref()),
            WriteAction::Uninstall { installation } => request::uninstall(&self.user, installation),
        }
    }

    /// The read that settles a doubt: the user's installations of this app.
    pub fn read_back(&self) -> GraphRequest {
        request::list_installations(&self.user, Some(&self.app))
    }

    /// Whether installations read back show the write as applied.
    pub fn applied_in(&self, installations: &[Installation]) -> bool {
        self.read_back_result(installations) == ReadBackResult::Applied
    }

    /// What installations read back (the user's installations of the app) say of the write:
    /// applied, not applied, or [`ReadBackResult::CannotTell`] when they lack what the
    /// comparison needs (an installation without `teamsApp`, which could be the app; an
    /// upgrade without a target version, or whose installation has no definition version).
    /// Missing data is never "applied".
    pub fn read_back_result(&self, installations: &[Installation]) -> ReadBackResult {
        let nameless = installations
            .iter()
            .any(|i| i.teams_app.as_ref().is_none_or(|a| a.id.trim().is_empty()));
        let of_app = installations.iter().find(|i| {
            i.teams_app
                .as_ref()
                .is_some_and(|a| self.app.matches(&a.id))
        });
        let absent = if nameless {
            ReadBackResult::CannotTell
        } else {
            ReadBackResult::NotApplied
        };
        match &self.action {
            WriteAction::Install { .. } if of_app.is_some() => ReadBackResult::Applied,
            WriteAction::Install { .. } => absent,
            WriteAction::Uninstall { installation } => {
                let still_there =
                    of_app.is_some() || installations.iter().any(|i| installation.matches(&i.id));
                if still_there {
                    ReadBackResult::NotApplied
                } else if nameless {
                    ReadBackResult::CannotTell
                } else {
                    ReadBackResult::Applied
                }
            }
            WriteAction::Upgrade { to_version, .. } if to_version.trim().is_empty() => {
                ReadBackResult::CannotTell
            }
            WriteAction::Upgrade { to_version, .. } => match of_app {
                Some(found) => match found
                    .teams_app_definition
                    .as_ref()
                    .and_then(|d| d.version.as_deref())
                    .filter(|v| !v.trim().is_empty())
                {
                    Some(v) if compare_versions(v, to_version).is_ge() => ReadBackResult::Applied,
                    Some(_) => ReadBackResult::NotApplied,
                    None => ReadBackResult::CannotTell,
                },
                None => absent,
            },
        }
    }
}

/// A 400 we can name: a validation failure of something we sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validation {
    /// `consentedPermissionSet` does not equal the definition's required set: known from the
    /// request before it was sent ([`Write::send_result`]), never from Graph's words.
    ConsentSetMismatch,
    /// `teamsApp@odata.bind` is not a valid catalog reference.
    BadBind,
    /// A property Graph does not know.
    UnknownProperty,
}

/// Names a 400 that names a property of the request by its property name (compared without
/// case, spaces or hyphens: these names are Graph's contract, not prose), or OData's
/// "property named" for an unknown property. Never the consent mismatch: Graph's wording of it
/// is undocumented, so [`Write::send_result`] decides it from the request sent.
pub fn validation_failure(error: &GraphError) -> Option<Validation> {
    if error.status != 400 {
        return None;
    }
    let folded: String = error
        .message
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    let names = |words: &[&str]| words.iter().any(|w| folded.contains(w));
    if names(&["propertynamed", "unknownproperty", "doesnotexistontype"]) {
        Some(Validation::UnknownProperty)
    } else if names(&["odata.bind", "teamsapp@"]) {
        Some(Validation::BadBind)
    } else {
        None
    }
}

/// What one send of the write produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendResult {
    /// A 2xx answer.
    Applied,
    /// An error answer. `validation` names a 400 from the request sent
    /// ([`Write::send_result`]).
    Refused {
        status: u16,
        retry_after_s: Option<u64>,
        validation: Option<Validation>,
    },
    /// No answer (the connection broke, a timeout): it may have been applied.
    Lost,
}

/// What a read-back found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadBackResult {
    Applied,
    NotApplied,
    /// The read answered without what is needed to tell (see [`Write::read_back_result`], or
    /// a body that is no collection): read again later; never taken as applied.
    CannotTell,
    /// The read itself failed (status `None`: no answer).
    Failed {
        status: Option<u16>,
        retry_after_s: Option<u64>,
    },
}

/// One event of a write's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Sent(SendResult),
    ReadBack(ReadBackResult),
}

/// How the write is known to be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Confirmed {
    /// Graph answered 2xx.
    Answered,
    /// A read-back showed it.
    ReadBack,
    /// A 409 to our resent install (or a 404 to our resent uninstall): an earlier attempt of
    /// ours was applied.
    Conflict,
}

/// Why the write did not go through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// Graph refused it; nothing was applied. The last error is the reason.
    Refused,
    /// Read back over the lag window and not applied, and no more sends or time allowed.
    NotApplied,
    /// Whether it was applied could not be told (the read-back failed, or time ran out while
    /// in doubt). It was not resent; the user must check before trying again.
    Unsettled,
    /// Nothing was applied and nothing more is sent: Graph kept throttling it past the wait
    /// allowed ([`WritePolicy::max_throttled_wait_ms`]; a read-back settled any doubt first),
    /// or no access token could be had (nothing was sent). Safe to try again.
    NotSent,
}

/// What to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send the write (again), after a wait; with a renewed token when asked.
    Send {
        after_ms: u64,
        renew_token: bool,
    },
    /// Read the user's installations of the app, after a wait.
    ReadBack {
        after_ms: u64,
    },
    Done(Confirmed),
    Fail(Failure),
}

/// The limits of one write's run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritePolicy {
    /// Sends in all, the first included.
    pub max_sends: u32,
    /// Failed read-backs tolerated (network, 429, 5xx) in all.
    pub max_failed_read_backs: u32,
    /// Waits before each read-back of a round: the read-after-write lag window (about 5 s).
    pub read_back_delays_ms: Vec<u64>,
    /// Backoff and total time, as for reads. Waits Graph asked for (429) do not count
    /// against the total time.
    pub retry: RetryPolicy,
    /// The most a write waits, in all, on 429s to its sends before it ends "not sent"
    /// ([`Failure::NotSent`]); `None`: it waits as told however long (a job, whose engine
    /// pauses the whole job instead). A 429 never counts as a send, nor as a failed read-back.
    #[serde(default)]
    pub max_throttled_wait_ms: Option<u64>,
}

/// The total wait on 429s a single write accepts before it ends "not sent, still throttled".
pub const MAX_THROTTLED_WAIT_MS: u64 = 120_000;

impl Default for WritePolicy {
    fn default() -> WritePolicy {
        WritePolicy {
            max_sends: 4,
            max_failed_read_backs: 4,
            read_back_delays_ms: vec![0, 1000, 1500, 2500],
            retry: RetryPolicy::default(),
            max_throttled_wait_ms: Some(MAX_THROTTLED_WAIT_MS),
        }
    }
}

/// The state of one write's run: feed it every event, do what it says.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WriteRun {
    kind: WriteKind,
    /// Not stored with the run: the job's policy is set again when a stored run is restored.
    #[serde(skip)]
    policy: WritePolicy,
    sends: u32,
    /// An earlier send may have been applied (lost answer, 5xx, unnamed 400).
    in_doubt: bool,
    token_renewed: bool,
    transient_retried: bool,
    /// Read-backs made in the current round.
    round_read_backs: usize,
    failed_read_backs: u32,
    /// Whether a "not applied" at the end of this round allows a resend.
    round_may_resend: bool,
    /// The least wait before a resend (a `Retry-After`), in ms.
    resend_floor_ms: u64,
    /// Sends answered 429 (not counted against `max_sends`).
    #[serde(default)]
    throttled_sends: u32,
    /// Waits on 429s so far, in ms (not counted against the time budget).
    #[serde(default)]
    throttled_ms: u64,
    /// This round was begun because the sends stayed throttled past the wait allowed while in
    /// doubt: "not applied" at its end means "not sent".
    #[serde(default)]
    round_throttled: bool,
}

impl WriteRun {
    pub fn new(kind: WriteKind, policy: WritePolicy) -> WriteRun {
        WriteRun {
            kind,
            policy,
            sends: 0,
            in_doubt: false,
            token_renewed: false,
            transient_retried: false,
            round_read_backs: 0,
            failed_read_backs: 0,
            round_may_resend: false,
            resend_floor_ms: 0,
            throttled_sends: 0,
            throttled_ms: 0,
            round_throttled: false,
        }
    }

    /// The run with `policy` (a run read back from storage carries the default one).
    pub fn with_policy(mut self, policy: WritePolicy) -> WriteRun {
        self.policy = policy;
        self
    }

    /// The first step: send.
    pub fn start(&self) -> Step {
        Step::Send {
            after_ms: 0,
            renew_token: false,
        }
    }

    /// Sends made so far (those answered 429 included).
    pub fn sends(&self) -> u32 {
        self.sends
    }

    /// Sends that count against `max_sends`: every send but those answered 429.
    fn counted_sends(&self) -> u32 {
        self.sends.saturating_sub(self.throttled_sends)
    }

    /// Waits on 429s so far, in ms.
    pub fn throttled_ms(&self) -> u64 {
        self.throttled_ms
    }

    /// The run picked up again after a reload or a crash, long after it stopped: a fresh
    /// window (failed read-backs, throttled waits and the token renewal forgotten; the caller
    /// restarts its clock). `reading_back`: the run was in a read-back round, which starts
    /// over. Returns the step to take first: a read-back whenever an earlier send may have been
    /// applied, so nothing is resent without one; `None` when the run goes on as it stood.
    pub fn resume(&mut self, reading_back: bool) -> Option<Step> {
        self.failed_read_backs = 0;
        self.throttled_ms = 0;
        self.token_renewed = false;
        if reading_back {
            self.round_read_backs = 0;
            return Some(Step::ReadBack {
                after_ms: self.first_read_back_delay(),
            });
        }
        if self.in_doubt {
            let floor = self.resend_floor_ms;
            return Some(self.begin_round(true, floor));
        }
        None
    }

    fn first_read_back_delay(&self) -> u64 {
        self.policy
            .read_back_delays_ms
            .first()
            .copied()
            .unwrap_or(0)
    }

    /// Whether an earlier send may have been applied.
    pub fn in_doubt(&self) -> bool {
        self.in_doubt
    }

    fn give_up(&self) -> Step {
        Step::Fail(if self.in_doubt {
            Failure::Unsettled
        } else {
            Failure::Refused
        })
    }

    /// Whether `wait_ms` more fits the time budget; waits Graph asked for (429) do not count.
    fn within_time(&self, elapsed_ms: u64, wait_ms: u64) -> bool {
        elapsed_ms
            .saturating_sub(self.throttled_ms)
            .saturating_add(wait_ms)
            <= self.policy.retry.max_elapsed_ms
    }

    /// A resend after `wait_ms`, if sends and time allow; else `otherwise`.
    fn resend(&self, elapsed_ms: u64, wait_ms: u64, otherwise: Step) -> Step {
        if self.counted_sends() < self.policy.max_sends && self.within_time(elapsed_ms, wait_ms) {
            Step::Send {
                after_ms: wait_ms,
                renew_token: false,
            }
        } else {
            otherwise
        }
    }

    fn begin_round(&mut self, may_resend: bool, resend_floor_ms: u64) -> Step {
        self.round_read_backs = 0;
        self.round_may_resend = may_resend;
        self.resend_floor_ms = resend_floor_ms;
        self.round_throttled = false;
        Step::ReadBack {
            after_ms: self.first_read_back_delay(),
        }
    }

    /// Decides after `event`; `elapsed_ms` since the first send, `jitter` in [0, 1).
    pub fn on(&mut self, event: Event, elapsed_ms: u64, jitter: f64) -> Step {
        let backoff = self.policy.retry.backoff_ms(self.sends.max(1), jitter);
        match event {
            Event::Sent(result) => {
                self.sends += 1;
                self.on_sent(result, jitter)
            }
            Event::ReadBack(ReadBackResult::Applied) => Step::Done(Confirmed::ReadBack),
            Event::ReadBack(ReadBackResult::NotApplied) => {
                self.round_read_backs += 1;
                if let Some(wait) = self
                    .policy
                    .read_back_delays_ms
                    .get(self.round_read_backs)
                    .copied()
                {
                    if self.within_time(elapsed_ms, wait) {
                        return Step::ReadBack { after_ms: wait };
                    }
                    return self.give_up();
                }
                // Not applied after the whole lag window.
                if self.round_throttled {
                    // Still throttled past the wait allowed, and known not applied.
                    Step::Fail(Failure::NotSent)
                } else if self.round_may_resend {
                    let wait = self.resend_floor_ms.max(backoff);
                    self.resend(elapsed_ms, wait, Step::Fail(Failure::NotApplied))
                } else {
                    Step::Fail(Failure::Refused)
                }
            }
            // A throttled read-back: not a failure. Wait as told and read again.
            Event::ReadBack(ReadBackResult::Failed {
                status: Some(429),
                retry_after_s,
            }) => {
                let wait = retry_after_s
                    .map(|s| s.saturating_mul(1000))
                    .unwrap_or(backoff);
                self.throttled_ms = self.throttled_ms.saturating_add(wait);
                Step::ReadBack { after_ms: wait }
            }
            Event::ReadBack(ReadBackResult::CannotTell) => self.on(
                Event::ReadBack(ReadBackResult::Failed {
                    status: None,
                    retry_after_s: None,
                }),
                elapsed_ms,
                jitter,
            ),
            Event::ReadBack(ReadBackResult::Failed {
                status,
                retry_after_s,
            }) => {
                self.failed_read_backs += 1;
                let retryable = matches!(status, None | Some(500 | 502 | 503 | 504));
                let wait = retry_after_s
                    .map(|s| s.saturating_mul(1000))
                    .unwrap_or(self.policy.retry.backoff_ms(self.failed_read_backs, jitter));
                if retryable
                    && self.failed_read_backs <= self.policy.max_failed_read_backs
                    && self.within_time(elapsed_ms, wait)
                {
                    Step::ReadBack { after_ms: wait }
                } else {
                    Step::Fail(Failure::Unsettled)
                }
            }
        }
    }

    fn on_sent(&mut self, result: SendResult, jitter: f64) -> Step {
        let backoff = self.policy.retry.backoff_ms(self.sends, jitter);
        let (status, retry_after_s, validation) = match result {
            SendResult::Applied => return Step::Done(Confirmed::Answered),
            SendResult::Lost => {
                self.in_doubt = true;
                return self.begin_round(true, 0);
            }
            SendResult::Refused {
                status,
                retry_after_s,
                validation,
            } => (status, retry_after_s, validation),
        };
        let retry_after_ms = retry_after_s.map(|s| s.saturating_mul(1000));
        match (status, self.kind) {
            // Surely not applied: the token was refused. Renew once and send again.
            (401, _) if !self.token_renewed => {
                self.token_renewed = true;
                Step::Send {
                    after_ms: 0,
                    renew_token: true,
                }
            }
            // Throttled: not applied. Wait as told and send again, however often; it is no
            // send of the budget. Past the total wait allowed: not sent (after a read-back when
            // an earlier send may have been applied).
            (429, _) => {
                self.throttled_sends += 1;
                let wait = retry_after_ms.unwrap_or(backoff);
                let total = self.throttled_ms.saturating_add(wait);
                if self
                    .policy
                    .max_throttled_wait_ms
                    .is_some_and(|max| total > max)
                {
                    if !self.in_doubt {
                        return Step::Fail(Failure::NotSent);
                    }
                    let step = self.begin_round(false, 0);
                    self.round_throttled = true;
                    return step;
                }
                self.throttled_ms = total;
                Step::Send {
                    after_ms: wait,
                    renew_token: false,
                }
            }
            // Maybe applied: read back before anything is resent.
            (500 | 502 | 503 | 504, _) => {
                self.in_doubt = true;
                self.begin_round(true, retry_after_ms.unwrap_or(0))
            }
            // Our resent install meets the app installed: our earlier attempt was applied.
            (409, WriteKind::Install) if self.in_doubt => Step::Done(Confirmed::Conflict),
            // Our resent uninstall finds nothing: our earlier attempt removed it.
            (404, WriteKind::Uninstall) if self.in_doubt => Step::Done(Confirmed::Conflict),
            // A resent upgrade refused: read back once more (no further send).
            (400..=499, WriteKind::Upgrade) if self.in_doubt => self.begin_round(false, 0),
            // The transient install 400: anything we cannot name. Read back, then once more.
            (400, WriteKind::Install) if validation.is_none() && !self.transient_retried => {
                self.transient_retried = true;
                self.in_doubt = true;
                self.begin_round(true, 0)
            }
            // Refused again after that one retry (a definition published since the consent was
            // checked answers so every time): read back once more, never sent a third time; not
            // there, it ends refused.
            (400, WriteKind::Install) if validation.is_none() && self.in_doubt => {
                self.begin_round(false, 0)
            }
            _ => self.give_up(),
        }
    }
}

/// "Show request": the write as the exact HTTP request, and as Graph PowerShell and CLI for
/// Microsoft 365 commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commands {
    pub http: String,
    pub powershell: String,
    pub cli: String,
}

impl Write {
    /// The commands for this write. `named` is how the commands name the user (an object id or
    /// UPN; the signed-in user's own when the write goes through `/me`).
    pub fn commands(&self, graph_host: &str, graph_base: &str, named: &UserRef) -> Commands {
        let request = self.request(graph_host);
        Commands {
            http: http_text(&request, graph_base),
            powershell: powershell(self, &request, graph_base, named),
            cli: cli_m365(self, &request, graph_base, named),
        }
    }
}

/// The request as text: request line, headers (the token elided), blank line, pretty body.
pub fn http_text(request: &GraphRequest, graph_base: &str) -> String {
    let mut text = format!("{} {}\n", request.method.as_str(), request.url(graph_base));
    text.push_str("Authorization: Bearer {access token}\n");
    text.push_str("client-request-id: {a new GUID for each request}\n");
    for (name, value) in &request.headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    if let Some(body) = &request.body {
        text.push('\n');
        text.push_str(&pretty_json(body));
        text.push('\n');
    }
    text
}

/// A JSON value indented as `serde_json::to_string_pretty` does (two spaces), written by hand:
/// the compact serializer is in the binary anyway, the pretty one would cost kilobytes more.
pub fn pretty_json(value: &Value) -> String {
    fn write(out: &mut String, value: &Value, depth: usize) {
        let pad = |out: &mut String, depth: usize| {
            for _ in 0..depth {
                out.push_str("  ");
            }
        };
        match value {
            Value::Object(map) if !map.is_empty() => {
                out.push_str("{\n");
                for (i, (key, item)) in map.iter().enumerate() {
                    pad(out, depth + 1);
                    out.push_str(&Value::String(key.clone()).to_string());
                    out.push_str(": ");
                    write(out, item, depth + 1);
                    out.push_str(if i + 1 < map.len() { ",\n" } else { "\n" });
                }
                pad(out, depth);
                out.push('}');
            }
            Value::Array(items) if !items.is_empty() => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    pad(out, depth + 1);
                    write(out, item, depth + 1);
                    out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                pad(out, depth);
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(&mut out, value, 0);
    out
}

/// A PowerShell single-quoted string: every character PowerShell takes as a single quote
/// (`'`, and the curly `‘ ’ ‚ ‛`) is doubled.
pub fn ps_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A JSON value as a PowerShell hashtable or array literal.
fn ps_value(value: &Value, indent: usize) -> String {
    let pad = "    ".repeat(indent + 1);
    let close = "    ".repeat(indent);
    match value {
        Value::Object(map) => {
            let lines: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let key = if k.chars().all(|c| c.is_ascii_alphanumeric()) {
                        k.clone()
                    } else {
                        ps_string(k)
                    };
                    format!("{pad}{key} = {}", ps_value(v, indent + 1))
                })
                .collect();
            format!("@{{\n{}\n{close}}}", lines.join("\n"))
        }
        Value::Array(items) => {
            let lines: Vec<String> = items
                .iter()
                .map(|v| format!("{pad}{}", ps_value(v, indent + 1)))
                .collect();
            format!("@(\n{}\n{close})", lines.join("\n"))
        }
        Value::String(s) => ps_string(s),
        Value::Bool(b) => if *b { "$true" } else { "$false" }.to_string(),
        Value::Null => "$null".to_string(),
        Value::Number(n) => n.to_string(),
    }
}

/// The Microsoft Graph PowerShell equivalent. Install and uninstall have cmdlets
/// (`New-`/`Remove-MgUserTeamworkInstalledApp`); no cmdlet for the personal-scope upgrade
/// action could be confirmed, so it (and anything through `/me`) is `Invoke-MgGraphRequest`.
fn powershell(write: &Write, request: &GraphRequest, graph_base: &str, named: &UserRef) -> String {
    let params = request
        .body
        .as_ref()
        .map(|b| format!("$params = {}\n", ps_value(b, 0)))
        .unwrap_or_default();
    let with_body = |flag: &str| {
        if request.body.is_some() {
            format!(" {flag} $params")
        } else {
            String::new()
        }
    };
    let invoke = || {
        let url = match named.key() {
            // Nobody to name: the URL as sent (through /me).
            None => request.url(graph_base),
            Some(_) => {
                let mut as_named = request.clone();
                as_named.path = as_named.path.replacen(
                    &super::encode::user_path(&write.user),
                    &super::encode::user_path(named),
                    1,
                );
                as_named.url(graph_base)
            }
        };
        format!(
            "{params}Invoke-MgGraphRequest -Method {} -Uri {}{}",
            request.method.as_str(),
            ps_string(&url),
            with_body("-Body")
        )
    };
    let Some(user) = named.key() else {
        return invoke();
    };
    match &write.action {
        WriteAction::Install { .. } => format!(
            "{params}New-MgUserTeamworkInstalledApp -UserId {}{}",
            ps_string(user),
            with_body("-BodyParameter")
        ),
        WriteAction::Upgrade { .. } => invoke(),
        WriteAction::Uninstall { installation } => format!(
            "Remove-MgUserTeamworkInstalledApp -UserId {} -UserScopeTeamsAppInstallationId {}",
            ps_string(user),
            ps_string(installation.as_str())
        ),
    }
}

/// A POSIX shell single-quoted argument.
fn sh(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@:/=+".contains(c))
    {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// The CLI for Microsoft 365 equivalent: `m365 teams user app add` takes the catalog app id,
/// `upgrade` and `remove` the installation id; the user is `--userId` (object id) or
/// `--userName` (UPN). Those commands cannot send `consentedPermissionSet`, so a write that
/// sends one is shown as `m365 request` with the same body.
fn cli_m365(write: &Write, request: &GraphRequest, graph_base: &str, named: &UserRef) -> String {
    let user = match named {
        UserRef::ObjectId(id) => Some(format!("--userId {}", sh(id))),
        UserRef::Upn(upn) => Some(format!("--userName {}", sh(upn))),
        UserRef::Me => None,
    };
    let as_request = |note: &str| {
        let body = request
            .body
            .as_ref()
            .map(|b| {
                format!(
                    " --content-type application/json --body {}",
                    sh(&b.to_string())
                )
            })
            .unwrap_or_default();
        format!(
            "# {note}\nm365 request --method {} --url {}{body}",
            request.method.as_str().to_ascii_lowercase(),
            sh(&request.url(graph_base)),
        )
    };
    let Some(user) = user else {
        return as_request(
            "the teams user app commands need a user id or name: the same request as m365 request",
        );
    };
    if write.consent().is_some() {
        return as_request(
            "teams user app commands cannot send consentedPermissionSet: the same request as m365 request",
        );
    }
    match &write.action {
        WriteAction::Install { .. } => {
            format!(
                "m365 teams user app add --id {} {user}",
                sh(write.app.as_str())
            )
        }
        WriteAction::Upgrade { installation, .. } => format!(
            "m365 teams user app upgrade --id {} {user}",
            sh(installation.as_str())
        ),
        WriteAction::Uninstall { installation } => format!(
            "m365 teams user app remove --id {} {user} --force",
            sh(installation.as_str())
        ),
    }
}

#[cfg(test)]
mod tests;
