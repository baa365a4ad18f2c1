//! The request log: every identity and Graph request (method, path, query, headers without
//! `Authorization` or cookies, body, status, time), readable from the admin endpoint so tests
//! can assert exactly what the portal sent.
//!
//! A `$batch` is logged as its outer `POST /v1.0/$batch` (`origin: "graph"`) followed at once by
//! one entry per inner request (`origin: "graph-batch"`), each with the inner request's method,
//! its path as a `/v1.0/...` path (as written in the batch, percent-encoding kept), its query,
//! headers and body, and its own status, plus `batch`: `{"seq": <seq of the outer entry>,
//! "requestId": <the outer answer's request-id>, "id": <the inner request's id>}`. Filtering on
//! `origin == "graph"` gives what went over the wire; adding `"graph-batch"` gives every request
//! Graph ran, alone or inside a batch.

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
    /// Inner requests of a `$batch` only (`origin: "graph-batch"`): the batch they came in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchRef>,
}

/// The `$batch` an inner request came in.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BatchRef {
    /// `seq` of the outer `POST /v1.0/$batch` entry (filled in by [`RequestLog::push_batch`]).
    pub seq: u64,
    /// The outer answer's `request-id` header.
    pub request_id: String,
    /// The inner request's `id` in the batch.
    pub id: String,
}

/// Headers never logged.
pub const HIDDEN_HEADERS: [&str; 3] = ["authorization", "cookie", "set-cookie"];

/// Bounded log (the oldest entries go first: a first `seq` above 1 shows some were dropped).
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

    /// Appends an entry; returns its `seq`.
    pub fn push(&self, entry: LogEntry) -> u64 {
        self.push_batch(entry, Vec::new())
    }

    /// Appends an outer `$batch` entry and, right after it (consecutive `seq`s, nothing in
    /// between), its inner requests' entries, whose `batch.seq` is set to the outer `seq`.
    /// Returns the outer `seq`.
    pub fn push_batch(&self, mut outer: LogEntry, inner: Vec<LogEntry>) -> u64 {
        let mut guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        guard.0 += 1;
        let outer_seq = guard.0;
        outer.seq = outer_seq;
        guard.1.push(outer);
        for mut entry in inner {
            guard.0 += 1;
            entry.seq = guard.0;
            if let Some(batch) = entry.batch.as_mut() {
                batch.seq = outer_seq;
            }
            guard.1.push(entry);
        }
        let excess = guard.1.len().saturating_sub(self.capacity);
        if excess > 0 {
            guard.1.drain(..excess);
        }
        outer_seq
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(origin: &'static str, path: &str, batch: Option<BatchRef>) -> LogEntry {
        LogEntry {
            seq: 0,
            origin,
            method: "POST".into(),
            path: path.into(),
            query: None,
            headers: Vec::new(),
            body: String::new(),
            status: 200,
            time: String::new(),
            duration_ms: 0,
            dropped: false,
            fault: None,
            grant_type: None,
            batch,
        }
    }

    fn inner(id: &str) -> LogEntry {
        entry(
            "graph-batch",
            "/v1.0/me",
            Some(BatchRef {
                seq: 0,
                request_id: "outer-request-id".into(),
                id: id.into(),
            }),
        )
    }

    #[test]
    fn a_batch_is_logged_outer_first_then_its_inner_requests_pointing_at_it() {
        let log = RequestLog::new(100);
        assert_eq!(log.push(entry("graph", "/v1.0/me", None)), 1);
        let outer = log.push_batch(
            entry("graph", "/v1.0/$batch", None),
            vec![inner("a"), inner("b")],
        );
        assert_eq!(outer, 2);
        assert_eq!(log.push(entry("graph", "/v1.0/me", None)), 5);
        let entries = log.entries();
        let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 4, 5]);
        for (index, id) in [(2, "a"), (3, "b")] {
            let batch = entries[index].batch.as_ref().unwrap();
            assert_eq!(batch.seq, 2);
            assert_eq!(batch.id, id);
            assert_eq!(batch.request_id, "outer-request-id");
        }
        let json = serde_json::to_value(&entries[2]).unwrap();
        assert_eq!(json["origin"], "graph-batch");
        assert_eq!(
            json["batch"],
            serde_json::json!({"seq": 2, "requestId": "outer-request-id", "id": "a"})
        );
        // Entries outside a batch have no `batch` member.
        assert!(serde_json::to_value(&entries[0])
            .unwrap()
            .get("batch")
            .is_none());
    }

    #[test]
    fn the_oldest_entries_go_first() {
        let log = RequestLog::new(3);
        log.push(entry("graph", "/v1.0/me", None));
        log.push_batch(
            entry("graph", "/v1.0/$batch", None),
            vec![inner("a"), inner("b")],
        );
        let seqs: Vec<u64> = log.entries().iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [2, 3, 4]);
    }
}
