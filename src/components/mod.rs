//! Components shared by several pages.

pub mod account;
pub mod auth_banner;
pub mod header;
pub mod language_switcher;
pub mod nav;
pub mod not_built_yet;
pub mod page_title;
