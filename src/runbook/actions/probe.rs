//! `http.probe`: GET a URL until it answers an expected status (e.g. an app through its ingress
//! after a rollback). It uses the environment's HTTP client, so a simulated cloud's CA and host
//! names work as Azure's do; it sends no token.

use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::runbook::action::{
    Action, ActionContext, ActionError, ActionSpec, Plan, PlannedCall, Registry, KNOWN_AFTER_APPLY,
};
use crate::runbook::template::parse_duration;

pub fn register(registry: &mut Registry) {
    registry.register(Probe);
}

/// One attempt never waits longer than this for an answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an unexpected answer's body the failure shows.
const BODY_SHOWN: usize = 200;

pub struct Probe;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProbeInput {
    /// `https://…` (or `http://…`).
    pub url: String,
    #[serde(default)]
    pub expect: Expect,
    /// How many GETs at most (default 10).
    #[serde(default = "default_attempts")]
    pub attempts: u32,
    /// Wait between attempts: `3s` (default), `500ms`, `1m`.
    #[serde(default = "default_interval")]
    pub interval: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// Statuses that count as success (default `[200]`).
    #[serde(default = "default_statuses")]
    pub status: Vec<u16>,
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            status: default_statuses(),
        }
    }
}

fn default_attempts() -> u32 {
    10
}

fn default_interval() -> String {
    "3s".into()
}

fn default_statuses() -> Vec<u16> {
    vec![200]
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProbeOutput {
    /// The status that matched.
    pub status: u16,
    /// GETs sent, the last one included.
    pub attempts: u32,
    pub url: String,
}

/// `500ms`, or what `parse_duration` reads (`3s`, `1m`, `1h30m`).
fn parse_interval(text: &str) -> Option<Duration> {
    let t = text.trim();
    if let Some(ms) = t.strip_suffix("ms") {
        return ms.trim().parse::<u64>().ok().map(Duration::from_millis);
    }
    parse_duration(t)
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs)
}

struct Checked {
    url: url::Url,
    interval: Duration,
}

fn check_input(input: &ProbeInput) -> Result<Checked, ActionError> {
    let url = url::Url::parse(&input.url)
        .map_err(|e| ActionError::Input(format!("url {:?}: {e}", input.url)))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none_or(str::is_empty) {
        return Err(ActionError::Input(format!(
            "url {:?} is not an http(s) URL with a host",
            input.url
        )));
    }
    if !(1..=1000).contains(&input.attempts) {
        return Err(ActionError::Input(format!(
            "attempts {} is not between 1 and 1000",
            input.attempts
        )));
    }
    if input.expect.status.is_empty()
        || input.expect.status.iter().any(|s| !(100..=599).contains(s))
    {
        return Err(ActionError::Input(format!(
            "expect.status {:?} must list HTTP statuses (100–599)",
            input.expect.status
        )));
    }
    let interval = parse_interval(&input.interval).ok_or_else(|| {
        ActionError::Input(format!("interval {:?} is not a duration", input.interval))
    })?;
    Ok(Checked { url, interval })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

/// The first bytes of an answer's body, on one line: enough to tell Envoy's 503 from the app's.
async fn body_start(mut resp: reqwest::Response) -> String {
    match resp.chunk().await {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(BODY_SHOWN)
            .collect::<String>()
            .trim()
            .to_string(),
        _ => String::new(),
    }
}

#[async_trait]
impl Action for Probe {
    type Input = ProbeInput;
    type Output = ProbeOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "http.probe",
            summary: "GET a URL until it answers an expected status (interruptible)",
            mutates: false,
            idempotent: true,
            default_timeout: Duration::from_secs(300),
        }
    }

    /// A dry run changes nothing the probe could observe, so it only describes it.
    fn runs_in_dry_run(&self) -> bool {
        false
    }

    async fn plan(&self, _: &ActionContext<'_>, input: &ProbeInput) -> Result<Plan, ActionError> {
        let checked = check_input(input)?;
        Ok(Plan {
            calls: vec![PlannedCall::new("GET", checked.url.to_string())],
            outputs: Some(json!({
                "status": KNOWN_AFTER_APPLY,
                "attempts": KNOWN_AFTER_APPLY,
                "url": input.url,
            })),
            notes: vec![format!(
                "up to {} GETs, {} apart, until the status is one of {:?}",
                input.attempts, input.interval, input.expect.status
            )],
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &ProbeInput,
    ) -> Result<ProbeOutput, ActionError> {
        let checked = check_input(input)?;
        let http = ctx.http_client()?;
        let mut cancel = ctx.cancel.clone();
        let mut last = String::from("no answer");
        for attempt in 1..=input.attempts {
            if *cancel.borrow() {
                return Err(ActionError::Cancelled);
            }
            let sent = http
                .get(checked.url.clone())
                .timeout(ATTEMPT_TIMEOUT)
                .send();
            let answer = tokio::select! {
                a = sent => a,
                _ = cancel.wait_for(|c| *c) => return Err(ActionError::Cancelled),
            };
            match answer {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if input.expect.status.contains(&status) {
                        return Ok(ProbeOutput {
                            status,
                            attempts: attempt,
                            url: input.url.clone(),
                        });
                    }
                    let body = body_start(resp).await;
                    last = if body.is_empty() {
                        format!("status {status}")
                    } else {
                        format!("status {status}: {body}")
                    };
                }
                Err(e) => last = error_chain(&e),
            }
            (ctx.progress)(format!(
                "{}: attempt {attempt}/{}: {last}",
                input.url, input.attempts
            ));
            if attempt < input.attempts {
                tokio::select! {
                    _ = tokio::time::sleep(checked.interval) => {}
                    _ = cancel.wait_for(|c| *c) => return Err(ActionError::Cancelled),
                }
            }
        }
        Err(ActionError::Failed(format!(
            "{} did not answer {:?} in {} attempts; last: {last}",
            input.url, input.expect.status, input.attempts
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: serde_json::Value) -> ProbeInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn intervals_take_milliseconds_and_durations() {
        assert_eq!(parse_interval("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_interval("3s"), Some(Duration::from_secs(3)));
        assert_eq!(parse_interval("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_interval("-2s"), None);
        assert_eq!(parse_interval("soon"), None);
    }

    #[test]
    fn inputs_are_checked() {
        let ok = input(json!({"url": "https://app.example/health"}));
        assert_eq!((ok.attempts, ok.expect.status.as_slice()), (10, &[200][..]));
        assert!(check_input(&ok).is_ok());
        for bad in [
            json!({"url": "ftp://x/"}),
            json!({"url": "not a url"}),
            json!({"url": "https://x/", "attempts": 0}),
            json!({"url": "https://x/", "expect": {"status": []}}),
            json!({"url": "https://x/", "expect": {"status": [42]}}),
            json!({"url": "https://x/", "interval": "often"}),
        ] {
            assert!(
                matches!(check_input(&input(bad.clone())), Err(ActionError::Input(_))),
                "{bad}"
            );
        }
        assert!(
            serde_json::from_value::<ProbeInput>(json!({"url": "https://x/", "retries": 3}))
                .is_err()
        );
    }
}
