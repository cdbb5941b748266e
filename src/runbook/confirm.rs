//! Confirmation of changes: one trait, answered by the TUI's modal, a terminal prompt, or `--yes`
//! headless. In a protected environment the environment's name must be typed (headless:
//! `--confirm-env NAME`).

use std::io::{BufRead, IsTerminal, Write};

use async_trait::async_trait;
use serde::Serialize;

/// What the user is asked to agree to.
#[derive(Debug, Clone, Serialize)]
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

/// Asks on the terminal (stderr for the question, stdin for the answer). In a protected
/// environment the answer must be the environment's name; elsewhere `y` or `yes`.
pub struct TerminalPrompt;

impl TerminalPrompt {
    /// Whether a prompt can be answered here at all.
    pub fn available() -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }
}

#[async_trait]
impl Confirmer for TerminalPrompt {
    async fn confirm(&self, request: &ConfirmRequest) -> Confirmation {
        let request = request.clone();
        let asked = tokio::task::spawn_blocking(move || {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "\n{}", request.message);
            for d in &request.details {
                let _ = writeln!(err, "  {d}");
            }
            let prompt = if request.protected {
                format!(
                    "'{}' is protected. Type its name to go on: ",
                    request.environment
                )
            } else {
                "Go on? [y/N] ".to_string()
            };
            let _ = write!(err, "{prompt}");
            let _ = err.flush();
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map(|_| {
                let answer = line.trim();
                if request.protected {
                    answer == request.environment
                } else {
                    matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes")
                }
            })
        })
        .await;
        match asked {
            Ok(Ok(true)) => Confirmation::Confirmed,
            Ok(Ok(false)) => Confirmation::Declined,
            Ok(Err(e)) => Confirmation::Unavailable(format!("cannot read the answer: {e}")),
            Err(e) => Confirmation::Unavailable(format!("cannot ask: {e}")),
        }
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
