//! `cargo xtask register`: the Entra app registration a real tenant needs, as commands to run
//! (Azure CLI and Microsoft Graph PowerShell; printed, never run), the delegated permissions of
//! the portal's scope table with what each enables, the admin-consent link, and a `config.json`
//! that [`RuntimeConfig::parse`] accepts. Pure text: the xtask only parses its flags, writes the
//! file and prints.
//!
//! Graph's permission ids (GUIDs) are not written here: `shared/graph/permissions-subset.json`
//! does not carry them, so the commands look each permission up by name among the
//! `oauth2PermissionScopes` of the tenant's Microsoft Graph service principal
//! (`00000003-0000-0000-c000-000000000000`), and stop if one is missing.

use crate::auth::admin_consent::admin_consent_url;
use crate::auth::scopes::{Operation, ALL_OPERATIONS, OIDC_SCOPES};
use crate::cloud::Cloud;
use crate::config::{ConfigError, ProblemKind, RuntimeConfig, Tenant};
use crate::web_url::WebUrl;

/// The application id of Microsoft Graph, the same in every cloud (`requiredResourceAccess`).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// The client id written in `config.json` until the app exists; the commands' last steps
/// replace it with the new application's id.
pub const PLACEHOLDER_CLIENT_ID: &str = "00000000-0000-0000-0000-000000000000";

/// The registration's display name.
pub const DISPLAY_NAME: &str = "Teams App Portal";

/// One delegated Microsoft Graph permission the registration asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegatedPermission {
    /// The permission's name (`value` among Graph's `oauth2PermissionScopes`).
    pub value: &'static str,
    /// What it enables in the portal.
    pub enables: &'static str,
    /// Whether an administrator must consent to it.
    pub admin_consent: bool,
    /// The portal's operation using it (`None` for the OpenID Connect scopes).
    pub operation: Option<Operation>,
}

/// What the OpenID Connect scopes of sign-in enable (`openid` first, then [`OIDC_SCOPES`]).
fn oidc_enables(scope: &str) -> &'static str {
    match scope {
        "openid" => "sign-in: the ID token",
        "profile" => "the signed-in user's name in the ID token",
        "offline_access" => "refresh tokens: the session is renewed silently (24 hours for a SPA)",
        _ => "sign-in",
    }
}

/// What an operation's permission enables in the portal.
pub fn enables(operation: Operation) -> &'static str {
    match operation {
        Operation::ReadProfile => "the signed-in user (/me)",
        Operation::FindUsers => "find users by name, UPN or mail",
        Operation::ReadInstallations => "list a user's personal apps",
        Operation::ReadCatalog => "the tenant app catalog",
        Operation::ReadTenantSettings => "the tenant switch for personal-scope RSC",
        Operation::ReadGrants => "a user's RSC grants",
        Operation::WriteInstallations => "install, upgrade and uninstall personal apps",
        Operation::WriteInstallationsWithConsent => {
            "install or upgrade an app consenting to its RSC permissions"
        }
        Operation::ReadUsers => {
            "bulk jobs and the audit: resolve users with accountEnabled (disabled users are flagged)"
        }
        Operation::ReadServicePrincipals => {
            "the audit: an app's service principal and its app-role assignments"
        }
        Operation::ReadDelegatedGrants => {
            "the audit: tenant-wide delegated grants (oauth2PermissionGrants)"
        }
    }
}

/// The delegated permissions the portal asks for in `cloud`, least privileged first: the
/// OpenID Connect scopes, then the scope table in its order. Operations the cloud does not
/// offer are left out (see [`left_out`]): their permissions may not exist there.
pub fn delegated_permissions(cloud: Cloud) -> Vec<DelegatedPermission> {
    let oidc = std::iter::once("openid")
        .chain(OIDC_SCOPES)
        .map(|value| DelegatedPermission {
            value,
            enables: oidc_enables(value),
            admin_consent: false,
            operation: None,
        });
    let graph = ALL_OPERATIONS
        .into_iter()
        .filter(|op| op.available_in(cloud))
        .map(permission_of);
    let mut all: Vec<DelegatedPermission> = oidc.chain(graph).collect();
    // Two operations never share a permission today; if they did, it is asked for once.
    let mut seen: Vec<&str> = Vec::new();
    all.retain(|p| {
        let new = !seen.contains(&p.value);
        seen.push(p.value);
        new
    });
    all
}

/// The scope table's permissions `cloud` cannot use (the app installation and RSC grant APIs
/// in China).
pub fn left_out(cloud: Cloud) -> Vec<DelegatedPermission> {
    ALL_OPERATIONS
        .into_iter()
        .filter(|op| !op.available_in(cloud))
        .map(permission_of)
        .collect()
}

fn permission_of(operation: Operation) -> DelegatedPermission {
    DelegatedPermission {
        value: operation.permission(),
        enables: enables(operation),
        admin_consent: operation.needs_admin_consent(),
        operation: Some(operation),
    }
}

/// The cloud named on the command line: a `config.json` value (`global`, `usgov-l4`,
/// `usgov-l5`, `china`) or the Graph PowerShell environment's name (`usgov`, `usgovdod`).
pub fn parse_cloud(value: &str) -> Option<Cloud> {
    Cloud::from_config_value(value).or_else(|| match value.trim().to_ascii_lowercase().as_str() {
        "usgov" | "gcchigh" => Some(Cloud::UsGovL4),
        "usgovdod" | "dod" => Some(Cloud::UsGovL5),
        _ => None,
    })
}

/// The Azure CLI's name of a cloud (`az cloud set --name`). Azure CLI knows no separate DoD
/// cloud: US Government L5 tenants sign in through `AzureUSGovernment` too.
pub fn azure_cli_cloud(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Global => "AzureCloud",
        Cloud::UsGovL4 | Cloud::UsGovL5 => "AzureUSGovernment",
        Cloud::China => "AzureChinaCloud",
    }
}

/// Microsoft Graph PowerShell's environment of a cloud (`Connect-MgGraph -Environment`).
pub fn graph_powershell_environment(cloud: Cloud) -> &'static str {
    match cloud {
        Cloud::Global => "Global",
        Cloud::UsGovL4 => "USGov",
        Cloud::UsGovL5 => "USGovDoD",
        Cloud::China => "China",
    }
}

/// What `cargo xtask register` was asked for.
#[derive(Clone, Debug)]
pub struct RegistrationInput<'a> {
    /// `tenant` of `config.json`: a domain, a tenant id or `organizations`.
    pub tenant: &'a str,
    /// Where the portal is served, first the one `config.json` names; each becomes a SPA
    /// redirect URI (an origin gets a trailing `/`).
    pub origins: &'a [String],
    pub cloud: Cloud,
    /// The application (client) id, once the registration exists.
    pub client_id: Option<&'a str>,
    /// How the commands name the written `config.json`.
    pub config_path: &'a str,
}

/// The registration: its settings, the `config.json` text, and the commands.
#[derive(Clone, Debug)]
pub struct Registration {
    /// `config.json` as parsed back by the portal's own reader.
    pub config: RuntimeConfig,
    /// The text of `config.json` (ends with a newline).
    pub config_json: String,
    /// Whether `config.json` holds the real client id (else [`PLACEHOLDER_CLIENT_ID`]).
    pub client_id_known: bool,
    /// The SPA redirect URIs, the first being `config.json`'s `redirectUri`.
    pub redirect_uris: Vec<String>,
    /// The delegated permissions asked for, least privileged first.
    pub permissions: Vec<DelegatedPermission>,
    /// The scope table's permissions this cloud cannot use.
    pub left_out: Vec<DelegatedPermission>,
    config_path: String,
}

/// A redirect URI from an origin (or an address with a path): a trailing `/` is added; no
/// query, fragment or credentials, and nothing a shell would read.
fn redirect_uri_of(origin: &str) -> Result<String, String> {
    let url = WebUrl::parse(origin.trim())
        .ok_or_else(|| format!("--origin {origin:?} is not an absolute URL"))?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "--origin {origin:?}: a redirect URI has no query or fragment"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("--origin {origin:?}: no user name or password"));
    }
    let mut uri = url.as_str().to_string();
    if !uri.ends_with('/') {
        uri.push('/');
    }
    if uri
        .chars()
        .any(|c| matches!(c, '\'' | '"' | '`' | '$' | '\\') || c.is_whitespace())
    {
        return Err(format!(
            "--origin {origin:?} holds a character the commands cannot quote safely"
        ));
    }
    Ok(uri)
}

/// The problems of a generated `config.json`, named after the flags that fed them.
fn describe(error: &ConfigError) -> String {
    match error {
        ConfigError::Fields(problems) => problems
            .iter()
            .map(|p| {
                let flag = match p.field.as_str() {
                    "tenant" => "--tenant",
                    "redirectUri" => "--origin",
                    "clientId" => "--client-id",
                    "cloud" => "--cloud",
                    other => other,
                };
                let why = match &p.kind {
                    ProblemKind::PersonalAccountsTenant { value } => format!(
                        "{value:?}: personal Microsoft accounts have no Teams apps to manage; give the tenant's domain, its id or organizations"
                    ),
                    ProblemKind::Invalid { value } => match flag {
                        "--tenant" => format!("{value:?} is not a domain (contoso.onmicrosoft.com), a tenant id (GUID) or organizations"),
                        "--origin" => format!("{value:?} must be https (http only on localhost or 127.0.0.1)"),
                        "--client-id" => format!("{value:?} is not a GUID (the application (client) id)"),
                        _ => format!("{value:?} is not valid"),
                    },
                    other => format!("{other:?}"),
                };
                format!("{flag} {why}")
            })
            .collect::<Vec<_>>()
            .join("\n"),
        other => format!("{other:?}"),
    }
}

/// Builds the registration for `input`: `config.json` is parsed back with the portal's reader
/// before anything is written or printed, so a bad flag is refused with the reader's reason.
pub fn registration(input: &RegistrationInput) -> Result<Registration, String> {
    if input.origins.is_empty() {
        return Err(
            "--origin is required: where the portal is served, e.g. https://portal.contoso.com"
                .into(),
        );
    }
    let mut redirect_uris = Vec::new();
    for origin in input.origins {
        let uri = redirect_uri_of(origin)?;
        if !redirect_uris.contains(&uri) {
            redirect_uris.push(uri);
        }
    }
    let client_id = input.client_id.unwrap_or(PLACEHOLDER_CLIENT_ID).trim();
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    let config_json = format!(
        "{{\n  \"clientId\": {},\n  \"tenant\": {},\n  \"cloud\": {},\n  \"redirectUri\": {},\n  \"tokenCache\": \"session\"\n}}\n",
        quote(client_id),
        quote(input.tenant.trim()),
        quote(input.cloud.config_value()),
        quote(&redirect_uris[0]),
    );
    let config = RuntimeConfig::parse(&config_json).map_err(|e| describe(&e))?;
    // Every SPA redirect URI must be one the portal's reader accepts, not only the first.
    for uri in &redirect_uris[1..] {
        let other = config_json.replacen(&quote(&redirect_uris[0]), &quote(uri), 1);
        RuntimeConfig::parse(&other).map_err(|e| describe(&e))?;
    }
    Ok(Registration {
        client_id_known: config.client_id != PLACEHOLDER_CLIENT_ID,
        config,
        config_json,
        redirect_uris,
        permissions: delegated_permissions(input.cloud),
        left_out: left_out(input.cloud),
        config_path: input.config_path.to_string(),
    })
}

/// A single-quoted shell word (PowerShell and POSIX shells agree on `'...'` without quotes
/// inside, which [`redirect_uri_of`] and the tenant's form guarantee).
fn sq(text: &str) -> String {
    format!("'{text}'")
}

impl Registration {
    /// `AzureADMultipleOrgs` for `organizations`, else a single tenant.
    pub fn sign_in_audience(&self) -> &'static str {
        match self.config.tenant {
            Tenant::Organizations => "AzureADMultipleOrgs",
            _ => "AzureADMyOrg",
        }
    }

    /// The admin-consent link (the portal's own, `auth::admin_consent`), with `client_id`
    /// written as `client_id_text` (the id, or a shell variable holding it).
    pub fn admin_consent_url(&self, client_id_text: &str) -> String {
        let mut config = self.config.clone();
        config.client_id = PLACEHOLDER_CLIENT_ID.to_string();
        admin_consent_url(&config).replacen(
            &format!("client_id={PLACEHOLDER_CLIENT_ID}"),
            &format!("client_id={client_id_text}"),
            1,
        )
    }

    /// Where a relative `config.json` path is read from when the commands run.
    fn relative_note(&self) -> &'static str {
        let path = self.config_path.as_str();
        let absolute = path.starts_with('/')
            || path.starts_with('\\')
            || path.as_bytes().get(1) == Some(&b':');
        if absolute {
            ""
        } else {
            " (run from the folder that holds it: the repository root by default)"
        }
    }

    fn permission_names(&self) -> Vec<&'static str> {
        self.permissions.iter().map(|p| p.value).collect()
    }

    /// The Azure CLI commands, as a bash script. `az ad app` has no option for SPA redirect
    /// URIs, so they (and the directory-roles claim) are PATCHed on the application through
    /// Graph with `az rest`, at the Graph endpoint of the CLI's own cloud.
    pub fn azure_cli(&self) -> String {
        let tenant = self.config.tenant.as_path_segment();
        let login = match self.config.tenant {
            Tenant::Organizations => {
                "az login --allow-no-subscriptions   # the tenant that will own the registration"
                    .to_string()
            }
            _ => format!("az login --tenant {} --allow-no-subscriptions", sq(tenant)),
        };
        let patch = serde_json::json!({
            "spa": { "redirectUris": self.redirect_uris },
            "groupMembershipClaims": "DirectoryRole",
        })
        .to_string();
        let names = self.permission_names().join(" ");
        let path = &self.config_path;
        let mut s = String::new();
        s.push_str("#!/usr/bin/env bash\n");
        s.push_str(
            "# Save as register-portal.sh and run it with bash (Azure CLI 2.37 or later).\n",
        );
        s.push_str("set -eu\n");
        s.push_str(&format!(
            "az cloud set --name {}\n",
            azure_cli_cloud(self.config.cloud)
        ));
        s.push_str(&login);
        s.push('\n');
        s.push_str(&format!("GRAPH_API={GRAPH_APP_ID}\n"));
        s.push_str(&format!(
            "\n# 1. The app registration ({}).\n",
            self.sign_in_audience()
        ));
        s.push_str(&format!(
            "APP_ID=$(az ad app create --display-name {} --sign-in-audience {} --query appId -o tsv)\n",
            sq(DISPLAY_NAME),
            self.sign_in_audience()
        ));
        s.push_str("OBJECT_ID=$(az ad app show --id \"$APP_ID\" --query id -o tsv)\n");
        s.push_str(
            "\n# 2. The single-page application redirect URI(s) and the directory roles (wids) in the\n#    ID token. az ad app has no SPA option: PATCH the application through Graph.\n",
        );
        s.push_str(
            "GRAPH_URL=$(az cloud show --query endpoints.microsoftGraphResourceId -o tsv)\n",
        );
        s.push_str(&format!(
            "az rest --method PATCH --url \"${{GRAPH_URL%/}}/v1.0/applications/$OBJECT_ID\" \\\n  --headers Content-Type=application/json \\\n  --body {}\n",
            sq(&patch)
        ));
        s.push_str(
            "\n# 3. The delegated Microsoft Graph permissions, least privileged first. Their ids are\n#    looked up by name in the tenant's Microsoft Graph service principal.\n",
        );
        s.push_str("SCOPES=$(az ad sp show --id \"$GRAPH_API\" --query \"oauth2PermissionScopes[].[value, id]\" -o tsv)\n");
        s.push_str("PERMISSIONS=\"\"\n");
        s.push_str(&format!("for NAME in {names}; do\n"));
        s.push_str("  ID=$(printf '%s\\n' \"$SCOPES\" | awk -v name=\"$NAME\" '$1 == name { print $2 }')\n");
        s.push_str("  if [ -z \"$ID\" ]; then echo \"Microsoft Graph has no delegated permission $NAME here\" >&2; exit 1; fi\n");
        s.push_str("  PERMISSIONS=\"$PERMISSIONS $ID=Scope\"\n");
        s.push_str("done\n");
        s.push_str(
            "az ad app permission add --id \"$APP_ID\" --api \"$GRAPH_API\" --api-permissions $PERMISSIONS\n",
        );
        if !self.client_id_known {
            s.push_str(&format!(
                "\n# 4. The new client id into {path}{}.\n",
                self.relative_note()
            ));
            let new = sq(&format!("{path}.new"));
            s.push_str(&format!(
                "sed \"s/{PLACEHOLDER_CLIENT_ID}/$APP_ID/\" {} > {new} && mv {new} {}\n",
                sq(path),
                sq(path)
            ));
        }
        s.push_str(&format!(
            "\n# {}. Tenant-wide admin consent: open this link as an administrator who may grant it.\n",
            if self.client_id_known { 4 } else { 5 }
        ));
        s.push_str("echo \"Client id: $APP_ID\"\n");
        s.push_str(&format!(
            "echo \"Admin consent: {}\"\n",
            self.admin_consent_url("$APP_ID")
        ));
        s
    }

    /// The Microsoft Graph PowerShell commands (module `Microsoft.Graph.Applications`).
    pub fn graph_powershell(&self) -> String {
        let tenant = match self.config.tenant {
            Tenant::Organizations => String::new(),
            _ => format!(" -TenantId {}", sq(self.config.tenant.as_path_segment())),
        };
        let names = self
            .permission_names()
            .iter()
            .map(|n| sq(n))
            .collect::<Vec<_>>()
            .join(", ");
        let uris = self
            .redirect_uris
            .iter()
            .map(|u| sq(u))
            .collect::<Vec<_>>()
            .join(", ");
        let path = sq(&self.config_path);
        let mut s = String::new();
        s.push_str("# Install-Module Microsoft.Graph.Applications -Scope CurrentUser   (once)\n");
        s.push_str(&format!(
            "Connect-MgGraph -Environment {}{tenant} -Scopes 'Application.ReadWrite.All'\n",
            graph_powershell_environment(self.config.cloud)
        ));
        s.push_str(&format!("$graphApi = '{GRAPH_APP_ID}'\n"));
        s.push_str(
            "\n# The delegated Microsoft Graph permissions, least privileged first, looked up by name.\n",
        );
        s.push_str("$graph = Get-MgServicePrincipal -Filter \"appId eq '$graphApi'\"\n");
        s.push_str(&format!("$names = @({names})\n"));
        s.push_str("$access = foreach ($name in $names) {\n");
        s.push_str(
            "    $scope = $graph.Oauth2PermissionScopes | Where-Object { $_.Value -eq $name }\n",
        );
        s.push_str("    if (-not $scope) { throw \"Microsoft Graph has no delegated permission $name here\" }\n");
        s.push_str("    @{ Id = $scope.Id; Type = 'Scope' }\n");
        s.push_str("}\n");
        s.push_str(&format!(
            "\n# The app registration ({}): single-page application redirect URI(s), directory\n# roles (wids) in the ID token, the permissions.\n",
            self.sign_in_audience()
        ));
        s.push_str(&format!(
            "$app = New-MgApplication -DisplayName {} -SignInAudience '{}' `\n",
            sq(DISPLAY_NAME),
            self.sign_in_audience()
        ));
        s.push_str(&format!("    -Spa @{{ RedirectUris = @({uris}) }} `\n"));
        s.push_str("    -GroupMembershipClaims 'DirectoryRole' `\n");
        s.push_str(
            "    -RequiredResourceAccess @(@{ ResourceAppId = $graphApi; ResourceAccess = @($access) })\n",
        );
        if !self.client_id_known {
            s.push_str(&format!(
                "\n# The new client id into {}{}.\n",
                self.config_path,
                self.relative_note()
            ));
            s.push_str(&format!(
                "(Get-Content -Raw {path}).Replace('{PLACEHOLDER_CLIENT_ID}', $app.AppId) | Set-Content -NoNewline {path}\n"
            ));
        }
        s.push_str(
            "\n# Tenant-wide admin consent: open this link as an administrator who may grant it.\n",
        );
        s.push_str("\"Client id: $($app.AppId)\"\n");
        s.push_str(&format!(
            "\"Admin consent: {}\"\n",
            self.admin_consent_url("$($app.AppId)")
        ));
        s
    }

    /// Everything `cargo xtask register` prints.
    pub fn report(&self) -> String {
        let cloud = self.config.cloud;
        let mut s = String::new();
        s.push_str("Register the Teams App Portal in Entra ID (nothing below has been run)\n\n");
        s.push_str(&format!(
            "  tenant         {} ({})\n",
            self.config.tenant.as_path_segment(),
            self.sign_in_audience()
        ));
        s.push_str(&format!(
            "  cloud          {} (sign-in {}, Graph {})\n",
            cloud.config_value(),
            cloud.authority_host(),
            cloud.graph_host()
        ));
        for (i, uri) in self.redirect_uris.iter().enumerate() {
            let label = if i == 0 {
                "SPA redirect   "
            } else {
                "               "
            };
            s.push_str(&format!("  {label}{uri}\n"));
        }
        s.push_str(&format!(
            "  config.json    {}{}\n",
            self.config_path,
            if self.client_id_known {
                ""
            } else {
                " (its clientId is a placeholder until the commands below fill it in)"
            }
        ));
        s.push_str(&format!(
            "\nDelegated Microsoft Graph permissions (resource {GRAPH_APP_ID}), least privileged first:\n\n"
        ));
        let width = self
            .permissions
            .iter()
            .chain(&self.left_out)
            .map(|p| p.value.len())
            .max()
            .unwrap_or(0);
        for p in &self.permissions {
            s.push_str(&format!(
                "  {:width$}  {}{}\n",
                p.value,
                if p.admin_consent {
                    "[admin consent] "
                } else {
                    ""
                },
                p.enables
            ));
        }
        for p in &self.left_out {
            s.push_str(&format!(
                "  {:width$}  not asked for: Graph in this cloud does not offer it ({})\n",
                p.value, p.enables
            ));
        }
        s.push_str(
            "\nGraph's permission ids are not written here: the commands look each one up by name\n\
             among the oauth2PermissionScopes of the tenant's Microsoft Graph service principal\n\
             and stop if one is missing.\n",
        );
        s.push_str("\n== Azure CLI (bash) ==\n\n");
        s.push_str(&self.azure_cli());
        s.push_str("\n== Microsoft Graph PowerShell ==\n\n");
        s.push_str(&self.graph_powershell());
        s.push_str("\n== Admin consent ==\n\n");
        if self.client_id_known {
            s.push_str(&self.admin_consent_url(&self.config.client_id));
            s.push('\n');
        } else {
            s.push_str(&format!(
                "{}\n(client_id: the new application's id, which both scripts print with the link)\n",
                self.admin_consent_url("{client-id}")
            ));
        }
        s.push_str(
            "\nThe administrator consents for the whole tenant (Privileged Role Administrator, or\n\
             Cloud Application Administrator / Application Administrator for delegated\n\
             permissions); members can then sign in without a consent prompt. The portal's\n\
             Settings page checks what each feature can do with the permissions and roles held.\n",
        );
        s.push_str(&format!(
            "\nThen: cargo xtask build, copy {} beside dist/index.html and deploy dist/",
            self.config_path
        ));
        if cloud != Cloud::Global {
            s.push_str(&format!(
                " (first `cargo xtask headers --config {}`: the security headers name this cloud's hosts)",
                self.config_path
            ));
        }
        s.push_str(".\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(origins: &'a [String], cloud: Cloud) -> RegistrationInput<'a> {
        RegistrationInput {
            tenant: "contoso.onmicrosoft.com",
            origins,
            cloud,
            client_id: None,
            config_path: "config.json",
        }
    }

    fn contoso(cloud: Cloud) -> Registration {
        let origins = vec!["https://portal.contoso.com".to_string()];
        registration(&input(&origins, cloud)).unwrap()
    }

    #[test]
    fn both_scripts_ask_for_every_scope_of_the_portals_table() {
        let reg = contoso(Cloud::Global);
        let cli = reg.azure_cli();
        let ps = reg.graph_powershell();
        let names: Vec<&str> = std::iter::once("openid")
            .chain(OIDC_SCOPES)
            .chain(ALL_OPERATIONS.iter().map(|op| op.permission()))
            .collect();
        let looked_up: Vec<&str> = cli
            .lines()
            .find_map(|l| l.strip_prefix("for NAME in "))
            .and_then(|l| l.strip_suffix("; do"))
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(looked_up, names, "the Azure CLI loop");
        for name in &names {
            assert!(
                ps.contains(&format!("'{name}'")),
                "{name} missing from PowerShell"
            );
            assert!(reg.report().contains(name), "{name} missing from the table");
        }
        // Least privileged first: the scope table's order, after the OpenID Connect scopes.
        let listed: Vec<&str> = reg.permissions.iter().map(|p| p.value).collect();
        assert_eq!(listed, names);
        assert!(reg.left_out.is_empty());
    }

    #[test]
    fn the_config_is_read_back_by_the_portals_reader() {
        let origins = vec![
            "https://portal.contoso.com".to_string(),
            "http://localhost:8080".to_string(),
        ];
        let reg = registration(&input(&origins, Cloud::UsGovL5)).unwrap();
        let config = RuntimeConfig::parse(&reg.config_json).unwrap();
        assert_eq!(config, reg.config);
        assert_eq!(
            config.tenant,
            Tenant::Domain("contoso.onmicrosoft.com".into())
        );
        assert_eq!(config.cloud, Cloud::UsGovL5);
        assert_eq!(config.redirect_uri.as_str(), "https://portal.contoso.com/");
        assert_eq!(config.client_id, PLACEHOLDER_CLIENT_ID);
        assert!(!reg.client_id_known);
        assert_eq!(
            reg.redirect_uris,
            ["https://portal.contoso.com/", "http://localhost:8080/"]
        );
        // With the client id known, it is written as given (lowercase) and no step replaces it.
        let mut with_id = input(&origins, Cloud::Global);
        with_id.client_id = Some("6731DE76-14A6-49AE-97BC-6EBA6914391E");
        let reg = registration(&with_id).unwrap();
        assert!(reg.client_id_known);
        let config = RuntimeConfig::parse(&reg.config_json).unwrap();
        assert_eq!(config.client_id, "6731de76-14a6-49ae-97bc-6eba6914391e");
        assert!(!reg.azure_cli().contains(PLACEHOLDER_CLIENT_ID));
        assert!(!reg.graph_powershell().contains(PLACEHOLDER_CLIENT_ID));
        assert!(reg
            .report()
            .contains("client_id=6731de76-14a6-49ae-97bc-6eba6914391e"));
    }

    #[test]
    fn the_placeholder_is_replaced_by_both_scripts() {
        let reg = contoso(Cloud::Global);
        assert!(reg.config_json.contains(PLACEHOLDER_CLIENT_ID));
        assert!(reg.azure_cli().contains(&format!(
            "sed \"s/{PLACEHOLDER_CLIENT_ID}/$APP_ID/\" 'config.json' > 'config.json.new' && mv 'config.json.new' 'config.json'"
        )));
        assert!(reg
            .graph_powershell()
            .contains(&format!(".Replace('{PLACEHOLDER_CLIENT_ID}', $app.AppId)")));
    }

    #[test]
    fn the_admin_consent_link_is_right_per_cloud() {
        let table = [
            (
                Cloud::Global,
                "login.microsoftonline.com",
                "graph.microsoft.com",
            ),
            (
                Cloud::UsGovL4,
                "login.microsoftonline.us",
                "graph.microsoft.us",
            ),
            (
                Cloud::UsGovL5,
                "login.microsoftonline.us",
                "dod-graph.microsoft.us",
            ),
            (
                Cloud::China,
                "login.chinacloudapi.cn",
                "microsoftgraph.chinacloudapi.cn",
            ),
        ];
        for (cloud, authority, graph) in table {
            let reg = contoso(cloud);
            let url = reg.admin_consent_url("$APP_ID");
            assert_eq!(
                url,
                format!(
                    "https://{authority}/contoso.onmicrosoft.com/v2.0/adminconsent\
                     ?client_id=$APP_ID\
                     &scope=https%3A%2F%2F{graph}%2F.default\
                     &redirect_uri=https%3A%2F%2Fportal.contoso.com%2F\
                     &state=admin-consent"
                ),
                "{cloud:?}"
            );
            assert!(reg.azure_cli().contains(&url), "{cloud:?}");
            let ps = reg.admin_consent_url("$($app.AppId)");
            assert!(reg.graph_powershell().contains(&ps), "{cloud:?}");
        }
    }

    #[test]
    fn each_cloud_signs_in_where_it_lives_and_china_leaves_out_what_it_lacks() {
        let table = [
            (Cloud::Global, "AzureCloud", "Global"),
            (Cloud::UsGovL4, "AzureUSGovernment", "USGov"),
            (Cloud::UsGovL5, "AzureUSGovernment", "USGovDoD"),
            (Cloud::China, "AzureChinaCloud", "China"),
        ];
        for (cloud, az, environment) in table {
            let reg = contoso(cloud);
            assert!(reg
                .azure_cli()
                .contains(&format!("az cloud set --name {az}\n")));
            assert!(reg
                .graph_powershell()
                .contains(&format!("Connect-MgGraph -Environment {environment} ")));
        }
        let china = contoso(Cloud::China);
        let lacking = [
            Operation::ReadInstallations,
            Operation::ReadGrants,
            Operation::WriteInstallations,
            Operation::WriteInstallationsWithConsent,
        ];
        for op in lacking {
            assert!(!china
                .graph_powershell()
                .contains(&format!("'{}'", op.permission())));
            assert!(china.left_out.iter().any(|p| p.operation == Some(op)));
        }
        for op in ALL_OPERATIONS
            .into_iter()
            .filter(|op| !lacking.contains(op))
        {
            assert!(
                china
                    .graph_powershell()
                    .contains(&format!("'{}'", op.permission())),
                "{op:?}"
            );
        }
        assert!(china
            .report()
            .contains("cargo xtask headers --config config.json"));
        assert!(!contoso(Cloud::Global).report().contains("xtask headers"));
    }

    #[test]
    fn the_spa_redirect_uris_and_roles_claim_are_patched_on_the_application() {
        let reg = contoso(Cloud::Global);
        let cli = reg.azure_cli();
        assert!(cli.contains(
            r#"--body '{"groupMembershipClaims":"DirectoryRole","spa":{"redirectUris":["https://portal.contoso.com/"]}}'"#
        ));
        assert!(cli.contains(
            "az ad app create --display-name 'Teams App Portal' --sign-in-audience AzureADMyOrg"
        ));
        assert!(cli.contains("az login --tenant 'contoso.onmicrosoft.com'"));
        let ps = reg.graph_powershell();
        assert!(ps.contains("-Spa @{ RedirectUris = @('https://portal.contoso.com/') }"));
        assert!(ps.contains("-GroupMembershipClaims 'DirectoryRole'"));
        assert!(ps.contains("-TenantId 'contoso.onmicrosoft.com'"));
    }

    #[test]
    fn organizations_is_a_multi_tenant_registration() {
        let origins = vec!["https://portal.contoso.com".to_string()];
        let mut multi = input(&origins, Cloud::Global);
        multi.tenant = "organizations";
        let reg = registration(&multi).unwrap();
        assert_eq!(reg.sign_in_audience(), "AzureADMultipleOrgs");
        assert!(!reg.azure_cli().contains("--tenant"));
        assert!(!reg.graph_powershell().contains("-TenantId"));
        assert!(reg
            .admin_consent_url("x")
            .starts_with("https://login.microsoftonline.com/organizations/v2.0/adminconsent?"));
    }

    #[test]
    fn bad_flags_are_refused_with_the_readers_reason() {
        let good = vec!["https://portal.contoso.com".to_string()];
        let refused = |tenant: &str, origins: &[String], client_id: Option<&str>| {
            let mut i = input(origins, Cloud::Global);
            i.tenant = tenant;
            i.client_id = client_id;
            registration(&i).unwrap_err()
        };
        assert!(refused("common", &good, None).contains("--tenant"));
        assert!(refused("contoso", &good, None).contains("--tenant"));
        assert!(refused(
            "contoso.onmicrosoft.com",
            &["http://portal.contoso.com".to_string()],
            None
        )
        .contains("--origin"));
        assert!(refused(
            "contoso.onmicrosoft.com",
            &[
                "https://portal.contoso.com".to_string(),
                "http://portal.contoso.com".to_string()
            ],
            None
        )
        .contains("--origin"));
        assert!(
            refused("contoso.onmicrosoft.com", &good, Some("not-a-guid")).contains("--client-id")
        );
        assert!(refused("contoso.onmicrosoft.com", &[], None).contains("--origin"));
        for bad in [
            "https://portal.contoso.com/?x=1",
            "https://portal.contoso.com/#x",
            "https://a.contoso.com/it's",
            "portal.contoso.com",
        ] {
            assert!(
                refused("contoso.onmicrosoft.com", &[bad.to_string()], None).contains("--origin"),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_address_with_a_path_keeps_it_with_a_trailing_slash() {
        let origins = vec!["https://host.contoso.com/portal".to_string()];
        let reg = registration(&input(&origins, Cloud::Global)).unwrap();
        assert_eq!(reg.redirect_uris, ["https://host.contoso.com/portal/"]);
    }

    #[test]
    fn cloud_flags_accept_config_values_and_powershell_names() {
        assert_eq!(parse_cloud("global"), Some(Cloud::Global));
        assert_eq!(parse_cloud("usgov"), Some(Cloud::UsGovL4));
        assert_eq!(parse_cloud("usgov-l4"), Some(Cloud::UsGovL4));
        assert_eq!(parse_cloud("USGovDoD"), Some(Cloud::UsGovL5));
        assert_eq!(parse_cloud("usgov-l5"), Some(Cloud::UsGovL5));
        assert_eq!(parse_cloud("china"), Some(Cloud::China));
        assert_eq!(parse_cloud("germany"), None);
    }

    #[test]
    fn admin_consent_is_marked_as_the_scope_table_says() {
        let reg = contoso(Cloud::Global);
        for p in &reg.permissions {
            assert_eq!(
                p.admin_consent,
                p.operation.is_some_and(|op| op.needs_admin_consent()),
                "{}",
                p.value
            );
        }
        let report = reg.report();
        let line = report
            .lines()
            .find(|l| l.trim_start().starts_with("Directory.Read.All"))
            .unwrap();
        assert!(line.contains("[admin consent]"), "{line}");
        let line = report
            .lines()
            .find(|l| l.trim_start().starts_with("User.Read "))
            .unwrap();
        assert!(!line.contains("[admin consent]"), "{line}");
    }
}
