//! One page per file. Page components are public; their small children stay private beside them.

pub mod app_detail;
pub mod audit;
pub mod bulk_jobs;
pub mod catalog;
pub mod home;
pub mod my_apps;
pub mod not_found;
pub mod settings;
pub mod setup;
pub mod user_detail;
pub mod users;
