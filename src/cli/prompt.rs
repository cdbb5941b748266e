//! The terminal's answer to a runbook's confirmation (the engine's `Confirmer`): the question on
//! stderr, the answer from stdin. The runbook layer never touches the terminal itself.

use std::io::{BufRead, IsTerminal, Write};

use async_trait::async_trait;

use crate::runbook::confirm::{ConfirmRequest, Confirmation, Confirmer};

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
