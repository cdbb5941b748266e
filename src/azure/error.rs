//! ARM's error envelope (`{"error": {"code", "message", "target", "details"}}`) as typed errors with
//! messages a person can act on at 3 a.m.

use std::time::Duration;

use serde::Deserialize;

/// The body ARM (and most resource providers) send with a 4xx/5xx.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub details: Vec<ErrorBody>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    error: ErrorBody,
}

/// What ARM says about a denied action: who, what, where.
#[derive(Debug, Clone, PartialEq)]
pub struct Denied {
    pub identity: Option<String>,
    pub action: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AzureError {
    #[error("not found: {message}")]
    NotFound { code: String, message: String },
    #[error("{}", denied_message(.denied, .message))]
    Forbidden {
        code: String,
        message: String,
        denied: Denied,
    },
    #[error("authentication failed ({code}): {message}")]
    Unauthenticated { code: String, message: String },
    #[error("conflict ({code}): {message}")]
    Conflict { code: String, message: String },
    #[error("the resource changed since it was read (ETag mismatch): {message}")]
    PreconditionFailed { message: String },
    #[error("throttled by Azure ({code}){}: {message}", .retry_after.map(|d| format!(", retry in {} s", d.as_secs().max(1))).unwrap_or_default())]
    Throttled {
        code: String,
        message: String,
        retry_after: Option<Duration>,
    },
    #[error("rejected by Azure ({code}): {message}")]
    BadRequest {
        code: String,
        message: String,
        target: Option<String>,
    },
    #[error("Azure failed ({status} {code}): {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    #[error("unexpected answer {status} from Azure: {message}")]
    Unexpected { status: u16, message: String },
}

impl AzureError {
    /// The HTTP status this error came with (the usual one for its kind).
    pub fn status(&self) -> u16 {
        match self {
            AzureError::NotFound { .. } => 404,
            AzureError::Forbidden { .. } => 403,
            AzureError::Unauthenticated { .. } => 401,
            AzureError::Conflict { .. } => 409,
            AzureError::PreconditionFailed { .. } => 412,
            AzureError::Throttled { .. } => 429,
            AzureError::BadRequest { .. } => 400,
            AzureError::Server { status, .. } | AzureError::Unexpected { status, .. } => *status,
        }
    }
}

fn denied_message(d: &Denied, message: &str) -> String {
    match (&d.identity, &d.action, &d.scope) {
        (Some(who), Some(what), Some(where_)) => {
            format!("permission denied: {who} may not perform {what} on {where_}")
        }
        _ => format!("permission denied: {message}"),
    }
}

/// Pulls `'…'`-quoted values after the given words out of ARM's AuthorizationFailed message:
/// "The client 'x' with object id 'y' does not have authorization to perform action 'a' over
/// scope 's' or the scope is invalid."
fn quoted_after(message: &str, after: &str) -> Option<String> {
    let start = message.find(after)? + after.len();
    let rest = message[start..].trim_start();
    let rest = rest.strip_prefix('\'')?;
    let end = rest.find('\'')?;
    Some(rest[..end].to_string())
}

pub fn parse_denied(message: &str) -> Denied {
    let client = quoted_after(message, "The client");
    let object_id = quoted_after(message, "object id");
    let identity = match (client, object_id) {
        (Some(c), Some(o)) if c != o => Some(format!("{c} (object id {o})")),
        (Some(c), _) => Some(c),
        (None, o) => o,
    };
    Denied {
        identity,
        action: quoted_after(message, "perform action"),
        scope: quoted_after(message, "over scope"),
    }
}

/// Turns an HTTP status and body into a typed error. Bodies that are not ARM's envelope (an HTML
/// page from a proxy, a truncated answer) are summarised, never echoed whole.
pub fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> AzureError {
    let parsed: Option<ErrorBody> = serde_json::from_slice::<Envelope>(body)
        .map(|e| e.error)
        .ok()
        .or_else(|| {
            serde_json::from_slice::<ErrorBody>(body)
                .ok()
                .filter(|e| !e.code.is_empty())
        });
    let (code, message, target) = match parsed {
        Some(e) => {
            // The first detail is often the real reason (e.g. Resource Graph's InvalidQuery).
            let detail = e
                .details
                .first()
                .filter(|d| !d.message.is_empty() && d.message != e.message);
            let message = match detail {
                Some(d) => format!("{} ({}: {})", e.message, d.code, d.message),
                None => e.message,
            };
            (e.code, clean(&message), e.target)
        }
        None => (String::new(), summary(body), None),
    };
    match status {
        404 => AzureError::NotFound { code, message },
        401 => AzureError::Unauthenticated { code, message },
        403 => {
            let denied = parse_denied(&message);
            AzureError::Forbidden {
                code,
                message,
                denied,
            }
        }
        409 => AzureError::Conflict { code, message },
        412 => AzureError::PreconditionFailed { message },
        429 => AzureError::Throttled {
            code,
            message,
            retry_after,
        },
        400 | 405 | 413 | 415 | 422 => AzureError::BadRequest {
            code,
            message,
            target,
        },
        500..=599 => AzureError::Server {
            status,
            code,
            message,
        },
        _ => AzureError::Unexpected { status, message },
    }
}

/// Control characters (terminal escapes) never travel from a server into our messages.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .take(2000)
        .collect()
}

fn summary(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = clean(text.trim());
    if text.is_empty() {
        "(no body)".into()
    } else if text.chars().count() > 200 {
        format!("{}…", text.chars().take(200).collect::<String>())
    } else {
        text
    }
}

/// An error and its causes on one line, each cause once. azure_core's top-level messages are
/// often generic (a TLS failure reads "retry policy expired…"); the cause is in the sources.
pub fn one_line(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_names_identity_action_and_scope() {
        let body = br#"{"error":{"code":"AuthorizationFailed","message":"The client 'ops@contoso.com' with object id '0f1e' does not have authorization to perform action 'Microsoft.App/containerApps/write' over scope '/subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/api' or the scope is invalid. If access was recently granted, please refresh your credentials."}}"#;
        let e = from_response(403, body, None);
        assert_eq!(
            e.to_string(),
            "permission denied: ops@contoso.com (object id 0f1e) may not perform Microsoft.App/containerApps/write on /subscriptions/s/resourceGroups/rg/providers/Microsoft.App/containerApps/api"
        );
    }

    #[test]
    fn statuses_map_to_kinds() {
        let body =
            br#"{"error":{"code":"ResourceNotFound","message":"The Resource 'x' was not found."}}"#;
        assert!(matches!(
            from_response(404, body, None),
            AzureError::NotFound { .. }
        ));
        let t = from_response(
            429,
            br#"{"error":{"code":"TooManyRequests","message":"slow down"}}"#,
            Some(Duration::from_secs(7)),
        );
        assert_eq!(
            t.to_string(),
            "throttled by Azure (TooManyRequests), retry in 7 s: slow down"
        );
        assert!(matches!(
            from_response(412, b"{}", None),
            AzureError::PreconditionFailed { .. }
        ));
        assert!(matches!(
            from_response(503, b"", None),
            AzureError::Server { status: 503, .. }
        ));
        let graph = br#"{"error":{"code":"BadRequest","message":"Query is invalid","details":[{"code":"InvalidQuery","message":"bad token at 3"}]}}"#;
        assert_eq!(
            from_response(400, graph, None).to_string(),
            "rejected by Azure (BadRequest): Query is invalid (InvalidQuery: bad token at 3)"
        );
    }

    #[test]
    fn hostile_or_foreign_bodies_are_summarised_and_defanged() {
        let html = format!("<html>{}</html>", "x".repeat(5000));
        let e = from_response(502, html.as_bytes(), None).to_string();
        assert!(e.len() < 400, "{e}");
        let esc = br#"{"error":{"code":"X","message":"bad \u001b[31mred\u001b[0m name"}}"#;
        assert!(!from_response(400, esc, None).to_string().contains('\u{1b}'));
        assert!(from_response(418, b"", None)
            .to_string()
            .contains("(no body)"));
    }
}
