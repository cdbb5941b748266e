//! Pagers: ARM lists (`value` + `nextLink`) and Resource Graph queries (`data` + `$skipToken`) as
//! streams of pages, fetched one at a time as the consumer asks — no request that is not needed.

use futures::stream::{self, Stream, TryStreamExt};
use http::Method;
use serde_json::{json, Value};

use super::http::{ArmRequest, ClientError, Pipeline};

/// Pages of an ARM list, starting at `url`.
pub fn pages<'a>(
    pipeline: &'a Pipeline,
    url: &str,
) -> impl Stream<Item = Result<Vec<Value>, ClientError>> + 'a {
    stream::try_unfold(Some(url.to_string()), move |next| async move {
        let Some(url) = next else { return Ok(None) };
        let body = pipeline.get_json(&url).await?;
        let items = match body.get("value") {
            Some(Value::Array(a)) => a.clone(),
            Some(Value::Null) | None => Vec::new(),
            Some(_) => {
                return Err(ClientError::Decode(format!(
                    "list at {url} has a 'value' that is not an array"
                )))
            }
        };
        let next = body
            .get("nextLink")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        Ok(Some((items, next)))
    })
}

/// Every item of an ARM list.
pub async fn collect(pipeline: &Pipeline, url: &str) -> Result<Vec<Value>, ClientError> {
    let mut all = Vec::new();
    let mut stream = Box::pin(pages(pipeline, url));
    while let Some(page) = stream.try_next().await? {
        all.extend(page);
    }
    Ok(all)
}

/// A Resource Graph query over `subscriptions`, as pages of rows (objectArray format).
pub fn graph_pages<'a>(
    pipeline: &'a Pipeline,
    query: &'a str,
    subscriptions: &'a [String],
    page_size: u32,
) -> impl Stream<Item = Result<Vec<Value>, ClientError>> + 'a {
    stream::try_unfold((true, None::<String>), move |(first, token)| async move {
        if !first && token.is_none() {
            return Ok(None);
        }
        let mut options =
            json!({ "$top": page_size.clamp(1, 1000), "resultFormat": "objectArray" });
        if let Some(t) = &token {
            options["$skipToken"] = json!(t);
        }
        let body = json!({ "subscriptions": subscriptions, "query": query, "options": options });
        let resp = pipeline
            .send(
                ArmRequest::new(
                    Method::POST,
                    "providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01",
                )
                .with_body(body),
            )
            .await?;
        let answer = resp.json()?;
        let rows = match answer.get("data") {
            Some(Value::Array(a)) => a.clone(),
            _ => {
                return Err(ClientError::Decode(
                    "Resource Graph answer has no 'data' array".into(),
                ))
            }
        };
        let next = answer
            .get("$skipToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        Ok(Some((rows, (false, next))))
    })
}
