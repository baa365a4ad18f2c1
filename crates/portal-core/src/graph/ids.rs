//! Typed identifiers of the Graph objects a write names, so a catalog app id can never be passed
//! where an installation id is expected (they are both opaque strings in Graph). A user is named
//! by [`UserRef`](super::encode::UserRef).

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> $name {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Graph compares these ids without regard to case.
            pub fn matches(&self, other: &str) -> bool {
                self.0.eq_ignore_ascii_case(other)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// `teamsApp.id`: the catalog id Graph generated (not the manifest's `externalId`).
    CatalogAppId
);
id_type!(
    /// `userScopeTeamsAppInstallation.id`: opaque; never derived from the user and app ids.
    InstallationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_without_case_and_print_as_given() {
        let app = CatalogAppId::new("ABC-1");
        assert!(app.matches("abc-1"));
        assert_eq!(app.to_string(), "ABC-1");
        assert_eq!(InstallationId::new("x=").as_str(), "x=");
    }
}
