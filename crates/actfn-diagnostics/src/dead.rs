//! Dead neurons: hidden units whose activation is exactly 0 for every image of a data set.

use actfn_data::Split;
use actfn_model::BaseNetwork;
use candle_core::DType;
use serde::Serialize;

use crate::{Error, Result};

/// Dead neurons per hidden layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadNeurons {
    /// Dead neurons in each hidden layer, input side first.
    pub dead: Vec<usize>,
    /// Neurons in each hidden layer.
    pub total: Vec<usize>,
}

impl DeadNeurons {
    /// The share of dead neurons per layer, in percent.
    pub fn percentages(&self) -> Vec<f64> {
        self.dead
            .iter()
            .zip(&self.total)
            .map(|(&d, &t)| 100.0 * d as f64 / t as f64)
            .collect()
    }

    /// The shares as the study prints them: `0.00%, 0.00%, 1.17%, 7.81%`.
    pub fn percentages_text(&self) -> String {
        self.percentages()
            .iter()
            .map(|p| format!("{p:.2}%"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Counts, per hidden layer, the neurons whose activation is exactly 0 for every image of
/// `split`, as the study's `measure_number_dead_neurons` does.
pub fn dead_neurons(net: &BaseNetwork, split: &Split, batch_size: usize) -> Result<DeadNeurons> {
    if split.is_empty() {
        return Err(Error::InvalidInput(
            "cannot count dead neurons on an empty split".into(),
        ));
    }
    let total: Vec<usize> = net.config().hidden_sizes.clone();
    // `alive[k]` is 1 for each neuron of hidden layer k seen non-zero on some image.
    let mut alive: Vec<Option<candle_core::Tensor>> = vec![None; total.len()];
    for batch in split.batches(batch_size, None, false)? {
        let (images, _) = batch?;
        let outputs = net.forward_layers(&images)?;
        // Activations sit at the odd indices: linear, act, linear, act, ..., linear.
        for (k, activation) in outputs.iter().skip(1).step_by(2).enumerate() {
            let seen = activation.ne(0.0)?.max(0)?;
            alive[k] = Some(match alive[k].take() {
                None => seen,
                Some(before) => before.maximum(&seen)?,
            });
        }
    }
    let dead = alive
        .into_iter()
        .map(|seen| -> Result<usize> {
            let seen = seen.ok_or_else(|| Error::InvalidInput("no batch was evaluated".into()))?;
            let alive = seen.to_dtype(DType::U32)?.sum_all()?.to_scalar::<u32>()? as usize;
            Ok(seen.elem_count() - alive)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DeadNeurons { dead, total })
}
