//! A run's journal: every `RunEvent`, masked, goes to the subscribers (CLI, TUI) at once and to
//! the audit trail through one writer task that appends in order and in batches. The engine
//! flushes the journal before each checkpoint, so the trail never lags the checkpoints.

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use super::engine::EngineError;
use super::events::RunEvent;
use super::params::MASK;
use crate::store::{NewEvent, Store};

/// Replaces secret values wherever they appear in text.
#[derive(Clone, Default)]
pub(crate) struct Masker {
    pub(crate) secrets: Vec<String>,
}

impl Masker {
    pub(crate) fn text(&self, s: &str) -> String {
        self.secrets.iter().fold(s.to_string(), |acc, secret| {
            acc.replace(secret.as_str(), MASK)
        })
    }

    pub(crate) fn value(&self, v: &Value) -> Value {
        if self.secrets.is_empty() {
            return v.clone();
        }
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), self.value(v))).collect())
            }
            other => other.clone(),
        }
    }
}

enum JournalMessage {
    Event(NewEvent),
    Flush(oneshot::Sender<Result<(), String>>),
}

/// The audit writer: one task appends events in order; `flush` waits until all sent so far are
/// stored (the engine flushes before every checkpoint).
#[derive(Clone)]
pub(crate) struct Journal {
    run_id: String,
    tx: mpsc::UnboundedSender<JournalMessage>,
    subscriber: Option<mpsc::UnboundedSender<RunEvent>>,
    masker: Masker,
}

impl Journal {
    pub(crate) fn start(
        store: Store,
        run_id: String,
        subscriber: Option<mpsc::UnboundedSender<RunEvent>>,
        masker: Masker,
    ) -> (Journal, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<JournalMessage>();
        let task = tokio::spawn(async move {
            let mut failure: Option<String> = None;
            let mut batch: Vec<NewEvent> = Vec::new();
            while let Some(first) = rx.recv().await {
                // Everything queued while the last batch was written goes in one transaction.
                let mut flushes = Vec::new();
                let mut next = Some(first);
                while let Some(message) = next.take() {
                    match message {
                        JournalMessage::Event(e) => batch.push(e),
                        JournalMessage::Flush(done) => flushes.push(done),
                    }
                    next = rx.try_recv().ok();
                }
                if let Err(err) = store.append_all(&batch).await {
                    tracing::error!(error = %err, "audit append failed");
                    failure.get_or_insert(err.to_string());
                }
                batch.clear();
                for done in flushes {
                    let _ = done.send(failure.clone().map_or(Ok(()), Err));
                }
            }
        });
        (
            Journal {
                run_id,
                tx,
                subscriber,
                masker,
            },
            task,
        )
    }

    pub(crate) fn emit(&self, event: RunEvent) {
        let payload = self
            .masker
            .value(&serde_json::to_value(&event).unwrap_or(Value::Null));
        let _ = self.tx.send(JournalMessage::Event(NewEvent {
            run_id: Some(self.run_id.clone()),
            step_id: event.step().map(str::to_string),
            kind: event.kind().to_string(),
            payload: payload.clone(),
        }));
        if let Some(sub) = &self.subscriber {
            // Subscribers see the masked event too.
            let shown = serde_json::from_value(payload).unwrap_or(event);
            let _ = sub.send(shown);
        }
    }

    pub(crate) async fn flush(&self) -> Result<(), EngineError> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(JournalMessage::Flush(tx)).is_err() {
            return Err(EngineError::Audit("the audit writer stopped".into()));
        }
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(EngineError::Audit(message)),
            Err(_) => Err(EngineError::Audit("the audit writer stopped".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_masked_in_text_and_values() {
        let m = Masker {
            secrets: vec!["hunter2".into()],
        };
        assert_eq!(m.text("password=hunter2;"), "password=***;");
        assert_eq!(
            m.value(&json!({"a": ["x hunter2", 3], "b": "hunter2"})),
            json!({"a": ["x ***", 3], "b": "***"})
        );
    }
}
