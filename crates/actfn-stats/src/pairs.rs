//! Every pair of several samples tested and decided together: the test of a difference
//! (Welch's, or Mann-Whitney's where a sample is a mixture that a t test cannot describe) and
//! the equivalence test against a margin, each family corrected by Holm over the pairs, then
//! the decision. The sweep's report decides its pairs with it, and so does a sequential sweep
//! at each look (at the look's level), so that both say the same of the same runs.

use crate::{Decision, decide, holm, mann_whitney, tost, welch};

/// The test a pair's difference is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PairTest {
    /// Welch's t test.
    Welch,
    /// Mann-Whitney's U: a sample is a mixture (say of runs at chance and runs that trained),
    /// whose mean is no run's and where a t test does not hold.
    Rank,
}

/// A pair of samples `(i, j)`, `i < j`, and what the comparison says of `i - j`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairDecision {
    /// The first sample's index.
    pub i: usize,
    /// The second sample's index.
    pub j: usize,
    /// The test of the difference.
    pub test: PairTest,
    /// That test's own p-value; none where it cannot judge the pair (one value a side, no
    /// spread).
    pub raw_p: Option<f64>,
    /// The difference of the means.
    pub difference: Option<f64>,
    /// The test's p-value corrected by Holm over every pair (1 without a test).
    pub holm_p: f64,
    /// TOST's p against the margin, corrected by Holm over every pair (1 where it cannot be
    /// made).
    pub tost_p: f64,
    /// Different, equivalent within the margin, or undecided, at the level given.
    pub decision: Decision,
}

/// Every pair of `samples`, in order (`(0, 1), (0, 2), ..., (1, 2), ...`), tested and decided
/// at `alpha`: Mann-Whitney's test where `mixture` says either sample is a mixture, else
/// Welch's; TOST against `margin`; each of the two families corrected by Holm over the pairs.
pub fn decide_pairs(
    samples: &[&[f64]],
    margin: f64,
    alpha: f64,
    mixture: impl Fn(&[f64]) -> bool,
) -> Vec<PairDecision> {
    let all: Vec<(usize, usize)> = (0..samples.len())
        .flat_map(|i| (i + 1..samples.len()).map(move |j| (i, j)))
        .collect();
    decide_pairs_among(samples, &all, margin, alpha, mixture)
}

/// [`decide_pairs`] for the given pairs of `samples` only (indices `i < j` into it), Holm's
/// correction over them: the pairs a sequential comparison has left open. A pair with an index
/// outside `samples` is left out.
pub fn decide_pairs_among(
    samples: &[&[f64]],
    pairs: &[(usize, usize)],
    margin: f64,
    alpha: f64,
    mixture: impl Fn(&[f64]) -> bool,
) -> Vec<PairDecision> {
    let mean = |x: &[f64]| (!x.is_empty()).then(|| x.iter().sum::<f64>() / x.len() as f64);
    let mut decided = Vec::new();
    for &(i, j) in pairs {
        // A pair outside the samples is none of theirs: left out.
        let (Some(&a), Some(&b)) = (samples.get(i), samples.get(j)) else {
            continue;
        };
        let test = if mixture(a) || mixture(b) {
            PairTest::Rank
        } else {
            PairTest::Welch
        };
        let welch = welch(a, b);
        let raw_p = match test {
            PairTest::Welch => welch.map(|w| w.p),
            PairTest::Rank => mann_whitney(a, b).map(|m| m.p),
        };
        decided.push(PairDecision {
            i,
            j,
            test,
            raw_p,
            difference: welch
                .map(|w| w.difference)
                .or_else(|| Some(mean(a)? - mean(b)?)),
            holm_p: raw_p.unwrap_or(1.0),
            tost_p: tost(a, b, margin).map_or(1.0, |t| t.p),
            decision: Decision::Undecided,
        });
    }
    // The differences and the equivalences are each a family of as many claims as pairs.
    let corrected = |raw: Vec<f64>| {
        let n = raw.len();
        holm(&raw).unwrap_or_else(|| vec![1.0; n])
    };
    let holm_p = corrected(decided.iter().map(|p| p.holm_p).collect());
    let tost_p = corrected(decided.iter().map(|p| p.tost_p).collect());
    for (pair, (h, t)) in decided.iter_mut().zip(holm_p.into_iter().zip(tost_p)) {
        pair.holm_p = h;
        pair.tost_p = t;
        if pair.raw_p.is_some() {
            pair.decision = decide(h, Some(t), alpha);
        }
    }
    decided
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decided_together_and_a_mixture_gets_the_rank_test() {
        let relu = [88.6, 88.7, 88.5, 88.8, 88.6];
        let tanh = [87.5, 87.6, 87.4, 87.7, 87.5];
        let sigmoid = [10.0, 10.0, 79.4, 10.0, 10.0];
        let mixture = |x: &[f64]| x.iter().any(|&v| v > 50.0) && x.iter().any(|&v| v <= 50.0);
        let pairs = decide_pairs(&[&relu, &tanh, &sigmoid], 0.3, 0.05, mixture);
        let indices: Vec<(usize, usize)> = pairs.iter().map(|p| (p.i, p.j)).collect();
        assert_eq!(indices, [(0, 1), (0, 2), (1, 2)]);
        assert_eq!(pairs[0].test, PairTest::Welch);
        assert_eq!(pairs[0].decision, Decision::Different);
        assert!((pairs[0].difference.unwrap() - 1.1).abs() < 1e-9);
        assert_eq!(pairs[1].test, PairTest::Rank);
        // Holm: the corrected p-values are at least the raw ones.
        assert!(pairs.iter().all(|p| p.holm_p >= p.raw_p.unwrap()));
        // At a level far below every p-value nothing is decided.
        let strict = decide_pairs(&[&relu, &tanh, &sigmoid], 0.3, 1e-12, mixture);
        assert!(strict.iter().all(|p| p.decision == Decision::Undecided));
    }
}
