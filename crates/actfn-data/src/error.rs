//! The data crate's error type: every failure names the file and the fault.

use std::path::PathBuf;

/// A failure to find, read, verify or batch the data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not a well-formed IDX file.
    #[error("{}: {fault}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        fault: String,
    },
    /// A file's decompressed bytes are not the published Fashion-MNIST file.
    #[error(
        "{}: SHA-256 of the decompressed bytes is {actual}, expected {expected}; the file is \
         damaged or not Fashion-MNIST: delete it and run `cargo xtask data`",
        path.display()
    )]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The expected digest (hex).
        expected: String,
        /// The digest of the file (hex).
        actual: String,
    },
    /// No folder holds the four files.
    #[error(
        "Fashion-MNIST not found; tried:\n{}\nFix: `apt-get install dataset-fashion-mnist`, or copy \
         the four files to data/FashionMNIST/raw/ (or $PATH_DATASETS/FashionMNIST/raw/)",
        tried.iter().map(|t| format!("  - {t}")).collect::<Vec<_>>().join("\n")
    )]
    NotFound {
        /// Each place tried and why it failed.
        tried: Vec<String>,
    },
    /// A download failed (feature `download`).
    #[error("GET {url}: {why}")]
    Download {
        /// What was asked for.
        url: String,
        /// What went wrong.
        why: String,
    },
    /// Sizes that do not fit: a batch size of 0, a split larger than the data.
    #[error("{0}")]
    InvalidArgument(String),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// The data crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
