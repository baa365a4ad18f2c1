//! The pure parts of jobs across many users (issue #12): Graph's `$batch` as data, pacing by
//! token buckets per Teams call class, the user lists an administrator pastes or uploads, and
//! CSV exports safe to open in a spreadsheet. No browser, no clock: the caller passes the time.

pub mod audit;
pub mod batch;
pub mod engine;
pub mod export;
pub mod pacing;
pub mod plan;
pub mod users;
