//! The rules of the outbox (the write service's list of single writes), issue #22: the target of
//! a write (which user, which app), the rule that one write per target is sent at a time
//! across the whole portal (single writes and jobs alike), and a single write kept in the
//! browser while it may have been applied: its stored form, owned by the account that sent it,
//! how it starts again after a reload (a read-back, never a send), and when it may be forgotten.

use serde::{Deserialize, Serialize};

use crate::graph::encode::UserRef;
use crate::graph::ids::CatalogAppId;
use crate::graph::write::{Event, Failure, SendResult, Step, Write, WritePolicy, WriteRun};
use crate::jobs::engine::{ErrorSummary, WriteTask};
use crate::ownership::Owner;

/// What a write is about: a user's installation of one catalog app. Two writes with the same
/// target must never be in flight (or in doubt) at once: the second could duplicate the first,
/// or undo it, and a read-back could not tell them apart.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// The user's object id, or the UPN as typed, lowercase (`/me` is the signed-in account's
    /// object id).
    pub user: String,
    /// The catalog app id, lowercase.
    pub app: String,
}

impl Target {
    /// The target of a write to `user` about `app`; `me` is the signed-in account's object id,
    /// what `/me` stands for.
    pub fn new(user: &UserRef, app: &CatalogAppId, me: &str) -> Target {
        let user = match user {
            UserRef::Me => me,
            UserRef::ObjectId(key) | UserRef::Upn(key) => key,
        };
        Target {
            user: user.trim().to_lowercase(),
            app: app.as_str().trim().to_lowercase(),
        }
    }

    /// The target of `write`.
    pub fn of(write: &Write, me: &str) -> Target {
        Target::new(&write.user, &write.app, me)
    }

    /// The targets of a job's tasks that have not ended (still to send, in flight, or in doubt).
    pub fn open_in(tasks: &[WriteTask], me: &str) -> Vec<Target> {
        tasks
            .iter()
            .filter(|t| t.outcome.is_none())
            .map(|t| Target::of(&t.write, me))
            .collect()
    }

    /// The target as one line, for a Web Lock name (`user/app`, each percent-encoded where it is
    /// not a letter, digit, `-` , `.`, `@` or `_`).
    pub fn lock_part(&self) -> String {
        let encode = |text: &str| {
            let mut out = String::with_capacity(text.len());
            for byte in text.bytes() {
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'@' | b'_') {
                    out.push(char::from(byte));
                } else {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            out
        };
        format!("{}/{}", encode(&self.user), encode(&self.app))
    }
}

/// Who holds a target now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Holder {
    /// A single write of this tab's outbox (its id there), in flight or in doubt.
    Write(u32),
    /// A job (its id) with a task for the target that has not ended.
    Job(String),
}

/// A target taken, and by whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Busy {
    pub target: Target,
    pub holder: Holder,
}

/// The holder of `target` among `busy`, if any: a new write to it is refused (with the holder,
/// so the user can follow it) until the holder is done with it.
pub fn holder_of<'a>(
    target: &Target,
    busy: impl IntoIterator<Item = &'a Busy>,
) -> Option<&'a Holder> {
    busy.into_iter()
        .find(|b| b.target == *target)
        .map(|b| &b.holder)
}

/// A single write kept in the account's database from before it is sent until it settles, so
/// that a reload, a crash, a closed tab or a sign-in redirect never loses one that may have been
/// applied. Holds the write (the user's object id or UPN, the app, the consented set) and the
/// words the outbox shows; never a token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredWrite {
    /// The account that sent it. Only this account sees it, reads it back or forgets it.
    pub owner: Owner,
    /// Unique in the account's database.
    pub id: String,
    pub write: Write,
    /// What the write does, in the words of the language it was sent in.
    pub label: String,
    /// What to say when it is done.
    pub done_message: String,
    /// When it was first stored (ms since the epoch).
    pub created_ms: u64,
    /// Why it is still kept, once a read-back could not settle it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<ErrorSummary>,
}

impl StoredWrite {
    /// The stored write of `owner`, read from `json`; `None` when it does not parse or belongs
    /// to another account (it is then neither shown nor read back nor sent).
    pub fn read(json: &str, owner: &Owner) -> Option<StoredWrite> {
        serde_json::from_str::<StoredWrite>(json)
            .ok()
            .filter(|w| owner.may_use(Some(&w.owner)))
    }
}

/// The policy of a write picked up again from storage: it was (maybe) sent once, and is read
/// back; it is not sent again, whatever the read-back says (a write the user asked for before a
/// reload is not repeated behind their back: not applied, it ends so, and they may ask again).
pub fn restored_policy() -> WritePolicy {
    WritePolicy {
        max_sends: 1,
        ..WritePolicy::default()
    }
}

/// Where a write picked up again from storage starts: in doubt (it may have been applied before
/// the tab went away), so a read-back, with a fresh window.
pub fn restored_run(write: &Write) -> (WriteRun, Step) {
    let mut run = WriteRun::new(write.kind(), restored_policy());
    let step = run.on(Event::Sent(SendResult::Lost), 0, 0.5);
    (run, step)
}

/// Whether a write that ended with `failure` must stay stored: only when it may have been
/// applied and nobody could tell (unsettled). Applied, refused or known not applied: forgotten.
pub fn keeps(failure: Option<Failure>) -> bool {
    matches!(failure, Some(Failure::Unsettled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::ids::InstallationId;
    use crate::graph::write::{Confirmed, ReadBackResult};
    use crate::jobs::engine::{job_write_policy, Outcome};

    const ME: &str = "AAAAAAAA-0000-0000-0000-000000000001";
    const SEAN: &str = "f78ae7f2-51d8-5be4-a11c-9a3f85549fd4";
    const APP: &str = "BFA2696F-F9BA-52CC-AEF0-B64DD2EF0026";

    fn install(user: UserRef) -> Write {
        Write::install(user, CatalogAppId::new(APP), None)
    }

    #[test]
    fn a_target_is_the_user_and_the_app_whatever_the_case_or_the_write() {
        let by_upn = Target::of(
            &install(UserRef::Upn("Sean.OBrien@Contoso.onmicrosoft.com".into())),
            ME,
        );
        let by_upn_lower = Target::of(
            &install(UserRef::Upn(" sean.obrien@contoso.onmicrosoft.com".into())),
            ME,
        );
        assert_eq!(by_upn, by_upn_lower, "a UPN typed in another case");
        let by_id = Target::of(&install(UserRef::ObjectId(SEAN.to_uppercase())), ME);
        assert_eq!(by_id.user, SEAN);
        assert_eq!(by_id.app, APP.to_lowercase());
        // An uninstall of the same app for the same user is the same target.
        let uninstall = Write::uninstall(
            UserRef::ObjectId(SEAN.into()),
            CatalogAppId::new(APP.to_lowercase()),
            InstallationId::new("x"),
        );
        assert_eq!(Target::of(&uninstall, ME), by_id);
        // /me is the signed-in account.
        assert_eq!(
            Target::of(&install(UserRef::Me), ME),
            Target::of(&install(UserRef::ObjectId(ME.into())), "someone else")
        );
        // Another app, another user: other targets.
        let other_app = Write::install(
            UserRef::ObjectId(SEAN.into()),
            CatalogAppId::new("other"),
            None,
        );
        assert_ne!(Target::of(&other_app, ME), by_id);
        assert_ne!(by_upn, by_id);
    }

    #[test]
    fn a_second_write_to_a_held_target_finds_its_holder() {
        let sean = Target::of(&install(UserRef::ObjectId(SEAN.into())), ME);
        let mine = Target::of(&install(UserRef::Me), ME);
        let busy = vec![
            Busy {
                target: mine.clone(),
                holder: Holder::Write(3),
            },
            Busy {
                target: sean.clone(),
                holder: Holder::Job("job-1".into()),
            },
        ];
        assert_eq!(holder_of(&sean, &busy), Some(&Holder::Job("job-1".into())));
        assert_eq!(
            holder_of(
                &Target::of(&install(UserRef::ObjectId(ME.to_lowercase())), ME),
                &busy
            ),
            Some(&Holder::Write(3)),
            "the account's own id and /me"
        );
        let free = Target::new(
            &UserRef::ObjectId(SEAN.into()),
            &CatalogAppId::new("another-app"),
            ME,
        );
        assert_eq!(holder_of(&free, &busy), None);
        assert_eq!(holder_of(&sean, &[]), None);
    }

    #[test]
    fn a_job_holds_the_targets_of_its_tasks_that_have_not_ended() {
        let policy = job_write_policy();
        let users = ["u1", "u2", "u3"];
        let mut tasks: Vec<WriteTask> = users
            .iter()
            .map(|u| WriteTask::new(install(UserRef::ObjectId((*u).into())), policy.clone()))
            .collect();
        tasks[1].outcome = Some(Outcome::Applied(Confirmed::Answered));
        let open: Vec<String> = Target::open_in(&tasks, ME)
            .into_iter()
            .map(|t| t.user)
            .collect();
        assert_eq!(open, ["u1", "u3"]);
    }

    #[test]
    fn lock_names_of_targets_never_collide_through_separators() {
        let a = Target {
            user: "a/b".into(),
            app: "c".into(),
        };
        let b = Target {
            user: "a".into(),
            app: "b/c".into(),
        };
        assert_ne!(a.lock_part(), b.lock_part());
        assert_eq!(
            Target::of(&install(UserRef::ObjectId(SEAN.into())), ME).lock_part(),
            format!("{SEAN}/{}", APP.to_lowercase())
        );
    }

    fn stored(owner: &Owner) -> StoredWrite {
        StoredWrite {
            owner: owner.clone(),
            id: "w1".into(),
            write: install(UserRef::ObjectId(SEAN.into())),
            label: "Install Learning Hub for Seán".into(),
            done_message: "Learning Hub is installed for Seán.".into(),
            created_ms: 1,
            last_error: None,
        }
    }

    #[test]
    fn a_stored_write_is_read_only_by_its_owner() {
        let admin = Owner::new("tenant", "admin").unwrap();
        let member = Owner::new("tenant", "member").unwrap();
        let elsewhere = Owner::new("another-tenant", "admin").unwrap();
        let json = serde_json::to_string(&stored(&admin)).unwrap();
        assert_eq!(StoredWrite::read(&json, &admin), Some(stored(&admin)));
        assert_eq!(StoredWrite::read(&json, &member), None);
        assert_eq!(StoredWrite::read(&json, &elsewhere), None);
        // Without an owner it is nobody's.
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value.as_object_mut().unwrap().remove("owner");
        assert_eq!(StoredWrite::read(&value.to_string(), &admin), None);
        assert_eq!(StoredWrite::read("not json", &admin), None);
    }

    #[test]
    fn a_restored_write_reads_back_first_and_is_never_sent_again() {
        let write = install(UserRef::ObjectId(SEAN.into()));
        // Whatever the read-backs answer, the only next steps are read-backs and an end.
        for answers in [
            vec![ReadBackResult::Applied],
            vec![ReadBackResult::NotApplied; 12],
            vec![
                ReadBackResult::Failed {
                    status: Some(503),
                    retry_after_s: Some(1),
                };
                12
            ],
            vec![
                ReadBackResult::Failed {
                    status: None,
                    retry_after_s: None,
                },
                ReadBackResult::NotApplied,
                ReadBackResult::NotApplied,
                ReadBackResult::Applied,
            ],
        ] {
            let (mut run, mut step) = restored_run(&write);
            assert!(
                matches!(step, Step::ReadBack { .. }),
                "starts with a read-back"
            );
            assert!(run.in_doubt());
            let mut answers = answers.into_iter();
            let mut elapsed = 0;
            let end = loop {
                match step {
                    Step::ReadBack { after_ms } => {
                        elapsed += after_ms;
                        let answer = answers.next().unwrap_or(ReadBackResult::NotApplied);
                        step = run.on(Event::ReadBack(answer), elapsed, 0.5);
                    }
                    Step::Send { .. } => panic!("a restored write was sent again"),
                    end => break end,
                }
            };
            assert!(matches!(end, Step::Done(_) | Step::Fail(_)), "{end:?}");
        }
        // Applied on the first read-back: done, confirmed by reading back.
        let (mut run, _) = restored_run(&write);
        assert_eq!(
            run.on(Event::ReadBack(ReadBackResult::Applied), 0, 0.5),
            Step::Done(Confirmed::ReadBack)
        );
    }

    #[test]
    fn a_restored_write_gets_a_fresh_window() {
        // The run starts at 0 ms whenever it is restored: the time the tab was away does not
        // count against it (a read-back that fails is retried, not ended for the time passed).
        let (mut run, step) = restored_run(&install(UserRef::Me));
        assert!(matches!(step, Step::ReadBack { .. }));
        let failed = ReadBackResult::Failed {
            status: Some(503),
            retry_after_s: None,
        };
        assert!(matches!(
            run.on(Event::ReadBack(failed), 0, 0.5),
            Step::ReadBack { .. }
        ));
    }

    #[test]
    fn only_an_unsettled_end_keeps_a_write_stored() {
        assert!(keeps(Some(Failure::Unsettled)));
        assert!(!keeps(Some(Failure::Refused)));
        assert!(!keeps(Some(Failure::NotApplied)));
        assert!(!keeps(None), "applied");
    }
}
