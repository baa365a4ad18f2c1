//! "Show request": a write action as the exact HTTP request the portal sends, and as the
//! equivalent Microsoft Graph PowerShell and CLI for Microsoft 365 commands. The CLI's
//! `teams user app` commands never send `consentedPermissionSet`, so a write that needs one is
//! shown as `m365 request` with the same body.

use serde_json::Value;

use super::request::{GraphRequest, Method};

/// A write the portal performs, with what the commands need to name it.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteAction {
    Install {
        user_id: String,
        catalog_app_id: String,
    },
    Upgrade {
        user_id: String,
        installation_id: String,
        catalog_app_id: String,
    },
    Uninstall {
        user_id: String,
        installation_id: String,
    },
}

/// The request as text: request line, headers (the token elided), blank line, pretty body.
pub fn http_text(request: &GraphRequest, graph_base: &str) -> String {
    let mut text = format!("{} {}\n", request.method.as_str(), request.url(graph_base));
    text.push_str("Authorization: Bearer {access token}\n");
    text.push_str("client-request-id: {a new GUID for each request}\n");
    for (name, value) in &request.headers {
        text.push_str(&format!("{name}: {value}\n"));
    }
    if let Some(body) = &request.body {
        text.push('\n');
        text.push_str(&serde_json::to_string_pretty(body).unwrap_or_default());
        text.push('\n');
    }
    text
}

/// A PowerShell single-quoted string (`'` doubled).
fn ps_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A JSON value as a PowerShell hashtable or array literal.
fn ps_value(value: &Value, indent: usize) -> String {
    let pad = "    ".repeat(indent + 1);
    let close = "    ".repeat(indent);
    match value {
        Value::Object(map) => {
            let lines: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    let key = if k.chars().all(|c| c.is_ascii_alphanumeric()) {
                        k.clone()
                    } else {
                        ps_string(k)
                    };
                    format!("{pad}{key} = {}", ps_value(v, indent + 1))
                })
                .collect();
            format!("@{{\n{}\n{close}}}", lines.join("\n"))
        }
        Value::Array(items) => {
            let lines: Vec<String> = items
                .iter()
                .map(|v| format!("{pad}{}", ps_value(v, indent + 1)))
                .collect();
            format!("@(\n{}\n{close})", lines.join("\n"))
        }
        Value::String(s) => ps_string(s),
        Value::Bool(b) => if *b { "$true" } else { "$false" }.to_string(),
        Value::Null => "$null".to_string(),
        Value::Number(n) => n.to_string(),
    }
}

/// The Microsoft Graph PowerShell equivalent (Microsoft.Graph.Teams module).
pub fn powershell(action: &WriteAction, request: &GraphRequest) -> String {
    let body = request
        .body
        .as_ref()
        .map(|b| format!("$params = {}\n", ps_value(b, 0)))
        .unwrap_or_default();
    let with_body = if request.body.is_some() {
        " -BodyParameter $params"
    } else {
        ""
    };
    match action {
        WriteAction::Install { user_id, .. } => format!(
            "{body}New-MgUserTeamworkInstalledApp -UserId {}{with_body}",
            ps_string(user_id)
        ),
        WriteAction::Upgrade {
            user_id,
            installation_id,
            ..
        } => format!(
            "{body}Update-MgUserTeamworkInstalledApp -UserId {} -UserScopeTeamsAppInstallationId {}{with_body}",
            ps_string(user_id),
            ps_string(installation_id)
        ),
        WriteAction::Uninstall {
            user_id,
            installation_id,
        } => format!(
            "Remove-MgUserTeamworkInstalledApp -UserId {} -UserScopeTeamsAppInstallationId {}",
            ps_string(user_id),
            ps_string(installation_id)
        ),
    }
}

/// A POSIX shell single-quoted argument.
fn sh(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@:/=+".contains(c))
    {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// The CLI for Microsoft 365 equivalent.
pub fn cli_m365(action: &WriteAction, request: &GraphRequest, graph_base: &str) -> String {
    let consent = request
        .body
        .as_ref()
        .is_some_and(|b| b.get("consentedPermissionSet").is_some());
    if consent {
        return format!(
            "# teams user app commands cannot send consentedPermissionSet: the same request as m365 request\nm365 request --method {} --url {} --content-type application/json --body {}",
            match request.method {
                Method::Get => "get",
                Method::Post => "post",
                Method::Delete => "delete",
            },
            sh(&request.url(graph_base)),
            sh(&request.body.as_ref().map(Value::to_string).unwrap_or_default())
        );
    }
    match action {
        WriteAction::Install {
            user_id,
            catalog_app_id,
        } => format!(
            "m365 teams user app add --id {} --userId {}",
            sh(catalog_app_id),
            sh(user_id)
        ),
        WriteAction::Upgrade {
            user_id,
            catalog_app_id,
            ..
        } => format!(
            "m365 teams user app upgrade --id {} --userId {}",
            sh(catalog_app_id),
            sh(user_id)
        ),
        WriteAction::Uninstall {
            user_id,
            installation_id,
        } => format!(
            "m365 teams user app remove --id {} --userId {} --force",
            sh(installation_id),
            sh(user_id)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::encode::UserRef;
    use crate::graph::models::{PermissionType, ResourceSpecificPermission};
    use crate::graph::request;

    const USER: &str = "5b649834-7412-4cce-9e69-176e95a394f5";
    const APP: &str = "12345678-9abc-def0-123456789a";

    fn consent() -> Vec<ResourceSpecificPermission> {
        vec![ResourceSpecificPermission {
            permission_value: "TeamsActivity.Send.User".into(),
            permission_type: PermissionType::Application,
        }]
    }

    #[test]
    fn http_text_is_the_request_as_sent() {
        let install = request::install(
            "graph.microsoft.com",
            &UserRef::Id(USER.into()),
            APP,
            Some(&consent()),
        );
        let text = http_text(&install, "https://graph.microsoft.com/v1.0");
        assert!(text.starts_with(&format!(
            "POST https://graph.microsoft.com/v1.0/users/{USER}/teamwork/installedApps\n"
        )));
        assert!(text.contains("Content-Type: application/json\n"));
        assert!(text.contains("\"permissionType\": \"application\""));
        assert!(!text.contains("eyJ"));
    }

    #[test]
    fn powershell_names_the_cmdlets_and_quotes() {
        let action = WriteAction::Install {
            user_id: "o'brien@contoso.com".into(),
            catalog_app_id: APP.into(),
        };
        let install = request::install(
            "graph.microsoft.com",
            &UserRef::Id("o'brien@contoso.com".into()),
            APP,
            Some(&consent()),
        );
        let ps = powershell(&action, &install);
        assert!(ps.contains(
            "New-MgUserTeamworkInstalledApp -UserId 'o''brien@contoso.com' -BodyParameter $params"
        ));
        assert!(ps.contains(
            "'teamsApp@odata.bind' = 'https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/"
        ));
        assert!(ps.contains("permissionType = 'application'"));
        let remove = WriteAction::Uninstall {
            user_id: USER.into(),
            installation_id: "abc=".into(),
        };
        assert_eq!(
            powershell(&remove, &request::uninstall(&UserRef::Id(USER.into()), "abc=")),
            format!("Remove-MgUserTeamworkInstalledApp -UserId '{USER}' -UserScopeTeamsAppInstallationId 'abc='")
        );
    }

    #[test]
    fn cli_uses_teams_user_app_or_request_when_consent_is_sent() {
        let action = WriteAction::Install {
            user_id: USER.into(),
            catalog_app_id: APP.into(),
        };
        let plain = request::install("graph.microsoft.com", &UserRef::Id(USER.into()), APP, None);
        assert_eq!(
            cli_m365(&action, &plain, "https://graph.microsoft.com/v1.0"),
            format!("m365 teams user app add --id {APP} --userId {USER}")
        );
        let consented = request::install(
            "graph.microsoft.com",
            &UserRef::Id(USER.into()),
            APP,
            Some(&consent()),
        );
        let cli = cli_m365(&action, &consented, "https://graph.microsoft.com/v1.0");
        assert!(cli
            .contains("m365 request --method post --url https://graph.microsoft.com/v1.0/users/"));
        assert!(cli.contains("--body '{\"consentedPermissionSet\""));
        let upgrade = WriteAction::Upgrade {
            user_id: USER.into(),
            installation_id: "x".into(),
            catalog_app_id: APP.into(),
        };
        assert!(cli_m365(
            &upgrade,
            &request::upgrade(&UserRef::Id(USER.into()), "x", None),
            "https://g/v1.0"
        )
        .starts_with("m365 teams user app upgrade --id "));
    }
}
