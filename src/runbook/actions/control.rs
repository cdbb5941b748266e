//! Control actions that touch no resource: `confirm`, `wait`, `assert`, `log`.

use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runbook::action::{Action, ActionContext, ActionError, ActionSpec, Plan, Registry};
use crate::runbook::confirm::{ConfirmRequest, Confirmation};
use crate::runbook::template::parse_duration;

pub fn register(registry: &mut Registry) {
    registry.register(Confirm);
    registry.register(Wait);
    registry.register(Assert);
    registry.register(Log);
}

/// Asks the operator (or `--yes`) before the run goes on.
pub struct Confirm;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmInput {
    /// The question, e.g. "Send 100% of traffic to app--v2".
    pub message: String,
    /// Extra lines shown under the question.
    #[serde(default)]
    pub details: Vec<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConfirmOutput {
    pub confirmed: bool,
}

#[async_trait]
impl Action for Confirm {
    type Input = ConfirmInput;
    type Output = ConfirmOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "confirm",
            summary: "Ask before going on (typed environment name when protected; --yes headless)",
            mutates: false,
            idempotent: true,
            default_timeout: Duration::from_secs(24 * 3600),
        }
    }

    fn runs_in_dry_run(&self) -> bool {
        false
    }

    async fn plan(&self, _: &ActionContext<'_>, input: &ConfirmInput) -> Result<Plan, ActionError> {
        Ok(Plan {
            notes: vec![format!("asks: {}", input.message)],
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &ConfirmInput,
    ) -> Result<ConfirmOutput, ActionError> {
        let request = ConfirmRequest {
            run_id: ctx.run_id.to_string(),
            step_id: ctx.step_id.to_string(),
            message: input.message.clone(),
            environment: ctx.environment.name.clone(),
            protected: ctx.environment.protected,
            details: input.details.clone(),
        };
        match ctx.confirmer.confirm(&request).await {
            Confirmation::Confirmed => Ok(ConfirmOutput { confirmed: true }),
            Confirmation::Declined => Err(ActionError::Declined),
            Confirmation::Unavailable(why) => Err(ActionError::ConfirmationRequired(why)),
        }
    }
}

/// Waits a while (e.g. for a change to settle); an interrupt ends the wait.
pub struct Wait;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WaitInput {
    /// `30s`, `5m`, …
    pub duration: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WaitOutput {
    pub waited_seconds: i64,
}

fn wait_seconds(input: &WaitInput) -> Result<i64, ActionError> {
    parse_duration(&input.duration)
        .filter(|s| *s >= 0)
        .ok_or_else(|| ActionError::Input(format!("'{}' is not a duration", input.duration)))
}

#[async_trait]
impl Action for Wait {
    type Input = WaitInput;
    type Output = WaitOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "wait",
            summary: "Wait for a duration (interruptible)",
            mutates: false,
            idempotent: true,
            default_timeout: Duration::from_secs(24 * 3600),
        }
    }

    fn runs_in_dry_run(&self) -> bool {
        false
    }

    async fn plan(&self, _: &ActionContext<'_>, input: &WaitInput) -> Result<Plan, ActionError> {
        let seconds = wait_seconds(input)?;
        Ok(Plan {
            notes: vec![format!("waits {seconds} s")],
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &WaitInput,
    ) -> Result<WaitOutput, ActionError> {
        let seconds = wait_seconds(input)?;
        let mut cancel = ctx.cancel.clone();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(seconds as u64)) => Ok(WaitOutput { waited_seconds: seconds }),
            _ = cancel.wait_for(|c| *c) => Err(ActionError::Cancelled),
        }
    }
}

/// Fails the step (a precondition, exit code 4) unless `that` is true.
pub struct Assert;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssertInput {
    /// Usually a template, e.g. `"{{ steps.current.outputs.revisionMode == 'Multiple' }}"`.
    pub that: serde_json::Value,
    /// Said when the assertion fails.
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AssertOutput {
    pub passed: bool,
}

fn holds(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::String(s) => matches!(s.trim(), "true" | "True"),
        _ => false,
    }
}

#[async_trait]
impl Action for Assert {
    type Input = AssertInput;
    type Output = AssertOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "assert",
            summary: "Stop the run unless a condition holds",
            mutates: false,
            idempotent: true,
            default_timeout: Duration::from_secs(10),
        }
    }

    async fn plan(&self, _: &ActionContext<'_>, input: &AssertInput) -> Result<Plan, ActionError> {
        Ok(Plan {
            notes: vec![format!("asserts: {}", input.message)],
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        _: &ActionContext<'_>,
        input: &AssertInput,
    ) -> Result<AssertOutput, ActionError> {
        if holds(&input.that) {
            Ok(AssertOutput { passed: true })
        } else {
            Err(ActionError::Precondition(input.message.clone()))
        }
    }
}

/// Writes a line to the run's event stream and audit trail.
pub struct Log;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogInput {
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct LogOutput {
    pub message: String,
}

#[async_trait]
impl Action for Log {
    type Input = LogInput;
    type Output = LogOutput;

    fn spec(&self) -> ActionSpec {
        ActionSpec {
            name: "log",
            summary: "Record a message in the run's events",
            mutates: false,
            idempotent: true,
            default_timeout: Duration::from_secs(10),
        }
    }

    async fn plan(&self, _: &ActionContext<'_>, input: &LogInput) -> Result<Plan, ActionError> {
        Ok(Plan {
            notes: vec![format!("logs: {}", input.message)],
            ..Plan::default()
        })
    }

    async fn run(
        &self,
        ctx: &ActionContext<'_>,
        input: &LogInput,
    ) -> Result<LogOutput, ActionError> {
        (ctx.progress)(input.message.clone());
        Ok(LogOutput {
            message: input.message.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assert_accepts_booleans_and_rendered_text() {
        assert!(holds(&json!(true)));
        assert!(holds(&json!("true")));
        assert!(!holds(&json!(false)));
        assert!(!holds(&json!("false")));
        assert!(!holds(&json!(null)));
    }

    #[test]
    fn wait_rejects_what_is_not_a_duration() {
        assert_eq!(
            wait_seconds(&WaitInput {
                duration: "2m".into()
            })
            .unwrap(),
            120
        );
        assert!(wait_seconds(&WaitInput {
            duration: "soon".into()
        })
        .is_err());
    }
}
