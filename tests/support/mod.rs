//! Shared support for integration tests: a real simulator over HTTPS, and (in `swagger`) the
//! official specifications to check its answers against.
#![allow(dead_code)]

pub mod simulator;
pub mod swagger;
