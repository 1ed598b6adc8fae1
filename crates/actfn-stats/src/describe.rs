//! One sample: its description with the mean's t interval, and a share with Wilson's interval.

use statrs::distribution::{ContinuousCDF, Normal};

use crate::{Interval, t_quantile};

/// The two-sided 95% quantile of the standard normal distribution, 1.959964.
pub(crate) fn z95() -> f64 {
    Normal::standard().inverse_cdf(0.975)
}

/// A sample's description.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Description {
    /// How many values.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// The sample standard deviation (n - 1 in the denominator); none for one value.
    pub sd: Option<f64>,
    /// The mean's 95% interval from Student's t; none for one value.
    pub ci95: Option<Interval>,
    /// The median.
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

/// The description of `values`, or `None` when there are none or one is not finite.
pub fn describe(values: &[f64]) -> Option<Description> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = (n > 1).then(|| {
        let ss: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
        (ss / (n - 1) as f64).sqrt()
    });
    let ci95 = sd.and_then(|sd| {
        let t = t_quantile(0.975, (n - 1) as f64)?;
        Some(Interval::around(mean, t * sd / (n as f64).sqrt()))
    });
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Description {
        n,
        mean,
        sd,
        ci95,
        median,
        min: sorted[0],
        max: sorted[n - 1],
    })
}

/// A share of successes with its Wilson 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share {
    /// Successes.
    pub successes: usize,
    /// Trials.
    pub n: usize,
    /// `successes / n`.
    pub share: f64,
    /// Wilson's score interval, which stays inside [0, 1] and is sensible at 0 and n.
    pub ci95: Interval,
}

/// The share `successes / n` with Wilson's 95% interval (`None` for no trials, or more
/// successes than trials).
pub fn wilson(successes: usize, n: usize) -> Option<Share> {
    if n == 0 || successes > n {
        return None;
    }
    let z = z95();
    let nf = n as f64;
    let p = successes as f64 / nf;
    let denominator = 1.0 + z * z / nf;
    let center = (p + z * z / (2.0 * nf)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / nf + z * z / (4.0 * nf * nf)).sqrt();
    Some(Share {
        successes,
        n,
        share: p,
        // At 0 and n the interval ends at the bound exactly (the formula does, up to rounding).
        ci95: Interval {
            lo: if successes == 0 {
                0.0
            } else {
                (center - half).max(0.0)
            },
            hi: if successes == n {
                1.0
            } else {
                (center + half).min(1.0)
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_the_table() {
        // Two-sided 95% (p = 0.975) from any table of Student's t.
        for (df, expected) in [
            (1.0, 12.7062),
            (2.0, 4.3027),
            (4.0, 2.7764),
            (9.0, 2.2622),
            (30.0, 2.0423),
            (120.0, 1.9799),
        ] {
            let q = t_quantile(0.975, df).unwrap();
            assert!((q - expected).abs() < 1e-4, "df {df}: {q} vs {expected}");
        }
        assert!((t_quantile(0.95, 10.0).unwrap() - 1.8125).abs() < 1e-4);
        assert_eq!(t_quantile(0.975, 0.0), None);
        assert!((z95() - 1.959964).abs() < 1e-6);
    }

    #[test]
    fn a_described_sample_worked_by_hand() {
        // mean 3, sample variance (4 + 1 + 0 + 1 + 4) / 4 = 2.5, t(0.975, 4) = 2.7764.
        let d = describe(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!(
            (d.n, d.mean, d.median, d.min, d.max),
            (5, 3.0, 3.0, 1.0, 5.0)
        );
        assert!((d.sd.unwrap() - 2.5f64.sqrt()).abs() < 1e-12);
        let half = 2.776445 * (2.5f64 / 5.0).sqrt();
        let ci = d.ci95.unwrap();
        assert!((ci.lo - (3.0 - half)).abs() < 1e-5 && (ci.hi - (3.0 + half)).abs() < 1e-5);
        assert_eq!(describe(&[1.0, 2.0, 3.0, 4.0]).unwrap().median, 2.5);
    }

    #[test]
    fn one_value_has_no_spread_and_no_interval() {
        let d = describe(&[88.5]).unwrap();
        assert_eq!((d.n, d.mean, d.sd, d.ci95), (1, 88.5, None, None));
        assert_eq!(describe(&[]), None);
        assert_eq!(describe(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn wilson_intervals_worked_by_hand() {
        // 7 of 10, z = 1.959964: center (0.7 + 0.19207) / 1.38415 = 0.64450,
        // half 1.41600 * sqrt(0.021 + 0.0009604) = 0.20983.
        let s = wilson(7, 10).unwrap();
        assert!((s.ci95.lo - 0.3968).abs() < 1e-4, "{:?}", s.ci95);
        assert!((s.ci95.hi - 0.8922).abs() < 1e-4, "{:?}", s.ci95);
        // 0 of 10: [0, 0.2775]; 10 of 10: [0.7225, 1].
        let none = wilson(0, 10).unwrap();
        assert_eq!(none.ci95.lo, 0.0);
        assert!((none.ci95.hi - 0.2775).abs() < 1e-4);
        let all = wilson(10, 10).unwrap();
        assert!((all.ci95.lo - 0.7225).abs() < 1e-4 && all.ci95.hi == 1.0);
        assert_eq!(wilson(1, 0), None);
    }
}
