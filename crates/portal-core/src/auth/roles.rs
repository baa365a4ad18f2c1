//! Entra role template ids (`wids` claim) that make the portal treat a user as an administrator.
//! A UI hint only (the landing page, which actions to offer): Graph decides what is allowed.

/// Teams Administrator.
pub const TEAMS_ADMINISTRATOR: &str = "69091246-20e8-4a56-aa4d-066075b2a7a8";
/// Global Administrator.
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";

/// Role template ids that make the admin landing the default.
pub const ADMIN_ROLE_TEMPLATES: [&str; 2] = [TEAMS_ADMINISTRATOR, GLOBAL_ADMINISTRATOR];

/// Whether the `wids` hold an administrator role (ids compare case-insensitively).
pub fn is_admin<S: AsRef<str>>(wids: &[S]) -> bool {
    wids.iter().any(|w| {
        ADMIN_ROLE_TEMPLATES
            .iter()
            .any(|admin| admin.eq_ignore_ascii_case(w.as_ref().trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administrators_are_recognised_by_role_template() {
        let table: &[(&[&str], bool)] = &[
            (&[TEAMS_ADMINISTRATOR], true),
            (&[GLOBAL_ADMINISTRATOR], true),
            (
                &[
                    "B79FBF4D-3EF9-4689-8143-76B194E85509",
                    "62E90394-69F5-4237-9190-012177145E10",
                ],
                true,
            ),
            // Teams Communications Administrator is not a Teams Administrator.
            (&["baf37b3a-610e-45da-9e62-d9d1e5e8914b"], false),
            (&[], false),
            (&[""], false),
        ];
        for (wids, expected) in table {
            assert_eq!(is_admin(wids), *expected, "{wids:?}");
        }
    }
}
