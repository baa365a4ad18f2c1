//! Graph's error shape: `{"error":{"code","message","innerError":{"date","request-id",
//! "client-request-id"}}}`, with `request-id` and `client-request-id` also as headers.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Graph error answer in the making.
#[derive(Debug, Clone)]
pub struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<u64>,
    pub www_authenticate: Option<String>,
}

impl GraphError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> GraphError {
        GraphError {
            status,
            code,
            message: message.into(),
            retry_after: None,
            www_authenticate: None,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }
    pub fn not_found(message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::NOT_FOUND, "NotFound", message)
    }
    pub fn forbidden(message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::FORBIDDEN, "Forbidden", message)
    }
    pub fn user_not_found(id: &str) -> GraphError {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }
    pub fn unauthorized(message: impl Into<String>) -> GraphError {
        GraphError::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }
    pub fn throttled(retry_after: u64) -> GraphError {
        GraphError {
            retry_after: Some(retry_after),
            ..GraphError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests. Retry after the time in the Retry-After header.",
            )
        }
    }

    /// The JSON body for a request with these ids.
    pub fn body(
        &self,
        request_id: &str,
        client_request_id: Option<&str>,
        date: &str,
    ) -> serde_json::Value {
        let mut inner = json!({ "date": date, "request-id": request_id });
        if let Some(client) = client_request_id {
            inner["client-request-id"] = json!(client);
        }
        json!({ "error": { "code": self.code, "message": self.message, "innerError": inner } })
    }

    /// The full response.
    pub fn into_response_with(
        self,
        request_id: &str,
        client_request_id: Option<&str>,
        date: &str,
    ) -> Response {
        let body = self.body(request_id, client_request_id, date);
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert("retry-after", HeaderValue::from(seconds));
        }
        if let Some(challenge) = &self.www_authenticate {
            if let Ok(value) = HeaderValue::from_str(challenge) {
                headers.insert("www-authenticate", value);
            }
        }
        response
    }
}

/// The ids of one Graph request.
#[derive(Clone, Debug)]
pub struct RequestIds {
    pub request_id: String,
    pub client_request_id: Option<String>,
    pub date: String,
}

impl RequestIds {
    pub fn from_headers(headers: &HeaderMap, date: String) -> RequestIds {
        RequestIds {
            request_id: uuid::Uuid::new_v4().to_string(),
            client_request_id: headers
                .get("client-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            date,
        }
    }

    pub fn error(&self, error: GraphError) -> Response {
        error.into_response_with(
            &self.request_id,
            self.client_request_id.as_deref(),
            &self.date,
        )
    }
}
