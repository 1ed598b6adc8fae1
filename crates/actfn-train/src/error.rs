//! The training crate's error type.

use std::path::PathBuf;

/// How the message of [`Error::Diverged`] starts: a run's log that ends with it says the run
/// diverged, an outcome that training it again with the same settings repeats.
pub const DIVERGED: &str = "training diverged";

/// A failure while training or evaluating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting out of range (`batch_size` 0, a negative learning rate, ...).
    #[error("invalid training setting: {0}")]
    InvalidSetting(String),
    /// The loss became NaN or infinite. Its message starts with [`DIVERGED`].
    #[error(
        "{DIVERGED}: the loss is {loss} at epoch {epoch}, step {step}; the best checkpoint so far \
         is kept. Try a smaller learning rate (--lr)"
    )]
    Diverged {
        /// The epoch (from 1).
        epoch: usize,
        /// The step within the epoch (from 1).
        step: usize,
        /// The loss value.
        loss: f32,
    },
    /// A saved run (finished, or interrupted with its state saved) was made with other
    /// settings than the ones asked for now.
    #[error(
        "{}: the saved run has other settings ({difference}); rerun with the saved settings, or \
         with --overwrite to start over",
        path.display()
    )]
    SettingsDiffer {
        /// The file that records the saved settings.
        path: PathBuf,
        /// The first setting that differs, as `name: saved X, now Y`.
        difference: String,
    },
    /// Reading or removing a run file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A run file is there but is not what this crate wrote.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, and the fix.
        reason: String,
    },
    /// Writing a run file atomically failed.
    #[error(transparent)]
    File(#[from] actfn_io::Error),
    /// An error from the model crate (checkpoints).
    #[error(transparent)]
    Model(#[from] actfn_model::Error),
    /// An error from the data crate (batches).
    #[error(transparent)]
    Data(#[from] actfn_data::Error),
    /// An error from the diagnostics crate (the training dynamics).
    #[error(transparent)]
    Diagnostics(#[from] actfn_diagnostics::Error),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// An error writing the TensorBoard events.
    #[error(transparent)]
    TensorBoard(#[from] actfn_tensorboard::Error),
}

/// The training crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// An [`Error::Io`] for `path`.
pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}
