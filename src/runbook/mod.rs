//! Runbooks: declarative procedures run by one engine under the TUI and headless.
//!
//! `model` is the format, `template` its expression language, `action` the registry's contract
//! and `actions` the built-in actions; `confirm` is how a run asks before changing anything.
//! `loader` finds runbooks (built in and the user's folders).

pub mod action;
pub mod actions;
pub mod confirm;
pub mod loader;
pub mod model;
pub mod template;
