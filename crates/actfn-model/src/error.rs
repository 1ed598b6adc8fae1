//! The model crate's error type: every failure names the file or value at fault.

use std::path::PathBuf;

/// A failure to build, save or load a network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Writing a file atomically failed.
    #[error(transparent)]
    File(#[from] actfn_io::Error),
    /// A config file is not the study's JSON.
    #[error("{}: not a valid network config: {source}", path.display())]
    ConfigSyntax {
        /// The config file.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A config describes a network that cannot be built.
    #[error("invalid network config: {0}")]
    InvalidConfig(String),
    /// A checkpoint's weights do not fit its config, or the file is not a safetensors file.
    #[error("{}: {reason}", path.display())]
    Checkpoint {
        /// The weights file.
        path: PathBuf,
        /// What is wrong, naming the tensor where one is at fault.
        reason: String,
    },
    /// A device name that is not `cpu`, `cuda[:N]` or `metal[:N]`, or a device this build lacks.
    #[error("{0}")]
    Device(String),
    /// An input that does not fit the network: a label that is not a class, a batch of the
    /// wrong shape.
    #[error("bad input: {0}")]
    Input(String),
    /// An error from an activation kernel.
    #[error(transparent)]
    Activation(#[from] actfn_activations::Error),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// The model crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
