//! The command line's errors: the engine's and the data layer's, the flag at fault, and advice.

use twostage::data::DataError;

/// What a command reports on failure, after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine, the data layer or a checkpoint failed; their messages name the file or tensor.
    #[error(transparent)]
    Engine(#[from] twostage::Error),

    /// A command-line value that makes no sense.
    #[error("invalid value for {flag}: {message}")]
    InvalidArgument {
        /// The flag, e.g. `--lr`.
        flag: &'static str,
        /// What is wrong with its value.
        message: String,
    },

    /// A check the command ran did not pass.
    #[error("{0}")]
    Failed(String),

    /// An error with advice on what to do about it, in the command line's words.
    #[error("{error}\n  hint: {hint}")]
    Hinted {
        /// The failure.
        error: Box<Error>,
        /// What to try.
        hint: String,
    },
}

impl From<DataError> for Error {
    fn from(e: DataError) -> Error {
        Error::Engine(twostage::Error::Data(e))
    }
}

/// An [`Error::InvalidArgument`] for `flag`.
pub fn invalid(flag: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidArgument {
        flag,
        message: message.into(),
    }
}
