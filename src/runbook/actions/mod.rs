//! The built-in actions, one module per family.

mod containerapp;
mod control;
mod frontdoor;
mod keyvault;
mod probe;

use super::action::Registry;

pub fn register_all(registry: &mut Registry) {
    control::register(registry);
    containerapp::register(registry);
    probe::register(registry);
    keyvault::register(registry);
    frontdoor::register(registry);
}
