//! Pure logic of the Teams App Portal: everything that can be decided without a browser.
//! Runtime configuration, the national-cloud table and the i18n catalogues live here so that
//! `cargo test` checks them natively in milliseconds; the Leptos crate only renders them.

pub mod auth;
pub mod cloud;
pub mod config;
pub mod connection_check;
pub mod graph;
pub mod i18n;
pub mod jobs;
pub mod outbox;
pub mod ownership;
pub mod registration;
pub mod web_url;

pub use cloud::{Cloud, PersonalInstallSupport};
pub use config::{
    ConfigError, FieldProblem, ProblemKind, RuntimeConfig, Tenant, TokenCacheLocation,
};
pub use i18n::Lang;
