//! Components shared by several pages.

pub mod account;
pub mod auth_banner;
pub mod copy_button;
pub mod download;
pub mod drift_badge;
pub mod error_view;
pub mod header;
pub mod language_switcher;
pub mod nav;
pub mod outbox;
pub mod page_title;
pub mod preflight_checklist;
pub mod rsc_list;
pub mod show_request;
pub mod signed_in;
pub mod user_search;
