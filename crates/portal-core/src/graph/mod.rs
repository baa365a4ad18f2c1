//! The Graph client's pure half: requests built as data, OData and path encoding, the models
//! the portal reads (Graph's vocabulary), error parsing, the retry policy, what the pages
//! conclude from apps and installations, the install pre-flight, and the write model (one type
//! for install, upgrade and uninstall, its decisions after each outcome, and "Show request"). The
//! browser half (`src/graph_client.rs`) sends what these build and feeds the answers back.

pub mod apps;
pub mod consent;
pub mod encode;
pub mod error;
pub mod ids;
pub mod models;
pub mod paging;
pub mod personal_apps;
pub mod preflight;
pub mod request;
pub mod retry;
pub mod write;
