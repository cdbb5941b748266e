//! Exit codes of the `azdeck` command (documented in README.md).

pub const OK: u8 = 0;
pub const USAGE: u8 = 3;
/// Azure refused the call or could not be reached (the message says which).
pub const AZURE: u8 = 8;
pub const INTERNAL: u8 = 20;
