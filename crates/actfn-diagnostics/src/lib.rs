//! The study's measurements on any network from `actfn-model`, as plain numbers: activation
//! curves and their gradients, weight gradients at initialization, every layer's output, dead
//! neurons, and summary statistics to check the figures by.
//!
//! ```
//! use actfn_activations::Activation;
//! use actfn_diagnostics::{activation_curves, summarize};
//! use candle_core::Device;
//!
//! let curves = activation_curves(&Activation::study(), 1000, (-5.0, 5.0), &Device::Cpu)?;
//! let relu = &curves[2];
//! assert_eq!(relu.name, "ReLU");
//! assert_eq!(relu.xs.len(), 1000);
//! let stats = summarize(&relu.ys);
//! assert_eq!(stats.min, 0.0);
//! assert!((stats.zero_share - 0.5).abs() < 1e-9); // relu is exactly 0 on the left half
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! API boundary: every public function takes a network or tensors and returns plain numbers
//! (structs of `Vec<f32>` and counts) for actfn-plot or a report; nothing here draws or writes.

mod dead;
mod measures;
mod probe;
mod summary;

pub use dead::{DeadNeurons, dead_neurons};
pub use measures::{
    ActivationCurve, LayerValues, activation_curves, layer_outputs, weight_gradients,
};
pub use probe::{LayerProbe, probe_layers, probe_outputs};
pub use summary::{Summary, summarize};

/// A failure to measure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The inputs do not fit (an empty batch, too few points, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// An error from the data crate (batches).
    #[error(transparent)]
    Data(#[from] actfn_data::Error),
    /// An error from the model crate.
    #[error(transparent)]
    Model(#[from] actfn_model::Error),
    /// An error from candle.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// The diagnostics crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
