//! The state of each hidden layer on a fixed batch: how many neurons are dead, and the mean and
//! spread of the activations. Measured after every epoch, these are the training dynamics.

use actfn_model::BaseNetwork;
use candle_core::{DType, Tensor};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One hidden layer's activation on a batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LayerProbe {
    /// The share of the layer's neurons whose activation is exactly 0 on every image.
    pub dead_share: f64,
    /// The mean of the layer's activations over the images and neurons.
    pub mean: f64,
    /// Their population standard deviation.
    pub std: f64,
}

/// The probe of every hidden layer of `net` on `images` (`[N, ...]`), input side first.
pub fn probe_layers(net: &BaseNetwork, images: &Tensor) -> Result<Vec<LayerProbe>> {
    if images.dims().first().is_none_or(|&n| n == 0) {
        return Err(Error::InvalidInput("cannot probe on an empty batch".into()));
    }
    probe_outputs(&net.forward_layers(images)?)
}

/// The probe of every hidden layer from the network's layer outputs on a batch
/// ([`BaseNetwork::forward_layers`]), for a caller that uses them for more.
pub fn probe_outputs(outputs: &[Tensor]) -> Result<Vec<LayerProbe>> {
    // Activations sit at the odd indices: linear, act, linear, act, ..., linear.
    outputs
        .iter()
        .skip(1)
        .step_by(2)
        .map(|activation| {
            let (rows, width) = activation.dims2()?;
            let values = activation
                .to_dtype(DType::F32)?
                .flatten_all()?
                .to_vec1::<f32>()?;
            Ok(probe(&values, rows, width))
        })
        .collect()
}

/// The probe of a `[rows, width]` row-major activation.
fn probe(values: &[f32], rows: usize, width: usize) -> LayerProbe {
    let mut alive = vec![false; width];
    let (mut sum, mut squares) = (0f64, 0f64);
    for row in values.chunks_exact(width.max(1)) {
        for (alive, &v) in alive.iter_mut().zip(row) {
            *alive |= v != 0.0;
            sum += f64::from(v);
            squares += f64::from(v) * f64::from(v);
        }
    }
    let n = (rows * width).max(1) as f64;
    let mean = sum / n;
    LayerProbe {
        dead_share: alive.iter().filter(|&&a| !a).count() as f64 / width.max(1) as f64,
        mean,
        std: (squares / n - mean * mean).max(0.0).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_share_mean_and_std_of_a_small_layer() {
        // Two rows of three neurons; the middle one is 0 on both rows.
        let values = [1.0, 0.0, -1.0, 3.0, 0.0, 1.0];
        let p = probe(&values, 2, 3);
        assert!((p.dead_share - 1.0 / 3.0).abs() < 1e-12);
        assert!((p.mean - 4.0 / 6.0).abs() < 1e-12);
        let variance = values
            .iter()
            .map(|&v| (f64::from(v) - 4.0 / 6.0).powi(2))
            .sum::<f64>()
            / 6.0;
        assert!((p.std - variance.sqrt()).abs() < 1e-12);
    }
}
