//! Statistics of repeated training runs, on plain numbers.
//!
//! A comparison of activation functions from one run each is an anecdote: the seed of the
//! initial weights, the batch order and the data split move a network's test accuracy by about
//! as much as the activations differ. This crate says which differences are beyond that noise:
//!
//! - [`describe`]: n, mean, standard deviation, the mean's 95% interval (Student t), median,
//!   extremes;
//! - [`wilson`]: a share (of runs that trained) with its Wilson 95% interval;
//! - [`welch`], [`holm`], [`cohens_d`]: pairwise comparisons with unequal variances, corrected
//!   for multiple comparisons, with an effect size;
//! - [`fisher_exact`]: two shares compared exactly;
//! - [`reml_components`]: the variance of a crossed grid (splits x seeds) split into its
//!   sources by restricted maximum likelihood, with intervals, a factor of fewer than three
//!   levels marked "not identified";
//! - [`ks_uniform`]: a Kolmogorov-Smirnov test of a sample against a uniform distribution;
//! - [`Bootstrap`]: percentile and BCa intervals of any statistic of one or more samples, each
//!   resampled on its own, seeded (an interval that never leaves the statistic's range);
//! - [`iqm`], [`probability_of_improvement`], [`hedges_g`]: rliable's and the meta-analysts'
//!   effect sizes; [`tost`] and [`decide`]: "different", "equal within a margin" or "undecided";
//! - [`almost_stochastic_order`]: deep-significance's `epsilon_min`, with its Bonferroni
//!   correction for a matrix of pairs;
//! - [`mann_whitney`]: the rank test of groups whose runs do not all train;
//! - [`performance_profile`]: rliable's share of runs above each threshold, with its band;
//! - [`runs_for_power`] with [`difference_power`] or [`equivalence_power`]: how many runs per
//!   group would decide a comparison;
//! - [`test_noise`]: the binomial sampling error of an accuracy on a finite test set, and the
//!   share of the runs' spread it explains; [`paired_images`]: two groups compared image by
//!   image (an image-level bootstrap, McNemar's exact test).
//!
//! Anything that cannot be estimated (an interval from one value, a test without variance) is
//! `None`, never NaN; so is the answer to an input that is not a number: every function taking
//! samples refuses a value that is not finite (NaN of either sign, an infinity), [`holm`] one
//! that is not a probability, [`t_quantile`] a NaN.
//!
//! The numerics are checked against SciPy, statsmodels and mpmath (`tests/reference.rs`, with
//! outputs written once by `scripts/stats-fixtures.py`): Welch's p-value comes from the survival
//! function (a p of 1e-36 keeps its digits), and [`t_quantile`] is right to about 1e-12 for any
//! degrees of freedom.
//!
//! ```
//! use actfn_stats::{describe, holm};
//!
//! let one = describe(&[88.5]).unwrap();
//! assert_eq!((one.n, one.sd, one.ci95), (1, None, None));
//! assert_eq!(holm(&[0.01, 0.04, 0.03]).unwrap(), [0.03, 0.06, 0.06]);
//! assert_eq!(holm(&[0.01, f64::NAN]), None);
//! ```
//!
//! API boundary: every public item takes and returns plain numbers; the special functions
//! (incomplete beta and gamma, inverse error function, ln-gamma) come from statrs, and the t
//! quantile and p-value are built on them where statrs' own lose digits.

mod aso;
mod bootstrap;
mod compare;
mod correlation;
mod describe;
mod effect;
mod ks;
mod noise;
mod paired;
mod pairs;
mod power;
mod profile;
mod rank;
mod reml;
mod sequential;
mod student;

pub use aso::{AsoSettings, almost_stochastic_order, violation_ratio};
pub use bootstrap::{Bootstrap, Method, mean_difference, mean_of};
pub use compare::{Welch, cohens_d, fisher_exact, holm, welch};
pub use correlation::{spearman, spearman_interval};
pub use describe::{Description, Share, describe, wilson};
pub use effect::{Decision, Hedges, Tost, decide, hedges_g, iqm, probability_of_improvement, tost};
pub use ks::{KsTest, ks_uniform};
pub use noise::{TestNoise, test_noise};
pub use paired::{PairedImages, mcnemar_exact, paired_images};
pub use pairs::{PairDecision, PairTest, decide_pairs, decide_pairs_among};
pub use power::{
    MOST_RUNS, bootstrap_power, difference_power, equivalence_power, rank_runs_for_power,
    runs_for_power, runs_for_power_within,
};
pub use profile::{Profile, performance_profile, share_above};
pub use rank::{EXACT_PAIRS, MannWhitney, mann_whitney};
pub use reml::{Component, Reml, reml_components};
pub use sequential::{SequentialPlan, Spending, decide_look};
pub use student::t_quantile;

/// A two-sided interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The lower end.
    pub lo: f64,
    /// The upper end.
    pub hi: f64,
}

impl Interval {
    /// `center ± half`.
    pub fn around(center: f64, half: f64) -> Self {
        Self {
            lo: center - half,
            hi: center + half,
        }
    }

    /// Whether the interval contains `x`.
    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
