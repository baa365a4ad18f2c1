//! What the shell provides once to every page, through context: the active configuration, the
//! Graph client's settings, and the write service. A leaf module: it imports no page, no
//! component and not the shell, so anything may use it.

use std::collections::BTreeMap;

use leptos::prelude::*;
use portal_core::graph::models::Installation;
use portal_core::RuntimeConfig;

/// The active configuration, provided by the shell before any page renders.
#[derive(Clone)]
pub struct ActiveConfig(pub RuntimeConfig);

/// Puts the configuration in context (the shell does this once).
pub fn provide_config(config: RuntimeConfig) {
    provide_context(ActiveConfig(config));
}

/// The active configuration. Every page renders under the shell, which provides it first, so
/// it is always there; a component rendered outside the shell is a programming error.
pub fn use_config() -> RuntimeConfig {
    expect_context::<ActiveConfig>().0
}

/// The active configuration when there may be none (components also shown on the setup page).
pub fn try_config() -> Option<RuntimeConfig> {
    use_context::<ActiveConfig>().map(|c| c.0)
}

/// The personal apps read in this browser session, by user (object id, UPN or the signed-in
/// user's id): "the data at hand" that App detail counts versions over.
#[derive(Clone, Copy)]
pub struct LoadedInstallations(pub RwSignal<BTreeMap<String, Vec<Installation>>>);

/// Provides [`LoadedInstallations`] (the shell does, once).
pub fn provide_loaded_installations() {
    provide_context(LoadedInstallations(RwSignal::new(BTreeMap::new())));
}
