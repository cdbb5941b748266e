//! Request and response types shared by every simulated endpoint, and Azure's error shapes.

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{json, Value};

/// A request as the simulator's handlers see it: host without port, decoded path segments,
/// query pairs, headers and the whole body (already limited to 4 MiB).
#[derive(Debug, Clone)]
pub struct SimRequest {
    pub method: Method,
    pub host: String,
    /// The raw path, as sent.
    pub path: String,
    /// Percent-decoded path segments, empty ones removed.
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Scheme + authority this request reached, e.g. `https://management.azdeck.localhost:8443`,
    /// used to build absolute URLs (nextLink, Azure-AsyncOperation).
    pub base_url: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathError {
    Traversal(String),
    BadEncoding,
}

impl SimRequest {
    pub fn parse_path(path: &str) -> Result<Vec<String>, PathError> {
        let mut segments = Vec::new();
        for raw in path.split('/') {
            if raw.is_empty() {
                continue;
            }
            let decoded = percent_decode_str(raw)
                .decode_utf8()
                .map_err(|_| PathError::BadEncoding)?
                .into_owned();
            // `..` (also encoded, or hidden behind an encoded slash) must never address another
            // resource: ARM refuses such URIs rather than normalising them.
            if decoded == "." || decoded == ".." || decoded.contains('/') || decoded.contains('\\')
            {
                return Err(PathError::Traversal(decoded));
            }
            segments.push(decoded);
        }
        Ok(segments)
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn api_version(&self) -> Option<&str> {
        self.query_param("api-version")
    }

    /// Segment `i`, compared case-insensitively to `literal`.
    pub fn seg_is(&self, i: usize, literal: &str) -> bool {
        self.segments
            .get(i)
            .is_some_and(|s| s.eq_ignore_ascii_case(literal))
    }

    /// Whether the request can change anything. POSTs that only read — Resource Graph queries and
    /// `list*` actions such as `listSecrets` — do not.
    pub fn is_mutating(&self) -> bool {
        is_mutating(&self.method, &self.path)
    }

    /// Parses the body as JSON. An empty body is `Ok(None)`.
    pub fn json_body(&self) -> Result<Option<Value>, SimResponse> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        serde_json::from_slice(&self.body).map(Some).map_err(|e| {
            SimResponse::arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!(
                    "The request content was invalid and could not be deserialized: '{}'.",
                    e
                ),
            )
        })
    }

    /// The body as a JSON object, or an Azure-shaped 400 when it is missing or not an object.
    pub fn json_object_body(&self) -> Result<serde_json::Map<String, Value>, SimResponse> {
        match self.json_body()? {
            Some(Value::Object(map)) => Ok(map),
            Some(other) => Err(SimResponse::arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!(
                    "The request content was invalid and could not be deserialized: expected a JSON object, found {}.",
                    json_kind(&other)
                ),
            )),
            None => Err(SimResponse::arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: the body is empty.",
            )),
        }
    }
}

pub use crate::model::http::is_mutating;

pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    Json(Value),
    Text(String, &'static str),
}

#[derive(Debug, Clone)]
pub struct SimResponse {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    /// Close the connection without answering (fault injection).
    pub drop_connection: bool,
}

impl SimResponse {
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Body::Empty,
            drop_connection: false,
        }
    }

    pub fn json(status: StatusCode, body: Value) -> Self {
        Self {
            body: Body::Json(body),
            ..Self::new(status)
        }
    }

    pub fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }

    pub fn text(status: StatusCode, text: impl Into<String>, content_type: &'static str) -> Self {
        Self {
            body: Body::Text(text.into(), content_type),
            ..Self::new(status)
        }
    }

    pub fn dropped() -> Self {
        Self {
            drop_connection: true,
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set_header(name, value);
        self
    }

    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(existing) = self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            existing.1 = value;
        } else {
            self.headers.push((name.to_string(), value));
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// ARM's error envelope: `{"error":{"code","message"}}`.
    pub fn arm_error(status: StatusCode, code: &str, message: &str) -> Self {
        Self::json(
            status,
            json!({ "error": { "code": code, "message": message } }),
        )
    }

    /// ARM's error envelope with a `target` and nested `details`.
    pub fn arm_error_details(
        status: StatusCode,
        code: &str,
        message: &str,
        target: Option<&str>,
        details: Vec<Value>,
    ) -> Self {
        let mut error = json!({ "code": code, "message": message });
        if let Some(target) = target {
            error["target"] = json!(target);
        }
        if !details.is_empty() {
            error["details"] = Value::Array(details);
        }
        Self::json(status, json!({ "error": error }))
    }

    /// Entra ID's OAuth error shape.
    pub fn entra_error(status: StatusCode, error: &str, aadsts: u32, description: &str) -> Self {
        let now = chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ");
        let trace = uuid::Uuid::new_v4();
        let correlation = uuid::Uuid::new_v4();
        Self::json(
            status,
            json!({
                "error": error,
                "error_description": format!("AADSTS{aadsts}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}"),
                "error_codes": [aadsts],
                "timestamp": now.to_string(),
                "trace_id": trace,
                "correlation_id": correlation,
            }),
        )
    }

    pub fn status_u16(&self) -> u16 {
        self.status.as_u16()
    }
}

/// Serialises a response body to bytes and its content type.
pub fn encode_body(body: &Body) -> (Bytes, Option<&'static str>) {
    match body {
        Body::Empty => (Bytes::new(), None),
        Body::Json(v) => (
            Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
            Some("application/json; charset=utf-8"),
        ),
        Body::Text(t, ct) => (Bytes::from(t.clone()), Some(ct)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_decoded_and_traversal_refused() {
        assert_eq!(
            SimRequest::parse_path("/subscriptions/a%20b//resourceGroups/rg"),
            Ok(vec![
                "subscriptions".into(),
                "a b".into(),
                "resourceGroups".into(),
                "rg".into()
            ])
        );
        assert!(matches!(
            SimRequest::parse_path("/subscriptions/../x"),
            Err(PathError::Traversal(_))
        ));
        assert!(matches!(
            SimRequest::parse_path("/subscriptions/%2e%2e/x"),
            Err(PathError::Traversal(_))
        ));
        assert!(matches!(
            SimRequest::parse_path("/subscriptions/a%2Fb"),
            Err(PathError::Traversal(_))
        ));
        assert_eq!(
            SimRequest::parse_path("/x/%ff"),
            Err(PathError::BadEncoding)
        );
    }
}
