//! Training as the study trains: momentum SGD (or Adam) with PyTorch's semantics, early stopping on
//! validation accuracy, the best checkpoint reloaded for the test accuracy, and per-epoch metrics.
//!
//! ```
//! use actfn_train::{Adam, AdamConfig, EarlyStopping, Sgd, SgdConfig, Verdict};
//! use candle_core::{Device, Tensor, Var};
//! use candle_nn::Optimizer;
//!
//! // Early stopping as the study does it: patience 7 on validation accuracy.
//! let mut stopping = EarlyStopping::new(7);
//! assert_eq!(stopping.record(0.80), Verdict::NewBest);
//! assert_eq!(stopping.record(0.79), Verdict::Continue);
//!
//! // One step of momentum SGD on w = [1.0] with loss w^2.
//! let w = Var::new(&[1.0f32], &Device::Cpu)?;
//! let mut sgd = Sgd::new(vec![w.clone()], SgdConfig::default())?;
//! let loss = w.as_tensor().sqr()?.sum_all()?;
//! sgd.backward_step(&loss)?;
//! assert_eq!(w.as_tensor().to_vec1::<f32>()?, [0.98]); // 1 - 0.01 * 2
//!
//! // Adam's first step moves every weight by lr, whatever its gradient's size.
//! let v = Var::new(&[1.0f32], &Device::Cpu)?;
//! let mut adam = Adam::new(vec![v.clone()], AdamConfig::default())?;
//! adam.backward_step(&v.as_tensor().sqr()?.sum_all()?)?;
//! assert!((v.as_tensor().to_vec1::<f32>()?[0] - 0.999).abs() < 1e-6);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! API boundary: [`train`] with [`Run`], [`TrainConfig`] and an [`Observer`]; [`Sgd`] and [`Adam`] (each a
//! `candle_nn::Optimizer`; [`Optimizer`] holds either, as [`OptimizerConfig`] chooses), [`EarlyStopping`], [`accuracy`], [`train_step`]; the record types and
//! their readers and writers, whose serde forms are the files' formats.

mod early_stopping;
mod error;
mod evaluate;
mod events;
mod metrics;
mod observer;
mod optim;
mod record;
mod resume;
mod session;
mod settings;
mod study;
mod trainer;

pub use early_stopping::{EarlyStopping, Verdict};
pub use error::{DIVERGED, Error, Result};
pub use evaluate::{StepResult, accuracy, predictions, train_step};
pub use metrics::{
    EpochMetrics, LayerDynamics, NetworkState, RunSummary, read_dynamics_csv, read_metrics_csv,
    read_predictions_csv, read_summary, write_dynamics_csv, write_metrics_csv,
    write_predictions_csv,
};
pub use observer::{Observer, Silent};
pub use optim::{Adam, AdamConfig, AdamState, Optimizer, OptimizerConfig, Sgd, SgdConfig};
pub use record::{Damage, RunRecord, RunState, inspect, run_dir, set_aside};
pub use settings::first_difference;
pub use study::{VALIDATION_IMAGES, checkpoint_name, study_split_indices, study_splits};
pub use trainer::{Existing, Outcome, Outputs, Run, TrainConfig, memory_estimate, train};

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
