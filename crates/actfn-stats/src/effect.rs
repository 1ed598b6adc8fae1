//! Effect sizes and decisions the field's tools report beside a p-value: the interquartile mean
//! (rliable's IQM), the probability of improvement P(A > B), Hedges' g with its interval, and
//! two one-sided tests (TOST) that can say "equal within a margin".

use statrs::distribution::{ContinuousCDF, Normal};

use crate::compare::mean_var;
use crate::student::two_sided_p;
use crate::{Interval, cohens_d};

/// Whether every value is finite and there is at least one.
fn usable(values: &[f64]) -> bool {
    !values.is_empty() && values.iter().all(|v| v.is_finite())
}

/// The interquartile mean: the mean of the middle half, a quarter cut from each end (SciPy's
/// `trim_mean(x, 0.25)`, rliable's IQM: `floor(n / 4)` values cut from each end). Robust to a
/// few runs that fail where the mean is not, and steadier than the median.
pub fn iqm(values: &[f64]) -> Option<f64> {
    if !usable(values) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let cut = sorted.len() / 4;
    let middle = &sorted[cut..sorted.len() - cut];
    Some(middle.iter().sum::<f64>() / middle.len() as f64)
}

/// The probability that a run of `a` beats a run of `b`, ties counting half: the Mann-Whitney U
/// statistic over `n_a n_b` (rliable's probability of improvement). 0.5 is no difference.
pub fn probability_of_improvement(a: &[f64], b: &[f64]) -> Option<f64> {
    if !usable(a) || !usable(b) {
        return None;
    }
    let wins: f64 = a
        .iter()
        .flat_map(|x| b.iter().map(move |y| (x, y)))
        .map(|(x, y)| match x.total_cmp(y) {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.0,
        })
        .sum();
    Some(wins / (a.len() * b.len()) as f64)
}

/// Hedges' g: Cohen's d with the small-sample correction, and its 95% interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hedges {
    /// The corrected standardized difference, `(mean(a) - mean(b)) / pooled sd * J`, with
    /// `J = 1 - 3 / (4 N - 9)`, `N = n_a + n_b`.
    pub g: f64,
    /// Its approximate variance, `N / (n_a n_b) + g^2 / (2 (N - 3.94))` (Borenstein 2009).
    pub variance: f64,
    /// `g ± 1.96 sqrt(variance)`.
    pub ci95: Interval,
}

/// Hedges' g of `a` against `b`, as statsmodels' `effectsize_smd` computes it; `None` as
/// [`cohens_d`].
pub fn hedges_g(a: &[f64], b: &[f64]) -> Option<Hedges> {
    let d = cohens_d(a, b)?;
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let n = na + nb;
    let g = d * (1.0 - 3.0 / (4.0 * n - 9.0));
    let variance = n / (na * nb) + g * g / (2.0 * (n - 3.94));
    let z = Normal::standard().inverse_cdf(0.975);
    Some(Hedges {
        g,
        variance,
        ci95: Interval::around(g, z * variance.sqrt()),
    })
}

/// What two one-sided tests say of a difference against a margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tost {
    /// `mean(a) - mean(b)`.
    pub difference: f64,
    /// The equivalence p-value: the larger of the two one-sided tests' (Welch's t with its
    /// degrees of freedom), of `difference <= -margin` and of `difference >= margin`.
    pub p: f64,
}

/// Two one-sided Welch tests of `|mean(a) - mean(b)| >= margin` (statsmodels'
/// `ttost_ind(a, b, -margin, margin, usevar="unequal")`): a p below alpha says the two are equal
/// within `± margin`. `None` when a sample has fewer than two values, a value is not finite,
/// neither sample varies, or the margin is not positive and finite.
pub fn tost(a: &[f64], b: &[f64], margin: f64) -> Option<Tost> {
    if !(margin.is_finite() && margin > 0.0) {
        return None;
    }
    let w = crate::welch(a, b)?;
    let ((_, va), (_, vb)) = (mean_var(a), mean_var(b));
    let se = (va / a.len() as f64 + vb / b.len() as f64).sqrt();
    // P(T > t) for one tail, from the two-sided p.
    let upper = |t: f64| -> Option<f64> {
        let two = two_sided_p(t, w.df)?;
        Some(if t > 0.0 { two / 2.0 } else { 1.0 - two / 2.0 })
    };
    let p_lower = upper((w.difference + margin) / se)?;
    let p_upper = upper((margin - w.difference) / se)?;
    Some(Tost {
        difference: w.difference,
        p: p_lower.max(p_upper),
    })
}

/// What a comparison of two groups can say at a level alpha, and no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// The test of no difference rejects it (after any correction the caller applied).
    Different,
    /// TOST says the difference is inside the margin.
    Equivalent,
    /// Neither: more runs would decide.
    Undecided,
}

/// The decision from a (corrected) p-value of a difference and a TOST p-value, each against
/// `alpha`. A difference that is both beyond noise and inside the margin (possible with many
/// runs) is `Different`: it is real, if small.
pub fn decide(p_difference: f64, p_equivalence: Option<f64>, alpha: f64) -> Decision {
    if p_difference < alpha {
        Decision::Different
    } else if p_equivalence.is_some_and(|p| p < alpha) {
        Decision::Equivalent
    } else {
        Decision::Undecided
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iqm_cuts_a_quarter_from_each_end() {
        assert_eq!(iqm(&[1.0, 2.0, 3.0, 100.0]), Some(2.5));
        assert_eq!(iqm(&[5.0]), Some(5.0));
        assert_eq!(iqm(&[]), None);
        assert_eq!(iqm(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn probability_of_improvement_counts_ties_half() {
        assert_eq!(
            probability_of_improvement(&[2.0, 3.0], &[1.0, 2.0]),
            Some(0.875)
        );
        assert_eq!(probability_of_improvement(&[1.0], &[1.0]), Some(0.5));
        assert_eq!(probability_of_improvement(&[1.0], &[]), None);
    }

    #[test]
    fn tost_is_decided_by_the_margin() {
        let a = [88.1, 88.3, 88.2, 88.4, 88.0];
        let b = [88.2, 88.1, 88.3, 88.2, 88.25];
        assert!(tost(&a, &b, 1.0).unwrap().p < 0.01);
        assert!(tost(&a, &b, 0.01).unwrap().p > 0.4);
        assert_eq!(tost(&a, &b, 0.0), None);
        assert_eq!(decide(0.5, Some(0.01), 0.05), Decision::Equivalent);
        assert_eq!(decide(0.01, Some(0.01), 0.05), Decision::Different);
        assert_eq!(decide(0.5, None, 0.05), Decision::Undecided);
    }
}
