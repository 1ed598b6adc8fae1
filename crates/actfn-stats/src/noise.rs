//! The finite test set as a source of spread: a run's accuracy on n test images carries a
//! binomial sampling error of about `sqrt(p (1 - p) / n)` (0.31 points for 89% on 10,000
//! images), and differences between runs of that size are what sampling the test set alone
//! gives (Jordan 2024, "Calibrated chaos").

/// What test-set sampling alone explains of the spread of runs' accuracies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestNoise {
    /// The binomial standard error of one run's accuracy at the runs' mean accuracy, as a
    /// fraction (multiply by 100 for points).
    pub run_se: f64,
    /// The variance sampling the test set gives a run, averaged over the runs: the mean of
    /// `p_i (1 - p_i) / n`.
    pub expected_variance: f64,
    /// The runs' sample variance (n - 1 in the denominator); none for one run.
    pub observed_variance: Option<f64>,
    /// `expected / observed`, at most 1: the share of the seed-to-seed variance that sampling
    /// the test set alone explains; none for one run or runs that do not vary.
    pub share: Option<f64>,
}

/// The test-set noise of runs whose accuracies (fractions in [0, 1]) were measured on
/// `test_images` images; `None` for no runs, no images, or an accuracy outside [0, 1].
pub fn test_noise(accuracies: &[f64], test_images: usize) -> Option<TestNoise> {
    let valid = |p: &f64| p.is_finite() && (0.0..=1.0).contains(p);
    if accuracies.is_empty() || test_images == 0 || !accuracies.iter().all(valid) {
        return None;
    }
    let n = test_images as f64;
    let runs = accuracies.len() as f64;
    let mean = accuracies.iter().sum::<f64>() / runs;
    let expected_variance = accuracies.iter().map(|p| p * (1.0 - p) / n).sum::<f64>() / runs;
    let observed_variance = (accuracies.len() > 1)
        .then(|| accuracies.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / (runs - 1.0));
    let share = observed_variance
        .filter(|v| *v > 0.0)
        .map(|v| (expected_variance / v).min(1.0));
    Some(TestNoise {
        run_se: (mean * (1.0 - mean) / n).sqrt(),
        expected_variance,
        observed_variance,
        share,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_at_89_percent_on_10000_images_carries_about_a_third_of_a_point() {
        let one = test_noise(&[0.89], 10_000).unwrap();
        assert!((100.0 * one.run_se - 0.3129).abs() < 1e-4);
        assert_eq!((one.observed_variance, one.share), (None, None));
        assert_eq!(test_noise(&[1.2], 10_000), None);
        assert_eq!(test_noise(&[0.5], 0), None);
    }
}
