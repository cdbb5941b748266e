//! Confirmation of changes: one trait, answered by the TUI's modal, the CLI's terminal prompt
//! (`cli::prompt`), or `--yes` headless (here: it needs no terminal). In a protected environment
//! the environment's name must be typed (headless: `--confirm-env NAME`).

use async_trait::async_trait;
use serde::Serialize;

/// What the user is asked to agree to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfirmRequest {
    pub run_id: String,
    pub step_id: String,
    pub message: String,
    pub environment: String,
    pub protected: bool,
    /// The changes the confirmed steps would make, one line each (from their plans).
    pub details: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "answer", content = "reason")]
pub enum Confirmation {
    Confirmed,
    Declined,
    /// Nobody can answer (no terminal, no `--yes`): the run stops with exit code 5.
    Unavailable(String),
}

#[async_trait]
pub trait Confirmer: Send + Sync {
    async fn confirm(&self, request: &ConfirmRequest) -> Confirmation;
}

/// Headless: `--yes` agrees to everything, and in a protected environment only when its name was
/// given with `--confirm-env`; without `--yes` nothing is confirmed.
pub struct Headless {
    pub yes: bool,
    pub confirm_env: Option<String>,
}

#[async_trait]
impl Confirmer for Headless {
    async fn confirm(&self, request: &ConfirmRequest) -> Confirmation {
        if !self.yes {
            return Confirmation::Unavailable(format!(
                "step '{}' needs confirmation: pass --yes (no terminal to ask on)",
                request.step_id
            ));
        }
        if request.protected && self.confirm_env.as_deref() != Some(request.environment.as_str()) {
            return Confirmation::Unavailable(format!(
                "environment '{}' is protected: pass --confirm-env {} with --yes",
                request.environment, request.environment
            ));
        }
        Confirmation::Confirmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(protected: bool) -> ConfirmRequest {
        ConfirmRequest {
            run_id: "r".into(),
            step_id: "confirm".into(),
            message: "Send 100% to app--v2".into(),
            environment: "prod".into(),
            protected,
            details: vec![],
        }
    }

    #[tokio::test]
    async fn headless_needs_yes_and_the_name_of_a_protected_environment() {
        let no = Headless {
            yes: false,
            confirm_env: None,
        };
        assert!(matches!(
            no.confirm(&request(false)).await,
            Confirmation::Unavailable(_)
        ));
        let yes = Headless {
            yes: true,
            confirm_env: None,
        };
        assert_eq!(yes.confirm(&request(false)).await, Confirmation::Confirmed);
        assert!(
            matches!(yes.confirm(&request(true)).await, Confirmation::Unavailable(m) if m.contains("--confirm-env prod"))
        );
        let wrong = Headless {
            yes: true,
            confirm_env: Some("dev".into()),
        };
        assert!(matches!(
            wrong.confirm(&request(true)).await,
            Confirmation::Unavailable(_)
        ));
        let named = Headless {
            yes: true,
            confirm_env: Some("prod".into()),
        };
        assert_eq!(named.confirm(&request(true)).await, Confirmation::Confirmed);
    }
}
