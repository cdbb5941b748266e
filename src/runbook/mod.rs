//! Runbooks: declarative procedures run by one engine under the TUI and headless.
//!
//! `model` is the format, `template` its expression language, `action` the registry's contract
//! and `actions` the built-in actions; `confirm` is how a run asks before changing anything.
//! `loader` finds runbooks (built in and the user's folders) and `lint` checks them against the
//! registry, pointing at lines through `yaml_pos`.

pub mod action;
pub mod actions;
pub mod confirm;
pub mod engine;
pub mod events;
mod journal;
pub mod lint;
pub mod loader;
pub mod model;
pub mod params;
pub mod template;
pub mod yaml_pos;
