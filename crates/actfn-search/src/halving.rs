//! Successive halving (Jamieson and Talwalkar 2016; the short-run screening of Ramachandran et
//! al. 2017): every candidate is trained briefly, the better half goes on to longer training,
//! and so on until the finalists remain.

/// How many of `count` candidates a stage promotes: the better half (rounded up), but never
/// fewer than the `finalists` the search ends with, nor more than there are.
pub fn survivors(count: usize, finalists: usize) -> usize {
    count.div_ceil(2).max(finalists).min(count)
}

/// The names of the `keep` best-scored, best first: higher scores first, NaN last, ties broken
/// by name so that the rule gives the same answer however the scores are ordered.
pub fn promote<N: Clone + Ord>(scores: &[(N, f64)], keep: usize) -> Vec<N> {
    let mut ranked: Vec<&(N, f64)> = scores.iter().collect();
    ranked.sort_by(|(a, x), (b, y)| {
        y.is_nan()
            .cmp(&x.is_nan())
            .reverse()
            .then(y.total_cmp(x))
            .then_with(|| a.cmp(b))
    });
    ranked
        .into_iter()
        .take(keep)
        .map(|(n, _)| n.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_half_goes_on_and_ties_go_by_name() {
        let scores = [("c", 0.79), ("b", 0.85), ("a", 0.81), ("d", 0.85)];
        assert_eq!(promote(&scores, 2), ["b", "d"]);
        let mut reversed = scores;
        reversed.reverse();
        assert_eq!(promote(&reversed, 3), ["b", "d", "a"]);
        // NaN (a run that did not finish a score) is last, whatever its position.
        let with_nan = [("x", f64::NAN), ("y", 0.1), ("z", 0.2)];
        assert_eq!(promote(&with_nan, 2), ["z", "y"]);
        assert_eq!(promote(&with_nan, 5), ["z", "y", "x"]);
    }

    #[test]
    fn stages_halve_down_to_the_finalists() {
        let mut count = 300;
        let mut stages = vec![count];
        while count > 4 {
            count = survivors(count, 4);
            stages.push(count);
        }
        assert_eq!(stages, [300, 150, 75, 38, 19, 10, 5, 4]);
        assert_eq!(survivors(3, 4), 3);
        assert_eq!(survivors(0, 4), 0);
    }

    /// On synthetic scores with a known best, each stage's noisy scores keep the best
    /// candidates more often than chance: with noise much smaller than the spread, always.
    #[test]
    fn promotion_keeps_the_truly_best_under_small_noise() {
        let truth: Vec<(usize, f64)> = (0..64).map(|k| (k, k as f64)).collect();
        // A deterministic "noise" of at most 0.4, far below the spacing of 1.
        let noisy: Vec<(usize, f64)> = truth
            .iter()
            .map(|&(k, s)| (k, s + 0.4 * ((k * 7919 % 13) as f64 / 13.0 - 0.5)))
            .collect();
        let kept = promote(&noisy, 8);
        assert_eq!(kept, [63, 62, 61, 60, 59, 58, 57, 56]);
    }
}
