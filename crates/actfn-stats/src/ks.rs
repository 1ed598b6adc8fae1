//! The Kolmogorov-Smirnov test of a sample against a uniform distribution.

/// The result of [`ks_uniform`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsTest {
    /// The largest distance between the sample's and the uniform distribution function.
    pub d: f64,
    /// The p-value from Kolmogorov's distribution (asymptotic, with Stephens' correction for
    /// the sample size).
    pub p: f64,
}

/// Kolmogorov's survival function `Q(x) = 2 sum_k (-1)^(k-1) exp(-2 k^2 x^2)`.
fn kolmogorov_q(x: f64) -> f64 {
    if x < 0.2 {
        // The series converges slowly there, and Q is 1 to 15 digits.
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = f64::from(k);
        let term = (-2.0 * k * k * x * x).exp();
        sum += if k as u32 % 2 == 1 { term } else { -term };
        if term < 1e-16 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Tests whether `values` come from the uniform distribution on `[lo, hi)`. `None` for an empty
/// sample, a value or bound that is not finite, or `lo >= hi`.
pub fn ks_uniform(values: &[f64], lo: f64, hi: f64) -> Option<KsTest> {
    if values.is_empty() || !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return None;
    }
    if values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    let d = sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
            let (below, above) = (i as f64 / n, (i + 1) as f64 / n);
            (f - below).max(above - f)
        })
        .fold(0.0, f64::max);
    let root = n.sqrt();
    Some(KsTest {
        d,
        p: kolmogorov_q((root + 0.12 + 0.11 / root) * d),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kolmogorovs_distribution_matches_its_table() {
        // The critical values 1.36 (5%), 1.63 (1%) and 1.22 (10%) of sqrt(n) D.
        assert!((kolmogorov_q(1.3581) - 0.05).abs() < 1e-3);
        assert!((kolmogorov_q(1.6276) - 0.01).abs() < 1e-3);
        assert!((kolmogorov_q(1.2238) - 0.10).abs() < 1e-3);
        assert_eq!(kolmogorov_q(0.0), 1.0);
    }

    #[test]
    fn an_even_grid_fits_and_a_squeezed_one_does_not() {
        let even: Vec<f64> = (0..1000).map(|i| (f64::from(i) + 0.5) / 1000.0).collect();
        let fit = ks_uniform(&even, 0.0, 1.0).unwrap();
        assert!(fit.d <= 0.0005 + 1e-12 && fit.p > 0.99, "{fit:?}");
        let squeezed: Vec<f64> = even.iter().map(|x| x * 0.9).collect();
        let misfit = ks_uniform(&squeezed, 0.0, 1.0).unwrap();
        assert!(
            (misfit.d - 0.1).abs() < 1e-3 && misfit.p < 1e-6,
            "{misfit:?}"
        );
        assert_eq!(ks_uniform(&[], 0.0, 1.0), None);
        assert_eq!(ks_uniform(&[0.5], 1.0, 0.0), None);
    }
}
