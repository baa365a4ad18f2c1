//! The dev tenant: a faithful local stand-in for Entra ID and the Microsoft Graph v1.0 subset
//! the Teams App Portal uses. It defines its own wire types and reads nothing from the portal's
//! crates, so a mistake in the portal's models cannot be mirrored here. The binary (`main.rs`)
//! wires these modules to three loopback origins.

pub mod admin;
pub mod crypto;
pub mod csp;
pub mod ctx;
pub mod faults;
pub mod graph;
pub mod graph_error;
pub mod graph_http;
pub mod identity;
pub mod identity_log;
pub mod log;
pub mod odata;
pub mod portal_origin;
pub mod public_url;
pub mod scope_table;
pub mod seed;
pub mod store;
pub mod throttle;
pub mod visibility;
