//! Fetches `config.json` from beside the portal (resolved against `<base href>`, so nested
//! routes and sub-path deployments find the same file) and turns every way it can fail into a
//! [`ConfigLoadError`] the setup page can explain.

use gloo_net::http::Request;
use portal_core::{ConfigError, RuntimeConfig};

/// The path of the configuration file, relative to the document's base URL.
pub const CONFIG_PATH: &str = "config.json";

/// Why the portal could not start with a configuration.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigLoadError {
    /// The server answered 404: there is no `config.json` next to the portal.
    Missing { url: String },
    /// The request failed or the server answered another error status.
    Unreadable {
        url: String,
        status: Option<u16>,
        detail: String,
    },
    /// The file was read but is not a valid configuration.
    Invalid { url: String, error: ConfigError },
}

impl ConfigLoadError {
    /// The address the portal tried to read.
    pub fn url(&self) -> &str {
        match self {
            ConfigLoadError::Missing { url }
            | ConfigLoadError::Unreadable { url, .. }
            | ConfigLoadError::Invalid { url, .. } => url,
        }
    }
}

/// Absolute address of `config.json` for this document.
pub fn config_url() -> String {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .and_then(|base| web_sys::Url::new_with_base(CONFIG_PATH, &base).ok())
        .map(|url| url.href())
        .unwrap_or_else(|| format!("/{CONFIG_PATH}"))
}

/// Reads and validates `config.json`. In the browser's default cache mode, so that the request
/// `index.html` preloads (`<link rel="preload" as="fetch" crossorigin>`, sent beside the wasm
/// rather than after it starts) answers it; the host's `Cache-Control` for the file (`no-cache`
/// or `no-store`, see `cargo xtask build`'s `_headers`) still makes an edit take effect on the
/// next load.
pub async fn load_config() -> Result<RuntimeConfig, ConfigLoadError> {
    let url = config_url();
    let response = Request::get(&url)
        .send()
        .await
        .map_err(|err| ConfigLoadError::Unreadable {
            url: url.clone(),
            status: None,
            detail: err.to_string(),
        })?;
    match response.status() {
        200..=299 => {}
        404 => return Err(ConfigLoadError::Missing { url }),
        status => {
            return Err(ConfigLoadError::Unreadable {
                url,
                status: Some(status),
                detail: response.status_text(),
            })
        }
    }
    let text = response
        .text()
        .await
        .map_err(|err| ConfigLoadError::Unreadable {
            url: url.clone(),
            status: Some(response.status()),
            detail: err.to_string(),
        })?;
    RuntimeConfig::parse(&text).map_err(|error| ConfigLoadError::Invalid { url, error })
}
