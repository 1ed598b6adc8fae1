//! The matrix-product ceiling of the benchmark: the square f32 product through gemm, and the
//! step's own products through candle, against which the training step is held.

use actfn_model::BaseNetworkConfig;
use candle_core::{Device, Tensor};

use super::worker::{Timing, time};

/// Side of the square f32 product that measures the matrix-product ceiling.
const CEILING_N: usize = 1024;

/// Floating-point operations of the ceiling's product (2 per multiply-add).
pub fn ceiling_flop() -> f64 {
    2.0 * (CEILING_N as f64).powi(3)
}

/// Runs of the ceiling's product timed after one warm-up: enough for its median to be read
/// with the same statistic as the step's on a machine whose speed drifts from run to run.
const CEILING_REPEATS: usize = 15;

/// The time of the [`CEILING_N`]³ f32 product, in milliseconds: median and best of
/// [`CEILING_REPEATS`]. It calls gemm, the library behind candle's CPU matmul, as candle does
/// (split between the threads of rayon's pool), but into one output kept from run to run: a
/// candle matmul also allocates and faults in its output, which is not the product's work, and
/// counting it would lower the ceiling the step is held to.
pub(super) fn matmul_ms() -> anyhow::Result<Timing> {
    let n = CEILING_N;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 17) as f32 * 0.01).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 13) as f32 * 0.01).collect();
    let mut c = vec![0f32; n * n];
    let stride = isize::try_from(n)?;
    let mut product = || {
        // SAFETY: the three row-major n x n matrices (row stride n, column stride 1) each hold
        // n * n elements, `c` is borrowed mutably and overlaps neither `a` nor `b`, and with
        // alpha unused (`read_dst` false) gemm only writes `c`.
        #[allow(unsafe_code)]
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                stride,
                false,
                a.as_ptr(),
                1,
                stride,
                b.as_ptr(),
                1,
                stride,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(rayon::current_num_threads()),
            );
        }
    };
    product();
    let samples = (0..CEILING_REPEATS)
        .map(|_| {
            time(|| {
                product();
                Ok(())
            })
            .map(|s| 1e3 * s)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Timing::of(samples)
}

/// The step's matrix products alone, on the shapes of the study's MLP at `batch`, through
/// candle (transposed operands as views, as the step reads them); the median of `repeats` after
/// one warm-up.
pub(super) fn products_ms(batch: usize, repeats: usize, device: &Device) -> anyhow::Result<Timing> {
    let filled = |rows: usize, cols: usize| -> anyhow::Result<Tensor> {
        let values: Vec<f32> = (0..rows * cols).map(|i| (i % 23) as f32 * 0.01).collect();
        Ok(Tensor::from_vec(values, (rows, cols), device)?)
    };
    let shapes = BaseNetworkConfig::default().layer_shapes();
    // Per layer: its input (batch x in), weight (out x in) and output gradient (batch x out).
    let operands = shapes
        .iter()
        .map(|&(i, o)| Ok((filled(batch, i)?, filled(o, i)?, filled(batch, o)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let all = || -> anyhow::Result<()> {
        for (l, (input, weight, output_grad)) in operands.iter().enumerate() {
            input.matmul(&weight.t()?)?;
            output_grad.t()?.matmul(input)?;
            if l > 0 {
                output_grad.matmul(weight)?;
            }
        }
        Ok(())
    };
    all()?;
    let samples = (0..repeats.max(5))
        .map(|_| time(all).map(|s| 1e3 * s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Timing::of(samples)
}
