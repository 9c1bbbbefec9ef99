//! The command line's errors. Each layer's error is wrapped whole, so its causes chain
//! (`main` prints them); the command line adds the flag at fault and the advice, in its own
//! words — the layers below never name a flag.

use twostage::checkpoint::CheckpointError;
use twostage::data::DataError;
use twostage::data::dataset::{DATASETS, Dataset};
use twostage::report::ReportError;

/// What a command reports on failure, after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine failed (training, evaluation, a gradient check).
    #[error(transparent)]
    Engine(#[from] twostage::Error),

    /// Reading, identifying or downloading data failed. Built through `From`, which adds the
    /// command line's hint when there is one.
    #[error(transparent)]
    Input(DataError),

    /// A checkpoint could not be read, written or loaded.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),

    /// The report could not be built.
    #[error(transparent)]
    Report(#[from] ReportError),

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

    /// An error with advice on what to do about it, in the command line's words; `main` prints
    /// the hint after the error and its causes.
    #[error("{error}")]
    Hinted {
        /// The failure.
        #[source]
        error: Box<Error>,
        /// What to try.
        hint: String,
    },
}

impl Error {
    /// The error with `hint` attached.
    pub fn hinted(self, hint: impl Into<String>) -> Error {
        Error::Hinted {
            error: Box::new(self),
            hint: hint.into(),
        }
    }

    /// The file the error could not open because it is a loop of symbolic links, if that was
    /// the cause (the operating system's message alone says "too many levels").
    pub fn looping_path(&self) -> Option<&std::path::Path> {
        let path = match self.peel().0 {
            Error::Checkpoint(CheckpointError::FileIo { path, .. }) => path,
            Error::Input(DataError::FileIo { file, .. }) => file,
            _ => return None,
        };
        crate::cli::paths::is_link_loop(path).then_some(path.as_path())
    }

    /// The error under its hints, and the hints, outermost first.
    pub fn peel(&self) -> (&Error, Vec<&str>) {
        let mut error = self;
        let mut hints = Vec::new();
        while let Error::Hinted { error: inner, hint } = error {
            hints.push(hint.as_str());
            error = inner;
        }
        (error, hints)
    }
}

impl From<DataError> for Error {
    fn from(e: DataError) -> Error {
        match data_hint(&e) {
            Some(hint) => Error::Input(e).hinted(hint),
            None => Error::Input(e),
        }
    }
}

/// ` --dataset NAME` for a dataset other than MNIST (the default), else nothing.
fn dataset_flag(dataset: &Dataset) -> String {
    if dataset.name == "mnist" {
        String::new()
    } else {
        format!(" --dataset {}", dataset.name)
    }
}

/// The known dataset whose title is `title`.
fn by_title(title: &str) -> Option<&'static Dataset> {
    DATASETS.iter().copied().find(|d| d.title == title)
}

/// What the user can do about a data error, in the command line's words.
pub fn data_hint(e: &DataError) -> Option<String> {
    let own_data = |dataset: &str| {
        format!(
            "if this is your own IDX data rather than the published {dataset}, pass --no-verify"
        )
    };
    Some(match e {
        DataError::AlsoPresent { source, .. } => return data_hint(source),
        DataError::NotADirectory { .. } => {
            "pass --data-dir a directory (it is created if missing)".to_string()
        }
        DataError::NotMnistHeader { dataset, .. } | DataError::ChecksumMismatch { dataset, .. } => {
            own_data(dataset)
        }
        DataError::MissingFile { dir, name, dataset } => format!(
            "add {name} or {name}.gz there, pass --data-dir the directory that holds it, or run \
             `twostage download{} --data-dir {}` to fetch {}",
            dataset_flag(dataset),
            dir.display(),
            dataset.title
        ),
        DataError::IncompleteSet {
            dataset, missing, ..
        } => format!(
            "add the missing {}, or pass --data-dir an empty directory to download {dataset} there",
            if missing.len() == 1 { "file" } else { "files" }
        ),
        DataError::PresentNotMnist { dataset, files, .. } => {
            let it = if files.len() == 1 { "it" } else { "them" };
            format!(
                "move {it} away, or run `twostage download{} --force` to replace {it} with \
                 {dataset}",
                by_title(dataset).map(dataset_flag).unwrap_or_default()
            )
        }
        DataError::DownloadFailed { dataset, .. } => format!(
            "to use a local copy instead, pass --data-dir DIR pointing at a directory holding the \
             four {dataset} files (train-images-idx3-ubyte, train-labels-idx1-ubyte, \
             t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each plain or .gz)"
        ),
        _ => return None,
    })
}

/// An [`Error::InvalidArgument`] for `flag`.
pub fn invalid(flag: &'static str, message: impl Into<String>) -> Error {
    Error::InvalidArgument {
        flag,
        message: message.into(),
    }
}
