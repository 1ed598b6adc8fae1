//! Two groups of runs compared image by image on the same test set: each image's share of runs
//! that classify it right, the difference of the groups' accuracies with an image-level
//! bootstrap interval (the images resampled, paired), and McNemar's exact test on each image's
//! majority verdict. The test set's sampling noise is then in the interval, where a comparison
//! of run accuracies alone leaves it out.

use statrs::function::factorial::ln_binomial;

use crate::{Bootstrap, Interval, Method, mean_of};

/// Two groups compared over the same test images.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedImages {
    /// Test images.
    pub images: usize,
    /// `accuracy(A) - accuracy(B)`, each the mean over its runs, as a fraction.
    pub difference: f64,
    /// Its 95% interval from resampling the images (percentile bootstrap).
    pub ci95: Option<Interval>,
    /// Images most of A's runs classify right and most of B's do not.
    pub only_a: usize,
    /// Images most of B's runs classify right and most of A's do not.
    pub only_b: usize,
    /// McNemar's exact two-sided p-value on those two counts (1 when both are 0).
    pub mcnemar_p: f64,
}

/// McNemar's exact test: the two-sided binomial p of `b` against `c` discordant pairs
/// (statsmodels' `mcnemar(table, exact=True)`).
pub fn mcnemar_exact(b: usize, c: usize) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c) as u64;
    let ln_half = (0.5f64).ln() * n as f64;
    let tail: f64 = (0..=k)
        .map(|i| (ln_binomial(n as u64, i) + ln_half).exp())
        .sum();
    (2.0 * tail).min(1.0)
}

/// Each image's share of `runs` that classify it right (`runs[r][i]`: run `r`, image `i`).
fn shares(runs: &[Vec<bool>], images: usize) -> Vec<f64> {
    (0..images)
        .map(|i| runs.iter().filter(|r| r[i]).count() as f64 / runs.len() as f64)
        .collect()
}

/// Groups `a` and `b` compared image by image: `a[r][i]` says whether run `r` of A classified
/// test image `i` right. `None` when a group has no run or the runs do not cover the same
/// images.
pub fn paired_images(
    a: &[Vec<bool>],
    b: &[Vec<bool>],
    bootstrap: &Bootstrap,
) -> Option<PairedImages> {
    let images = a.first()?.len();
    if images == 0 || b.is_empty() || a.iter().chain(b).any(|r| r.len() != images) {
        return None;
    }
    let (sa, sb) = (shares(a, images), shares(b, images));
    let differences: Vec<f64> = sa.iter().zip(&sb).map(|(x, y)| x - y).collect();
    let difference = differences.iter().sum::<f64>() / images as f64;
    let ci95 = bootstrap.interval(&[&differences], mean_of, Method::Percentile);
    let only_a = sa
        .iter()
        .zip(&sb)
        .filter(|(x, y)| **x > 0.5 && **y <= 0.5)
        .count();
    let only_b = sa
        .iter()
        .zip(&sb)
        .filter(|(x, y)| **y > 0.5 && **x <= 0.5)
        .count();
    Some(PairedImages {
        images,
        difference,
        ci95,
        only_a,
        only_b,
        mcnemar_p: mcnemar_exact(only_a, only_b),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_right_on_more_images_is_ahead_and_mcnemar_says_how_surely() {
        // A right on images 0..90 of 100, B on 0..80: A ahead by 10 points.
        let run = |right: usize| (0..100).map(|i| i < right).collect::<Vec<bool>>();
        let boot = Bootstrap {
            reps: 2000,
            seed: 1,
        };
        let p = paired_images(&[run(90), run(90)], &[run(80)], &boot).unwrap();
        assert!((p.difference - 0.10).abs() < 1e-12);
        assert_eq!((p.only_a, p.only_b), (10, 0));
        assert!((p.mcnemar_p - 2.0 * 0.5f64.powi(10)).abs() < 1e-15);
        let ci = p.ci95.unwrap();
        assert!(ci.lo > 0.0 && ci.hi <= 1.0 && ci.lo < 0.1 && 0.1 < ci.hi);
        assert_eq!(paired_images(&[run(5)], &[vec![true; 3]], &boot), None);
        assert_eq!(mcnemar_exact(0, 0), 1.0);
    }
}
