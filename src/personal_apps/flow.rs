//! The open flow (install, upgrade, uninstall) lives in the URL (`?action=install&app=…`), so it
//! survives the redirect of an incremental consent. This file owns that codec (pure, tested
//! natively) and the context that opens and closes flows from events.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};
use leptos_router::NavigateOptions;
use portal_core::graph::encode::query_value;
use portal_core::graph::ids::{CatalogAppId, InstallationId};

/// The open flow.
#[derive(Clone, Debug, PartialEq)]
pub enum Flow {
    Install { app: Option<CatalogAppId> },
    Upgrade { installation: InstallationId },
    Uninstall { installation: InstallationId },
}

impl Flow {
    /// The flow named by a page's query (`action`, `app`, `installation`), if any.
    pub fn from_query(
        action: Option<&str>,
        app: Option<&str>,
        installation: Option<&str>,
    ) -> Option<Flow> {
        let installation = installation
            .filter(|i| !i.is_empty())
            .map(InstallationId::new);
        match action {
            Some("install") => Some(Flow::Install {
                app: app.filter(|a| !a.is_empty()).map(CatalogAppId::new),
            }),
            Some("upgrade") => installation.map(|installation| Flow::Upgrade { installation }),
            Some("uninstall") => installation.map(|installation| Flow::Uninstall { installation }),
            _ => None,
        }
    }

    /// The query of a page with `flow` open (empty when none).
    pub fn to_query(flow: Option<&Flow>) -> String {
        match flow {
            None => String::new(),
            Some(Flow::Install { app: None }) => "?action=install".into(),
            Some(Flow::Install { app: Some(app) }) => {
                format!("?action=install&app={}", query_value(app.as_str()))
            }
            Some(Flow::Upgrade { installation }) => format!(
                "?action=upgrade&installation={}",
                query_value(installation.as_str())
            ),
            Some(Flow::Uninstall { installation }) => format!(
                "?action=uninstall&installation={}",
                query_value(installation.as_str())
            ),
        }
    }
}

/// Opens a flow (or closes it with `None`): a navigation within this page.
#[derive(Clone, Copy)]
pub struct OpenFlow(pub Callback<Option<Flow>>);

/// Provides [`OpenFlow`] for the children (call once, in the feature's root).
pub fn provide_open_flow() -> Callback<Option<Flow>> {
    let navigate = use_navigate();
    let pathname = use_location().pathname;
    let open = Callback::new(move |flow: Option<Flow>| {
        navigate(
            &format!(
                "{}{}",
                pathname.get_untracked(),
                Flow::to_query(flow.as_ref())
            ),
            NavigateOptions {
                scroll: false,
                ..Default::default()
            },
        );
    });
    provide_context(OpenFlow(open));
    open
}

/// The [`OpenFlow`] callback (call at component creation; the callback works from events).
pub fn use_open_flow() -> Callback<Option<Flow>> {
    expect_context::<OpenFlow>().0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_round_trip_through_the_query() {
        let flows = [
            Flow::Install { app: None },
            Flow::Install {
                app: Some(CatalogAppId::new("a b&c")),
            },
            Flow::Upgrade {
                installation: InstallationId::new("x+y/z="),
            },
            Flow::Uninstall {
                installation: InstallationId::new("abc"),
            },
        ];
        for flow in flows {
            let query = Flow::to_query(Some(&flow));
            let params: Vec<(String, String)> = query
                .trim_start_matches('?')
                .split('&')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    (k.to_string(), decode(v))
                })
                .collect();
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            assert_eq!(
                Flow::from_query(get("action"), get("app"), get("installation")),
                Some(flow)
            );
        }
        assert_eq!(Flow::to_query(None), "");
    }

    #[test]
    fn incomplete_or_unknown_queries_open_nothing() {
        assert_eq!(Flow::from_query(Some("upgrade"), None, None), None);
        assert_eq!(Flow::from_query(Some("uninstall"), None, Some("")), None);
        assert_eq!(
            Flow::from_query(Some("delete-everything"), None, Some("x")),
            None
        );
        assert_eq!(
            Flow::from_query(Some("install"), Some(""), None),
            Some(Flow::Install { app: None })
        );
    }

    fn decode(value: &str) -> String {
        let bytes = value.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 3 <= bytes.len() {
                out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap_or(b'?'));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
