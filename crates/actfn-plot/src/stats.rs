//! Histograms and Gaussian kernel density estimates, the numbers behind the study's `histplot`s.

use crate::{Error, Result};

/// Equal-width bins over the range of the finite samples, as numpy's `histogram` makes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// `bins + 1` edges, ascending.
    pub edges: Vec<f64>,
    /// Samples per bin; the last bin includes its right edge.
    pub counts: Vec<u64>,
}

/// The finite samples' minimum and maximum, if there is a finite sample.
fn finite_range(samples: &[f32]) -> Option<(f64, f64)> {
    samples
        .iter()
        .filter(|v| v.is_finite())
        .fold(None, |range, &v| {
            let v = f64::from(v);
            Some(match range {
                None => (v, v),
                Some((lo, hi)) => (v.min(lo), v.max(hi)),
            })
        })
}

impl Histogram {
    /// Bins the finite samples into `bins` equal bins. A constant sample gets the range
    /// `value ± 0.5`, as numpy does.
    pub fn new(samples: &[f32], bins: usize) -> Result<Self> {
        if bins == 0 {
            return Err(Error::InvalidData(
                "a histogram needs at least one bin".into(),
            ));
        }
        let (mut lo, mut hi) = finite_range(samples)
            .ok_or_else(|| Error::InvalidData("no finite sample to bin".into()))?;
        if lo == hi {
            (lo, hi) = (lo - 0.5, hi + 0.5);
        }
        let width = (hi - lo) / bins as f64;
        let edges = (0..=bins).map(|i| lo + width * i as f64).collect();
        let mut counts = vec![0u64; bins];
        for v in samples.iter().filter(|v| v.is_finite()) {
            let bin = ((f64::from(*v) - lo) / width) as usize;
            counts[bin.min(bins - 1)] += 1;
        }
        Ok(Self { edges, counts })
    }

    /// Number of samples binned.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Width of each bin.
    pub fn bin_width(&self) -> f64 {
        self.edges[1] - self.edges[0]
    }

    /// Each bin's count divided by `total * bin_width`: a density that integrates to 1.
    pub fn densities(&self) -> Vec<f64> {
        let scale = self.total() as f64 * self.bin_width();
        self.counts.iter().map(|&c| c as f64 / scale).collect()
    }
}

/// A curve sampled at ascending `xs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Abscissae, ascending.
    pub xs: Vec<f64>,
    /// Values at `xs`.
    pub ys: Vec<f64>,
}

impl Curve {
    /// The same curve with every value multiplied by `factor` (a density drawn over counts).
    pub fn scaled(&self, factor: f64) -> Curve {
        Curve {
            xs: self.xs.clone(),
            ys: self.ys.iter().map(|y| y * factor).collect(),
        }
    }
}

/// Fine bins used to evaluate the density: the samples are binned first, so the cost does not
/// grow with their number. Scott's bandwidth spans many fine bins for any sample size used here.
const FINE_BINS: usize = 4096;

/// Number of bandwidths the curve extends past the data on each side (seaborn's `cut=3`).
const CUT: f64 = 3.0;

/// The Gaussian kernel density estimate of the finite samples with Scott's bandwidth
/// (`std * n^(-1/5)`, scipy's and seaborn's default), at `points` points spanning the data range
/// and three bandwidths beyond it. `None` when the samples have no spread.
pub fn gaussian_kde(samples: &[f32], points: usize) -> Option<Curve> {
    let finite: Vec<f64> = samples
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| f64::from(v))
        .collect();
    let n = finite.len() as f64;
    if finite.len() < 2 || points < 2 {
        return None;
    }
    let mean = finite.iter().sum::<f64>() / n;
    let std = (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let bandwidth = std * n.powf(-0.2);
    if bandwidth <= 0.0 || !bandwidth.is_finite() {
        return None;
    }
    let (lo, hi) = finite
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let fine_width = (hi - lo) / FINE_BINS as f64;
    let mut weights = vec![0.0f64; FINE_BINS];
    for v in &finite {
        let bin = if fine_width > 0.0 {
            ((v - lo) / fine_width) as usize
        } else {
            0
        };
        weights[bin.min(FINE_BINS - 1)] += 1.0;
    }
    let centers: Vec<(f64, f64)> = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| **w > 0.0)
        .map(|(i, &w)| (lo + (i as f64 + 0.5) * fine_width, w))
        .collect();
    let (start, end) = (lo - CUT * bandwidth, hi + CUT * bandwidth);
    let step = (end - start) / (points - 1) as f64;
    let norm = 1.0 / (n * bandwidth * (2.0 * std::f64::consts::PI).sqrt());
    let xs: Vec<f64> = (0..points).map(|i| start + step * i as f64).collect();
    let ys = xs
        .iter()
        .map(|&x| {
            centers
                .iter()
                .map(|&(c, w)| w * (-0.5 * ((x - c) / bandwidth).powi(2)).exp())
                .sum::<f64>()
                * norm
        })
        .collect();
    Some(Curve { xs, ys })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic, roughly Gaussian samples: sums of 12 uniform numbers from an LCG.
    fn gaussian_samples(n: usize) -> Vec<f32> {
        let mut state = 12345u64;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|_| ((0..12).map(|_| uniform()).sum::<f64>() - 6.0) as f32)
            .collect()
    }

    #[test]
    fn bin_counts_sum_to_the_sample_count() {
        let samples = gaussian_samples(10_007);
        for bins in [1, 30, 50] {
            let h = Histogram::new(&samples, bins).unwrap();
            assert_eq!(h.total(), 10_007);
            assert_eq!(h.edges.len(), bins + 1);
            let integral: f64 = h.densities().iter().map(|d| d * h.bin_width()).sum();
            assert!((integral - 1.0).abs() < 1e-12);
        }
        let with_nan = [1.0, f32::NAN, 2.0, f32::INFINITY];
        assert_eq!(Histogram::new(&with_nan, 4).unwrap().total(), 2);
        assert_eq!(Histogram::new(&[3.0; 5], 10).unwrap().edges[0], 2.5);
        assert!(Histogram::new(&[f32::NAN], 10).is_err());
    }

    #[test]
    fn the_density_curve_integrates_to_one() {
        for samples in [gaussian_samples(50_000), gaussian_samples(300)] {
            let curve = gaussian_kde(&samples, 400).unwrap();
            let integral: f64 = curve
                .xs
                .windows(2)
                .zip(curve.ys.windows(2))
                .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
                .sum();
            assert!((integral - 1.0).abs() < 0.01, "integral {integral}");
        }
        // A standard normal's density at 0 is 0.3989.
        let curve = gaussian_kde(&gaussian_samples(50_000), 401).unwrap();
        let peak = curve.ys.iter().cloned().fold(0.0, f64::max);
        assert!((peak - 0.3989).abs() < 0.02, "peak {peak}");
        assert!(gaussian_kde(&[1.0; 10], 100).is_none());
    }
}
