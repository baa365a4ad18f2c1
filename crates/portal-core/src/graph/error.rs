//! Graph errors, parsed into one type from whatever came back: Graph's JSON shape, an empty body,
//! an HTML page from a proxy, or plain text. Always readable, always with the request id when
//! there is one, and classified into what the user can do about it.

use serde_json::Value;

use crate::auth::challenge::{parse_claims_challenge, ClaimsChallenge};

/// One failed Graph answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
    pub client_request_id: Option<String>,
    pub date: Option<String>,
    /// Seconds, from `Retry-After`.
    pub retry_after: Option<u64>,
    pub claims_challenge: Option<ClaimsChallenge>,
}

/// What the failure means for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// 409: the app is already installed (reconcile, offer upgrade).
    AlreadyInstalled,
    /// 404: not in the catalog, or no such user or installation.
    NotFound,
    /// 403 from an app permission policy: an admin must allow the app.
    BlockedByPolicy,
    /// 403 for a missing delegated scope, with the scopes Graph would accept.
    MissingScope {
        accepted: Vec<String>,
    },
    /// Any other 403.
    Forbidden,
    /// 401 (with a claims challenge when CAE asks for one).
    Unauthorized,
    /// 429: too many requests; try later.
    Throttled,
    /// 502, 503, 504: Graph (or a gateway in front of it) is unavailable for now.
    Unavailable,
    /// 400: the request itself is wrong (for instance a consent set that does not match).
    BadRequest,
    /// 5xx.
    ServerError,
    Other,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

fn html_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + 7;
    let end = lower[start..].find("</title>")? + start;
    Some(text[start..end].trim().to_string()).filter(|t| !t.is_empty())
}

/// Parses a failed answer.
pub fn parse_error(status: u16, headers: &[(String, String)], body: &[u8]) -> GraphError {
    let text = String::from_utf8_lossy(body).trim().to_string();
    let json: Option<Value> = serde_json::from_str(&text).ok();
    let error = json
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object());
    let inner = error.and_then(|e| e.get("innerError").or_else(|| e.get("innererror")));
    let text_of = |v: Option<&Value>, k: &str| {
        v.and_then(|v| v.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let (code, message) = match error {
        Some(e) => (
            text_of(Some(e), "code").unwrap_or_else(|| format!("HTTP {status}")),
            text_of(Some(e), "message").unwrap_or_else(|| reason(status).to_string()),
        ),
        None if text.is_empty() => (
            format!("HTTP {status}"),
            format!("{} (empty answer)", reason(status)),
        ),
        None if text.starts_with('<') => (
            format!("HTTP {status}"),
            format!(
                "{}: the server answered with an HTML page instead of a Graph error{}",
                reason(status),
                html_title(&text)
                    .map(|t| format!(" (\"{t}\")"))
                    .unwrap_or_default()
            ),
        ),
        None => (
            format!("HTTP {status}"),
            format!(
                "{}: {}",
                reason(status),
                text.chars().take(300).collect::<String>()
            ),
        ),
    };
    GraphError {
        status,
        code,
        message,
        request_id: text_of(inner, "request-id")
            .or_else(|| header(headers, "request-id").map(str::to_string)),
        client_request_id: text_of(inner, "client-request-id")
            .or_else(|| header(headers, "client-request-id").map(str::to_string)),
        date: text_of(inner, "date"),
        retry_after: header(headers, "retry-after").and_then(|v| v.trim().parse().ok()),
        claims_challenge: header(headers, "www-authenticate").and_then(parse_claims_challenge),
    }
}

impl GraphError {
    /// What the failure means.
    pub fn kind(&self) -> ErrorKind {
        match self.status {
            409 => ErrorKind::AlreadyInstalled,
            404 => ErrorKind::NotFound,
            403 if self
                .message
                .starts_with("App is blocked by app permission policy") =>
            {
                ErrorKind::BlockedByPolicy
            }
            403 if self.message.starts_with("Missing scope permissions") => {
                ErrorKind::MissingScope {
                    accepted: self
                        .message
                        .split_once("requires one of '")
                        .and_then(|(_, rest)| rest.split_once('\''))
                        .map(|(list, _)| {
                            list.split(',')
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty())
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            }
            403 => ErrorKind::Forbidden,
            401 => ErrorKind::Unauthorized,
            429 => ErrorKind::Throttled,
            502..=504 => ErrorKind::Unavailable,
            400 => ErrorKind::BadRequest,
            500..=599 => ErrorKind::ServerError,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn graph_shape_with_inner_error() {
        let body = br#"{"error":{"code":"Forbidden","message":"Missing scope permissions on the request. API requires one of 'TeamsAppInstallation.ReadWriteForUser, TeamsAppInstallation.ReadWriteAndConsentForUser'. Scopes on the request 'User.Read'","innerError":{"date":"2026-11-23T10:00:00Z","request-id":"r-1","client-request-id":"c-1"}}}"#;
        let error = parse_error(403, &[], body);
        assert_eq!(error.code, "Forbidden");
        assert_eq!(error.request_id.as_deref(), Some("r-1"));
        assert_eq!(error.client_request_id.as_deref(), Some("c-1"));
        assert_eq!(
            error.kind(),
            ErrorKind::MissingScope {
                accepted: vec![
                    "TeamsAppInstallation.ReadWriteForUser".into(),
                    "TeamsAppInstallation.ReadWriteAndConsentForUser".into()
                ]
            }
        );
    }

    #[test]
    fn empty_body_still_reads_well_and_takes_ids_from_headers() {
        let error = parse_error(
            503,
            &headers(&[("Retry-After", "7"), ("request-id", "r-2")]),
            b"",
        );
        assert_eq!(error.code, "HTTP 503");
        assert_eq!(error.message, "Service Unavailable (empty answer)");
        assert_eq!(error.retry_after, Some(7));
        assert_eq!(error.request_id.as_deref(), Some("r-2"));
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        assert_eq!(parse_error(429, &[], b"").kind(), ErrorKind::Throttled);
    }

    #[test]
    fn html_body_from_a_proxy() {
        let error = parse_error(
            502,
            &[],
            b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        );
        assert_eq!(error.message, "Bad Gateway: the server answered with an HTML page instead of a Graph error (\"502 Bad Gateway\")");
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        assert_eq!(parse_error(500, &[], b"").kind(), ErrorKind::ServerError);
    }

    #[test]
    fn plain_text_and_odd_json() {
        assert_eq!(
            parse_error(500, &[], b"boom").message,
            "Internal Server Error: boom"
        );
        assert_eq!(
            parse_error(400, &[], br#"{"message":"x"}"#).code,
            "HTTP 400"
        );
    }

    #[test]
    fn classification() {
        let policy = parse_error(403, &[], br#"{"error":{"code":"Forbidden","message":"App is blocked by app permission policy. Ask..."}}"#);
        assert_eq!(policy.kind(), ErrorKind::BlockedByPolicy);
        assert_eq!(
            parse_error(409, &[], b"").kind(),
            ErrorKind::AlreadyInstalled
        );
    }

    #[test]
    fn claims_challenge_is_kept() {
        let header = "Bearer realm=\"\", error=\"insufficient_claims\", claims=\"eyJhY2Nlc3NfdG9rZW4iOnsibmJmIjp7ImVzc2VudGlhbCI6dHJ1ZSwidmFsdWUiOiIxNzAwMDAwMDAwIn19fQ==\"";
        let error = parse_error(401, &headers(&[("WWW-Authenticate", header)]), b"");
        assert!(error.claims_challenge.is_some());
        assert_eq!(error.kind(), ErrorKind::Unauthorized);
    }
}
