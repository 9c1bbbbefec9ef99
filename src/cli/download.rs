//! `twostage download`: a known dataset from its list of mirrors, every file verified.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use twostage::data::download::{DownloadOptions, download_dataset};

use super::console::outln;
use super::error::{Error, invalid};
use super::numbers::seconds;
use super::{DatasetChoice, data_source};

#[derive(Args, Debug, Clone)]
pub struct DownloadArgs {
    /// Which known dataset to fetch
    #[arg(long, value_enum, default_value = "mnist", value_name = "NAME")]
    pub dataset: DatasetChoice,
    /// Where to put the files [default: $MNIST_DIR, else data/mnist; for fashion-mnist
    /// $FASHION_MNIST_DIR, else data/fashion-mnist]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A mirror base URL, tried in the order given (repeatable); replaces the dataset's list
    /// [default: the dataset's mirrors, e.g. zalando's S3 bucket for fashion-mnist]
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,
    /// Seconds to wait for a connection
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    #[arg(allow_hyphen_values = true, value_parser = seconds)]
    pub connect_timeout: f64,
    /// Seconds to wait for data before giving up on a mirror
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    #[arg(allow_hyphen_values = true, value_parser = seconds)]
    pub read_timeout: f64,
    /// Most seconds one file may take from one mirror (request to last byte) before the next
    /// mirror is tried: a mirror that trickles is given up on
    #[arg(long, default_value_t = 600.0, value_name = "SECONDS")]
    #[arg(allow_hyphen_values = true, value_parser = seconds)]
    pub file_deadline: f64,
    /// Replace files in DIR that are present but are not the dataset's [default: off, never
    /// replaced]
    #[arg(long)]
    pub force: bool,
}

/// `twostage download`.
pub fn run(args: &DownloadArgs) -> Result<(), Error> {
    let seconds = |flag, s: f64| {
        if s.is_finite() && s > 0.0 {
            Duration::try_from_secs_f64(s).map_err(|e| invalid(flag, format!("{s}: {e}")))
        } else {
            Err(invalid(
                flag,
                format!("{s} is not a positive number of seconds"),
            ))
        }
    };
    let dataset = args.dataset.dataset();
    let defaults = DownloadOptions::for_dataset(dataset);
    let options = DownloadOptions {
        mirrors: if args.mirrors.is_empty() {
            defaults.mirrors
        } else {
            args.mirrors.clone()
        },
        connect_timeout: seconds("--connect-timeout", args.connect_timeout)?,
        read_timeout: seconds("--read-timeout", args.read_timeout)?,
        file_deadline: seconds("--file-deadline", args.file_deadline)?,
        progress: super::progress::DownloadLog::reporter(),
    };
    let dir = data_source(Some(args.dataset), &args.data_dir, false, None)?.dir;
    download_dataset(dataset, &dir, args.force, &options)?;
    outln!("{} is in {}", dataset.title, dir.display());
    Ok(())
}
