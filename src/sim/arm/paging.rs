//! `nextLink` paging for list operations: pages of `settings.page_size` (or `$top`), continued by
//! an opaque `$skiptoken` on the same URL, as ARM lists do.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::StatusCode;
use serde_json::{json, Value};

use crate::sim::http::{SimRequest, SimResponse};

pub fn encode_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

pub fn decode_token(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}

/// The offset this request asks for, or a 400 for a token we did not issue.
pub fn offset(req: &SimRequest) -> Result<usize, SimResponse> {
    match req.query_param("$skiptoken") {
        None => Ok(0),
        Some(t) => decode_token(t).ok_or_else(|| {
            SimResponse::arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidSkipToken",
                "The provided $skiptoken is invalid or has expired. Start the listing again without it.",
            )
        }),
    }
}

/// The page size: `$top` when given (1..=1000), else the world's page size.
pub fn page_size(req: &SimRequest, default: usize) -> Result<usize, SimResponse> {
    match req.query_param("$top") {
        None => Ok(default.max(1)),
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(SimResponse::arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidTopParameter",
                &format!("The value '{t}' of the $top query parameter is invalid: it must be an integer between 1 and 1000."),
            )),
        },
    }
}

/// The URL of the page after `next_offset`, keeping the request's other query parameters.
pub fn next_link(req: &SimRequest, next_offset: usize) -> String {
    let mut url = format!("{}{}?", req.base_url, req.path);
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &req.query {
        if !k.eq_ignore_ascii_case("$skiptoken") {
            ser.append_pair(k, v);
        }
    }
    ser.append_pair("$skiptoken", &encode_token(next_offset));
    url.push_str(&ser.finish());
    url
}

/// One page of `items` as `{"value": [...], "nextLink": ...}`.
pub fn page(req: &SimRequest, items: Vec<Value>, default_size: usize) -> SimResponse {
    let start = match offset(req) {
        Ok(o) => o,
        Err(e) => return e,
    };
    let size = match page_size(req, default_size) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let total = items.len();
    let end = start.saturating_add(size).min(total);
    let value: Vec<Value> = items
        .into_iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .collect();
    let mut body = json!({ "value": value });
    if end < total {
        body["nextLink"] = json!(next_link(req, end));
    }
    SimResponse::ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_token(&encode_token(1234)), Some(1234));
        assert_eq!(decode_token("garbage!"), None);
        assert_eq!(decode_token(&URL_SAFE_NO_PAD.encode("offset:x")), None);
    }
}
