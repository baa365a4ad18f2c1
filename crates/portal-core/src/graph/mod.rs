//! The Graph client's pure half: requests built as data, OData and path encoding, the models
//! the portal reads (Graph's vocabulary), error parsing, and the retry policy. The browser half
//! (issue #5's pages) sends what these build and feeds the answers back.

pub mod encode;
pub mod error;
pub mod models;
pub mod request;
pub mod retry;
