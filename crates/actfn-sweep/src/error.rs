//! What can go wrong in a sweep: each error names the setting or file at fault and the fix.

use std::path::{Path, PathBuf};

/// The crate's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Settings or axes that cannot make a sweep, or that differ from the ones its folder
    /// records: says which, and what to do.
    #[error("{0}")]
    Settings(String),
    /// A file or folder of the sweep that cannot be read, written or used.
    #[error("{}: {why}", path.display())]
    File {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong, and the fix where there is one.
        why: String,
    },
    /// A job array the cluster cannot take, or a process that cannot be started.
    #[error("{0}")]
    Cluster(String),
    /// Runs of a local sweep that failed, each with the last line of its log.
    #[error("{} runs failed: {}; rerun the same command to retry them", .0.len(), .0.join("; "))]
    Failed(Vec<String>),
    /// Runs of a local sweep whose training diverged (a NaN or infinite loss), each with the
    /// last line of its log: outcomes, which a rerun keeps rather than trains again.
    #[error(
        "{} runs diverged: {}; they are kept as they are (a rerun does not train them again); \
         to train at a smaller learning rate, run a sweep under another --name with a smaller \
         --lr",
        .0.len(),
        .0.join("; ")
    )]
    Diverged(Vec<String>),
    /// Training or reading a run's records failed (boxed: it is the largest).
    #[error(transparent)]
    Train(Box<actfn_train::Error>),
    /// A network or device that cannot be made.
    #[error(transparent)]
    Model(#[from] actfn_model::Error),
    /// The data set or its split.
    #[error(transparent)]
    Data(#[from] actfn_data::Error),
    /// An activation that does not parse.
    #[error(transparent)]
    Activation(#[from] actfn_activations::Error),
    /// Writing a file atomically, or claiming a run's folder.
    #[error(transparent)]
    Io(#[from] actfn_io::Error),
    /// A figure of the report.
    #[error(transparent)]
    Plot(#[from] actfn_plot::Error),
    /// Rendering the report.
    #[error(transparent)]
    Report(#[from] actfn_report::Error),
}

impl From<actfn_train::Error> for Error {
    fn from(error: actfn_train::Error) -> Self {
        Self::Train(Box::new(error))
    }
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An [`Error::File`] for `path`.
pub(crate) fn file_error(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::File {
        path: path.to_path_buf(),
        why: why.to_string(),
    }
}
