//! The national clouds the portal can sign in to: their authority and Graph hosts and what
//! each supports for personal-scope Teams apps (the table in `shared/design/facts.md`).

/// A Microsoft national cloud. Tokens never cross clouds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cloud {
    /// Microsoft's global cloud (login.microsoftonline.com, graph.microsoft.com).
    Global,
    /// US Government L4 (GCC High).
    UsGovL4,
    /// US Government L5 (DoD).
    UsGovL5,
    /// China, operated by 21Vianet.
    China,
}

/// How far a cloud supports Teams apps in a user's personal scope through Graph, for a
/// delegated (signed-in user) token, as Microsoft's "Teams API implementation differences in
/// national clouds" page gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PersonalInstallSupport {
    /// List, install, upgrade and uninstall, RSC consent included (the US government clouds
    /// lose only app-only tokens, which a portal never uses).
    Full,
    /// The app installation APIs are unsupported in every scope, listing included, and so is
    /// listing a user's RSC grants: only the catalog and users can be shown.
    Unavailable,
}

impl Cloud {
    /// Every cloud, in the order the settings page lists them.
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::UsGovL4, Cloud::UsGovL5, Cloud::China];

    /// The value written in `config.json` (`"cloud": "usgov-l4"`).
    pub fn config_value(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGovL4 => "usgov-l4",
            Cloud::UsGovL5 => "usgov-l5",
            Cloud::China => "china",
        }
    }

    /// Parses a `config.json` value; case-insensitive, surrounding spaces ignored.
    pub fn from_config_value(value: &str) -> Option<Cloud> {
        let value = value.trim();
        Cloud::ALL
            .into_iter()
            .find(|cloud| cloud.config_value().eq_ignore_ascii_case(value))
    }

    /// Host of the Entra ID authority.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global => "login.microsoftonline.com",
            Cloud::UsGovL4 | Cloud::UsGovL5 => "login.microsoftonline.us",
            Cloud::China => "login.chinacloudapi.cn",
        }
    }

    /// Host of Microsoft Graph; also the resource scopes are written with.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Global => "graph.microsoft.com",
            Cloud::UsGovL4 => "graph.microsoft.us",
            Cloud::UsGovL5 => "dod-graph.microsoft.us",
            Cloud::China => "microsoftgraph.chinacloudapi.cn",
        }
    }

    /// Personal-scope app installation support in this cloud.
    pub fn personal_install(self) -> PersonalInstallSupport {
        match self {
            Cloud::Global | Cloud::UsGovL4 | Cloud::UsGovL5 => PersonalInstallSupport::Full,
            Cloud::China => PersonalInstallSupport::Unavailable,
        }
    }

    /// i18n key of the cloud's display name.
    pub fn name_key(self) -> &'static str {
        match self {
            Cloud::Global => "cloud.global",
            Cloud::UsGovL4 => "cloud.usgov_l4",
            Cloud::UsGovL5 => "cloud.usgov_l5",
            Cloud::China => "cloud.china",
        }
    }
}

impl PersonalInstallSupport {
    /// i18n key describing the support level.
    pub fn description_key(self) -> &'static str {
        match self {
            PersonalInstallSupport::Full => "cloud.install.full",
            PersonalInstallSupport::Unavailable => "cloud.install.unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_round_trip_case_insensitively() {
        for cloud in Cloud::ALL {
            assert_eq!(Cloud::from_config_value(cloud.config_value()), Some(cloud));
            let upper = cloud.config_value().to_ascii_uppercase();
            assert_eq!(Cloud::from_config_value(&format!(" {upper} ")), Some(cloud));
        }
        assert_eq!(Cloud::from_config_value("usgov"), None);
        assert_eq!(Cloud::from_config_value("germany"), None);
    }

    #[test]
    fn hosts_match_the_published_table() {
        assert_eq!(Cloud::Global.authority_host(), "login.microsoftonline.com");
        assert_eq!(Cloud::UsGovL5.authority_host(), "login.microsoftonline.us");
        assert_eq!(Cloud::UsGovL5.graph_host(), "dod-graph.microsoft.us");
        assert_eq!(Cloud::UsGovL4.graph_host(), "graph.microsoft.us");
        assert_eq!(Cloud::China.graph_host(), "microsoftgraph.chinacloudapi.cn");
    }

    #[test]
    fn china_cannot_install_personal_apps_and_usgov_is_delegated_only() {
        assert_eq!(
            Cloud::China.personal_install(),
            PersonalInstallSupport::Unavailable
        );
        assert_eq!(
            Cloud::UsGovL4.personal_install(),
            PersonalInstallSupport::Full
        );
        assert_eq!(
            Cloud::Global.personal_install(),
            PersonalInstallSupport::Full
        );
    }
}
