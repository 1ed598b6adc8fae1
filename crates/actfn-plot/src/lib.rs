//! The study's figures drawn from plain numbers (no candle): line grids, histograms with density
//! curves and image grids, each written as SVG and PNG.
//!
//! Text is sized for reading: every figure's text renders at least 11 px high where a report
//! shows the figure [`DISPLAY_WIDTH`] wide (a wider figure draws its text larger by as much as
//! it is shown smaller). Text is drawn with an embedded font (DejaVu Sans), so PNGs render on machines without system
//! fonts. Every file is written under a temporary name and renamed when complete.
//!
//! ```
//! use actfn_plot::{Histogram, HistogramPanel, gaussian_kde, histogram_grid};
//!
//! let samples: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
//! let histogram = Histogram::new(&samples, 30)?;
//! assert_eq!(histogram.total(), 1000);
//! let panel = HistogramPanel {
//!     title: "uniform".into(),
//!     x_label: "value".into(),
//!     curve: gaussian_kde(&samples, 200),
//!     histogram,
//!     density: true,
//! };
//! let dir = tempfile::tempdir()?;
//! let files = histogram_grid(&[panel], 1, "One panel", 0, &dir.path().join("example"))?;
//! assert!(files.iter().all(|f| f.is_file()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! API boundary: every public function takes plain numbers and a path stem and writes the
//! figure; no tensor type appears in it.

mod histograms;
mod images;
mod lines;
mod matrix;
mod scatter;
mod spread;
mod stats;
mod style;

pub use histograms::{HistogramPanel, histogram_grid};
pub use images::{GrayImage, image_figure};
pub use lines::{LinePanel, Series, line_chart, line_grid};
pub use matrix::{HeatCell, heatmap};
pub use scatter::{PointSet, ScatterPanel, scatter_grid};
pub use spread::{Band, Corner, PointGroup, band_chart, strip_chart};
pub use stats::{Curve, Histogram, gaussian_kde};
pub use style::{DISPLAY_WIDTH, PALETTE};

/// A failure to compute or draw a figure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The numbers cannot make this figure (no finite sample, mismatched lengths, ...).
    #[error("cannot plot: {0}")]
    InvalidData(String),
    /// Drawing or writing the file failed.
    #[error("{path}: {reason}")]
    Draw {
        /// The file being drawn.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The plot crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
