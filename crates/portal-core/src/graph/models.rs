//! The Graph types the portal reads, in Graph's vocabulary and property names (checked against
//! `shared/graph/` by the tests). Unknown properties are ignored; enum values parse in any case.

use serde::{Deserialize, Deserializer, Serialize};

/// `teamsAppResourceSpecificPermissionType`: answered lowercase; parsed in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PermissionType {
    Delegated,
    Application,
    UnknownFutureValue,
}

impl<'de> Deserialize<'de> for PermissionType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(match text.to_ascii_lowercase().as_str() {
            "delegated" => PermissionType::Delegated,
            "application" => PermissionType::Application,
            _ => PermissionType::UnknownFutureValue,
        })
    }
}

/// A Graph string enumeration with the values the portal knows, and any other value kept as it
/// came (Graph adds values over time, `unknownFutureValue` among them): never dropped, never an
/// error. Parsed without regard to case.
macro_rules! graph_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value this portal does not know yet, as Graph sent it.
            Unknown(String),
        }

        impl $name {
            pub fn parse(text: &str) -> $name {
                $(if text.eq_ignore_ascii_case($text) {
                    return $name::$variant;
                })*
                $name::Unknown(text.to_string())
            }

            /// The value as Graph writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Unknown(text) => text,
                }
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok($name::parse(&String::deserialize(deserializer)?))
            }
        }
    };
}

graph_enum!(
    /// `teamsAppPublishingState`.
    PublishingState {
        Submitted = "submitted",
        Rejected = "rejected",
        Published = "published",
    }
);

graph_enum!(
    /// `teamsAppDistributionMethod`.
    DistributionMethod {
        Store = "store",
        Organization = "organization",
        Sideloaded = "sideloaded",
    }
);

graph_enum!(
    /// `user.userType`. `null` under `User.ReadBasic.All`: see [`User::is_guest`].
    UserType {
        Member = "Member",
        Guest = "Guest",
    }
);

impl PermissionType {
    /// The value as Graph spells it in a request body.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionType::Application => "application",
            PermissionType::Delegated => "delegated",
            PermissionType::UnknownFutureValue => "unknownFutureValue",
        }
    }

    /// The i18n key of the kind's name, as the portal shows it beside a permission.
    pub fn label_key(self) -> &'static str {
        match self {
            PermissionType::Application => "rsc.application",
            PermissionType::Delegated => "rsc.delegated",
            PermissionType::UnknownFutureValue => "rsc.other",
        }
    }
}

/// `teamsAppResourceSpecificPermission`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSpecificPermission {
    pub permission_value: String,
    pub permission_type: PermissionType,
}

/// `teamsAppPermissionSet`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionSet {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resource_specific_permissions: Vec<ResourceSpecificPermission>,
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// `teamsAppAuthorization`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Authorization {
    pub client_app_id: Option<String>,
    pub required_permission_set: Option<PermissionSet>,
}

/// `teamsAppDefinition`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppDefinition {
    pub id: String,
    pub teams_app_id: Option<String>,
    pub display_name: Option<String>,
    pub version: Option<String>,
    pub publishing_state: Option<PublishingState>,
    pub description: Option<String>,
    pub last_modified_date_time: Option<String>,
    pub authorization: Option<Authorization>,
    /// `bot` (with `$expand=appDefinitions($expand=bot)` only): the app's bot, if it has one.
    #[serde(default)]
    pub bot: Option<TeamworkBot>,
}

/// `teamworkBot`: its `id` is the bot's Microsoft app id.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct TeamworkBot {
    pub id: String,
}

impl AppDefinition {
    /// The definition's whole required RSC set (empty when none).
    pub fn required_permissions(&self) -> Vec<ResourceSpecificPermission> {
        self.authorization
            .as_ref()
            .and_then(|a| a.required_permission_set.as_ref())
            .map(|s| s.resource_specific_permissions.clone())
            .unwrap_or_default()
    }
}

/// `teamsApp` (a catalog app).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsApp {
    pub id: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub distribution_method: Option<DistributionMethod>,
    #[serde(default)]
    pub app_definitions: Vec<AppDefinition>,
}

/// `userScopeTeamsAppInstallation`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Installation {
    pub id: String,
    pub consented_permission_set: Option<PermissionSet>,
    pub teams_app: Option<TeamsApp>,
    pub teams_app_definition: Option<AppDefinition>,
}

/// `resourceSpecificPermissionGrant` (its `permissionType` is a plain string: "Application").
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionGrant {
    pub id: String,
    pub client_id: Option<String>,
    pub client_app_id: Option<String>,
    pub resource_app_id: Option<String>,
    pub permission_type: Option<String>,
    pub permission: Option<String>,
}

impl PermissionGrant {
    /// Whether this grant belongs to the Entra application `app_id` (a definition's
    /// `authorization.clientAppId`). Graph's documentation says `clientId` is the application's
    /// id and `clientAppId` its service principal's; the names say the opposite. Which one real
    /// Graph does is unverified, so either field naming the application counts.
    pub fn is_for_application(&self, app_id: &str) -> bool {
        [&self.client_app_id, &self.client_id]
            .into_iter()
            .flatten()
            .any(|id| id.eq_ignore_ascii_case(app_id))
    }
}

/// The user properties the portal reads.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
    pub mail: Option<String>,
    /// `null` under `User.ReadBasic.All` (the basic profile only).
    pub user_type: Option<UserType>,
    /// `null` under `User.ReadBasic.All`.
    pub job_title: Option<String>,
    /// `false` for a disabled account; `null` under `User.ReadBasic.All` (not known).
    #[serde(default)]
    pub account_enabled: Option<bool>,
}

impl User {
    /// A guest: `userType` says so when Graph returns it; under `User.ReadBasic.All` it is
    /// `null`, and a guest is recognised by the `#EXT#` that B2B invitations put in the UPN.
    pub fn is_guest(&self) -> bool {
        match &self.user_type {
            Some(UserType::Guest) => true,
            Some(_) => false,
            None => self
                .user_principal_name
                .as_deref()
                .is_some_and(|upn| upn.to_ascii_uppercase().contains("#EXT#")),
        }
    }
}

/// `teamsAppSettings`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsAppSettings {
    pub is_user_personal_scope_resource_specific_consent_enabled: Option<bool>,
    pub allow_user_requests_for_app_access: Option<bool>,
}

/// A page of a collection.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Collection<T> {
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    pub next_link: Option<String>,
    #[serde(rename = "@odata.count")]
    pub count: Option<u64>,
}

/// The display name of an installation's app (the definition's, else the app's, else its id).
pub fn installation_name(installation: &Installation) -> String {
    installation
        .teams_app_definition
        .as_ref()
        .and_then(|d| d.display_name.clone())
        .or_else(|| {
            installation
                .teams_app
                .as_ref()
                .and_then(|a| a.display_name.clone())
        })
        .or_else(|| installation.teams_app.as_ref().map(|a| a.id.clone()))
        .unwrap_or_else(|| installation.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_type_parses_in_any_case() {
        let p: ResourceSpecificPermission = serde_json::from_str(
            r#"{"permissionValue":"TeamsActivity.Send.User","permissionType":"Application"}"#,
        )
        .unwrap();
        assert_eq!(p.permission_type, PermissionType::Application);
        let p: ResourceSpecificPermission =
            serde_json::from_str(r#"{"permissionValue":"X","permissionType":"somethingNew"}"#)
                .unwrap();
        assert_eq!(p.permission_type, PermissionType::UnknownFutureValue);
        assert_eq!(
            serde_json::to_string(&PermissionType::Application).unwrap(),
            "\"application\""
        );
    }

    #[test]
    fn enumerations_keep_unknown_values_and_parse_in_any_case() {
        let d: AppDefinition =
            serde_json::from_str(r#"{"id":"d","publishingState":"Published"}"#).unwrap();
        assert_eq!(d.publishing_state, Some(PublishingState::Published));
        let d: AppDefinition =
            serde_json::from_str(r#"{"id":"d","publishingState":"unknownFutureValue"}"#).unwrap();
        assert_eq!(
            d.publishing_state,
            Some(PublishingState::Unknown("unknownFutureValue".into()))
        );
        assert_eq!(
            DistributionMethod::parse("SIDELOADED"),
            DistributionMethod::Sideloaded
        );
        assert_eq!(DistributionMethod::Store.as_str(), "store");
    }

    #[test]
    fn grants_are_matched_to_their_application_under_both_readings_of_the_ids() {
        let app = "0d5c5a3b-8c7e-4a1e-9f3b-2b1f0c9d8e7a";
        let sp = "7f6e5d4c-3b2a-4190-8f7e-6d5c4b3a2918";
        let named: PermissionGrant = serde_json::from_value(serde_json::json!({
            "id": "g", "clientAppId": app, "clientId": sp, "permission": "TeamsActivity.Send.User"
        }))
        .unwrap();
        let documented: PermissionGrant = serde_json::from_value(serde_json::json!({
            "id": "g", "clientAppId": sp, "clientId": app, "permission": "TeamsActivity.Send.User"
        }))
        .unwrap();
        for grant in [&named, &documented] {
            assert!(grant.is_for_application(app));
            assert!(grant.is_for_application(&app.to_uppercase()));
            assert!(!grant.is_for_application("11111111-2222-3333-4444-555555555555"));
        }
    }

    #[test]
    fn guests_are_recognised_with_or_without_user_type() {
        let user = |user_type: Option<&str>, upn: &str| -> User {
            serde_json::from_value(serde_json::json!({
                "id": "u", "userPrincipalName": upn, "userType": user_type
            }))
            .unwrap()
        };
        assert!(user(Some("Guest"), "a@contoso.com").is_guest());
        assert!(!user(Some("Member"), "a_x#EXT#@contoso.com").is_guest());
        // Under User.ReadBasic.All: userType is null.
        assert!(user(None, "adele_fabrikam.com#EXT#@contoso.onmicrosoft.com").is_guest());
        assert!(!user(None, "adele@contoso.onmicrosoft.com").is_guest());
    }

    #[test]
    fn an_installation_with_expansions_parses() {
        let json = r#"{"id":"abc","consentedPermissionSet":null,
            "teamsApp":{"id":"app","externalId":"ext","displayName":"Polls","distributionMethod":"organization"},
            "teamsAppDefinition":{"id":"def","teamsAppId":"app","version":"1.2.0","publishingState":"published",
              "authorization":{"clientAppId":null,"requiredPermissionSet":{"resourceSpecificPermissions":null}}}}"#;
        let installation: Installation = serde_json::from_str(json).unwrap();
        assert_eq!(
            installation.teams_app.unwrap().display_name.as_deref(),
            Some("Polls")
        );
        assert!(installation
            .teams_app_definition
            .unwrap()
            .required_permissions()
            .is_empty());
    }
}
