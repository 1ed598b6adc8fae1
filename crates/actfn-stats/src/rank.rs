//! The Mann-Whitney U test (Wilcoxon rank-sum): whether a run of one group tends to beat a run
//! of the other, from ranks alone. The test for groups whose runs do not all train, where a
//! mean over a mixture of chance and trained runs is no group's typical value and Welch's
//! normal approximation does not hold.

use statrs::distribution::{ContinuousCDF, Normal};

/// Two groups compared by ranks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// The U statistic of the first group: pairs it wins, ties counting half.
    pub u: f64,
    /// The two-sided p-value.
    pub p: f64,
    /// Whether `p` is exact (no ties, at most [`EXACT_PAIRS`] pairs) or the normal
    /// approximation with the tie correction and the continuity correction.
    pub exact: bool,
}

/// The most pairs `n_a n_b` whose null distribution is counted exactly (a table of
/// `n_a n_b (n_a n_b / 2)` probabilities at the largest).
pub const EXACT_PAIRS: usize = 2_500;

/// The Mann-Whitney U test of `a` against `b`, two-sided, as SciPy's
/// `mannwhitneyu(a, b, method="exact")` computes it without ties and
/// `method="asymptotic"` (continuity-corrected) with them or beyond [`EXACT_PAIRS`]. `None` when
/// a sample is empty or a value is not finite, or when every value is the same (no test).
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let u = crate::probability_of_improvement(a, b)? * (a.len() * b.len()) as f64;
    let (na, nb) = (a.len(), b.len());
    let pairs = (na * nb) as f64;
    let mut pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    pooled.sort_by(f64::total_cmp);
    // Σ (t³ - t) over the groups of tied values.
    let mut ties = 0.0;
    let mut start = 0;
    for i in 1..=pooled.len() {
        if i == pooled.len() || pooled[i] != pooled[start] {
            let t = (i - start) as f64;
            ties += t * t * t - t;
            start = i;
        }
    }
    // The larger of the two U's; its upper tail, doubled, is the two-sided p.
    let big = u.max(pairs - u);
    if ties == 0.0 && na * nb <= EXACT_PAIRS {
        let upper: f64 = u_distribution(na, nb)[big as usize..].iter().sum();
        return Some(MannWhitney {
            u,
            p: (2.0 * upper).min(1.0),
            exact: true,
        });
    }
    let n = (na + nb) as f64;
    let variance = pairs / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if variance <= 0.0 {
        return None;
    }
    let z = (big - pairs / 2.0 - 0.5) / variance.sqrt();
    Some(MannWhitney {
        u,
        p: (2.0 * Normal::standard().sf(z)).min(1.0),
        exact: false,
    })
}

/// The null distribution of U for samples of `m` and `n` values without ties: `P(U = u)` for
/// u in `0..=m n`, from the recursion `P_{m,n}(u) = m/(m+n) P_{m-1,n}(u - n) + n/(m+n)
/// P_{m,n-1}(u)` (the largest value belongs to the first sample or the second), in
/// probabilities so that nothing overflows.
fn u_distribution(m: usize, n: usize) -> Vec<f64> {
    // previous[j]: the distribution for (i - 1, j); built up row by row in i.
    let mut previous: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect();
    for i in 1..=m {
        let mut row: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        row.push(vec![1.0]);
        for j in 1..=n {
            let (fi, fj) = (i as f64, j as f64);
            let mut p = vec![0.0; i * j + 1];
            // The largest value in the first sample: it beats all j of the second.
            for (u, q) in previous[j].iter().enumerate() {
                p[u + j] += fi / (fi + fj) * q;
            }
            for (u, q) in row[j - 1].iter().enumerate() {
                p[u] += fj / (fi + fj) * q;
            }
            row.push(p);
        }
        previous = row;
    }
    previous.swap_remove(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_null_distribution_is_the_counted_one() {
        // m = n = 2: the 6 orderings give U = 0, 1, 2, 2, 3, 4.
        let d = u_distribution(2, 2);
        let expected = [1.0, 1.0, 2.0, 1.0, 1.0].map(|c| c / 6.0);
        for (p, e) in d.iter().zip(expected) {
            assert!((p - e).abs() < 1e-15, "{d:?}");
        }
        assert_eq!(u_distribution(3, 0), vec![1.0]);
    }

    #[test]
    fn complete_separation_of_five_and_five_is_p_2_over_252() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        let t = mann_whitney(&a, &b).unwrap();
        assert_eq!(t.u, 0.0);
        assert!(t.exact);
        assert!((t.p - 2.0 / 252.0).abs() < 1e-15);
        assert_eq!(mann_whitney(&[1.0, 1.0], &[1.0]), None);
        assert_eq!(mann_whitney(&[1.0], &[]), None);
    }
}
