//! Long-running operations: after a 201/202, follow `Azure-AsyncOperation` (or `Location`, or the
//! resource's own `provisioningState`) until the operation ends, waiting as the server asks
//! (`retry-after-ms`, `Retry-After`), within a timeout, cancellable, reporting progress; then
//! fetch the final resource the way ARM's RPC says (`GET` of the resource for PUT/PATCH, the
//! `Location` result for POST, nothing for DELETE).

use std::time::{Duration, Instant, SystemTime};

use http::Method;
use serde_json::Value;

use super::http::{ArmRequest, ArmResponse, ClientError, Pipeline};
use super::retry::retry_hint;

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The operation's status as Azure reports it (`InProgress`, `Creating`, …).
    pub status: String,
    pub elapsed: Duration,
    pub polls: u32,
}

#[derive(Debug, Clone)]
pub struct LroOptions {
    pub timeout: Duration,
    /// Wait between polls when the server gives no hint.
    pub default_wait: Duration,
    /// Set to `true` to stop waiting (the operation itself goes on in Azure).
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Default for LroOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30 * 60),
            default_wait: Duration::from_secs(5),
            cancel: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LroError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("the operation ended {status}: {code}: {message}")]
    Failed {
        status: String,
        code: String,
        message: String,
    },
    #[error("the operation did not finish within {} s (last status: {last_status}); it may still complete in Azure", .timeout.as_secs())]
    TimedOut {
        timeout: Duration,
        last_status: String,
    },
    #[error("stopped waiting for the operation (last status: {last_status}); it goes on in Azure")]
    Cancelled { last_status: String },
}

const TERMINAL_OK: &[&str] = &["succeeded"];
const TERMINAL_BAD: &[&str] = &["failed", "canceled", "cancelled"];

fn wait_hint(resp: &ArmResponse, default: Duration) -> Duration {
    let headers = resp
        .headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v)));
    retry_hint(headers, SystemTime::now())
        .unwrap_or(default)
        .min(Duration::from_secs(60))
}

enum Poll {
    /// `Azure-AsyncOperation`: a status resource.
    Status(String),
    /// `Location`: 202 until done, then the result.
    Location(String),
    /// Neither header: the resource's own `provisioningState`.
    Resource(String),
}

fn provisioning_state(body: &Value) -> Option<&str> {
    body.pointer("/properties/provisioningState")
        .and_then(Value::as_str)
}

/// Whether `initial` (the answer to `request`) started an operation that is still running.
pub fn is_running(request: &ArmRequest, initial: &ArmResponse) -> bool {
    if initial.status == 202 || initial.header("azure-asyncoperation").is_some() {
        return true;
    }
    matches!(request.method, Method::PUT | Method::PATCH)
        && initial.status == 201
        && initial
            .json()
            .ok()
            .as_ref()
            .and_then(provisioning_state)
            .is_some_and(|s| {
                !TERMINAL_OK.contains(&s.to_ascii_lowercase().as_str())
                    && !TERMINAL_BAD.contains(&s.to_ascii_lowercase().as_str())
            })
}

/// Waits for the operation `initial` started; returns the final resource (or result) if any.
pub async fn wait(
    pipeline: &Pipeline,
    request: &ArmRequest,
    initial: ArmResponse,
    options: &LroOptions,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Option<Value>, LroError> {
    if !is_running(request, &initial) {
        return Ok(Some(initial.json()?).filter(|v| !v.is_null()));
    }
    let started = Instant::now();
    let poll = match (
        initial.header("azure-asyncoperation"),
        initial.header("location"),
    ) {
        (Some(op), _) => Poll::Status(op.to_string()),
        (None, Some(loc)) => Poll::Location(loc.to_string()),
        (None, None) => Poll::Resource(request.url.clone()),
    };
    let location = initial.header("location").map(str::to_string);
    let mut last = initial;
    let mut last_status = "InProgress".to_string();
    let mut polls = 0u32;
    let mut cancel = options.cancel.clone();
    loop {
        let wait = wait_hint(&last, options.default_wait);
        if started.elapsed() + wait > options.timeout {
            return Err(LroError::TimedOut {
                timeout: options.timeout,
                last_status,
            });
        }
        match cancel.as_mut() {
            Some(rx) => {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    changed = rx.changed() => {
                        if changed.is_ok() && *rx.borrow() {
                            return Err(LroError::Cancelled { last_status });
                        }
                    }
                }
            }
            None => tokio::time::sleep(wait).await,
        }
        if cancel.as_ref().is_some_and(|rx| *rx.borrow()) {
            return Err(LroError::Cancelled { last_status });
        }
        polls += 1;
        let url = match &poll {
            Poll::Status(u) | Poll::Location(u) | Poll::Resource(u) => u.clone(),
        };
        let resp = pipeline.send(ArmRequest::get(&url)).await?;
        let done = match &poll {
            Poll::Status(_) => {
                let body = resp.json()?;
                let status = body
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("InProgress")
                    .to_string();
                last_status = status.clone();
                let lower = status.to_ascii_lowercase();
                if TERMINAL_BAD.contains(&lower.as_str()) {
                    let code = body
                        .pointer("/error/code")
                        .and_then(Value::as_str)
                        .unwrap_or("OperationFailed")
                        .to_string();
                    let message = body
                        .pointer("/error/message")
                        .and_then(Value::as_str)
                        .unwrap_or("no details given")
                        .to_string();
                    return Err(LroError::Failed {
                        status,
                        code,
                        message,
                    });
                }
                TERMINAL_OK.contains(&lower.as_str())
            }
            Poll::Location(_) => {
                last_status = if resp.status == 202 {
                    "InProgress".into()
                } else {
                    "Succeeded".into()
                };
                if resp.status != 202 {
                    progress(&Progress {
                        status: last_status.clone(),
                        elapsed: started.elapsed(),
                        polls,
                    });
                    return Ok(Some(resp.json()?).filter(|v| !v.is_null()));
                }
                false
            }
            Poll::Resource(_) => {
                let body = resp.json()?;
                let state = provisioning_state(&body).unwrap_or("Succeeded").to_string();
                last_status = state.clone();
                let lower = state.to_ascii_lowercase();
                if TERMINAL_BAD.contains(&lower.as_str()) {
                    return Err(LroError::Failed {
                        status: state,
                        code: "ProvisioningFailed".into(),
                        message: "the resource's provisioningState ended Failed".into(),
                    });
                }
                if TERMINAL_OK.contains(&lower.as_str()) {
                    progress(&Progress {
                        status: last_status.clone(),
                        elapsed: started.elapsed(),
                        polls,
                    });
                    return Ok(Some(body));
                }
                false
            }
        };
        progress(&Progress {
            status: last_status.clone(),
            elapsed: started.elapsed(),
            polls,
        });
        if done {
            return final_result(pipeline, request, location.as_deref()).await;
        }
        last = resp;
    }
}

/// What a finished operation leaves: the resource for PUT/PATCH, the result for POST.
async fn final_result(
    pipeline: &Pipeline,
    request: &ArmRequest,
    location: Option<&str>,
) -> Result<Option<Value>, LroError> {
    match request.method {
        Method::PUT | Method::PATCH => Ok(Some(pipeline.get_json(&request.url).await?)),
        Method::POST => match location {
            Some(loc) => {
                let resp = pipeline.send(ArmRequest::get(loc)).await?;
                Ok(Some(resp.json()?).filter(|v| !v.is_null()))
            }
            None => Ok(None),
        },
        _ => Ok(None),
    }
}

/// Sends a request and, if it starts a long-running operation, waits for it.
pub async fn send_and_wait(
    pipeline: &Pipeline,
    request: ArmRequest,
    options: &LroOptions,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Option<Value>, LroError> {
    let initial = pipeline.send(request.clone()).await?;
    wait(pipeline, &request, initial, options, progress).await
}
