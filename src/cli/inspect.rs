//! `twostage inspect FILE`: what an IDX file holds.

use std::path::Path;

use super::console::out;
use super::error::Error;

/// `twostage inspect`.
pub fn run(path: &Path) -> Result<(), Error> {
    out!("{}", twostage::data::inspect(path)?);
    Ok(())
}
