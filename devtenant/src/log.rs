//! The request log: every identity and Graph request (method, path, query, headers without
//! `Authorization` or cookies, body, status, time), readable from the admin endpoint so tests
//! can assert exactly what the portal sent.

use std::sync::Mutex;

use serde::Serialize;

/// One logged request.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub seq: u64,
    pub origin: &'static str,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub status: u16,
    pub time: String,
    pub duration_ms: u64,
    /// Set when the answer was deliberately dropped (fault injection).
    pub dropped: bool,
    /// A fault that changed the answer: `applyThenError` (Graph: the write was applied; `status`
    /// is the 5xx the client got instead of its success), `tokenError` (identity: the token
    /// request was answered `status` before anything was done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<&'static str>,
    /// Form fields of token requests, with secrets masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_type: Option<String>,
}

/// Headers never logged.
pub const HIDDEN_HEADERS: [&str; 3] = ["authorization", "cookie", "set-cookie"];

/// Bounded log (the oldest entries go first).
pub struct RequestLog {
    entries: Mutex<(u64, Vec<LogEntry>)>,
    capacity: usize,
}

impl RequestLog {
    pub fn new(capacity: usize) -> RequestLog {
        RequestLog {
            entries: Mutex::new((0, Vec::new())),
            capacity,
        }
    }

    pub fn push(&self, mut entry: LogEntry) {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        guard.0 += 1;
        entry.seq = guard.0;
        guard.1.push(entry);
        let excess = guard.1.len().saturating_sub(self.capacity);
        if excess > 0 {
            guard.1.drain(..excess);
        }
    }

    pub fn entries(&self) -> Vec<LogEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clone()
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .clear();
    }
}

/// Masks token values in a form body (`code`, `refresh_token`, `code_verifier`).
pub fn mask_form(body: &str) -> String {
    form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| {
            let secret = matches!(
                k.as_ref(),
                "code" | "refresh_token" | "code_verifier" | "client_secret" | "assertion"
            );
            if secret {
                format!("{k}=<{} chars>", v.len())
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}
