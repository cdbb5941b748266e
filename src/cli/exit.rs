//! Exit codes of the `azdeck` command (documented in README.md).

pub const OK: u8 = 0;
pub const USAGE: u8 = 3;
pub const INTERNAL: u8 = 20;
