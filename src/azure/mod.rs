//! The Azure client: clouds and their endpoints (and, as issue 3 lands, the request pipeline,
//! credentials, long-running operations, paging and typed operations). No UI and no runbook
//! knowledge.

pub mod auth;
pub mod cloud;
pub mod error;
pub mod http;
pub mod retry;
