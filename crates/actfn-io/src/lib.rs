//! Files that are never half-written, and folders that one process at a time works in.
//!
//! [`atomic_write`] writes a file under a temporary name in the same folder, syncs it, renames it
//! over the final name and syncs the folder, so a reader (or a machine that lost power) sees the
//! old file or the new one, never a part. The temporary name holds the process id and a counter,
//! so two threads or two processes writing the same file never write into each other's
//! temporary file.
//!
//! [`Claim`] marks a folder as taken by this process with a lock file created exclusively
//! (`create_new`), holding the host, the process id and the start time, so that a second process
//! refuses to work there and can name the holder; a claim left by a dead process on the same host
//! is taken over.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("summary.json");
//! actfn_io::atomic_write(&path, b"{}")?;
//! assert_eq!(std::fs::read(&path)?, b"{}");
//!
//! let claim = actfn_io::Claim::take(dir.path())?;
//! let again = actfn_io::Claim::take(dir.path()).unwrap_err();
//! assert!(matches!(again, actfn_io::Error::Claimed { .. }));
//! drop(claim); // releases the folder
//! actfn_io::Claim::take(dir.path())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`read_text_at_most`] reads a file that may be damaged or crafted without trusting its size.
//!
//! API boundary: [`atomic_write`], [`read_text_at_most`], [`Claim`] with its
//! [`Holder`], and [`host_name`]; nothing here knows about networks or training.

mod atomic;
mod claim;
mod read;

pub use atomic::atomic_write;
pub use claim::{Claim, Holder, host_name};
pub use read::read_text_at_most;

use std::path::PathBuf;

/// A failure to read or write a file or to claim a folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading, writing, renaming or syncing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is longer than the most its reader takes: damaged, or not the file it should be.
    #[error("{}: more than {limit} bytes, far more than such a file holds", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The most bytes its reader takes.
        limit: u64,
    },
    /// Another live process holds the folder.
    #[error(
        "{} is claimed by {holder}; wait for it to finish, or delete {} if that process is gone",
        dir.display(),
        lock.display()
    )]
    Claimed {
        /// The claimed folder.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// Who holds it.
        holder: Holder,
    },
}

/// The I/O crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// An [`Error::Io`] for `path`.
pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
