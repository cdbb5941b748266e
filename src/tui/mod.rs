//! The terminal UI: state, an event loop that never awaits Azure, screens rendered from state.
//! Reads run in background tasks and come back as messages; every change is a runbook run.

pub mod fuzzy;
pub mod text;
