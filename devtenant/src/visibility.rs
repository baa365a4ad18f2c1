//! Read-after-write lag (fault injection): a personal-app write is applied to the store at once
//! (later writes see it: a second install is a 409), but reads see the installation as it was
//! before the write until the lag has passed. Each write keeps the state it replaced (`None` for
//! an install, the installation for an upgrade or an uninstall: a tombstone), so reads rebuild
//! the previous state from the applied one. Writes to one installation become visible in the
//! order they were applied. An uninstall that removed a user's extra grants (declared in the
//! seed) keeps them too, so they go when the installation does.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::store::{ExtraGrant, Installation};

#[derive(Clone, Debug)]
struct PendingWrite {
    user_id: String,
    installation_id: String,
    /// The installation before the write (`None`: it did not exist).
    before: Option<Installation>,
    /// Extra grants the write removed (an uninstall of their app).
    removed_grants: Vec<ExtraGrant>,
    visible_at: Instant,
}

/// The writes not yet visible to reads.
#[derive(Debug, Default)]
pub struct Visibility {
    pending: Vec<PendingWrite>,
}

impl Visibility {
    /// Records a write just applied to `installation_id` of `user_id`; `before` is what it
    /// replaced. With no lag nothing is recorded.
    pub fn record(
        &mut self,
        user_id: &str,
        installation_id: &str,
        before: Option<Installation>,
        lag: Duration,
        now: Instant,
    ) {
        self.prune(now);
        if lag.is_zero() {
            return;
        }
        let mut visible_at = now + lag;
        // Never visible before an earlier write to the same installation.
        if let Some(last) = self
            .pending
            .iter()
            .rev()
            .find(|p| p.user_id == user_id && p.installation_id == installation_id)
        {
            visible_at = visible_at.max(last.visible_at);
        }
        self.pending.push(PendingWrite {
            user_id: user_id.to_string(),
            installation_id: installation_id.to_string(),
            before,
            removed_grants: Vec::new(),
            visible_at,
        });
    }

    /// Adds `grants` (extra grants the write just recorded removed) to that write, so reads keep
    /// seeing them until it is visible. Nothing to do when no write is pending (no lag).
    pub fn record_removed_grants(
        &mut self,
        user_id: &str,
        installation_id: &str,
        grants: Vec<ExtraGrant>,
    ) {
        if let Some(write) = self
            .pending
            .iter_mut()
            .rev()
            .find(|p| p.user_id == user_id && p.installation_id == installation_id)
        {
            write.removed_grants.extend(grants);
        }
    }

    /// What reads see at `now` of `user_id`'s extra grants, given the applied ones: those
    /// removed by writes not yet visible are still there.
    pub fn visible_grants(
        &mut self,
        user_id: &str,
        applied: &[ExtraGrant],
        now: Instant,
    ) -> Vec<ExtraGrant> {
        self.prune(now);
        let mut out: Vec<ExtraGrant> = applied
            .iter()
            .filter(|g| g.user_id == user_id)
            .cloned()
            .collect();
        for write in self.pending.iter().filter(|p| p.user_id == user_id) {
            for grant in &write.removed_grants {
                if !out.contains(grant) {
                    out.push(grant.clone());
                }
            }
        }
        out
    }

    fn prune(&mut self, now: Instant) {
        self.pending.retain(|p| p.visible_at > now);
    }

    /// Whether some write is still invisible.
    pub fn is_lagging(&mut self, now: Instant) -> bool {
        self.prune(now);
        !self.pending.is_empty()
    }

    /// What reads see at `now` of `user_id`'s installations, given every applied installation.
    pub fn visible(
        &mut self,
        user_id: &str,
        applied: &[Installation],
        now: Instant,
    ) -> Vec<Installation> {
        self.prune(now);
        let mut out: Vec<Installation> = applied
            .iter()
            .filter(|i| i.user_id == user_id)
            .cloned()
            .collect();
        // Per installation, the earliest write not yet visible decides: what it replaced is the
        // state every visible write left.
        let mut decided = BTreeSet::new();
        for write in self.pending.iter().filter(|p| p.user_id == user_id) {
            if !decided.insert(write.installation_id.clone()) {
                continue;
            }
            let position = out.iter().position(|i| i.id == write.installation_id);
            match (&write.before, position) {
                (Some(before), Some(index)) => out[index] = before.clone(),
                (Some(before), None) => out.push(before.clone()),
                (None, Some(index)) => {
                    out.remove(index);
                }
                (None, None) => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installation(id: &str, definition: &str) -> Installation {
        Installation {
            id: id.into(),
            user_id: "u".into(),
            app_id: format!("app-{id}"),
            definition_id: definition.into(),
            consented: None,
        }
    }

    const LAG: Duration = Duration::from_millis(2000);

    #[test]
    fn an_install_is_invisible_until_the_lag_has_passed() {
        let t0 = Instant::now();
        let mut v = Visibility::default();
        let applied = vec![installation("a", "d1")];
        v.record("u", "a", None, LAG, t0);
        assert!(v.visible("u", &applied, t0).is_empty());
        assert!(v.visible("u", &applied, t0 + LAG / 2).is_empty());
        assert!(v.is_lagging(t0 + LAG / 2));
        assert_eq!(v.visible("u", &applied, t0 + LAG), applied);
        assert!(!v.is_lagging(t0 + LAG));
    }

    #[test]
    fn an_uninstall_leaves_a_tombstone_and_an_upgrade_shows_the_old_version() {
        let t0 = Instant::now();
        let mut v = Visibility::default();
        let old = installation("a", "d1");
        v.record("u", "a", Some(old.clone()), LAG, t0);
        assert_eq!(v.visible("u", &[], t0), vec![old.clone()]);
        assert!(v.visible("u", &[], t0 + LAG).is_empty());
        let mut v = Visibility::default();
        let new = installation("a", "d2");
        v.record("u", "a", Some(old.clone()), LAG, t0);
        let applied = vec![new.clone()];
        assert_eq!(v.visible("u", &applied, t0), vec![old]);
        assert_eq!(v.visible("u", &applied, t0 + LAG), vec![new]);
    }

    #[test]
    fn writes_to_one_installation_become_visible_in_order() {
        let t0 = Instant::now();
        let mut v = Visibility::default();
        // Install with a long lag, then uninstall with a short one: the install never shows
        // while the first write is pending, and the uninstall waits for it.
        let installed = installation("a", "d1");
        v.record("u", "a", None, LAG, t0);
        v.record("u", "a", Some(installed), Duration::from_millis(10), t0);
        assert!(v
            .visible("u", &[], t0 + Duration::from_millis(50))
            .is_empty());
        assert!(v.visible("u", &[], t0 + LAG).is_empty());
        assert!(!v.is_lagging(t0 + LAG));
    }

    #[test]
    fn extra_grants_removed_by_an_uninstall_go_when_it_is_visible() {
        let t0 = Instant::now();
        let grant = ExtraGrant {
            user_id: "u".into(),
            app_id: "app-a".into(),
            client_app_id: "client-a".into(),
            permission: "TeamsActivity.Send.User".into(),
            permission_type: "Application".into(),
        };
        let kept = ExtraGrant {
            app_id: "app-b".into(),
            ..grant.clone()
        };
        let applied = vec![kept.clone()];
        let mut v = Visibility::default();
        v.record("u", "a", Some(installation("a", "d1")), LAG, t0);
        v.record_removed_grants("u", "a", vec![grant.clone()]);
        assert_eq!(
            v.visible_grants("u", &applied, t0),
            vec![kept.clone(), grant]
        );
        assert!(v.visible_grants("someone-else", &applied, t0).is_empty());
        assert_eq!(
            v.visible_grants("u", &applied, t0 + LAG),
            vec![kept.clone()]
        );
        // Without lag nothing is pending: the removal is visible at once.
        let mut v = Visibility::default();
        v.record("u", "a", None, Duration::ZERO, t0);
        v.record_removed_grants("u", "a", vec![kept.clone()]);
        assert!(v.visible_grants("u", &[], t0).is_empty());
    }

    #[test]
    fn other_users_and_no_lag_are_untouched() {
        let t0 = Instant::now();
        let mut v = Visibility::default();
        v.record("u", "a", None, Duration::ZERO, t0);
        let applied = vec![installation("a", "d1")];
        assert_eq!(v.visible("u", &applied, t0), applied);
        v.record("someone-else", "b", None, LAG, t0);
        assert_eq!(v.visible("u", &applied, t0), applied);
    }
}
