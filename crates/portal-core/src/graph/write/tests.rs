//! The write model's decisions, table-driven: each case is a kind of write, the events it meets
//! (with the clock), and the steps the model must take.

use super::*;
use crate::graph::error::parse_error;
use crate::graph::models::{AppDefinition, PermissionType, TeamsApp};

const USER: &str = "5b649834-7412-4cce-9e69-176e95a394f5";
const APP: &str = "12345678-9abc-def0-123456789a";
const INST: &str = "NWI2NDk4MzQ=";

fn refused(status: u16) -> Event {
    Event::Sent(SendResult::Refused {
        status,
        retry_after_s: None,
        validation: None,
    })
}

fn refused_after(status: u16, seconds: u64) -> Event {
    Event::Sent(SendResult::Refused {
        status,
        retry_after_s: Some(seconds),
        validation: None,
    })
}

fn invalid(validation: Validation) -> Event {
    Event::Sent(SendResult::Refused {
        status: 400,
        retry_after_s: None,
        validation: Some(validation),
    })
}

const LOST: Event = Event::Sent(SendResult::Lost);
const OK: Event = Event::Sent(SendResult::Applied);
const SEEN: Event = Event::ReadBack(ReadBackResult::Applied);
const UNSEEN: Event = Event::ReadBack(ReadBackResult::NotApplied);

fn read_failed(status: Option<u16>) -> Event {
    Event::ReadBack(ReadBackResult::Failed {
        status,
        retry_after_s: None,
    })
}

fn send(after_ms: u64) -> Step {
    Step::Send {
        after_ms,
        renew_token: false,
    }
}

fn read(after_ms: u64) -> Step {
    Step::ReadBack { after_ms }
}

/// The rest of a read-back round that keeps finding nothing: the lag window's later reads.
const LAG_WINDOW: (Event, Option<Step>) = (UNSEEN, Some(Step::ReadBack { after_ms: u64::MAX }));

/// Expands each [`LAG_WINDOW`] into the window's three later read-backs.
fn expand(steps: Vec<(Event, Option<Step>)>) -> Vec<(Event, Option<Step>)> {
    steps
        .into_iter()
        .flat_map(|step| {
            if step == LAG_WINDOW {
                vec![
                    (UNSEEN, Some(read(1000))),
                    (UNSEEN, Some(read(1500))),
                    (UNSEEN, Some(read(2500))),
                ]
            } else {
                vec![step]
            }
        })
        .collect()
}

/// Any resend after a wait (its length comes from the backoff).
const RESEND: Option<Step> = None;

struct Case {
    name: &'static str,
    kind: WriteKind,
    /// (event, expected step); `None` means "a Send after some backoff".
    steps: Vec<(Event, Option<Step>)>,
}

fn check(case: &Case) {
    let mut run = WriteRun::new(case.kind, WritePolicy::default());
    assert_eq!(run.start(), send(0), "{}: starts by sending", case.name);
    let mut clock = 0u64;
    for (i, (event, expected)) in expand(case.steps.clone()).iter().enumerate() {
        let step = run.on(*event, clock, 0.5);
        match expected {
            Some(expected) => assert_eq!(&step, expected, "{}: step {i}", case.name),
            None => assert!(
                matches!(
                    step,
                    Step::Send {
                        renew_token: false,
                        ..
                    }
                ),
                "{}: step {i} should resend, got {step:?}",
                case.name
            ),
        }
        clock += match step {
            Step::Send { after_ms, .. } | Step::ReadBack { after_ms } => after_ms + 100,
            _ => 0,
        };
    }
}

#[test]
fn decisions_after_each_outcome() {
    use WriteKind::*;
    let cases = vec![
        Case {
            name: "a 201 is done",
            kind: Install,
            steps: vec![(OK, Some(Step::Done(Confirmed::Answered)))],
        },
        Case {
            name: "a lost answer is read back first, applied → done, nothing resent",
            kind: Install,
            steps: vec![(LOST, Some(read(0))), (SEEN, Some(Step::Done(Confirmed::ReadBack)))],
        },
        Case {
            name: "a lost answer, not applied over the whole lag window → resent once",
            kind: Install,
            steps: vec![
                (LOST, Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (OK, Some(Step::Done(Confirmed::Answered))),
            ],
        },
        Case {
            name: "read-after-write lag: applied but visible only on the third read",
            kind: Install,
            steps: vec![
                (refused(504), Some(read(0))),
                (UNSEEN, Some(read(1000))),
                (UNSEEN, Some(read(1500))),
                (SEEN, Some(Step::Done(Confirmed::ReadBack))),
            ],
        },
        Case {
            name: "500 to an install: maybe applied, read back",
            kind: Install,
            steps: vec![(refused(500), Some(read(0))), (SEEN, Some(Step::Done(Confirmed::ReadBack)))],
        },
        Case {
            name: "502 to an upgrade: read back",
            kind: Upgrade,
            steps: vec![(refused(502), Some(read(0))), (SEEN, Some(Step::Done(Confirmed::ReadBack)))],
        },
        Case {
            name: "503 with Retry-After to an uninstall: read back now, resend no sooner than told",
            kind: Uninstall,
            steps: vec![
                (refused_after(503, 7), Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, Some(send(7000))),
                (OK, Some(Step::Done(Confirmed::Answered))),
            ],
        },
        Case {
            name: "a 409 after our own resend means our earlier install was applied",
            kind: Install,
            steps: vec![
                (LOST, Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (refused(409), Some(Step::Done(Confirmed::Conflict))),
            ],
        },
        Case {
            name: "a 409 to a first install is someone else's: refused, not 'done'",
            kind: Install,
            steps: vec![(refused(409), Some(Step::Fail(Failure::Refused)))],
        },
        Case {
            name: "a 404 after our own uninstall resend means it is gone",
            kind: Uninstall,
            steps: vec![
                (refused(500), Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (refused(404), Some(Step::Done(Confirmed::Conflict))),
            ],
        },
        Case {
            name: "a 404 to a first uninstall is refused",
            kind: Uninstall,
            steps: vec![(refused(404), Some(Step::Fail(Failure::Refused)))],
        },
        Case {
            name: "a resent upgrade refused is read back once more, never sent a third time",
            kind: Upgrade,
            steps: vec![
                (LOST, Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (refused(400), Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, Some(Step::Fail(Failure::Refused))),
            ],
        },
        Case {
            name: "the transient install 400 (a 400 naming nothing we sent): read back, then retried once",
            kind: Install,
            steps: vec![
                (refused(400), Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (OK, Some(Step::Done(Confirmed::Answered))),
            ],
        },
        Case {
            name: "the transient 400 is retried once only, then read back once more: refused",
            kind: Install,
            steps: vec![
                (refused(400), Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (refused(400), Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, Some(Step::Fail(Failure::Refused))),
            ],
        },
        Case {
            name: "the second 400 was applied after all: the last read-back says so",
            kind: Install,
            steps: vec![
                (refused(400), Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (refused(400), Some(read(0))),
                (SEEN, Some(Step::Done(Confirmed::ReadBack))),
            ],
        },
        Case {
            name: "the transient 400 was in fact applied: the read-back says so",
            kind: Install,
            steps: vec![(refused(400), Some(read(0))), (SEEN, Some(Step::Done(Confirmed::ReadBack)))],
        },
        Case {
            name: "a consent set mismatch is refused at once",
            kind: Install,
            steps: vec![(invalid(Validation::ConsentSetMismatch), Some(Step::Fail(Failure::Refused)))],
        },
        Case {
            name: "a bad bind is refused at once",
            kind: Install,
            steps: vec![(invalid(Validation::BadBind), Some(Step::Fail(Failure::Refused)))],
        },
        Case {
            name: "an unknown property is refused at once",
            kind: Install,
            steps: vec![(invalid(Validation::UnknownProperty), Some(Step::Fail(Failure::Refused)))],
        },
        Case {
            name: "a 400 to an upgrade (no doubt) is refused",
            kind: Upgrade,
            steps: vec![(refused(400), Some(Step::Fail(Failure::Refused)))],
        },
        Case {
            name: "403 and 404 to an install are refused",
            kind: Install,
            steps: vec![(refused(403), Some(Step::Fail(Failure::Refused)))],
        },
        Case {
            name: "429 was not applied: wait as told and resend, no read-back",
            kind: Install,
            steps: vec![
                (refused_after(429, 3), Some(send(3000))),
                (OK, Some(Step::Done(Confirmed::Answered))),
            ],
        },
        Case {
            name: "401 renews the token once and resends",
            kind: Uninstall,
            steps: vec![
                (refused(401), Some(Step::Send { after_ms: 0, renew_token: true })),
                (refused(401), Some(Step::Fail(Failure::Refused))),
            ],
        },
        Case {
            name: "a failing read-back is retried, then the write is unsettled (never resent blind)",
            kind: Install,
            steps: vec![
                (LOST, Some(read(0))),
                (read_failed(None), Some(read(375))),
                (read_failed(Some(503)), Some(read(750))),
                (read_failed(Some(500)), Some(read(1500))),
                (read_failed(Some(502)), Some(read(3000))),
                (read_failed(Some(504)), Some(Step::Fail(Failure::Unsettled))),
            ],
        },
        Case {
            name: "a read-back refused (403) leaves the write unsettled",
            kind: Uninstall,
            steps: vec![(LOST, Some(read(0))), (read_failed(Some(403)), Some(Step::Fail(Failure::Unsettled)))],
        },
        Case {
            name: "sends are bounded: after four sends in doubt, unsettled",
            kind: Install,
            steps: vec![
                (LOST, Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (LOST, Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (refused(502), Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, RESEND),
                (LOST, Some(read(0))),
                LAG_WINDOW,
                (UNSEEN, Some(Step::Fail(Failure::NotApplied))),
            ],
        },
    ];
    for case in &cases {
        check(case);
    }
}

#[test]
fn time_runs_out_in_doubt_as_unsettled() {
    let mut run = WriteRun::new(WriteKind::Install, WritePolicy::default());
    assert_eq!(run.on(LOST, 0, 0.0), read(0));
    // The next read-back would pass the two-minute budget.
    assert_eq!(run.on(UNSEEN, 119_500, 0.0), Step::Fail(Failure::Unsettled));
    // Throttled with a Retry-After past the total wait allowed, and no doubt: not sent (a 429
    // is never "refused").
    let mut run = WriteRun::new(WriteKind::Install, WritePolicy::default());
    assert_eq!(
        run.on(refused_after(429, 600), 0, 0.0),
        Step::Fail(Failure::NotSent)
    );
}

#[test]
fn throttled_past_the_total_wait_a_write_ends_not_sent_or_reads_back_when_in_doubt() {
    // 120 s of waits in all: 60 429s of 2 s each are waited out, the next one is too many.
    let mut run = WriteRun::new(WriteKind::Install, WritePolicy::default());
    let mut clock = 0;
    for _ in 0..60 {
        assert_eq!(run.on(refused_after(429, 2), clock, 0.5), send(2000));
        clock += 2100;
    }
    assert_eq!(run.throttled_ms(), MAX_THROTTLED_WAIT_MS);
    assert_eq!(
        run.on(refused_after(429, 2), clock, 0.5),
        Step::Fail(Failure::NotSent)
    );

    // In doubt (a lost answer, then nothing seen over the window), then throttled past the
    // wait: it reads back instead of ending; seen → done, never seen → not sent.
    let in_doubt = || {
        let mut run = WriteRun::new(WriteKind::Install, WritePolicy::default());
        assert_eq!(run.on(LOST, 0, 0.5), read(0));
        for wait in [1000, 1500, 2500] {
            assert_eq!(run.on(UNSEEN, 100, 0.5), read(wait));
        }
        assert!(matches!(run.on(UNSEEN, 6000, 0.5), Step::Send { .. }));
        assert_eq!(run.on(refused_after(429, 600), 7000, 0.5), read(0));
        run
    };
    let mut seen = in_doubt();
    assert_eq!(seen.on(SEEN, 7100, 0.5), Step::Done(Confirmed::ReadBack));
    let mut unseen = in_doubt();
    for wait in [1000, 1500, 2500] {
        assert_eq!(unseen.on(UNSEEN, 7100, 0.5), read(wait));
    }
    assert_eq!(unseen.on(UNSEEN, 12_000, 0.5), Step::Fail(Failure::NotSent));

    // A job's writes wait as told however long.
    let job = WritePolicy {
        max_throttled_wait_ms: None,
        ..WritePolicy::default()
    };
    let mut run = WriteRun::new(WriteKind::Install, job);
    for i in 0..100u64 {
        assert_eq!(
            run.on(refused_after(429, 30), i * 30_000, 0.5),
            send(30_000)
        );
    }
}

#[test]
fn a_throttled_or_incomplete_read_back_is_read_again_never_counted_as_applied() {
    let mut run = WriteRun::new(WriteKind::Uninstall, WritePolicy::default());
    assert_eq!(run.on(LOST, 0, 0.5), read(0));
    // 429s to the read-back are waited out however many (the four failures allowed are
    // not used up by them).
    for _ in 0..10 {
        assert_eq!(
            run.on(
                Event::ReadBack(ReadBackResult::Failed {
                    status: Some(429),
                    retry_after_s: Some(3)
                }),
                100,
                0.5
            ),
            read(3000)
        );
    }
    // An answer that cannot tell is read again, as a failed read-back: four times, then
    // unsettled (never applied).
    let cannot_tell = Event::ReadBack(ReadBackResult::CannotTell);
    for _ in 0..4 {
        assert!(matches!(
            run.on(cannot_tell, 200, 0.5),
            Step::ReadBack { .. }
        ));
    }
    assert_eq!(
        run.on(cannot_tell, 300, 0.5),
        Step::Fail(Failure::Unsettled)
    );
}

#[test]
fn a_resumed_run_reads_back_first_when_in_doubt_and_has_a_fresh_window() {
    // In doubt, mid-round, with its failures used up: resumed, the round starts over.
    let mut run = WriteRun::new(WriteKind::Install, WritePolicy::default());
    assert_eq!(run.on(LOST, 0, 0.5), read(0));
    for _ in 0..4 {
        run.on(read_failed(None), 100, 0.5);
    }
    assert_eq!(run.resume(true), Some(read(0)));
    assert!(matches!(
        run.on(read_failed(None), 0, 0.5),
        Step::ReadBack { .. }
    ));
    // About to resend after a round that saw nothing: resumed, it reads back first.
    let mut run = WriteRun::new(WriteKind::Install, WritePolicy::default());
    assert_eq!(run.on(LOST, 0, 0.5), read(0));
    for wait in [1000, 1500, 2500] {
        assert_eq!(run.on(UNSEEN, 100, 0.5), read(wait));
    }
    assert!(matches!(run.on(UNSEEN, 6000, 0.5), Step::Send { .. }));
    assert_eq!(run.resume(false), Some(read(0)));
    // No doubt: it goes on as it stood.
    let mut run = WriteRun::new(WriteKind::Install, WritePolicy::default());
    assert_eq!(run.on(refused_after(429, 1), 0, 0.5), send(1000));
    assert_eq!(run.resume(false), None);
}

fn rsc(value: &str, kind: PermissionType) -> ResourceSpecificPermission {
    ResourceSpecificPermission {
        permission_value: value.into(),
        permission_type: kind,
    }
}

fn user() -> UserRef {
    UserRef::ObjectId(USER.into())
}

fn installation(id: &str, app: &str, version: &str) -> Installation {
    Installation {
        id: id.into(),
        consented_permission_set: None,
        teams_app: Some(TeamsApp {
            id: app.into(),
            external_id: None,
            display_name: None,
            distribution_method: None,
            app_definitions: vec![],
        }),
        teams_app_definition: Some(AppDefinition {
            id: format!("def-{version}"),
            teams_app_id: Some(app.into()),
            display_name: None,
            version: Some(version.into()),
            publishing_state: None,
            description: None,
            last_modified_date_time: None,
            bot: None,
            authorization: None,
        }),
    }
}

#[test]
fn a_read_back_shows_each_write_applied_or_not() {
    let app = CatalogAppId::new(APP);
    let inst = InstallationId::new(INST);
    let install = Write::install(user(), app.clone(), None);
    let upgrade = Write::upgrade(user(), app.clone(), inst.clone(), "1.2.0", None);
    let uninstall = Write::uninstall(user(), app.clone(), inst.clone());
    let none: Vec<Installation> = vec![];
    let old = vec![installation(INST, &APP.to_uppercase(), "1.1.9")];
    let new = vec![installation(INST, APP, "1.2.0")];
    let other = vec![installation("other", "another-app", "9.0")];
    for (write, list, applied) in [
        (&install, &none, false),
        (&install, &other, false),
        (&install, &old, true),
        (&upgrade, &old, false),
        (&upgrade, &new, true),
        (&upgrade, &none, false),
        (&uninstall, &old, false),
        (&uninstall, &none, true),
        (&uninstall, &other, true),
    ] {
        assert_eq!(
            write.applied_in(list),
            applied,
            "{:?} in {:?}",
            write.kind(),
            list.iter().map(|i| &i.id).collect::<Vec<_>>()
        );
    }
    assert_eq!(
        install.read_back().url("https://g/v1.0"),
        format!("https://g/v1.0/users/{USER}/teamwork/installedApps?$expand=teamsApp%2CteamsAppDefinition&$filter=teamsApp%2Fid%20eq%20%27{APP}%27")
    );
}

#[test]
fn requests_and_operations() {
    let app = CatalogAppId::new(APP);
    let inst = InstallationId::new(INST);
    let send = vec![rsc("TeamsActivity.Send.User", PermissionType::Application)];
    let delegated = vec![rsc("InAppPurchase.Allow.User", PermissionType::Delegated)];
    let install = Write::install(user(), app.clone(), Some(send.clone()));
    assert_eq!(
        install.operation(),
        Operation::WriteInstallationsWithConsent
    );
    // Any consented set, delegated-only included, goes with the consent scope (see
    // `consent::operation_for`); an install consenting to nothing keeps the lesser one.
    assert_eq!(
        Write::install(user(), app.clone(), Some(delegated.clone())).operation(),
        Operation::WriteInstallationsWithConsent
    );
    assert_eq!(
        Write::upgrade(user(), app.clone(), inst.clone(), "2.0", Some(delegated)).operation(),
        Operation::WriteInstallationsWithConsent
    );
    assert_eq!(
        Write::install(user(), app.clone(), None).operation(),
        Operation::WriteInstallations
    );
    let request = install.request("graph.microsoft.com");
    assert_eq!(
        request.path,
        format!("/users/{USER}/teamwork/installedApps")
    );
    assert_eq!(
        request.body.as_ref().unwrap()["consentedPermissionSet"]["resourceSpecificPermissions"][0]
            ["permissionType"],
        "application"
    );
    let upgrade = Write::upgrade(user(), app.clone(), inst.clone(), "2.0", None);
    assert_eq!(
        upgrade.request("graph.microsoft.com").path,
        format!("/users/{USER}/teamwork/installedApps/{INST_ENCODED}/upgrade")
    );
    let uninstall = Write::uninstall(UserRef::Me, app, inst);
    assert_eq!(
        uninstall.request("graph.microsoft.com").path,
        format!("/me/teamwork/installedApps/{INST_ENCODED}")
    );
    assert_eq!(uninstall.operation(), Operation::WriteInstallations);
}

const INST_ENCODED: &str = "NWI2NDk4MzQ%3D";

#[test]
fn validation_failures_are_named_by_the_property_never_by_the_consent_wording() {
    let cases: [(&str, Option<Validation>); 8] = [
        // Graph's wording of a consent mismatch is undocumented: no words name it.
        (
            r#"{"error":{"code":"BadRequest","message":"The consented permission set does not match the resource-specific permissions required by the app definition."}}"#,
            None,
        ),
        (
            r#"{"error":{"code":"BadRequest","message":"Invalid consentedPermissionSet."}}"#,
            None,
        ),
        (
            r#"{"error":{"code":"BadRequest","message":"Each resourceSpecificPermission needs a permissionValue and a permissionType."}}"#,
            None,
        ),
        (
            r#"{"error":{"code":"BadRequest","message":"Invalid value for teamsApp@odata.bind."}}"#,
            Some(Validation::BadBind),
        ),
        (
            r#"{"error":{"code":"BadRequest","message":"Could not find a property named 'foo' on type 'microsoft.graph.userScopeTeamsAppInstallation'."}}"#,
            Some(Validation::UnknownProperty),
        ),
        (
            r#"{"error":{"code":"BadRequest","message":"Failed to execute Templates backend request CreateBotInstallationRequest. Please retry."}}"#,
            None,
        ),
        (
            r#"{"error":{"code":"BadRequest","message":"Something went wrong."}}"#,
            None,
        ),
        ("", None),
    ];
    for (body, expected) in cases {
        let error = parse_error(400, &[], body.as_bytes());
        assert_eq!(validation_failure(&error), expected, "{body}");
    }
    let not_400 = parse_error(
        403,
        &[],
        br#"{"error":{"code":"x","message":"teamsApp@odata.bind"}}"#,
    );
    assert_eq!(validation_failure(&not_400), None);
}

/// The texts a consent mismatch 400 might carry: the dev tenant's own two, others Graph might
/// use, one naming nothing, and none at all.
const CONSENT_ERROR_TEXTS: [&str; 7] = [
    "The consented permission set does not match the resource-specific permissions required by the app definition. Required: [TeamsActivity.Send.User (application)]; consented: [].",
    "The app requires consent to its resource-specific permissions: TeamsActivity.Send.User (application). Send consentedPermissionSet with exactly this set.",
    "Invalid consentedPermissionSet.",
    "Resource specific consent mismatch: permissionType or permissionValue differs.",
    "Bad request.",
    "Failed to execute Templates backend request CreateBotInstallationRequest. Please retry.",
    "",
];

/// The steps a write's run takes when every send is answered 400 with `text` and every
/// read-back finds nothing, until it ends (the events and the steps, as text).
fn steps_under_400s(write: &Write, text: &str) -> Vec<String> {
    let body = if text.is_empty() {
        String::new()
    } else {
        serde_json::json!({"error": {"code": "BadRequest", "message": text}}).to_string()
    };
    let error = parse_error(400, &[], body.as_bytes());
    let mut run = WriteRun::new(write.kind(), WritePolicy::default());
    let mut step = run.start();
    let mut clock = 0;
    let mut seen = Vec::new();
    for _ in 0..40 {
        seen.push(format!("{step:?}"));
        let event = match step {
            Step::Send { after_ms, .. } => {
                clock += after_ms;
                Event::Sent(write.send_result(&error))
            }
            Step::ReadBack { after_ms } => {
                clock += after_ms;
                UNSEEN
            }
            Step::Done(_) | Step::Fail(_) => return seen,
        };
        step = run.on(event, clock, 0.5);
    }
    panic!("the run did not end: {seen:?}");
}

#[test]
fn a_400_is_read_from_the_consent_sent_never_from_graphs_words() {
    let app = CatalogAppId::new(APP);
    let inst = InstallationId::new(INST);
    let send = vec![rsc("TeamsActivity.Send.User", PermissionType::Application)];
    let both = vec![
        rsc("TeamsActivity.Send.User", PermissionType::Application),
        rsc(
            "TeamsAppInstallation.Read.User",
            PermissionType::Application,
        ),
    ];
    let complete = Write::install(user(), app.clone(), Some(send.clone())).checked_against(&send);
    let unchecked = Write::install(user(), app.clone(), Some(send.clone()));
    let partial = Write::install(user(), app.clone(), Some(send.clone())).checked_against(&both);
    let omitted = Write::install(user(), app.clone(), None).checked_against(&send);
    let upgrade = Write::upgrade(user(), app.clone(), inst.clone(), "2.0", Some(send.clone()))
        .checked_against(&both);
    assert_eq!(complete.consent_sent(), ConsentSent::Valid);
    assert_eq!(unchecked.consent_sent(), ConsentSent::NotChecked);
    assert!(matches!(partial.consent_sent(), ConsentSent::Mismatch(_)));
    assert!(matches!(omitted.consent_sent(), ConsentSent::Mismatch(_)));
    assert_eq!(
        Write::uninstall(user(), app, inst)
            .checked_against(&send)
            .consent_sent(),
        ConsentSent::NotChecked
    );
    let refused_at_once = vec![format!("{:?}", send_step()), "Fail(Refused)".to_string()];
    for write in [&complete, &unchecked, &partial, &omitted, &upgrade] {
        let expected = steps_under_400s(write, CONSENT_ERROR_TEXTS[0]);
        for text in CONSENT_ERROR_TEXTS {
            assert_eq!(
                steps_under_400s(write, text),
                expected,
                "{:?} {:?} under {text:?}",
                write.kind(),
                write.consent_sent()
            );
        }
        let (status, validation) = match write.send_result(&parse_error(400, &[], b"")) {
            SendResult::Refused {
                status, validation, ..
            } => (status, validation),
            other => panic!("{other:?}"),
        };
        assert_eq!(status, 400);
        let mismatch = matches!(write.consent_sent(), ConsentSent::Mismatch(_));
        assert_eq!(validation.is_some(), mismatch);
        if mismatch || write.kind() == WriteKind::Upgrade {
            // Known not to match (or an upgrade, which Graph never fails transiently): refused
            // at the first 400, nothing resent.
            assert_eq!(expected, refused_at_once, "{:?}", write.consent_sent());
        } else {
            // Sent as Graph's rule wants it (as far as the portal knows): read back, sent once
            // more, read back again, refused. Two sends, never a third.
            assert_eq!(expected.iter().filter(|s| s.starts_with("Send")).count(), 2);
            assert_eq!(expected.last().map(String::as_str), Some("Fail(Refused)"));
        }
    }
    // Other statuses are left as they are.
    let throttled = parse_error(429, &[("Retry-After".into(), "3".into())], b"");
    assert_eq!(
        partial.send_result(&throttled),
        SendResult::Refused {
            status: 429,
            retry_after_s: Some(3),
            validation: None
        }
    );
}

fn send_step() -> Step {
    send(0)
}

#[test]
fn cli_names_the_installation_for_upgrade_and_remove_and_the_user_by_kind() {
    let base = "https://graph.microsoft.com/v1.0";
    let host = "graph.microsoft.com";
    let app = CatalogAppId::new(APP);
    let inst = InstallationId::new(INST);
    let by_id = user();
    let by_upn = UserRef::Upn("adele@contoso.com".into());
    let install = Write::install(by_id.clone(), app.clone(), None);
    assert_eq!(
        install.commands(host, base, &by_id).cli,
        format!("m365 teams user app add --id {APP} --userId {USER}")
    );
    assert_eq!(
        install.commands(host, base, &by_upn).cli,
        format!("m365 teams user app add --id {APP} --userName adele@contoso.com")
    );
    let upgrade = Write::upgrade(by_upn.clone(), app.clone(), inst.clone(), "2.0", None);
    assert_eq!(
        upgrade.commands(host, base, &by_upn).cli,
        format!("m365 teams user app upgrade --id {INST} --userName adele@contoso.com")
    );
    let remove = Write::uninstall(by_id.clone(), app.clone(), inst.clone());
    assert_eq!(
        remove.commands(host, base, &by_id).cli,
        format!("m365 teams user app remove --id {INST} --userId {USER} --force")
    );
    let consented = Write::install(
        by_id.clone(),
        app,
        Some(vec![rsc(
            "TeamsActivity.Send.User",
            PermissionType::Application,
        )]),
    );
    let cli = consented.commands(host, base, &by_id).cli;
    assert!(
        cli.contains("m365 request --method post --url https://graph.microsoft.com/v1.0/users/")
    );
    assert!(cli.contains("--body '{\"consentedPermissionSet\""));
}

#[test]
fn powershell_has_cmdlets_for_install_and_remove_and_invoke_for_upgrade() {
    let base = "https://graph.microsoft.com/v1.0";
    let host = "graph.microsoft.com";
    let app = CatalogAppId::new(APP);
    let inst = InstallationId::new(INST);
    let odd = UserRef::Upn("o'brien\u{2019}s@contoso.com".into());
    let install = Write::install(
        odd.clone(),
        app.clone(),
        Some(vec![rsc(
            "TeamsActivity.Send.User",
            PermissionType::Application,
        )]),
    );
    let ps = install.commands(host, base, &odd).powershell;
    assert!(ps.contains(
        "New-MgUserTeamworkInstalledApp -UserId 'o''brien\u{2019}\u{2019}s@contoso.com' -BodyParameter $params"
    ), "{ps}");
    assert!(ps.contains("permissionType = 'application'"));
    let upgrade = Write::upgrade(user(), app.clone(), inst.clone(), "2.0", None);
    assert_eq!(
        upgrade.commands(host, base, &user()).powershell,
        format!("Invoke-MgGraphRequest -Method POST -Uri '{base}/users/{USER}/teamwork/installedApps/{INST_ENCODED}/upgrade'")
    );
    let with_consent = Write::upgrade(
        user(),
        app.clone(),
        inst.clone(),
        "2.0",
        Some(vec![rsc(
            "TeamsActivity.Send.User",
            PermissionType::Application,
        )]),
    );
    let ps = with_consent.commands(host, base, &user()).powershell;
    assert!(ps.starts_with("$params = @{"));
    assert!(ps.ends_with("/upgrade' -Body $params"), "{ps}");
    let remove = Write::uninstall(user(), app, inst);
    assert_eq!(
        remove.commands(host, base, &user()).powershell,
        format!("Remove-MgUserTeamworkInstalledApp -UserId '{USER}' -UserScopeTeamsAppInstallationId '{INST}'")
    );
    for quote in ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'] {
        assert_eq!(
            ps_string(&format!("a{quote}b")),
            format!("'a{quote}{quote}b'")
        );
    }
}

#[test]
fn writes_through_me_are_shown_with_the_signed_in_users_name_or_as_requests() {
    let base = "https://graph.microsoft.com/v1.0";
    let host = "graph.microsoft.com";
    let upgrade = Write::upgrade(
        UserRef::Me,
        CatalogAppId::new(APP),
        InstallationId::new(INST),
        "2.0",
        None,
    );
    let named = upgrade.commands(host, base, &user());
    assert!(named
        .http
        .starts_with("POST https://graph.microsoft.com/v1.0/me/teamwork/"));
    assert!(named
        .powershell
        .contains(&format!("/users/{USER}/teamwork/")));
    let unnamed = upgrade.commands(host, base, &UserRef::Me);
    assert!(unnamed
        .cli
        .contains("m365 request --method post --url 'https://graph.microsoft.com/v1.0/me/"));
    assert!(unnamed
        .powershell
        .contains("Invoke-MgGraphRequest -Method POST -Uri 'https://graph.microsoft.com/v1.0/me/"));
}

#[test]
fn pretty_json_is_serde_jsons_pretty_form() {
    let values = [
        serde_json::json!({"consentedPermissionSet": {"resourceSpecificPermissions": [
            {"permissionValue": "TeamsActivity.Send.User", "permissionType": "application"},
            {"permissionValue": "Quote \"and\" \\ é", "permissionType": "delegated"}
        ]}, "empty": {}, "list": [], "n": 1.5, "t": true, "z": null}),
        serde_json::json!([]),
        serde_json::json!("x"),
    ];
    for value in values {
        assert_eq!(
            pretty_json(&value),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}

#[test]
fn a_429_never_ends_a_write_however_often_it_comes() {
    // Throttled twelve times in a row (one install a second, a queue of others ahead): each
    // time the write waits as told and sends again; a 429 was not applied, and is no reason
    // to refuse.
    let mut run = WriteRun::new(WriteKind::Install, WritePolicy::default());
    let mut clock = 0;
    for i in 0..12 {
        let step = run.on(refused_after(429, 1), clock, 0.5);
        assert_eq!(step, send(1000), "429 number {}", i + 1);
        clock += 1100;
    }
    assert_eq!(run.on(OK, clock, 0.5), Step::Done(Confirmed::Answered));
}

#[test]
fn an_installation_missing_what_a_read_back_needs_never_shows_a_write_applied() {
    let app = CatalogAppId::new(APP);
    let inst = InstallationId::new(INST);
    let mut anonymous = installation("someone", APP, "1.0.0");
    anonymous.teams_app = None;
    let mut unversioned = installation(INST, APP, "1.0.0");
    unversioned.teams_app_definition = None;
    let uninstall = Write::uninstall(user(), app.clone(), inst.clone());
    let no_target = Write::upgrade(user(), app.clone(), inst.clone(), "", None);
    let upgrade = Write::upgrade(user(), app, inst, "1.2.0", None);
    for (write, list) in [
        (&uninstall, vec![anonymous.clone()]),
        (&no_target, vec![installation(INST, APP, "1.2.0")]),
        (&upgrade, vec![unversioned]),
        (&install_of(&app_id()), vec![anonymous.clone()]),
    ] {
        assert!(
            !write.applied_in(&list),
            "{:?} taken as applied from {list:?}",
            write.kind()
        );
        assert_eq!(
            write.read_back_result(&list),
            ReadBackResult::CannotTell,
            "{:?} from {list:?}",
            write.kind()
        );
    }
    // What can be told still is: the installation to remove is there; the app is installed.
    let mut still_there = installation(INST, APP, "1.0.0");
    still_there.teams_app = None;
    assert_eq!(
        uninstall.read_back_result(&[still_there, anonymous.clone()]),
        ReadBackResult::NotApplied
    );
    assert_eq!(
        install_of(&app_id()).read_back_result(&[anonymous, installation(INST, APP, "1.0.0")]),
        ReadBackResult::Applied
    );
}

fn app_id() -> CatalogAppId {
    CatalogAppId::new(APP)
}

fn install_of(app: &CatalogAppId) -> Write {
    Write::install(user(), app.clone(), None)
}
