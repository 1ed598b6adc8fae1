//! Two samples compared: Welch's t-test with its interval, Holm's correction for many tests,
//! Cohen's d, and Fisher's exact test of two shares.

use statrs::function::factorial::ln_binomial;

use crate::student::two_sided_p;
use crate::{Interval, t_quantile};

/// Welch's t-test of the difference of two means (unequal variances).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// `mean(a) - mean(b)`.
    pub difference: f64,
    /// The t statistic.
    pub t: f64,
    /// Welch-Satterthwaite degrees of freedom.
    pub df: f64,
    /// The two-sided p-value.
    pub p: f64,
    /// The difference's 95% interval.
    pub ci95: Interval,
}

/// Mean and sample variance.
pub(crate) fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// Welch's test of `mean(a) = mean(b)`; `None` when a sample has fewer than two values, a value
/// is not finite, or neither sample varies.
pub fn welch(a: &[f64], b: &[f64]) -> Option<Welch> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|v| !v.is_finite()) {
        return None;
    }
    let ((ma, va), (mb, vb)) = (mean_var(a), mean_var(b));
    let (sa, sb) = (va / a.len() as f64, vb / b.len() as f64);
    let se2 = sa + sb;
    if se2 <= 0.0 {
        return None;
    }
    let difference = ma - mb;
    let t = difference / se2.sqrt();
    let df = se2 * se2 / (sa * sa / (a.len() - 1) as f64 + sb * sb / (b.len() - 1) as f64);
    // From the survival function: 1 - cdf would round every p below 1e-16 to 0.
    let p = two_sided_p(t, df)?;
    let q = t_quantile(0.975, df)?;
    Some(Welch {
        difference,
        t,
        df,
        p,
        ci95: Interval::around(difference, q * se2.sqrt()),
    })
}

/// Holm's step-down correction of `p` for multiple comparisons, in the order given: the
/// smallest p-value is multiplied by m, the next by m - 1, ..., each at least the one before
/// it, at most 1. `None` when a value is not a probability (NaN of either sign included: a NaN
/// with its sign bit set sorts before every number and would force every adjusted p to 1).
pub fn holm(p: &[f64]) -> Option<Vec<f64>> {
    if !p.iter().all(|x| (0.0..=1.0).contains(x)) {
        return None;
    }
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    Some(adjusted)
}

/// Cohen's d: the difference of the means over the pooled standard deviation; `None` when a
/// sample has fewer than two values, a value is not finite, or neither sample varies.
pub fn cohens_d(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 || b.len() < 2 || a.iter().chain(b).any(|v| !v.is_finite()) {
        return None;
    }
    let ((ma, va), (mb, vb)) = (mean_var(a), mean_var(b));
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let pooled = (((na - 1.0) * va + (nb - 1.0) * vb) / (na + nb - 2.0)).sqrt();
    (pooled > 0.0 && pooled.is_finite()).then(|| (ma - mb) / pooled)
}

/// The two-sided p-value of Fisher's exact test that two shares, `a.0` of `a.1` and `b.0` of
/// `b.1`, come from one proportion: the probability, under the hypergeometric distribution of
/// the table with these margins, of every table at most as likely as the one observed. `None`
/// for more successes than trials or an empty sample.
pub fn fisher_exact(a: (usize, usize), b: (usize, usize)) -> Option<f64> {
    let ((ka, na), (kb, nb)) = (a, b);
    if ka > na || kb > nb || na == 0 || nb == 0 {
        return None;
    }
    let successes = ka + kb;
    let (lo, hi) = (successes.saturating_sub(nb), successes.min(na));
    let ln_total = ln_binomial((na + nb) as u64, successes as u64);
    let probability = |k: usize| {
        (ln_binomial(na as u64, k as u64) + ln_binomial(nb as u64, (successes - k) as u64)
            - ln_total)
            .exp()
    };
    let observed = probability(ka);
    // Tables as likely as the observed one within rounding count as "at most as likely".
    let p: f64 = (lo..=hi)
        .map(probability)
        .filter(|&q| q <= observed * (1.0 + 1e-7))
        .sum();
    Some(p.min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Welch's example 1 on Wikipedia ("Welch's t-test"): t = -2.46, df = 25.0, p = 0.021;
    // SciPy's ttest_ind(equal_var=False): t = -2.455356398286006, df = 24.988529290231416,
    // p = 0.021378001462866992 (mpmath agrees to 1e-12).
    const A1: [f64; 15] = [
        27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4,
    ];
    const A2: [f64; 15] = [
        27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4,
    ];

    #[test]
    fn welch_matches_the_published_example() {
        let w = welch(&A1, &A2).unwrap();
        assert!((w.t - -2.455356398286006).abs() < 1e-12, "t {}", w.t);
        assert!((w.df - 24.988529290231416).abs() < 1e-10, "df {}", w.df);
        assert!(
            (w.p - 0.021378001462866992).abs() < 1e-11 * 0.0214,
            "p {}",
            w.p
        );
        assert!(w.ci95.contains(w.difference) && w.ci95.hi < 0.0);
        // Swapping the samples flips the sign, nothing else.
        let back = welch(&A2, &A1).unwrap();
        assert!((back.t + w.t).abs() < 1e-12 && (back.p - w.p).abs() < 1e-12);
    }

    #[test]
    fn welch_degrees_of_freedom_worked_by_hand() {
        // a: mean 2, variance 1 (n 3); b: mean 5, variance 4 (n 3).
        // se2 = 1/3 + 4/3 = 5/3; df = (5/3)^2 / ((1/3)^2 / 2 + (4/3)^2 / 2) = 50/17.
        let w = welch(&[1.0, 2.0, 3.0], &[3.0, 5.0, 7.0]).unwrap();
        assert!((w.df - 50.0 / 17.0).abs() < 1e-12, "df {}", w.df);
        assert!((w.t - -3.0 / (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(welch(&[1.0], &[2.0, 3.0]), None);
        assert_eq!(welch(&[1.0, 1.0], &[2.0, 2.0]), None);
    }

    #[test]
    fn holm_multiplies_in_order_and_keeps_it_monotone() {
        // Sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> 0.06.
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]).unwrap();
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(holm(&[0.5, 0.9]).unwrap(), [1.0, 1.0]);
        assert!(holm(&[]).unwrap().is_empty());
        assert_eq!(holm(&[-f64::NAN, 0.01]), None);
    }

    #[test]
    fn cohens_d_worked_by_hand() {
        // Means 2 and 4, both variances 1: d = -2.
        let d = cohens_d(&[1.0, 2.0, 3.0], &[3.0, 4.0, 5.0]).unwrap();
        assert!((d - -2.0).abs() < 1e-12);
        assert_eq!(cohens_d(&[1.0, 1.0], &[1.0, 1.0]), None);
    }

    #[test]
    fn fisher_exact_matches_the_published_examples() {
        // Fisher's tea tasting: 3 of 4 vs 1 of 4, p = 0.4857 (34/70).
        let p = fisher_exact((3, 4), (1, 4)).unwrap();
        assert!((p - 34.0 / 70.0).abs() < 1e-9, "{p}");
        // Wikipedia's "Fisher's exact test": 1 of 10 vs 11 of 14, p = 0.002759.
        let p = fisher_exact((1, 10), (11, 14)).unwrap();
        assert!((p - 0.002759).abs() < 1e-6, "{p}");
        // Equal shares: p = 1.
        assert!((fisher_exact((5, 10), (5, 10)).unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(fisher_exact((3, 2), (1, 4)), None);
    }
}
