//! Who owns the work a browser keeps (issue #22): every stored job and every persisted write
//! belongs to the account that started it, a tenant id (`tid`) and an object id (`oid`). From
//! them come the name of the account's own IndexedDB database, the names of its Web Locks, and
//! the key of the small localStorage marker (counts only) that tells the header and the sign-out there
//! is unfinished work; and the rule that only the owner sees, resumes or takes over a record.

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::jobs::plan::JobAction;

/// The database of bulk jobs before work had owners (one for everyone using the browser). Its
/// jobs cannot be told apart by account, so they are never resumed: the portal removes it.
pub const LEGACY_JOB_DATABASE: &str = "teams-app-portal-jobs";

/// The first part of every account database's name.
pub const DATABASE_PREFIX: &str = "teams-app-portal";

/// The first part of every marker's localStorage key.
pub const MARKER_PREFIX: &str = "tap.work.";

/// The account that owns a job or a write: its tenant and object ids, as the validated ID token
/// gave them (`tid`, `oid`), kept lowercase (Entra's ids are GUIDs, compared without case).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    pub tid: String,
    pub oid: String,
}

/// An id as it goes into a name: trimmed, lowercase, and every character other than an ASCII
/// letter, digit or `-` written as `%XX` (per UTF-8 byte), so that the separators of a name
/// (`:` `/` `.`) never come from an id and two accounts never share a name.
fn name_part(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.trim().to_lowercase().bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl Owner {
    /// The owner of an account's work; `None` when an id is missing (an ID token without `tid`
    /// or `oid` owns nothing, and sees nothing).
    pub fn new(tid: &str, oid: &str) -> Option<Owner> {
        let (tid, oid) = (tid.trim(), oid.trim());
        if tid.is_empty() || oid.is_empty() {
            return None;
        }
        Some(Owner {
            tid: tid.to_lowercase(),
            oid: oid.to_lowercase(),
        })
    }

    /// The account's IndexedDB database: `teams-app-portal:{tid}:{oid}`.
    pub fn database(&self) -> String {
        format!(
            "{DATABASE_PREFIX}:{}:{}",
            name_part(&self.tid),
            name_part(&self.oid)
        )
    }

    /// The Web Lock of one of the account's records: `{database}/{kind}/{id}` (a job:
    /// `kind` "job").
    pub fn lock_name(&self, kind: &str, id: &str) -> String {
        format!("{}/{kind}/{id}", self.database())
    }

    /// A Web Lock shared by every account of the tenant, for what belongs to the tenant rather
    /// than to the account (a user's app): `teams-app-portal:{tid}/{kind}/{id}`.
    pub fn tenant_lock_name(&self, kind: &str, id: &str) -> String {
        format!("{DATABASE_PREFIX}:{}/{kind}/{id}", name_part(&self.tid))
    }

    /// The localStorage key of the account's marker: `tap.work.{tid}.{oid}`.
    pub fn marker_key(&self) -> String {
        format!(
            "{MARKER_PREFIX}{}.{}",
            name_part(&self.tid),
            name_part(&self.oid)
        )
    }

    /// Whether this (signed-in) account may see, resume, take over or send the record owned by
    /// `record`: only its own. A record without an owner belongs to nobody and is never used.
    pub fn may_use(&self, record: Option<&Owner>) -> bool {
        record.is_some_and(|owner| {
            owner.tid.eq_ignore_ascii_case(&self.tid) && owner.oid.eq_ignore_ascii_case(&self.oid)
        })
    }

    /// The owner as one line (`tid:oid`), for a record's owner field.
    pub fn key(&self) -> String {
        format!("{}:{}", name_part(&self.tid), name_part(&self.oid))
    }
}

/// What the job and write services tell the header and the sign-out about an account's
/// unfinished work, in
/// localStorage under [`Owner::marker_key`]: counts only (never a user, an app or a token).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Marker {
    /// Jobs not finished (running, paused, or stopped by a closed tab).
    pub jobs: u32,
    /// Single writes kept until a read-back settles them (maybe applied).
    pub writes: u32,
}

impl Marker {
    pub fn is_empty(&self) -> bool {
        self.jobs == 0 && self.writes == 0
    }

    /// The stored form: `{"jobs":1,"writes":0}`.
    pub fn encode(&self) -> String {
        format!(r#"{{"jobs":{},"writes":{}}}"#, self.jobs, self.writes)
    }

    /// Reads the stored form; anything else (another shape, a count that is not a small
    /// number) is no marker. Written by hand: a format of two counts needs no
    /// deserializer.
    pub fn decode(text: &str) -> Option<Marker> {
        let inner = text.trim().strip_prefix('{')?.strip_suffix('}')?;
        let mut marker = Marker::default();
        let (mut jobs, mut writes) = (false, false);
        for field in inner.split(',') {
            let (name, value) = field.split_once(':')?;
            let value: u32 = value.trim().parse().ok()?;
            match name.trim() {
                r#""jobs""# if !jobs => {
                    marker.jobs = value;
                    jobs = true;
                }
                r#""writes""# if !writes => {
                    marker.writes = value;
                    writes = true;
                }
                _ => return None,
            }
        }
        (jobs && writes).then_some(marker)
    }
}

/// `n` with its thousands grouped as `lang` writes them: `1,000` in English, `1 000` (a narrow
/// no-break space) in French.
pub fn group_thousands(n: u64, lang: Lang) -> String {
    let separator = match lang {
        Lang::En => ",",
        Lang::Fr => "\u{202f}",
    };
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * separator.len());
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push_str(separator);
        }
        out.push(digit);
    }
    out
}

/// The i18n key of a job's action as the resume question names it ("install").
pub fn resume_action_key(action: JobAction) -> &'static str {
    match action {
        JobAction::Install => "jobs.resume.install",
        JobAction::Upgrade => "jobs.resume.upgrade",
        JobAction::Uninstall => "jobs.resume.uninstall",
        JobAction::EnsureLatest => "jobs.resume.ensure_latest",
    }
}

/// The question asked before an unfinished job runs again after a sign-in or a reload:
/// "Resume job Learning Hub (install), 140 of 1,000 left?".
pub fn resume_question(lang: Lang, app: &str, action: JobAction, left: u64, total: u64) -> String {
    lang.tf(
        "jobs.resume.question",
        &[
            ("app", app),
            ("action", lang.t(resume_action_key(action))),
            ("left", &group_thousands(left, lang)),
            ("total", &group_thousands(total, lang)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "72F988BF-86F1-41AF-91AB-2D7CD011DB47";
    const OID: &str = "00000000-0000-0000-66F3-3332ECA7EA81";

    fn admin() -> Owner {
        Owner::new(TID, OID).unwrap()
    }

    #[test]
    fn an_account_without_both_ids_owns_nothing() {
        assert_eq!(Owner::new("", OID), None);
        assert_eq!(Owner::new(TID, "  "), None);
        assert!(Owner::new(TID, OID).is_some());
    }

    #[test]
    fn names_carry_tenant_and_object_id_in_lowercase() {
        let owner = admin();
        assert_eq!(
            owner.database(),
            "teams-app-portal:72f988bf-86f1-41af-91ab-2d7cd011db47:00000000-0000-0000-66f3-3332eca7ea81"
        );
        assert_eq!(
            owner.lock_name("job", "j1"),
            format!("{}/job/j1", owner.database())
        );
        assert_eq!(
            owner.tenant_lock_name("target", "u/a"),
            "teams-app-portal:72f988bf-86f1-41af-91ab-2d7cd011db47/target/u/a"
        );
        // Another account of the tenant shares the tenant's locks, not the account's.
        let member = Owner::new(TID, "22222222-0000-0000-0000-000000000000").unwrap();
        assert_eq!(
            member.tenant_lock_name("target", "u/a"),
            owner.tenant_lock_name("target", "u/a")
        );
        assert_ne!(member.lock_name("job", "j1"), owner.lock_name("job", "j1"));
        assert_eq!(
            owner.marker_key(),
            "tap.work.72f988bf-86f1-41af-91ab-2d7cd011db47.00000000-0000-0000-66f3-3332eca7ea81"
        );
        // The same account whatever the case the token gave.
        assert_eq!(
            Owner::new(&TID.to_lowercase(), OID).unwrap().database(),
            owner.database()
        );
        assert_ne!(owner.database(), LEGACY_JOB_DATABASE);
    }

    #[test]
    fn two_accounts_never_share_a_name() {
        let pairs = [
            (TID, OID),
            (TID, "11111111-0000-0000-0000-000000000000"),
            ("another-tenant", OID),
            // Separators inside an id cannot make one account's name another's.
            ("a:b", "c"),
            ("a", "b:c"),
            ("a.b", "c"),
            ("a", "b.c"),
            ("a/b", "c"),
            ("a%3Ab", "c"),
        ];
        let owners: Vec<Owner> = pairs
            .iter()
            .map(|(t, o)| Owner::new(t, o).unwrap())
            .collect();
        for (i, a) in owners.iter().enumerate() {
            for b in &owners[i + 1..] {
                assert_ne!(a.database(), b.database(), "{a:?} and {b:?}");
                assert_ne!(a.marker_key(), b.marker_key(), "{a:?} and {b:?}");
                assert_ne!(a.key(), b.key(), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn only_the_owner_may_use_a_record() {
        let owner = admin();
        assert!(owner.may_use(Some(&admin())));
        let upper = Owner {
            tid: TID.into(),
            oid: OID.into(),
        };
        assert!(owner.may_use(Some(&upper)), "ids compare without case");
        let member = Owner::new(TID, "22222222-0000-0000-0000-000000000000").unwrap();
        assert!(
            !owner.may_use(Some(&member)),
            "another account of the tenant"
        );
        let other_tenant = Owner::new("33333333-0000-0000-0000-000000000000", OID).unwrap();
        assert!(
            !owner.may_use(Some(&other_tenant)),
            "the same object id in another tenant"
        );
        assert!(!owner.may_use(None), "a record without an owner");
    }

    #[test]
    fn the_marker_holds_counts_only_and_reads_back() {
        let marker = Marker { jobs: 2, writes: 1 };
        assert_eq!(marker.encode(), r#"{"jobs":2,"writes":1}"#);
        assert_eq!(Marker::decode(&marker.encode()), Some(marker));
        assert_eq!(
            Marker::decode(r#" { "writes" : 0 , "jobs" : 7 } "#),
            Some(Marker { jobs: 7, writes: 0 })
        );
        assert!(Marker::default().is_empty());
        assert!(!marker.is_empty());
        for bad in [
            "",
            "{}",
            r#"{"jobs":1}"#,
            r#"{"jobs":1,"writes":1,"upn":"a@b"}"#,
            r#"{"jobs":-1,"writes":0}"#,
            r#"{"jobs":"1","writes":0}"#,
            r#"{"jobs":1,"jobs":2}"#,
            r#"["jobs",1]"#,
        ] {
            assert_eq!(Marker::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn thousands_are_grouped_per_language() {
        assert_eq!(group_thousands(0, Lang::En), "0");
        assert_eq!(group_thousands(140, Lang::En), "140");
        assert_eq!(group_thousands(1_000, Lang::En), "1,000");
        assert_eq!(group_thousands(100_000, Lang::En), "100,000");
        assert_eq!(group_thousands(1_234_567, Lang::En), "1,234,567");
        assert_eq!(group_thousands(1_000, Lang::Fr), "1\u{202f}000");
    }

    #[test]
    fn the_resume_question_names_the_job_and_what_is_left() {
        assert_eq!(
            resume_question(Lang::En, "Learning Hub", JobAction::Install, 140, 1_000),
            "Resume job Learning Hub (install), 140 of 1,000 left?"
        );
        assert_eq!(
            resume_question(Lang::En, "Polls", JobAction::EnsureLatest, 1, 2),
            "Resume job Polls (ensure latest), 1 of 2 left?"
        );
        let french = resume_question(Lang::Fr, "Polls", JobAction::Uninstall, 1_500, 2_000);
        assert!(french.contains("Polls"), "{french}");
        assert!(french.contains("1\u{202f}500"), "{french}");
        assert!(french.contains("2\u{202f}000"), "{french}");
        assert!(!french.contains('{'), "{french}");
    }
}
