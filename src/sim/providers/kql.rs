//! Stand-in until the KQL subset lands (being written in parallel); same public API.
use serde_json::{Map, Value};
pub struct Query;
#[derive(Debug, Clone, PartialEq)]
pub struct KqlError {
    pub message: String,
    pub position: usize,
}
pub fn parse(_text: &str) -> Result<Query, KqlError> {
    Err(KqlError {
        message: "not yet".into(),
        position: 0,
    })
}
impl Query {
    pub fn execute<'a>(&self, _rows: impl Iterator<Item = &'a Value>) -> Result<Table, KqlError> {
        Ok(Table {
            columns: vec![],
            rows: vec![],
        })
    }
}
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Map<String, Value>>,
}
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}
pub enum ColumnKind {
    String,
}
impl ColumnKind {
    pub fn as_str(&self) -> &'static str {
        "string"
    }
}
