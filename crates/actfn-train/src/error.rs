//! The training crate's error type.

use std::path::PathBuf;

/// A failure while training or evaluating.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting out of range (`batch_size` 0, a negative learning rate, ...).
    #[error("invalid training setting: {0}")]
    InvalidSetting(String),
    /// The loss became NaN or infinite.
    #[error(
        "training diverged: the loss is {loss} at epoch {epoch}, step {step}; the best checkpoint \
         so far is kept. Try a smaller learning rate (--lr)"
    )]
    Diverged {
        /// The epoch (from 1).
        epoch: usize,
        /// The step within the epoch (from 1).
        step: usize,
        /// The loss value.
        loss: f32,
    },
    /// Writing or reading a run file failed.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An error from the model crate (checkpoints).
    #[error(transparent)]
    Model(#[from] actfn_model::Error),
    /// An error from the data crate (batches).
    #[error(transparent)]
    Data(#[from] actfn_data::Error),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// The training crate's result type.
pub type Result<T> = std::result::Result<T, Error>;
