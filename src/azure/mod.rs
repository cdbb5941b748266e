//! The Azure client: clouds, credentials, the one request pipeline, long-running operations,
//! pagers and typed operations. No UI and no runbook knowledge.

pub mod auth;
pub mod cloud;
pub mod containerapps;
pub mod error;
pub mod http;
pub mod inventory;
pub mod keyvault;
pub mod lro;
pub mod paging;
pub mod resources;
pub mod retry;
pub mod secrets;
pub mod session;
