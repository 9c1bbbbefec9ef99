//! The report's errors: a metrics file that does not parse, a chart that cannot be drawn, inputs
//! that do not fit the network, or the engine failing while the report runs the network.

use std::path::PathBuf;

/// What can go wrong building the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Running the network (evaluation, features, probabilities) failed.
    #[error(transparent)]
    Engine(#[from] crate::Error),

    /// A metrics file line that is not what `twostage train --metrics` writes.
    #[error(
        "{}: line {line}: {message} (expected the JSON Lines that `twostage train --metrics` writes)",
        file.display()
    )]
    Metrics {
        /// The metrics file.
        file: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        message: String,
    },

    /// A chart could not be drawn.
    #[error("<{what} plot>: {message}")]
    Plot {
        /// Which chart, e.g. `accuracy`.
        what: String,
        /// The plotting library's error.
        message: String,
    },

    /// Class names that do not match the network's classes.
    #[error("class names: {names} names for a network with {classes} classes")]
    ClassNames {
        /// How many names were given.
        names: usize,
        /// How many classes the network has.
        classes: usize,
    },
}
