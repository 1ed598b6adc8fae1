//! FashionMNIST from the four IDX files to batches on the device: a small IDX reader, checksums of
//! the decompressed files, the study's normalization and seeded split, and batching by index.
//!
//! Without its `download` feature (off by default) this crate never touches the network: it
//! reads files that are already on disk (see [`locate`]); with it, `download::fetch_missing`
//! fetches the four files from the authors' mirror and verifies them.
//!
//! ```no_run
//! use actfn_data::{FashionMnist, Splits};
//! use candle_core::Device;
//! use rand::SeedableRng;
//!
//! let dir = actfn_data::locate(&actfn_data::default_search_dirs(std::path::Path::new(".")))?;
//! let raw = FashionMnist::load(&dir)?; // verified against the SHA-256 of each decompressed file
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
//! let splits = Splits::new(&raw, 10_000, &mut rng, &Device::Cpu)?;
//! for batch in splits.train.batches(256, Some(&mut rng), true)? {
//!     let (images, labels) = batch?;
//!     assert_eq!(images.dims(), [256, 784]);
//!     assert_eq!(labels.dims(), [256]);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! API boundary: [`FashionMnist`] (load, verify, or build from `candle-datasets`' tensors with
//! [`FashionMnist::from_vision_tensors`]), [`Splits`]/[`Split`] and their batches, the
//! [`idx`] reader, [`locate`] and [`default_search_dirs`], [`EVAL_BATCH_SIZE`]; with the
//! `download` feature, `download::fetch_missing`.

mod dataset;
#[cfg(feature = "download")]
pub mod download;
mod error;
mod fashion;
mod grid;
pub mod idx;

pub use dataset::{Batches, EVAL_BATCH_SIZE, Split, Splits, epoch_order, normalize, split_indices};
pub use error::{Error, Result};
pub use fashion::{
    CLASS_NAMES, DataFile, FILES, FashionMnist, SYSTEM_DIR, default_search_dirs, locate,
    verify_file,
};
pub use grid::{ImageGrid, example_grid};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
