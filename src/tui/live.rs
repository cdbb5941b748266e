//! Runs started from this UI, as their events describe them: what the progress view, the plan
//! preview and the status bar show. Built only from `RunEvent`s (already masked by the engine).

use std::time::Instant;

use super::msg::Ticket;
use crate::runbook::engine::plan_lines;
use crate::runbook::events::RunEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A dry run whose plan is shown; `then_run` offers to run it for real.
    Preview {
        then_run: bool,
    },
    Run,
    Resume,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
    Reused,
    Planned,
    WaitingConfirmation,
    RollingBack,
    RolledBack,
    RollbackFailed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveStep {
    pub id: String,
    pub action: String,
    pub status: StepStatus,
    pub attempt: u32,
    pub started: Option<Instant>,
    pub elapsed_ms: Option<u64>,
    /// The last progress message (a long-running operation's status, a probe's answer).
    pub message: Option<String>,
    /// The plan lines (before → after, REST calls) of a planned step.
    pub plan: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finish {
    pub status: String,
    pub exit_code: i32,
    pub failed_step: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveRun {
    pub ticket: Ticket,
    pub runbook: String,
    pub params: Vec<(String, String)>,
    pub purpose: Purpose,
    pub run_id: Option<String>,
    pub started: Instant,
    pub steps: Vec<LiveStep>,
    /// REST calls made so far, and the last failed one.
    pub calls: usize,
    pub failed_call: Option<String>,
    pub finish: Option<Finish>,
    /// The run could not start or the engine failed outside a step.
    pub error: Option<String>,
    /// The engine is done with it.
    pub done: bool,
    /// Where the run came from, so the view can refresh after it (an app id).
    pub refresh_app: Option<String>,
}

impl LiveRun {
    pub fn new(
        ticket: Ticket,
        runbook: &str,
        params: Vec<(String, String)>,
        purpose: Purpose,
    ) -> LiveRun {
        LiveRun {
            ticket,
            runbook: runbook.to_string(),
            params,
            purpose,
            run_id: None,
            started: Instant::now(),
            steps: Vec::new(),
            calls: 0,
            failed_call: None,
            finish: None,
            error: None,
            done: false,
            refresh_app: None,
        }
    }

    pub fn is_dry_run(&self) -> bool {
        matches!(self.purpose, Purpose::Preview { .. })
    }

    pub fn succeeded(&self) -> bool {
        self.done && self.error.is_none() && self.finish.as_ref().is_some_and(|f| f.exit_code == 0)
    }

    fn step(&mut self, id: &str) -> &mut LiveStep {
        if let Some(i) = self.steps.iter().position(|s| s.id == id) {
            return &mut self.steps[i];
        }
        self.steps.push(LiveStep {
            id: id.to_string(),
            action: String::new(),
            status: StepStatus::Running,
            attempt: 1,
            started: None,
            elapsed_ms: None,
            message: None,
            plan: Vec::new(),
            error: None,
        });
        let last = self.steps.len() - 1;
        &mut self.steps[last]
    }

    /// The steps that would change something, with their plan lines (for the preview).
    pub fn planned_changes(&self) -> impl Iterator<Item = &LiveStep> {
        self.steps
            .iter()
            .filter(|s| s.status == StepStatus::Planned && !s.plan.is_empty())
    }

    pub fn apply(&mut self, event: &RunEvent) {
        match event {
            RunEvent::RunStarted { run_id, .. } => self.run_id = Some(run_id.clone()),
            RunEvent::StepStarted {
                step,
                action,
                attempt,
            } => {
                let s = self.step(step);
                s.action = action.clone();
                s.attempt = *attempt;
                s.status = StepStatus::Running;
                s.started = Some(Instant::now());
                s.error = None;
            }
            RunEvent::StepSkipped { step, reason } => {
                let s = self.step(step);
                s.status = StepStatus::Skipped;
                s.message = Some(reason.clone());
            }
            RunEvent::StepReused { step } => self.step(step).status = StepStatus::Reused,
            RunEvent::StepPlanned { step, action, plan } => {
                let s = self.step(step);
                s.action = action.clone();
                s.status = StepStatus::Planned;
                s.plan = plan_lines(plan);
            }
            RunEvent::StepProgress { step, message } => {
                self.step(step).message = Some(message.clone())
            }
            RunEvent::Call { step, call } => {
                self.calls += 1;
                if !(200..400).contains(&call.status) {
                    // The status before the URL: the progress view cuts long lines.
                    let line = format!("{} {} {}", call.method, call.status, call.url);
                    self.step(step).message = Some(line.clone());
                    self.failed_call = Some(line);
                } else if call.method != "GET" {
                    self.step(step).message =
                        Some(format!("{} {} {}", call.method, call.status, call.url));
                }
            }
            RunEvent::StepSucceeded {
                step, elapsed_ms, ..
            } => {
                let s = self.step(step);
                s.status = StepStatus::Succeeded;
                s.elapsed_ms = Some(*elapsed_ms);
            }
            RunEvent::StepFailed {
                step,
                error,
                will_retry,
            } => {
                let s = self.step(step);
                s.error = Some(error.clone());
                if !will_retry {
                    s.status = StepStatus::Failed;
                }
            }
            RunEvent::InputsChanged { step, .. } => {
                self.step(step).message = Some("inputs changed since the checkpoint".into())
            }
            RunEvent::Checked { step, decision, .. } => {
                self.step(step).message = Some(decision.clone())
            }
            RunEvent::ConfirmationRequested { step, .. } => {
                self.step(step).status = StepStatus::WaitingConfirmation
            }
            RunEvent::Confirmed { step } => {
                // An explicit confirm step reports this after it succeeded; an implicit one
                // before its step starts.
                let s = self.step(step);
                if s.status == StepStatus::WaitingConfirmation {
                    s.status = StepStatus::Running;
                }
            }
            RunEvent::RollbackStarted { step, .. } => {
                self.step(step).status = StepStatus::RollingBack
            }
            RunEvent::RollbackSucceeded { step } => self.step(step).status = StepStatus::RolledBack,
            RunEvent::RollbackFailed { step, error } => {
                let s = self.step(step);
                s.status = StepStatus::RollbackFailed;
                s.error = Some(error.clone());
            }
            RunEvent::RunFinished {
                run_id,
                status,
                exit_code,
                failed_step,
                error,
            } => {
                self.run_id = Some(run_id.clone());
                self.finish = Some(Finish {
                    status: status.clone(),
                    exit_code: *exit_code,
                    failed_step: failed_step.clone(),
                    error: error.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::action::{Change, Plan, PlannedCall};

    #[test]
    fn events_build_the_progress_view() {
        let mut run = LiveRun::new(1, "containerapp-rollback", vec![], Purpose::Run);
        run.apply(&RunEvent::RunStarted {
            run_id: "r1".into(),
            runbook: "containerapp-rollback".into(),
            environment: "prod".into(),
            params: serde_json::json!({}),
            dry_run: false,
            resumed: false,
        });
        run.apply(&RunEvent::StepStarted {
            step: "shift".into(),
            action: "containerapp.traffic.set".into(),
            attempt: 1,
        });
        run.apply(&RunEvent::StepProgress {
            step: "shift".into(),
            message: "operation InProgress".into(),
        });
        assert_eq!(run.steps[0].status, StepStatus::Running);
        assert_eq!(
            run.steps[0].message.as_deref(),
            Some("operation InProgress")
        );
        run.apply(&RunEvent::StepSucceeded {
            step: "shift".into(),
            outputs: serde_json::json!({}),
            elapsed_ms: 12,
        });
        run.apply(&RunEvent::RunFinished {
            run_id: "r1".into(),
            status: "succeeded".into(),
            exit_code: 0,
            failed_step: None,
            error: None,
        });
        run.done = true;
        assert!(run.succeeded());
        assert_eq!(run.run_id.as_deref(), Some("r1"));
    }

    #[test]
    fn a_planned_step_keeps_its_changes_and_calls() {
        let mut run = LiveRun::new(2, "x", vec![], Purpose::Preview { then_run: true });
        run.apply(&RunEvent::StepPlanned {
            step: "shift".into(),
            action: "containerapp.traffic.set".into(),
            plan: Plan {
                calls: vec![PlannedCall {
                    method: "PATCH".into(),
                    url: "/subscriptions/s/…/containerApps/web".into(),
                    body: None,
                }],
                changes: vec![Change {
                    resource: "/subscriptions/s/…/containerApps/web".into(),
                    field: "traffic".into(),
                    before: serde_json::json!("[v43 100%]"),
                    after: serde_json::json!("[v42 100%]"),
                }],
                ..Plan::default()
            },
        });
        let planned: Vec<_> = run.planned_changes().collect();
        assert_eq!(planned.len(), 1);
        assert!(planned[0]
            .plan
            .iter()
            .any(|l| l.contains("[v43 100%] → [v42 100%]")));
        assert!(planned[0].plan.iter().any(|l| l.starts_with("PATCH ")));
    }
}
