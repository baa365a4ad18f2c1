//! The Settings page's connection check: what each feature of the portal can do in this tenant
//! with this session, as "works / needs scope X / needs role Y / not available in this cloud".
//! Decided from the cloud, the permissions the session's tokens hold, and one least-privileged
//! read per feature that reads. Writes are never sent: whether install, upgrade, uninstall and
//! RSC consent work is read from the permissions granted.
//!
//! [`Check`] drives it as a plain state machine: the page asks for the next read, sends it and
//! hands the answer back, so the whole check (which reads go out, in what order, and the
//! verdicts) is tested natively against scripted answers.
//!
//! A read is only sent with its permission held: asking for a permission the session lacks
//! could start an interactive consent, and the answer would say nothing the token did not. So a
//! 403 `Authorization_RequestDenied` from the directory reads behind the audit (delegated
//! grants, app-role assignments), whose permissions are held, means a directory role is missing.

use serde_json::Value;

use crate::auth::scopes::Operation;
use crate::cloud::Cloud;
use crate::graph::encode::UserRef;
use crate::graph::error::{ErrorKind, GraphError};
use crate::graph::request::{self, GraphRequest, Method};

/// A feature of the portal, as the check reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// List a user's personal apps.
    PersonalApps,
    /// Install, upgrade and uninstall (decided from the permissions: never written).
    InstallUpgradeUninstall,
    /// Install or upgrade consenting to an app's RSC permissions (from the permissions, and the
    /// tenant switch).
    RscConsent,
    /// A user's RSC grants.
    RscGrants,
    /// The tenant app catalog.
    Catalog,
    /// The tenant switch for personal-scope RSC.
    TenantSwitch,
    /// The audit's tenant-wide delegated grants (`oauth2PermissionGrants`).
    DelegatedGrants,
    /// The audit's app-role assignments of a service principal.
    AppRoleAssignments,
    /// Search users by name, UPN or mail.
    FindUsers,
    /// Bulk jobs and the audit: read users with `accountEnabled`.
    ResolveUsers,
}

/// Every feature, in the order the page lists them.
pub const FEATURES: [Feature; 10] = [
    Feature::PersonalApps,
    Feature::InstallUpgradeUninstall,
    Feature::RscConsent,
    Feature::RscGrants,
    Feature::Catalog,
    Feature::TenantSwitch,
    Feature::DelegatedGrants,
    Feature::AppRoleAssignments,
    Feature::FindUsers,
    Feature::ResolveUsers,
];

/// The directory roles, any one of which lets a user read delegated grants and app-role
/// assignments (learn: `oauth2permissiongrant-get`); Teams Administrator is not one of them.
pub const AUDIT_READER_ROLES: [&str; 4] = [
    "Global Reader",
    "Directory Readers",
    "Application Administrator",
    "Cloud Application Administrator",
];

/// The term of the users-search read: any letter does, only the answer's status counts.
pub const SEARCH_TERM: &str = "a";

impl Feature {
    /// The operations it needs, each named by its least-privileged permission.
    pub fn operations(self) -> &'static [Operation] {
        match self {
            Feature::PersonalApps => &[Operation::ReadInstallations],
            Feature::InstallUpgradeUninstall => &[Operation::WriteInstallations],
            Feature::RscConsent => &[Operation::WriteInstallationsWithConsent],
            Feature::RscGrants => &[Operation::ReadGrants],
            Feature::Catalog => &[Operation::ReadCatalog],
            Feature::TenantSwitch => &[Operation::ReadTenantSettings],
            Feature::DelegatedGrants => &[
                Operation::ReadServicePrincipals,
                Operation::ReadDelegatedGrants,
            ],
            Feature::AppRoleAssignments => &[Operation::ReadServicePrincipals],
            Feature::FindUsers => &[Operation::FindUsers],
            Feature::ResolveUsers => &[Operation::ReadUsers],
        }
    }

    /// The operation whose token its read is sent with; `None` for the features decided from
    /// the permissions alone (the writes).
    pub fn read_operation(self) -> Option<Operation> {
        match self {
            Feature::InstallUpgradeUninstall | Feature::RscConsent => None,
            Feature::PersonalApps => Some(Operation::ReadInstallations),
            Feature::RscGrants => Some(Operation::ReadGrants),
            Feature::Catalog => Some(Operation::ReadCatalog),
            Feature::TenantSwitch => Some(Operation::ReadTenantSettings),
            Feature::DelegatedGrants => Some(Operation::ReadDelegatedGrants),
            Feature::AppRoleAssignments => Some(Operation::ReadServicePrincipals),
            Feature::FindUsers => Some(Operation::FindUsers),
            Feature::ResolveUsers => Some(Operation::ReadUsers),
        }
    }

    /// Whether its read goes through the portal's own service principal (the audit's reads,
    /// which need a directory role besides the permission).
    pub fn reads_the_directory(self) -> bool {
        matches!(self, Feature::DelegatedGrants | Feature::AppRoleAssignments)
    }

    /// Its least-privileged read; `service_principal_id` is the portal's own service principal
    /// (for the directory reads). `None` for the features that are never read.
    pub fn read(self, service_principal_id: &str) -> Option<GraphRequest> {
        Some(match self {
            Feature::InstallUpgradeUninstall | Feature::RscConsent => return None,
            Feature::PersonalApps => request::list_installations(&UserRef::Me, None),
            Feature::RscGrants => request::permission_grants(&UserRef::Me),
            Feature::Catalog => request::organization_catalog(),
            Feature::TenantSwitch => request::tenant_settings(),
            Feature::DelegatedGrants => request::delegated_grants_of(service_principal_id),
            Feature::AppRoleAssignments => request::app_role_assignments_of(service_principal_id),
            Feature::FindUsers => request::search_users(SEARCH_TERM, 1),
            // What a job's plan reads of each user, for one user of the tenant.
            Feature::ResolveUsers => GraphRequest {
                method: Method::Get,
                path: "/users".into(),
                query: vec![
                    ("$select".into(), "id,accountEnabled".into()),
                    ("$top".into(), "1".into()),
                ],
                headers: Vec::new(),
                body: None,
                exact_url: None,
            },
        })
    }

    /// A stable name for the page (`data-feature`) and the tests.
    pub fn id(self) -> &'static str {
        match self {
            Feature::PersonalApps => "personal-apps",
            Feature::InstallUpgradeUninstall => "install-upgrade-uninstall",
            Feature::RscConsent => "rsc-consent",
            Feature::RscGrants => "rsc-grants",
            Feature::Catalog => "catalog",
            Feature::TenantSwitch => "tenant-switch",
            Feature::DelegatedGrants => "delegated-grants",
            Feature::AppRoleAssignments => "app-role-assignments",
            Feature::FindUsers => "find-users",
            Feature::ResolveUsers => "resolve-users",
        }
    }

    /// The i18n key of its name.
    pub fn label_key(self) -> &'static str {
        match self {
            Feature::PersonalApps => "page.settings.check.feature.personal_apps",
            Feature::InstallUpgradeUninstall => "page.settings.check.feature.write",
            Feature::RscConsent => "page.settings.check.feature.rsc_consent",
            Feature::RscGrants => "page.settings.check.feature.rsc_grants",
            Feature::Catalog => "page.settings.check.feature.catalog",
            Feature::TenantSwitch => "page.settings.check.feature.tenant_switch",
            Feature::DelegatedGrants => "page.settings.check.feature.delegated_grants",
            Feature::AppRoleAssignments => "page.settings.check.feature.app_roles",
            Feature::FindUsers => "page.settings.check.feature.find_users",
            Feature::ResolveUsers => "page.settings.check.feature.resolve_users",
        }
    }

    /// Whether `granted` (permission names, as the session holds them) allows `operation` for
    /// this feature. A write is also allowed by the wider consent permission; a read needs its
    /// own permission, since the read is sent with a token for exactly that one.
    fn holds(self, operation: Operation, granted: &[String]) -> bool {
        let has = |op: Operation| {
            granted
                .iter()
                .any(|g| g.trim().eq_ignore_ascii_case(op.permission()))
        };
        has(operation)
            || (self == Feature::InstallUpgradeUninstall
                && has(Operation::WriteInstallationsWithConsent))
    }
}

/// What to do about a failed read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Throttled or unavailable for now: check again later.
    TryLater,
    /// The session needs signing in again.
    SignInAgain,
    /// No answer reached the browser.
    CheckNetwork,
    /// Graph refused with the permission held: an administrator must look (policy, tenant).
    AskAdministrator,
}

impl Next {
    /// The i18n key saying it.
    pub fn key(self) -> &'static str {
        match self {
            Next::TryLater => "page.settings.check.next.try_later",
            Next::SignInAgain => "page.settings.check.next.sign_in_again",
            Next::CheckNetwork => "page.settings.check.next.check_network",
            Next::AskAdministrator => "page.settings.check.next.ask_administrator",
        }
    }
}

/// A read that failed for a reason no verdict names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub next: Next,
}

/// What the check says about one feature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its read succeeded.
    Works,
    /// The permissions held allow it (a write: nothing was sent).
    WorksFromPermissions,
    /// The tenant switch was read: personal-scope RSC is on.
    SwitchOn,
    /// The tenant switch was read: personal-scope RSC is off.
    SwitchOff,
    /// These permissions are missing from the session (least privileged each).
    NeedsScope(Vec<Operation>),
    /// A directory role is missing (one of [`AUDIT_READER_ROLES`]).
    NeedsRole,
    /// Graph does not offer it in this cloud.
    NotInCloud,
    /// The permission is held but the tenant switch is off: apps that need RSC cannot be
    /// installed for users.
    BlockedByTenantSwitch,
    /// The read failed otherwise.
    Failed(Failure),
}

impl Verdict {
    /// Whether the feature can be used.
    pub fn works(&self) -> bool {
        matches!(
            self,
            Verdict::Works | Verdict::WorksFromPermissions | Verdict::SwitchOn | Verdict::SwitchOff
        )
    }

    /// A stable name for the page (`data-verdict`) and the tests.
    pub fn id(&self) -> &'static str {
        match self {
            Verdict::Works | Verdict::WorksFromPermissions | Verdict::SwitchOn => "works",
            Verdict::SwitchOff => "works-switch-off",
            Verdict::NeedsScope(_) => "needs-scope",
            Verdict::NeedsRole => "needs-role",
            Verdict::NotInCloud => "not-in-cloud",
            Verdict::BlockedByTenantSwitch => "blocked-by-tenant-switch",
            Verdict::Failed(_) => "failed",
        }
    }

    /// The i18n key of its message.
    pub fn key(&self) -> &'static str {
        match self {
            Verdict::Works => "page.settings.check.works",
            Verdict::WorksFromPermissions => "page.settings.check.works_from_permissions",
            Verdict::SwitchOn => "page.settings.check.switch_on",
            Verdict::SwitchOff => "page.settings.check.switch_off",
            Verdict::NeedsScope(_) => "page.settings.check.needs_scope",
            Verdict::NeedsRole => "page.settings.check.needs_role",
            Verdict::NotInCloud => "page.settings.check.not_in_cloud",
            Verdict::BlockedByTenantSwitch => "page.settings.check.blocked_by_switch",
            Verdict::Failed(_) => "page.settings.check.failed",
        }
    }
}

/// How one read went, as the page saw it.
#[derive(Clone, Debug, PartialEq)]
pub enum ReadOutcome {
    /// A 2xx answer, with its JSON body when there is one.
    Answered(Option<Value>),
    /// Graph answered with an error (after the read retry policy).
    Graph(GraphError),
    /// No answer (network, CORS, an aborted connection), with what the browser said.
    NoAnswer(String),
    /// No token could be had silently, with the reason.
    SignIn(String),
}

/// What the check can say before reading anything: not offered in the cloud, a permission
/// missing, or (for the writes) that the permissions allow it. `None`: its read decides.
pub fn before_reading(feature: Feature, cloud: Cloud, granted: &[String]) -> Option<Verdict> {
    if !feature.operations().iter().all(|op| op.available_in(cloud)) {
        return Some(Verdict::NotInCloud);
    }
    let missing: Vec<Operation> = feature
        .operations()
        .iter()
        .copied()
        .filter(|op| !feature.holds(*op, granted))
        .collect();
    if !missing.is_empty() {
        return Some(Verdict::NeedsScope(missing));
    }
    feature
        .read_operation()
        .is_none()
        .then_some(Verdict::WorksFromPermissions)
}

/// The verdict of a feature's read.
pub fn classify(feature: Feature, outcome: &ReadOutcome) -> Verdict {
    let error = match outcome {
        ReadOutcome::Answered(_) => return Verdict::Works,
        ReadOutcome::NoAnswer(detail) => {
            return Verdict::Failed(Failure {
                status: None,
                code: "noAnswer".into(),
                message: detail.clone(),
                request_id: None,
                next: Next::CheckNetwork,
            })
        }
        ReadOutcome::SignIn(reason) => {
            return Verdict::Failed(Failure {
                status: None,
                code: "signIn".into(),
                message: reason.clone(),
                request_id: None,
                next: Next::SignInAgain,
            })
        }
        ReadOutcome::Graph(error) => error,
    };
    let next = match error.kind() {
        ErrorKind::MissingScope { .. } => {
            return Verdict::NeedsScope(feature.operations().to_vec());
        }
        ErrorKind::Forbidden
            if feature.reads_the_directory()
                && error
                    .code
                    .eq_ignore_ascii_case("Authorization_RequestDenied") =>
        {
            return Verdict::NeedsRole;
        }
        ErrorKind::Unauthorized => Next::SignInAgain,
        ErrorKind::Forbidden | ErrorKind::BlockedByPolicy | ErrorKind::NotFound => {
            Next::AskAdministrator
        }
        _ => Next::TryLater,
    };
    Verdict::Failed(Failure {
        status: Some(error.status),
        code: error.code.clone(),
        message: error.message.clone(),
        request_id: error.request_id.clone(),
        next,
    })
}

/// `isUserPersonalScopeResourceSpecificConsentEnabled` of a `teamsAppSettings` answer.
pub fn tenant_switch(body: &Value) -> Option<bool> {
    body.get("isUserPersonalScopeResourceSpecificConsentEnabled")
        .and_then(Value::as_bool)
}

/// A read the check sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Read {
    /// The portal's own service principal, before the directory reads.
    ServicePrincipal,
    /// A feature's read.
    Feature(Feature),
}

/// The portal's service principal, as far as the check knows it.
#[derive(Clone, Debug, PartialEq)]
enum Principal {
    Unknown,
    Found(String),
}

/// One run of the check.
#[derive(Clone, Debug)]
pub struct Check {
    client_id: String,
    verdicts: Vec<(Feature, Option<Verdict>)>,
    principal: Principal,
    switch: Option<bool>,
}

impl Check {
    /// A check of every feature in `cloud` with the session's `granted` permissions, for the
    /// registration `client_id` (whose service principal the directory reads go through).
    pub fn new(cloud: Cloud, granted: &[String], client_id: &str) -> Check {
        Check {
            client_id: client_id.to_string(),
            verdicts: FEATURES
                .iter()
                .map(|f| (*f, before_reading(*f, cloud, granted)))
                .collect(),
            principal: Principal::Unknown,
            switch: None,
        }
    }

    /// The next read to send, its request and the operation whose token it needs; `None` once
    /// every verdict is in. Always a `GET`.
    pub fn next_read(&self) -> Option<(Read, GraphRequest, Operation)> {
        let (feature, _) = self.verdicts.iter().find(|(_, v)| v.is_none())?;
        let feature = *feature;
        let operation = feature.read_operation()?;
        if feature.reads_the_directory() {
            let Principal::Found(id) = &self.principal else {
                return Some((
                    Read::ServicePrincipal,
                    request::service_principal_of(&self.client_id),
                    Operation::ReadServicePrincipals,
                ));
            };
            return Some((Read::Feature(feature), feature.read(id)?, operation));
        }
        Some((Read::Feature(feature), feature.read("")?, operation))
    }

    /// Takes the outcome of `read`.
    pub fn answer(&mut self, read: Read, outcome: &ReadOutcome) {
        match read {
            Read::ServicePrincipal => {
                let id = match outcome {
                    ReadOutcome::Answered(Some(body)) => {
                        body.get("id").and_then(Value::as_str).map(str::to_string)
                    }
                    _ => None,
                };
                match id {
                    Some(id) => self.principal = Principal::Found(id),
                    // Every directory read goes through it: each gets the lookup's verdict.
                    None => {
                        let outcome = match outcome {
                            ReadOutcome::Answered(_) => &ReadOutcome::NoAnswer(
                                "the service principal came back without an id".into(),
                            ),
                            other => other,
                        };
                        for (feature, verdict) in &mut self.verdicts {
                            if verdict.is_none() && feature.reads_the_directory() {
                                *verdict = Some(classify(*feature, outcome));
                            }
                        }
                    }
                }
            }
            Read::Feature(feature) => {
                let mut verdict = classify(feature, outcome);
                if let (Feature::TenantSwitch, ReadOutcome::Answered(Some(body))) =
                    (feature, outcome)
                {
                    self.switch = tenant_switch(body);
                    verdict = match self.switch {
                        Some(true) => Verdict::SwitchOn,
                        Some(false) => Verdict::SwitchOff,
                        None => Verdict::Works,
                    };
                }
                if let Some((_, slot)) = self.verdicts.iter_mut().find(|(f, _)| *f == feature) {
                    *slot = Some(verdict);
                }
            }
        }
    }

    /// Every feature with its verdict so far (`None`: not read yet). RSC consent allowed by the
    /// permissions is blocked when the tenant switch was read as off.
    pub fn verdicts(&self) -> Vec<(Feature, Option<Verdict>)> {
        self.verdicts
            .iter()
            .map(|(feature, verdict)| {
                let verdict = match (feature, verdict, self.switch) {
                    (Feature::RscConsent, Some(Verdict::WorksFromPermissions), Some(false)) => {
                        Some(Verdict::BlockedByTenantSwitch)
                    }
                    _ => verdict.clone(),
                };
                (*feature, verdict)
            })
            .collect()
    }

    /// Whether every verdict is in.
    pub fn is_done(&self) -> bool {
        self.next_read().is_none()
    }

    /// The operations the session lacks for the features that need them, least privileged
    /// first and without duplicates (for one "ask for them" button).
    pub fn missing_operations(&self) -> Vec<Operation> {
        let mut ops: Vec<Operation> = self
            .verdicts
            .iter()
            .filter_map(|(_, v)| match v {
                Some(Verdict::NeedsScope(ops)) => Some(ops.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        ops.sort();
        ops.dedup();
        ops
    }
}

/// Whether every request of the check is a read (tests and the page's guard).
pub fn is_read(request: &GraphRequest) -> bool {
    request.method == Method::Get && request.body.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::scopes::ALL_OPERATIONS;
    use crate::graph::error::parse_error;
    use serde_json::json;

    const CLIENT: &str = "6731de76-14a6-49ae-97bc-6eba6914391e";
    const SP: &str = "9a1b2c3d-0000-4000-8000-000000000001";

    fn all_permissions() -> Vec<String> {
        ALL_OPERATIONS
            .iter()
            .map(|op| op.permission().to_string())
            .collect()
    }

    fn sign_in_permissions() -> Vec<String> {
        crate::auth::scopes::SIGN_IN_OPERATIONS
            .iter()
            .map(|op| op.permission().to_string())
            .collect()
    }

    fn graph_error(status: u16, code: &str, message: &str) -> ReadOutcome {
        let body = json!({"error": {"code": code, "message": message, "innerError": {"request-id": "r-42"}}});
        ReadOutcome::Graph(parse_error(status, &[], body.to_string().as_bytes()))
    }

    /// Runs a check to the end, answering each read with `answer`; returns the reads sent.
    fn run(
        check: &mut Check,
        answer: impl Fn(Read, &GraphRequest) -> ReadOutcome,
    ) -> Vec<(Read, GraphRequest)> {
        let mut sent = Vec::new();
        while let Some((read, request, operation)) = check.next_read() {
            assert!(is_read(&request), "{request:?} is not a read");
            if let Read::Feature(f) = read {
                assert_eq!(Some(operation), f.read_operation());
            }
            let outcome = answer(read, &request);
            check.answer(read, &outcome);
            sent.push((read, request));
            assert!(sent.len() <= 20, "the check does not end");
        }
        sent
    }

    fn ok(read: Read, _: &GraphRequest) -> ReadOutcome {
        match read {
            Read::ServicePrincipal => {
                ReadOutcome::Answered(Some(json!({"id": SP, "appId": CLIENT})))
            }
            Read::Feature(Feature::TenantSwitch) => ReadOutcome::Answered(Some(
                json!({"isUserPersonalScopeResourceSpecificConsentEnabled": true}),
            )),
            Read::Feature(_) => ReadOutcome::Answered(Some(json!({"value": []}))),
        }
    }

    fn verdict(check: &Check, feature: Feature) -> Verdict {
        check
            .verdicts()
            .into_iter()
            .find(|(f, _)| *f == feature)
            .and_then(|(_, v)| v)
            .unwrap()
    }

    #[test]
    fn with_every_permission_each_read_goes_out_once_and_everything_works() {
        let mut check = Check::new(Cloud::Global, &all_permissions(), CLIENT);
        let sent = run(&mut check, ok);
        let reads: Vec<Read> = sent.iter().map(|(r, _)| *r).collect();
        assert_eq!(
            reads,
            [
                Read::Feature(Feature::PersonalApps),
                Read::Feature(Feature::RscGrants),
                Read::Feature(Feature::Catalog),
                Read::Feature(Feature::TenantSwitch),
                Read::ServicePrincipal,
                Read::Feature(Feature::DelegatedGrants),
                Read::Feature(Feature::AppRoleAssignments),
                Read::Feature(Feature::FindUsers),
                Read::Feature(Feature::ResolveUsers),
            ]
        );
        let paths: Vec<&str> = sent.iter().map(|(_, r)| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/me/teamwork/installedApps",
                "/me/permissionGrants",
                "/appCatalogs/teamsApps",
                "/teamwork/teamsAppSettings",
                "/servicePrincipals(appId=%276731de76-14a6-49ae-97bc-6eba6914391e%27)",
                "/oauth2PermissionGrants",
                &format!("/servicePrincipals/{SP}/appRoleAssignments"),
                "/users",
                "/users",
            ]
        );
        assert_eq!(
            sent[5].1.query,
            [("$filter".to_string(), format!("clientId eq '{SP}'"))]
        );
        for (feature, v) in check.verdicts() {
            let v = v.unwrap();
            assert!(v.works(), "{feature:?}: {v:?}");
        }
        assert_eq!(
            verdict(&check, Feature::InstallUpgradeUninstall),
            Verdict::WorksFromPermissions
        );
        assert_eq!(verdict(&check, Feature::TenantSwitch), Verdict::SwitchOn);
        assert!(check.is_done());
        assert!(check.missing_operations().is_empty());
    }

    #[test]
    fn after_sign_in_the_admin_only_permissions_are_named_and_never_read() {
        let mut check = Check::new(Cloud::Global, &sign_in_permissions(), CLIENT);
        let sent = run(&mut check, ok);
        let reads: Vec<Read> = sent.iter().map(|(r, _)| *r).collect();
        assert_eq!(
            reads,
            [
                Read::Feature(Feature::PersonalApps),
                Read::Feature(Feature::Catalog),
                Read::Feature(Feature::TenantSwitch),
                Read::Feature(Feature::FindUsers),
            ]
        );
        assert_eq!(
            verdict(&check, Feature::InstallUpgradeUninstall),
            Verdict::NeedsScope(vec![Operation::WriteInstallations])
        );
        assert_eq!(
            verdict(&check, Feature::RscConsent),
            Verdict::NeedsScope(vec![Operation::WriteInstallationsWithConsent])
        );
        assert_eq!(
            verdict(&check, Feature::RscGrants),
            Verdict::NeedsScope(vec![Operation::ReadGrants])
        );
        assert_eq!(
            verdict(&check, Feature::DelegatedGrants),
            Verdict::NeedsScope(vec![
                Operation::ReadServicePrincipals,
                Operation::ReadDelegatedGrants
            ])
        );
        assert_eq!(
            check.missing_operations(),
            [
                Operation::ReadGrants,
                Operation::WriteInstallations,
                Operation::WriteInstallationsWithConsent,
                Operation::ReadUsers,
                Operation::ReadServicePrincipals,
                Operation::ReadDelegatedGrants,
            ]
        );
    }

    #[test]
    fn writes_are_decided_from_the_permissions_the_consent_one_included() {
        let mut granted = sign_in_permissions();
        granted.push("teamsappinstallation.readwriteandconsentforuser".into());
        let check = Check::new(Cloud::Global, &granted, CLIENT);
        assert_eq!(
            verdict(&check, Feature::InstallUpgradeUninstall),
            Verdict::WorksFromPermissions
        );
        assert_eq!(
            verdict(&check, Feature::RscConsent),
            Verdict::WorksFromPermissions
        );
        for feature in [Feature::InstallUpgradeUninstall, Feature::RscConsent] {
            assert_eq!(feature.read(SP), None);
            assert_eq!(feature.read_operation(), None);
        }
    }

    #[test]
    fn a_denied_directory_read_means_a_missing_role_and_keeps_the_rest() {
        let mut check = Check::new(Cloud::Global, &all_permissions(), CLIENT);
        run(&mut check, |read, request| match read {
            Read::Feature(Feature::DelegatedGrants | Feature::AppRoleAssignments) => {
                assert!(request.url("https://graph.microsoft.com/v1.0").contains(SP));
                graph_error(
                    403,
                    "Authorization_RequestDenied",
                    "Insufficient privileges to complete the operation.",
                )
            }
            _ => ok(read, request),
        });
        assert_eq!(
            verdict(&check, Feature::DelegatedGrants),
            Verdict::NeedsRole
        );
        assert_eq!(
            verdict(&check, Feature::AppRoleAssignments),
            Verdict::NeedsRole
        );
        assert_eq!(verdict(&check, Feature::PersonalApps), Verdict::Works);
        assert_eq!(verdict(&check, Feature::RscGrants), Verdict::Works);
        // The same code on a read that needs no directory role is no role verdict.
        let denied = graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges",
        );
        assert!(matches!(
            classify(Feature::Catalog, &denied),
            Verdict::Failed(Failure {
                next: Next::AskAdministrator,
                ..
            })
        ));
    }

    #[test]
    fn a_failed_service_principal_lookup_gives_both_directory_reads_its_verdict() {
        let mut check = Check::new(Cloud::Global, &all_permissions(), CLIENT);
        let sent = run(&mut check, |read, request| match read {
            Read::ServicePrincipal => graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges",
            ),
            _ => ok(read, request),
        });
        assert_eq!(
            sent.iter()
                .filter(|(r, _)| *r == Read::ServicePrincipal)
                .count(),
            1
        );
        assert!(!sent
            .iter()
            .any(|(r, _)| r.eq(&Read::Feature(Feature::DelegatedGrants))));
        assert_eq!(
            verdict(&check, Feature::DelegatedGrants),
            Verdict::NeedsRole
        );
        assert_eq!(
            verdict(&check, Feature::AppRoleAssignments),
            Verdict::NeedsRole
        );
        // Without an id in the answer, they fail, and the check still ends.
        let mut check = Check::new(Cloud::Global, &all_permissions(), CLIENT);
        run(&mut check, |read, request| match read {
            Read::ServicePrincipal => ReadOutcome::Answered(Some(json!({}))),
            _ => ok(read, request),
        });
        assert!(matches!(
            verdict(&check, Feature::AppRoleAssignments),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn the_tenant_switch_off_blocks_rsc_consent_held_by_permission() {
        let mut check = Check::new(Cloud::Global, &all_permissions(), CLIENT);
        run(&mut check, |read, request| match read {
            Read::Feature(Feature::TenantSwitch) => ReadOutcome::Answered(Some(
                json!({"isUserPersonalScopeResourceSpecificConsentEnabled": false}),
            )),
            _ => ok(read, request),
        });
        assert_eq!(verdict(&check, Feature::TenantSwitch), Verdict::SwitchOff);
        assert!(verdict(&check, Feature::TenantSwitch).works());
        assert_eq!(
            verdict(&check, Feature::RscConsent),
            Verdict::BlockedByTenantSwitch
        );
        assert_eq!(
            verdict(&check, Feature::InstallUpgradeUninstall),
            Verdict::WorksFromPermissions
        );
    }

    #[test]
    fn china_reads_only_what_it_offers() {
        let mut check = Check::new(Cloud::China, &all_permissions(), CLIENT);
        let sent = run(&mut check, ok);
        for feature in [
            Feature::PersonalApps,
            Feature::InstallUpgradeUninstall,
            Feature::RscConsent,
            Feature::RscGrants,
        ] {
            assert_eq!(verdict(&check, feature), Verdict::NotInCloud, "{feature:?}");
            assert!(!sent.iter().any(|(r, _)| *r == Read::Feature(feature)));
        }
        assert_eq!(verdict(&check, Feature::Catalog), Verdict::Works);
        assert_eq!(verdict(&check, Feature::FindUsers), Verdict::Works);
        // Not in the cloud wins over a missing permission.
        let check = Check::new(Cloud::China, &[], CLIENT);
        assert_eq!(verdict(&check, Feature::RscGrants), Verdict::NotInCloud);
        for cloud in [Cloud::UsGovL4, Cloud::UsGovL5] {
            let check = Check::new(cloud, &all_permissions(), CLIENT);
            assert!(!check
                .verdicts()
                .iter()
                .any(|(_, v)| v == &Some(Verdict::NotInCloud)));
        }
    }

    #[test]
    fn errors_become_verdicts_with_code_request_id_and_what_to_do() {
        let table: Vec<(ReadOutcome, Verdict)> = vec![
            (
                graph_error(403, "Forbidden", "Missing scope permissions on the request. API requires one of 'TeamsAppInstallation.ReadForUser'. Scopes on the request 'User.Read'"),
                Verdict::NeedsScope(vec![Operation::ReadInstallations]),
            ),
            (
                graph_error(429, "TooManyRequests", "slow down"),
                Verdict::Failed(Failure {
                    status: Some(429),
                    code: "TooManyRequests".into(),
                    message: "slow down".into(),
                    request_id: Some("r-42".into()),
                    next: Next::TryLater,
                }),
            ),
            (
                graph_error(401, "InvalidAuthenticationToken", "expired"),
                Verdict::Failed(Failure {
                    status: Some(401),
                    code: "InvalidAuthenticationToken".into(),
                    message: "expired".into(),
                    request_id: Some("r-42".into()),
                    next: Next::SignInAgain,
                }),
            ),
            (
                ReadOutcome::NoAnswer("Failed to fetch".into()),
                Verdict::Failed(Failure {
                    status: None,
                    code: "noAnswer".into(),
                    message: "Failed to fetch".into(),
                    request_id: None,
                    next: Next::CheckNetwork,
                }),
            ),
            (
                ReadOutcome::SignIn("interaction_required".into()),
                Verdict::Failed(Failure {
                    status: None,
                    code: "signIn".into(),
                    message: "interaction_required".into(),
                    request_id: None,
                    next: Next::SignInAgain,
                }),
            ),
            (ReadOutcome::Answered(None), Verdict::Works),
        ];
        for (outcome, expected) in table {
            assert_eq!(
                classify(Feature::PersonalApps, &outcome),
                expected,
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn every_feature_names_its_messages_and_ids_once() {
        let mut ids: Vec<&str> = FEATURES.iter().map(|f| f.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), FEATURES.len());
        for feature in FEATURES {
            assert!(feature
                .label_key()
                .starts_with("page.settings.check.feature."));
            assert!(!feature.operations().is_empty());
        }
        // Every operation of the scope table but the profile read is behind a feature.
        for op in ALL_OPERATIONS {
            let covered = FEATURES.iter().any(|f| f.operations().contains(&op));
            assert_eq!(covered, op != Operation::ReadProfile, "{op:?}");
        }
    }
}
