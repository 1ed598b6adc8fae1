//! The study "Activation Functions" (tutorial 3 of the University of Amsterdam deep learning
//! course) as figures and a report: each function and its gradient, example images, gradients
//! at initialization, validation curves, activations of the trained networks, the test accuracy
//! beside the numbers the notebook printed, and dead neurons. `cargo xtask reproduce` trains the
//! networks and hands them here.
//!
//! ```
//! use actfn_activations::Activation;
//!
//! // Every function and its gradient on [-5, 5], drawn into a folder, with its report blocks.
//! let figures = tempfile::tempdir()?;
//! let device = candle_core::Device::Cpu;
//! let acts = Activation::study();
//! let blocks = actfn_study::figures::activation_functions(figures.path(), &acts, &device)?;
//! assert!(figures.path().join("activation_functions.svg").is_file());
//!
//! let mut doc = actfn_report::Document::new("The six functions");
//! doc.extend(blocks);
//! assert!(doc.markdown("figures").contains("(figures/activation_functions.svg)"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! API boundary: [`figures`] (each function draws into a folder and returns its report blocks),
//! [`assemble`] (the report from them and the [`Results`]) and [`accuracy_table`].

pub mod figures;
mod report;

pub use report::{DeadCounts, Results, Scale, Sections, accuracy_table, assemble};

/// What can go wrong while the study's figures are computed and drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A network, its checkpoint or a tensor operation.
    #[error(transparent)]
    Model(#[from] actfn_model::Error),
    /// The data set.
    #[error(transparent)]
    Data(#[from] actfn_data::Error),
    /// A measurement.
    #[error(transparent)]
    Diagnostics(#[from] actfn_diagnostics::Error),
    /// A figure.
    #[error(transparent)]
    Plot(#[from] actfn_plot::Error),
    /// Writing a file.
    #[error(transparent)]
    Io(#[from] actfn_io::Error),
    /// A tensor operation.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// Serializing the numbers behind a figure.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// The crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
