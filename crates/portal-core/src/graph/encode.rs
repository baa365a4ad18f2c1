//! Everything placed in a Graph URL is encoded here: OData string literals (single quotes
//! doubled), `$search` clauses (double quotes and backslashes escaped), and path segments (user
//! ids and UPNs with `+`, `#`, `'`, `/`, accents percent-encoded; a UPN starting with `$` uses
//! the `users('...')` key form Graph requires). How a user is addressed: a key as typed (id or
//! UPN) only until the user is resolved; after that, and wherever Graph documents `{user-id}`
//! alone (`/users/{user-id}/permissionGrants`), by object id.

/// An OData string literal: `O'Brien` → `'O''Brien'`.
pub fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A `$search` clause `"property:value"`, with `"` and `\` escaped inside the value.
pub fn search_clause(property: &str, value: &str) -> String {
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{property}:{escaped}\"")
}

/// Percent-encodes one path segment: every byte but RFC 3986 unreserved characters.
pub fn path_segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Percent-encodes a query value (as `path_segment`, keeping nothing else raw).
pub fn query_value(value: &str) -> String {
    path_segment(value)
}

/// The path of a user: `/me`, `/users/{id}`, or `/users('{upn}')` for a UPN starting with `$`.
pub fn user_path(user: &UserRef) -> String {
    match user {
        UserRef::Me => "/me".to_string(),
        UserRef::ObjectId(id) | UserRef::Upn(id) if id.starts_with('$') => {
            format!("/users('{}')", path_segment(&id.replace('\'', "''")))
        }
        UserRef::ObjectId(id) | UserRef::Upn(id) => format!("/users/{}", path_segment(id)),
    }
}

/// Whose personal scope a request addresses. An object id and a UPN are kept apart because
/// the commands shown to the user name them differently (`--userId` against `--userName`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum UserRef {
    /// The signed-in user (self-service).
    Me,
    /// A user by Entra object id.
    ObjectId(String),
    /// A user by user principal name.
    Upn(String),
}

impl UserRef {
    /// A user key as typed or found in a URL: a UPN has an `@`, anything else is an object id.
    /// Good for the first read of a user (`GET /users/{id | userPrincipalName}`) and for the
    /// routes documented with both; a read documented with `{user-id}` alone takes
    /// [`UserRef::object_id`], once the user is resolved.
    pub fn from_key(key: &str) -> UserRef {
        let key = key.trim();
        if key.contains('@') {
            UserRef::Upn(key.to_string())
        } else {
            UserRef::ObjectId(key.to_string())
        }
    }

    /// The object id or UPN (`None` for `/me`).
    pub fn key(&self) -> Option<&str> {
        match self {
            UserRef::Me => None,
            UserRef::ObjectId(k) | UserRef::Upn(k) => Some(k),
        }
    }

    /// The user's object id, for the routes Graph documents with `{user-id}` only
    /// (`/users/{user-id}/permissionGrants`): an object id as it is, `/me` as `signed_in` (the
    /// signed-in account's `oid`), and none for a UPN, which must be resolved first
    /// (`GET /users/{upn}` answers the `id`).
    pub fn object_id<'a>(&'a self, signed_in: Option<&'a str>) -> Option<&'a str> {
        match self {
            UserRef::Me => signed_in.map(str::trim).filter(|id| !id.is_empty()),
            UserRef::ObjectId(id) => Some(id.trim()).filter(|id| !id.is_empty()),
            UserRef::Upn(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odata_strings_double_single_quotes() {
        assert_eq!(odata_string("O'Brien"), "'O''Brien'");
        assert_eq!(odata_string("D'Arcy O''Neil"), "'D''Arcy O''''Neil'");
        assert_eq!(odata_string(""), "''");
    }

    #[test]
    fn search_clauses_escape_quotes() {
        assert_eq!(search_clause("displayName", "Zoë"), "\"displayName:Zoë\"");
        assert_eq!(
            search_clause("displayName", "say \"hi\""),
            "\"displayName:say \\\"hi\\\"\""
        );
        assert_eq!(search_clause("mail", "a\\b"), "\"mail:a\\\\b\"");
    }

    #[test]
    fn path_segments_encode_what_graph_would_misread() {
        assert_eq!(
            path_segment("test+teams#1@contoso.onmicrosoft.com"),
            "test%2Bteams%231%40contoso.onmicrosoft.com"
        );
        assert_eq!(
            path_segment("maire.o'brien@contoso.com"),
            "maire.o%27brien%40contoso.com"
        );
        assert_eq!(path_segment("zoë"), "zo%C3%AB");
        assert_eq!(path_segment("a/b?c"), "a%2Fb%3Fc");
        assert_eq!(
            path_segment("5b649834-7412-4cce-9e69-176e95a394f5"),
            "5b649834-7412-4cce-9e69-176e95a394f5"
        );
    }

    #[test]
    fn only_an_object_id_addresses_routes_documented_with_user_id_alone() {
        let oid = "5b649834-7412-4cce-9e69-176e95a394f5";
        assert_eq!(UserRef::from_key(oid).object_id(None), Some(oid));
        assert_eq!(UserRef::Me.object_id(Some(oid)), Some(oid));
        assert_eq!(UserRef::Me.object_id(None), None);
        assert_eq!(UserRef::Me.object_id(Some(" ")), None);
        assert_eq!(
            UserRef::from_key("rob.young@contoso.com").object_id(Some(oid)),
            None
        );
        assert_eq!(UserRef::ObjectId(String::new()).object_id(None), None);
    }

    #[test]
    fn user_paths() {
        assert_eq!(user_path(&UserRef::Me), "/me");
        assert_eq!(
            user_path(&UserRef::from_key("o'brien@x.com")),
            "/users/o%27brien%40x.com"
        );
        assert_eq!(
            user_path(&UserRef::from_key("$admin@x.com")),
            "/users('%24admin%40x.com')"
        );
    }
}
