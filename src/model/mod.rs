//! Types shared between the simulated Azure and the rest of azdeck. Nothing in here performs I/O
//! beyond reading and writing its own file format.

pub mod http;
pub mod secret;
pub mod simenv;

pub use secret::SecretString;
pub use simenv::{SimEndpoints, SimEnvironment, SimServicePrincipal, SimSubscription};
