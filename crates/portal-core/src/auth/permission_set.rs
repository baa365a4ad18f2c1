//! A set of Graph permission names (what an access token carries, what a call needs): sorted,
//! without duplicates. A token carries a handful, so a sorted list does the work of a
//! `BTreeSet<String>` without a B-tree's code in the bundle (issue #10; the figure is in
//! `docs/performance.md`).

use serde::{Deserialize, Serialize};

/// Graph permission names, sorted, without duplicates. Serialised as a JSON array of strings
/// (as a `BTreeSet<String>` was); read back sorted and deduplicated whatever the array's order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<String>", into = "Vec<String>")]
pub struct PermissionSet(Vec<String>);

impl PermissionSet {
    /// Whether every permission of `self` is in `other`.
    pub fn is_subset(&self, other: &PermissionSet) -> bool {
        self.0.iter().all(|p| other.contains(p))
    }

    pub fn contains(&self, permission: &str) -> bool {
        self.0
            .binary_search_by(|p| p.as_str().cmp(permission))
            .is_ok()
    }

    /// In order.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Space-separated, in order.
    pub fn joined(&self) -> String {
        self.0.join(" ")
    }
}

impl From<Vec<String>> for PermissionSet {
    fn from(mut permissions: Vec<String>) -> Self {
        permissions.sort();
        permissions.dedup();
        PermissionSet(permissions)
    }
}

impl From<PermissionSet> for Vec<String> {
    fn from(set: PermissionSet) -> Self {
        set.0
    }
}

impl FromIterator<String> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = String>>(items: I) -> Self {
        PermissionSet::from(items.into_iter().collect::<Vec<_>>())
    }
}

impl IntoIterator for PermissionSet {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a PermissionSet {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &[&str]) -> PermissionSet {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_set_is_sorted_without_duplicates() {
        let s = set(&["User.Read", "AppCatalog.Read.All", "User.Read"]);
        assert_eq!(s.len(), 2);
        assert_eq!(s.joined(), "AppCatalog.Read.All User.Read");
        assert!(s.contains("User.Read"));
        assert!(!s.contains("User.ReadBasic.All"));
        assert!(PermissionSet::default().is_empty());
    }

    #[test]
    fn subsets_are_decided_by_every_member() {
        let token = set(&["User.Read", "AppCatalog.Read.All"]);
        assert!(set(&["AppCatalog.Read.All"]).is_subset(&token));
        assert!(PermissionSet::default().is_subset(&token));
        assert!(token.is_subset(&token));
        assert!(!set(&["User.Read", "TeamsAppInstallation.ReadWriteForUser"]).is_subset(&token));
    }

    /// The JSON form is a `BTreeSet<String>`'s (an array), and any array reads back normalised.
    #[test]
    fn json_is_a_sorted_array_and_any_order_reads_back() {
        let s = set(&["b", "a"]);
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"["a","b"]"#);
        let back: PermissionSet = serde_json::from_str(r#"["b","a","b"]"#).unwrap();
        assert_eq!(back, s);
        let old: std::collections::BTreeSet<String> = ["b".into(), "a".into()].into();
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            serde_json::to_string(&s).unwrap()
        );
    }
}
