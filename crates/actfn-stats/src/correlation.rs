//! Spearman's rank correlation, with a bootstrap interval that resamples the pairs together:
//! whether one measurement of many functions orders them as another does.

use crate::{Bootstrap, Interval, Method};

/// The ranks of `values`, 1 to n, ties given the mean of the ranks they share (SciPy's
/// `rankdata(method="average")`).
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    for i in 1..=order.len() {
        if i == order.len() || values[order[i]] != values[order[start]] {
            // Positions start..i (0-based) share the mean rank.
            let shared = (start + i + 1) as f64 / 2.0;
            for &k in &order[start..i] {
                ranks[k] = shared;
            }
            start = i;
        }
    }
    ranks
}

/// Pearson's correlation of `x` and `y`; `None` when either has no spread.
fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Spearman's rank correlation of the pairs `(x[i], y[i])`, as SciPy's `spearmanr`: Pearson's
/// correlation of the ranks, ties averaged. `None` for fewer than 3 pairs, slices of other
/// lengths, a value that is not finite, or a side without spread.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    let usable = x.len() == y.len() && x.len() >= 3 && x.iter().chain(y).all(|v| v.is_finite());
    if !usable {
        return None;
    }
    pearson(&ranks(x), &ranks(y))
}

/// The 95% percentile bootstrap interval of [`spearman`], the pairs resampled together; within
/// [-1, 1]. `None` where the coefficient is, or where resamples without spread leave it
/// undefined.
pub fn spearman_interval(x: &[f64], y: &[f64], bootstrap: &Bootstrap) -> Option<Interval> {
    spearman(x, y)?;
    // The pairs' indices are the one sample; the statistic looks the pairs up.
    let indices: Vec<f64> = (0..x.len()).map(|i| i as f64).collect();
    let statistic = |samples: &[&[f64]]| {
        let (a, b): (Vec<f64>, Vec<f64>) = samples[0]
            .iter()
            .map(|&i| (x[i as usize], y[i as usize]))
            .unzip();
        spearman(&a, &b).unwrap_or(f64::NAN)
    };
    bootstrap.interval(&[&indices], statistic, Method::Percentile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_their_mean_rank() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn monotone_pairs_correlate_fully_and_the_interval_stays_in_range() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let y = [1.0, 4.0, 9.0, 16.0, 25.0, 36.0];
        assert_eq!(spearman(&x, &y), Some(1.0));
        let down: Vec<f64> = y.iter().map(|v| -v).collect();
        assert_eq!(spearman(&x, &down), Some(-1.0));
        assert_eq!(spearman(&x[..2], &y[..2]), None);
        assert_eq!(spearman(&x, &[1.0; 6]), None);
        let noisy = [2.0, 1.0, 4.0, 3.0, 6.0, 5.0, 8.0, 7.0];
        let order = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let interval = spearman_interval(&order, &noisy, &Bootstrap::default()).unwrap();
        let rho = spearman(&order, &noisy).unwrap();
        assert!(interval.lo <= rho && rho <= interval.hi && interval.hi <= 1.0);
        assert!(interval.lo >= -1.0);
    }
}
