//! azdeck: a terminal operations console for Azure, with a built-in simulated Azure.
//!
//! Layers (dependencies point one way): `azure` (REST client) ← `runbook` (engine) ← `tui` / `cli`;
//! `store` and `config` are leaves; `sim` (the simulated Azure) depends only on `model`.

pub mod azure;
pub mod cli;
pub mod config;
pub mod model;
pub mod runbook;
pub mod sim;
pub mod store;
pub mod tui;
