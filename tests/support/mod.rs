//! Shared support for integration tests: a real simulator over HTTPS. (`swagger.rs`, the official
//! specifications' loader and validator, is included by the conformance suite alone, so its
//! self-tests run once.)
#![allow(dead_code)]

pub mod cli;
pub mod simulator;
