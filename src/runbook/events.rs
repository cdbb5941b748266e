//! What a run reports as it goes: the CLI's text and JSONL writers, the TUI's progress view and
//! the audit trail all read these. Values in events are already masked.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::action::{Check, Plan};
use crate::azure::http::CallRecord;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    RunStarted {
        run_id: String,
        runbook: String,
        environment: String,
        params: Value,
        dry_run: bool,
        resumed: bool,
    },
    StepStarted {
        step: String,
        action: String,
        attempt: u32,
    },
    StepSkipped {
        step: String,
        reason: String,
    },
    /// A step already done before a resume: its stored outputs are used.
    StepReused {
        step: String,
    },
    /// A dry run's view of a step (or the plan shown before confirming).
    StepPlanned {
        step: String,
        action: String,
        plan: Plan,
    },
    StepProgress {
        step: String,
        message: String,
    },
    /// A REST call made by the step.
    Call {
        step: String,
        call: CallRecord,
    },
    StepSucceeded {
        step: String,
        outputs: Value,
        elapsed_ms: u64,
    },
    StepFailed {
        step: String,
        error: String,
        will_retry: bool,
    },
    /// On resume: the step's inputs differ from those checkpointed when it was interrupted.
    InputsChanged {
        step: String,
        before: Value,
        after: Value,
    },
    /// On resume: what `check` said about a step interrupted mid-flight.
    Checked {
        step: String,
        check: Check,
        decision: String,
    },
    ConfirmationRequested {
        step: String,
        message: String,
    },
    Confirmed {
        step: String,
    },
    RollbackStarted {
        step: String,
        action: String,
    },
    RollbackSucceeded {
        step: String,
    },
    RollbackFailed {
        step: String,
        error: String,
    },
    RunFinished {
        run_id: String,
        status: String,
        exit_code: i32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        failed_step: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

impl RunEvent {
    /// The `type` tag, as the audit trail's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            RunEvent::RunStarted { .. } => "run_started",
            RunEvent::StepStarted { .. } => "step_started",
            RunEvent::StepSkipped { .. } => "step_skipped",
            RunEvent::StepReused { .. } => "step_reused",
            RunEvent::StepPlanned { .. } => "step_planned",
            RunEvent::StepProgress { .. } => "step_progress",
            RunEvent::Call { .. } => "call",
            RunEvent::StepSucceeded { .. } => "step_succeeded",
            RunEvent::StepFailed { .. } => "step_failed",
            RunEvent::InputsChanged { .. } => "inputs_changed",
            RunEvent::Checked { .. } => "checked",
            RunEvent::ConfirmationRequested { .. } => "confirmation_requested",
            RunEvent::Confirmed { .. } => "confirmed",
            RunEvent::RollbackStarted { .. } => "rollback_started",
            RunEvent::RollbackSucceeded { .. } => "rollback_succeeded",
            RunEvent::RollbackFailed { .. } => "rollback_failed",
            RunEvent::RunFinished { .. } => "run_finished",
        }
    }

    /// The step the event is about, if any.
    pub fn step(&self) -> Option<&str> {
        match self {
            RunEvent::RunStarted { .. } | RunEvent::RunFinished { .. } => None,
            RunEvent::StepStarted { step, .. }
            | RunEvent::StepSkipped { step, .. }
            | RunEvent::StepReused { step }
            | RunEvent::StepPlanned { step, .. }
            | RunEvent::StepProgress { step, .. }
            | RunEvent::Call { step, .. }
            | RunEvent::StepSucceeded { step, .. }
            | RunEvent::StepFailed { step, .. }
            | RunEvent::InputsChanged { step, .. }
            | RunEvent::Checked { step, .. }
            | RunEvent::ConfirmationRequested { step, .. }
            | RunEvent::Confirmed { step }
            | RunEvent::RollbackStarted { step, .. }
            | RunEvent::RollbackSucceeded { step }
            | RunEvent::RollbackFailed { step, .. } => Some(step),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_serialize_with_their_kind_as_type() {
        let e = RunEvent::StepSkipped {
            step: "target".into(),
            reason: "when is false".into(),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["type"], e.kind());
        assert_eq!(
            v,
            json!({"type": "step_skipped", "step": "target", "reason": "when is false"})
        );
        assert_eq!(serde_json::from_value::<RunEvent>(v).unwrap(), e);
        assert_eq!(e.step(), Some("target"));
    }
}
