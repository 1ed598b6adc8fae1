//! What can go wrong when a report is rendered or written.

use std::path::PathBuf;

/// What can go wrong when a report is rendered or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A figure the report names cannot be inlined: missing, unreadable or not an SVG file.
    #[error("the report's figure {}: {why}", path.display())]
    Figure {
        /// The figure's file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// Writing the report failed.
    #[error(transparent)]
    Io(#[from] actfn_io::Error),
}
