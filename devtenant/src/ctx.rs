//! What every handler shares: the tenant state, keys, sign-in sessions and grants, faults,
//! throttling, the request log and the origins' URLs.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::crypto::Keys;
use crate::faults::{Dice, Faults};
use crate::log::RequestLog;
use crate::store::Store;
use crate::throttle::Throttle;
use crate::visibility::Visibility;

/// The three origins.
#[derive(Clone, Debug)]
pub struct Urls {
    pub portal: String,
    pub identity: String,
    pub graph: String,
}

/// A pending authorization code.
#[derive(Clone, Debug)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scopes: Vec<String>,
    pub user_id: String,
    pub auth_time: i64,
    pub expires_at: i64,
    pub redeemed: bool,
    /// The authorize request's `claims` parameter (client capabilities, claims challenges).
    pub claims: Option<String>,
}

/// A refresh token (one family shares the 24-hour limit of its first sign-in).
#[derive(Clone, Debug)]
pub struct RefreshToken {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub family_expires_at: i64,
    pub auth_time: i64,
    pub redeemed: bool,
}

/// Which id goes in which property of an RSC `resourceSpecificPermissionGrant`. Graph's property
/// table says `clientId` is the Entra application's id and `clientAppId` its service
/// principal's; the names (and `oAuth2PermissionGrant`, where `clientId` is a service
/// principal's object id) say the opposite. Which one real Graph does is unverified, so the
/// dev tenant can play either and the portal must be right under both.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum GrantIds {
    /// As the names say: `clientAppId` the Entra application id, `clientId` the service
    /// principal's object id.
    #[default]
    Named,
    /// As the documentation's table says: `clientId` the Entra application id, `clientAppId`
    /// the service principal's object id.
    Documented,
}

/// Whether `/users/{key}/permissionGrants` takes a UPN. Graph documents `{user-id}` only
/// there (unlike `installedApps`, `{user-id | userPrincipalName}`); what it answers for a UPN is
/// unverified.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum GrantsByUpn {
    /// As documented: the key must be an object id; a UPN (`/users/{upn}` or
    /// `/users('{upn}')`) is a 400 `Request_BadRequest` "Invalid object identifier".
    #[default]
    Refuse,
    /// A UPN works as it does for installed apps.
    Accept,
}

/// What `consentedPermissionSet` reads as on installations made outside the portal (seeded
/// `"foreign": true`: from the Teams client, by a setup policy, by another tool), whose RSC
/// grants exist. Unverified: Graph may leave their consent unrecorded.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum ForeignConsentSet {
    /// `consentedPermissionSet: null`, the grants still there.
    #[default]
    Null,
    /// The set consented, as for installations made through Graph.
    Present,
}

/// Whether reading tenant-wide grants (`/oauth2PermissionGrants`, a service principal's
/// `appRoleAssignments`) needs a directory role besides the scope, as Microsoft documents
/// (Directory Readers, Global Reader, Application or Cloud Application Administrator, …;
/// Teams Administrator is not listed).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum AuditRoles {
    /// As documented: without one of those roles, 403 `Authorization_RequestDenied`.
    #[default]
    Strict,
    /// The scope alone is enough.
    Any,
}

/// Which installs and upgrades need `TeamsAppInstallation.ReadWriteAndConsentForUser`. The only
/// rule Microsoft writes down (footnote 1 of `team-post-installedapps.md`) says the non-consent
/// scopes cannot install apps that need *any* RSC consent; the personal-scope pages are silent,
/// so whether a delegated-only consented set needs the consent scope is unverified.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum ConsentScopeRule {
    /// Only a consented set holding an application permission needs the consent scope.
    Application,
    /// As written down: any consented set that consents to something needs it; a
    /// delegated-only one sent with `…ReadWriteForUser` is a 403 "Missing scope permissions".
    #[default]
    Any,
}

/// Run-time options fixed by flags.
#[derive(Clone, Debug)]
pub struct Options {
    /// Access token lifetime in seconds.
    pub access_token_lifetime: i64,
    /// SPA refresh token lifetime in seconds (24 h, fixed).
    pub refresh_token_lifetime: i64,
    /// Authorization code lifetime in seconds.
    pub code_lifetime: i64,
    /// Continuous access evaluation on.
    pub cae: bool,
    /// Delegated `...ForUser` scopes reach only the signed-in user's own personal scope (an
    /// administrator acting on another user gets 403).
    pub self_only: bool,
    /// Server page size of installed apps and the catalog (0: one page).
    pub page_size: usize,
    /// The ids of RSC grants: as named (default) or as documented.
    pub grant_ids: GrantIds,
    /// Whether `/users/{upn}/permissionGrants` works (default: refused, as documented).
    pub grants_by_upn: GrantsByUpn,
    /// `consentedPermissionSet` of installations made outside the portal (default: null).
    pub consent_set_on_foreign_installs: ForeignConsentSet,
    /// Whether tenant-wide grant reads need a directory role (default: strict, as documented).
    pub audit_roles: AuditRoles,
    /// Which consented sets need the consent scope (default: any, as written down).
    pub consent_scope_rule: ConsentScopeRule,
    /// The message of the 400 answering a consented set that does not equal the definition's
    /// required set (`None`: the dev tenant's own wording, naming both sets). Graph's text is
    /// undocumented: the portal must not depend on it.
    pub consent_error_text: Option<String>,
}

pub struct Ctx {
    pub store: Store,
    pub urls: Urls,
    pub keys: Keys,
    pub options: Mutex<Options>,
    pub codes: Mutex<HashMap<String, AuthCode>>,
    pub refresh_tokens: Mutex<HashMap<String, RefreshToken>>,
    /// Session cookie value → user id.
    pub sessions: Mutex<HashMap<String, String>>,
    pub faults: Mutex<Faults>,
    /// Draws for fault rates (seeded, reproducible).
    pub dice: Mutex<Dice>,
    pub throttle: Mutex<Throttle>,
    pub log: RequestLog,
    /// Seconds added to the clock the refresh-token lifetime is checked against (tests jump past
    /// the 24-hour cliff without waiting). Token timestamps stay on the real clock, because
    /// browsers check them against theirs.
    pub clock_offset: Mutex<i64>,
    /// Personal-app writes not yet visible to reads (the read-after-write lag fault).
    pub visibility: Mutex<Visibility>,
}

impl Ctx {
    /// Unix time.
    pub fn now(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }

    /// Unix time plus the test offset: what refresh-token lifetimes are checked against.
    pub fn refresh_clock(&self) -> i64 {
        self.now() + *lock(&self.clock_offset)
    }
}

/// Locks a mutex, recovering from poisoning (a panicked handler must not wedge the tenant).
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// ISO 8601 UTC time as Graph writes it.
pub fn iso_time(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
