//! The data layer: MNIST-shaped datasets from disk (or the network) to memory.
//!
//! ```text
//! download.rs ──.gz files──▶ idx.rs ──(dims, typed data)──▶ mnist.rs ──Mnist{images u8, labels}──▶ batches.rs
//! ```
//!
//! * [`idx`] parses the IDX format (optionally gzip-compressed), refusing every malformed input
//!   with a [`DataError`] that names the file.
//! * [`checksums`] holds the published SHA-256 of the four files of each known dataset and the
//!   hashing reader that checks them while the bytes stream past.
//! * [`dataset`] is the table of known datasets (MNIST, Fashion-MNIST): files, mirrors, class
//!   names; and what identifies a custom IDX set (its hashes, its `classes.txt`).
//! * [`mnist`] checks that the files really are MNIST (shape, label range, counts, checksums),
//!   refusing a header of the wrong shape (or, when verifying, other than MNIST's published
//!   dimensions) before reading its data.
//! * [`identity`] says which data a set is, what a checkpoint was trained on, and whether
//!   the two fit.
//! * [`download`] fetches missing files from a list of mirrors, atomically, and never replaces
//!   a file the user has unless told to (`twostage download --force`).
//! * [`inspect`] describes any IDX file for `twostage inspect FILE`.
//!
//! This module knows nothing of networks; `train.rs` is where data meets the model.

pub mod checksums;
pub mod dataset;
#[cfg(feature = "download")]
pub mod download;
pub mod identity;
pub mod idx;
pub mod mnist;

mod error;
mod files;
mod inspect;
mod messages;

pub use error::{Attempt, DataError, Foreign, kind_of};
pub use inspect::inspect;
