//! Optimizers.

pub mod adam;

pub use adam::Adam;
