//! What a caller sees of a training run while it happens: progress bars, epoch lines, messages.

use crate::{EpochMetrics, Verdict};

/// Receives the events of a training run. Every method does nothing by default.
pub trait Observer {
    /// An epoch of `steps` training steps begins (epochs count from 1).
    fn epoch_started(&mut self, _epoch: usize, _steps: usize) {}
    /// A training step finished with this batch loss (steps count from 1).
    fn step_finished(&mut self, _step: usize, _loss: f32) {}
    /// An epoch finished, with the early-stopping verdict on its validation accuracy.
    fn epoch_finished(&mut self, _metrics: &EpochMetrics, _verdict: Verdict) {}
    /// A line of news, e.g. that an existing checkpoint skips training.
    fn message(&mut self, _text: &str) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}
