//! The crate against the field's reference tools: SciPy, statsmodels and mpmath outputs for
//! fixed inputs, written once by `scripts/stats-fixtures.py` into `tests/fixtures/reference.json`
//! (committed; no Python runs here).
//!
//! Tolerances, `|actual - expected| <= rel |expected| + abs`:
//!
//! - Welch's t, df and the difference's interval, Cohen's d, a description's mean, sd and
//!   interval: closed forms, relative 1e-9 (the summation order differs from numpy's);
//! - Welch's p-value: relative 1e-11 at every size, 1e-36 included (a p-value is compared by its
//!   digits, not against 0; the fixture's are SciPy's, checked against mpmath to 1e-12; the
//!   crate is within about 1e-13);
//! - Student t quantiles: relative 1e-11 for df from 1 to 1e9 and p from 0.5 + 1e-6 to
//!   1 - 1e-10, against a 50-digit mpmath solution (SciPy's `t.ppf`, kept where it differs, is
//!   off by up to 4e-5 near p = 0.5; the crate is within about 2e-13);
//! - Holm's adjusted p-values: relative 1e-15 (the same products and maxima);
//! - Fisher's exact p: relative 1e-9;
//! - the Kolmogorov-Smirnov distance: absolute 1e-12 (only the distance: the crate's p-value is
//!   Stephens' asymptotic one, scipy's is exact).
//!
//! A `null` in the fixture is a quantity the crate reports as `None`.

use actfn_stats::{
    AsoSettings, Bootstrap, Method, SequentialPlan, Spending, almost_stochastic_order, cohens_d,
    describe, difference_power, equivalence_power, fisher_exact, hedges_g, holm, iqm, ks_uniform,
    mann_whitney, mcnemar_exact, mean_difference, mean_of, performance_profile,
    probability_of_improvement, reml_components, runs_for_power, spearman, spearman_interval,
    t_quantile, test_noise, tost, violation_ratio, welch,
};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/reference.json");

/// The fixture's values, read the way its cases use them; a fixture that does not hold what a
/// case reads is a broken fixture, so these panic with the key.
trait Fixture {
    fn field(&self, key: &str) -> &Value;
    /// The field `key`, or null where there is none.
    fn get_or_null(&self, key: &str) -> &Value;
    fn array(&self) -> &[Value];
    fn number(&self) -> f64;
    fn option(&self) -> Option<f64>;
    fn numbers(&self) -> Vec<f64>;
    fn text(&self) -> &str;
}

impl Fixture for Value {
    fn field(&self, key: &str) -> &Value {
        self.as_object()
            .and_then(|o| o.get(key))
            .unwrap_or_else(|| panic!("no key {key:?} in {self}"))
    }

    fn get_or_null(&self, key: &str) -> &Value {
        self.as_object()
            .and_then(|o| o.get(key))
            .unwrap_or(&Value::Null)
    }

    fn array(&self) -> &[Value] {
        self.as_array()
            .unwrap_or_else(|| panic!("not an array: {self}"))
    }

    fn number(&self) -> f64 {
        self.option()
            .unwrap_or_else(|| panic!("null where a number was expected"))
    }

    fn option(&self) -> Option<f64> {
        match self {
            Value::Null => None,
            other => Some(
                other
                    .as_f64()
                    .unwrap_or_else(|| panic!("not a number: {other}")),
            ),
        }
    }

    fn numbers(&self) -> Vec<f64> {
        self.array().iter().map(Fixture::number).collect()
    }

    fn text(&self) -> &str {
        self.as_str()
            .unwrap_or_else(|| panic!("not a string: {self}"))
    }
}

/// The fixture, parsed (serde_json with `float_roundtrip` reads Python's shortest round-trip
/// numbers back to the same `f64`).
fn root() -> Value {
    serde_json::from_str(FIXTURE).expect("the fixture is JSON")
}

fn fixture(section: &str) -> Vec<Value> {
    root().field(section).array().to_vec()
}

/// Whether `actual` is within `rel |expected| + abs` of `expected`.
fn close(actual: f64, expected: f64, rel: f64, abs: f64) -> bool {
    (actual - expected).abs() <= rel * expected.abs() + abs
}

#[track_caller]
fn assert_close(what: &str, actual: f64, expected: f64, rel: f64, abs: f64) {
    assert!(
        close(actual, expected, rel, abs),
        "{what}: {actual:e} vs {expected:e} (relative error {:e})",
        (actual - expected).abs() / expected.abs()
    );
}

#[test]
fn the_fixture_reads_back() {
    let root = root();
    assert!(root.field("generated_by").text().contains("scipy"));
    for section in [
        "welch",
        "t_quantile",
        "holm",
        "describe",
        "cohens_d",
        "fisher_exact",
        "ks_uniform",
        "iqm",
        "probability_of_improvement",
        "hedges",
        "tost",
        "bootstrap",
        "aso",
        "test_noise",
        "reml",
        "mcnemar",
    ] {
        assert!(!fixture(section).is_empty(), "{section}");
    }
}

#[test]
fn welch_matches_scipy() {
    let mut worst = 0.0f64;
    for case in fixture("welch") {
        let name = case.field("name").text();
        let (a, b) = (case.field("a").numbers(), case.field("b").numbers());
        let w = welch(&a, &b);
        let Some(t) = case.field("t").option() else {
            assert_eq!(w, None, "{name}: scipy has no test");
            continue;
        };
        let w = w.unwrap_or_else(|| panic!("{name}: no test"));
        assert_close(&format!("{name} t"), w.t, t, 1e-9, 0.0);
        assert_close(
            &format!("{name} df"),
            w.df,
            case.field("df").number(),
            1e-9,
            0.0,
        );
        let p = case.field("p").number();
        assert_close(&format!("{name} p"), w.p, p, 1e-11, 0.0);
        worst = worst.max((w.p - p).abs() / p);
        let ci = case.field("ci95").numbers();
        assert_close(&format!("{name} ci lo"), w.ci95.lo, ci[0], 1e-9, 0.0);
        assert_close(&format!("{name} ci hi"), w.ci95.hi, ci[1], 1e-9, 0.0);
    }
    eprintln!("worst relative error of a Welch p-value: {worst:e}");
}

#[test]
fn t_quantiles_match_the_reference_for_any_df() {
    let mut worst = 0.0f64;
    for case in fixture("t_quantile") {
        let (p, df, q) = (
            case.field("p").number(),
            case.field("df").number(),
            case.field("q").number(),
        );
        let what = format!("p {p}, df {df}");
        let actual = t_quantile(p, df).unwrap_or_else(|| panic!("{what}: none"));
        assert_close(&what, actual, q, 1e-11, 0.0);
        worst = worst.max((actual - q).abs() / q.abs());
        // Where SciPy is off (near p = 0.5), the crate is closer to the 50-digit value.
        if let Some(scipy) = case.get_or_null("scipy").as_f64() {
            assert!(
                (actual - q).abs() < (scipy - q).abs(),
                "{what}: {actual} vs {scipy}"
            );
        }
    }
    eprintln!("worst relative error of a t quantile: {worst:e}");
}

#[test]
fn holm_matches_statsmodels() {
    for case in fixture("holm") {
        let p = case.field("p").numbers();
        let adjusted = holm(&p).unwrap();
        assert_eq!(adjusted.len(), p.len());
        for (a, e) in adjusted.iter().zip(case.field("adjusted").numbers()) {
            assert_close(&format!("{p:?}"), *a, e, 1e-15, 0.0);
        }
    }
}

#[test]
fn descriptions_match_numpy_and_scipy() {
    for case in fixture("describe") {
        let values = case.field("values").numbers();
        let d = describe(&values).unwrap();
        let what = format!("{values:?}");
        assert_eq!(d.n, case.field("n").number() as usize, "{what}");
        assert_close(&what, d.mean, case.field("mean").number(), 1e-9, 0.0);
        assert_close(&what, d.median, case.field("median").number(), 0.0, 0.0);
        assert_close(&what, d.min, case.field("min").number(), 0.0, 0.0);
        assert_close(&what, d.max, case.field("max").number(), 0.0, 0.0);
        match case.field("sd").option() {
            None => assert_eq!((d.sd, d.ci95), (None, None), "{what}"),
            Some(sd) => {
                // A sample without variance has sd 0 exactly.
                assert_close(&what, d.sd.unwrap(), sd, 1e-9, 0.0);
                let (ci, expected) = (d.ci95.unwrap(), case.field("ci95").numbers());
                assert_close(&what, ci.lo, expected[0], 1e-9, 0.0);
                assert_close(&what, ci.hi, expected[1], 1e-9, 0.0);
            }
        }
    }
}

#[test]
fn cohens_d_matches_the_closed_form() {
    for case in fixture("cohens_d") {
        let name = case.field("name").text();
        let (a, b) = (case.field("a").numbers(), case.field("b").numbers());
        match case.field("d").option() {
            None => assert_eq!(cohens_d(&a, &b), None, "{name}"),
            // d = 0 for equal means is 0 within rounding.
            Some(d) => assert_close(name, cohens_d(&a, &b).unwrap(), d, 1e-9, 1e-12),
        }
    }
}

#[test]
fn fisher_exact_matches_scipy() {
    for case in fixture("fisher_exact") {
        let (a, b) = (case.field("a").numbers(), case.field("b").numbers());
        let count = |x: f64| x as usize;
        let p = fisher_exact((count(a[0]), count(a[1])), (count(b[0]), count(b[1]))).unwrap();
        assert_close(
            &format!("{a:?} {b:?}"),
            p,
            case.field("p").number(),
            1e-9,
            0.0,
        );
    }
}

#[test]
fn ks_distance_matches_scipy() {
    for case in fixture("ks_uniform") {
        let values = case.field("values").numbers();
        let (lo, hi) = (case.field("lo").number(), case.field("hi").number());
        let test = ks_uniform(&values, lo, hi).unwrap();
        assert_close(
            &format!("{values:?}"),
            test.d,
            case.field("d").number(),
            0.0,
            1e-12,
        );
    }
}

/// Values no function taking samples may accept: NaN of either sign and the infinities.
const NOT_FINITE: [f64; 4] = [f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY];

#[test]
fn holm_refuses_nan_and_values_outside_0_1() {
    // A NaN with its sign bit set sorts before every number under total_cmp: unchecked, it
    // forced every adjusted p-value to 1.
    for bad in [f64::NAN, -f64::NAN, -0.1, 1.5, f64::INFINITY, -0.0 - 1e-300] {
        assert_eq!(holm(&[bad, 0.001, 0.002]), None, "{bad}");
        assert_eq!(holm(&[0.001, 0.002, bad]), None, "{bad}");
    }
    // The ends of [0, 1] are probabilities.
    assert_eq!(holm(&[0.0, 1.0, -0.0]).unwrap(), [0.0, 1.0, 0.0]);
}

#[test]
fn every_function_taking_samples_refuses_values_that_are_not_finite() {
    let good = [1.0, 2.0, 3.0, 4.0];
    for bad in NOT_FINITE {
        let with = [1.0, bad, 3.0, 4.0];
        assert_eq!(describe(&with), None, "describe {bad}");
        assert_eq!(welch(&with, &good), None, "welch {bad}");
        assert_eq!(welch(&good, &with), None, "welch {bad}");
        assert_eq!(cohens_d(&with, &good), None, "cohens_d {bad}");
        assert_eq!(cohens_d(&good, &with), None, "cohens_d {bad}");
        assert_eq!(ks_uniform(&with, 0.0, 5.0), None, "ks_uniform {bad}");
        assert_eq!(ks_uniform(&good, bad, 5.0), None, "ks_uniform lo {bad}");
        assert_eq!(ks_uniform(&good, 0.0, bad), None, "ks_uniform hi {bad}");
        assert_eq!(
            reml_components(&[good.to_vec(), with.to_vec()], 10, 0),
            None,
            "reml_components {bad}"
        );
    }
}

#[test]
fn t_quantile_refuses_what_is_not_a_probability_or_a_df() {
    for (p, df) in [
        (f64::NAN, 5.0),
        (-f64::NAN, 5.0),
        (0.975, f64::NAN),
        (0.0, 5.0),
        (1.0, 5.0),
        (-0.5, 5.0),
        (1.5, 5.0),
        (0.975, 0.0),
        (0.975, -1.0),
    ] {
        assert_eq!(t_quantile(p, df), None, "p {p}, df {df}");
    }
    // Infinite degrees of freedom are the normal distribution.
    let z = t_quantile(0.975, f64::INFINITY).unwrap();
    assert_close("df inf", z, 1.959963984540054, 1e-12, 0.0);
}

#[test]
fn t_quantile_finishes_for_extreme_arguments() {
    // The inverse CDF overflowed near df 1e8 and could loop for ever; every call must return,
    // with a finite quantile of the right sign (or none where the quantile itself overflows,
    // as for df far below 1 in the far tail).
    let ps = [
        1e-300,
        1e-20,
        1e-10,
        0.025,
        0.5 - 1e-15,
        0.5,
        0.975,
        1.0 - 1e-16,
    ];
    for df in [1e-3, 0.5, 1.0, 1e8, 3e8, 1e12, 1e15, 1e300, f64::MAX] {
        for p in ps {
            let q = t_quantile(p, df);
            assert!(q.is_none_or(f64::is_finite), "p {p}, df {df}: {q:?}");
            if df >= 1e8 || (df >= 1.0 && p >= 1e-20) {
                assert!(q.is_some(), "p {p}, df {df}");
            }
            if let Some(q) = q {
                assert!((q < 0.0) == (p < 0.5) || q == 0.0, "p {p}, df {df}: {q}");
            }
        }
    }
}

#[test]
fn iqm_matches_scipy_trim_mean() {
    for case in fixture("iqm") {
        let values = case.field("values").numbers();
        let expected = case.field("iqm").number();
        assert_close("iqm", iqm(&values).unwrap(), expected, 1e-12, 1e-12);
    }
}

#[test]
fn probability_of_improvement_matches_mann_whitney() {
    for case in fixture("probability_of_improvement") {
        let (a, b) = (case.field("a").numbers(), case.field("b").numbers());
        let expected = case.field("p").number();
        assert_close(
            "P(a > b)",
            probability_of_improvement(&a, &b).unwrap(),
            expected,
            1e-12,
            1e-12,
        );
    }
}

#[test]
fn hedges_g_matches_statsmodels() {
    for case in fixture("hedges") {
        let name = case.field("name").text();
        let (a, b) = (case.field("a").numbers(), case.field("b").numbers());
        match (case.field("g").option(), hedges_g(&a, &b)) {
            (None, ours) => assert_eq!(ours, None, "{name}"),
            (Some(g), Some(ours)) => {
                assert_close(name, ours.g, g, 1e-9, 1e-12);
                assert_close(
                    name,
                    ours.variance,
                    case.field("variance").number(),
                    1e-9,
                    0.0,
                );
                let half = 1.959963984540054 * ours.variance.sqrt();
                assert_close(name, ours.ci95.hi - ours.g, half, 1e-9, 0.0);
            }
            (Some(_), None) => panic!("{name}: no g"),
        }
    }
}

#[test]
fn tost_matches_statsmodels() {
    for case in fixture("tost") {
        let name = case.field("name").text();
        let (a, b) = (case.field("a").numbers(), case.field("b").numbers());
        let margin = case.field("margin").number();
        match (case.field("p").option(), tost(&a, &b, margin)) {
            (None, ours) => assert_eq!(ours, None, "{name} {margin}"),
            (Some(p), Some(ours)) => assert_close(name, ours.p, p, 1e-9, 1e-15),
            (Some(_), None) => panic!("{name} {margin}: no test"),
        }
    }
}

/// Two independent 10,000-resample bootstraps differ by Monte Carlo error (about 0.04 of the
/// bootstrap standard error at the 2.5% and 97.5% levels); five times that is allowed, or, for a
/// sample of a few distinct values whose resampled means lie on a lattice, one step of it (an
/// endpoint can fall on either side of an atom).
#[test]
fn bootstrap_intervals_match_scipy_within_monte_carlo_error() {
    for case in fixture("bootstrap") {
        let samples: Vec<Vec<f64>> = case
            .field("samples")
            .array()
            .iter()
            .map(|s| s.numbers())
            .collect();
        let views: Vec<&[f64]> = samples.iter().map(Vec::as_slice).collect();
        let method = match case.field("method").text() {
            "percentile" => Method::Percentile,
            _ => Method::Bca,
        };
        let statistic = if views.len() == 1 {
            mean_of
        } else {
            mean_difference
        };
        let ours = Bootstrap::default().interval(&views, statistic, method);
        let what = format!("{method:?} of {samples:?}");
        match case.get_or_null("ci95") {
            Value::Null => assert_eq!(ours, None, "{what}"),
            expected => {
                let expected = expected.numbers();
                let ours = ours.unwrap_or_else(|| panic!("{what}: no interval"));
                let lattice = if views.len() == 1 {
                    let mut v = samples[0].clone();
                    v.sort_by(f64::total_cmp);
                    let gap = v
                        .windows(2)
                        .map(|w| w[1] - w[0])
                        .filter(|g| *g > 0.0)
                        .fold(f64::MAX, f64::min);
                    if gap < f64::MAX {
                        gap / v.len() as f64
                    } else {
                        0.0
                    }
                } else {
                    0.0
                };
                let tolerance = (0.2 * case.field("standard_error").number()).max(lattice) + 1e-9;
                assert!(
                    (ours.lo - expected[0]).abs() <= tolerance
                        && (ours.hi - expected[1]).abs() <= tolerance,
                    "{what}: [{}, {}] vs SciPy's {expected:?} (tolerance {tolerance})",
                    ours.lo,
                    ours.hi
                );
                // A mean's interval stays within the values (the t interval need not).
                if views.len() == 1 {
                    let (min, max) = samples[0]
                        .iter()
                        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
                    assert!(min <= ours.lo && ours.hi <= max, "{what}");
                }
            }
        }
    }
}

/// The violation ratio has no randomness: to 1e-12. `epsilon_min` adds a bootstrap estimate of
/// its spread (1,000 iterations, about 3% Monte Carlo error): 15% of that part is allowed.
#[test]
fn almost_stochastic_order_matches_deepsig() {
    for case in fixture("aso") {
        let name = case.field("name").text();
        let (a, b) = (case.field("a").numbers(), case.field("b").numbers());
        let settings = AsoSettings {
            comparisons: case.field("comparisons").number() as usize,
            ..AsoSettings::default()
        };
        let sorted = |x: &[f64]| {
            let mut v = x.to_vec();
            v.sort_by(f64::total_cmp);
            v
        };
        let ratio = case.field("violation_ratio").number();
        assert_close(
            name,
            violation_ratio(&sorted(&a), &sorted(&b), 0.005),
            ratio,
            1e-12,
            1e-12,
        );
        let expected = case.field("epsilon_min").number();
        let ours = almost_stochastic_order(&a, &b, &settings).unwrap();
        let tolerance = 0.15 * (expected - ratio).abs() + 1e-9;
        assert!(
            (ours - expected).abs() <= tolerance,
            "{name} ({} comparisons): {ours} vs deepsig's {expected} (tolerance {tolerance})",
            settings.comparisons
        );
    }
}

#[test]
fn test_noise_matches_the_closed_forms() {
    for case in fixture("test_noise") {
        let accuracies = case.field("accuracies").numbers();
        let n = case.field("n").number() as usize;
        let ours = test_noise(&accuracies, n).unwrap();
        assert_close(
            "run se",
            ours.run_se,
            case.field("run_se").number(),
            1e-12,
            0.0,
        );
        let expected = case.field("expected_variance").number();
        assert_close(
            "expected variance",
            ours.expected_variance,
            expected,
            1e-12,
            0.0,
        );
        for (what, ours, theirs) in [
            (
                "observed",
                ours.observed_variance,
                case.get_or_null("observed_variance").option(),
            ),
            ("share", ours.share, case.get_or_null("share").option()),
        ] {
            match (ours, theirs) {
                (Some(a), Some(b)) => assert_close(what, a, b, 1e-9, 1e-15),
                (a, b) => assert_eq!(a, b, "{what} of {accuracies:?}"),
            }
        }
    }
}

/// The restricted log-likelihood of a crossed grid at components `(row, column, residual)`,
/// without its constant (the same function the crate maximizes in closed form).
fn restricted_log_likelihood(grid: &[Vec<f64>], row: f64, column: f64, residual: f64) -> f64 {
    let (a, b) = (grid.len() as f64, grid[0].len() as f64);
    let all: Vec<f64> = grid.iter().flatten().copied().collect();
    let mean = all.iter().sum::<f64>() / all.len() as f64;
    let row_means: Vec<f64> = grid.iter().map(|r| r.iter().sum::<f64>() / b).collect();
    let column_means: Vec<f64> = (0..grid[0].len())
        .map(|j| grid.iter().map(|r| r[j]).sum::<f64>() / a)
        .collect();
    let ss_a = b * row_means.iter().map(|m| (m - mean).powi(2)).sum::<f64>();
    let ss_b = a * column_means.iter().map(|m| (m - mean).powi(2)).sum::<f64>();
    let mut ss_e = 0.0;
    for (i, r) in grid.iter().enumerate() {
        for (j, y) in r.iter().enumerate() {
            ss_e += (y - row_means[i] - column_means[j] + mean).powi(2);
        }
    }
    let term = |ss: f64, df: f64, l: f64| df * l.ln() + ss / l;
    -0.5 * (term(ss_a, a - 1.0, residual + b * row)
        + term(ss_b, b - 1.0, residual + a * column)
        + term(ss_e, (a - 1.0) * (b - 1.0), residual))
}

/// statsmodels' optimizer stops short of a boundary: the crate's maximum must be at least as
/// likely as statsmodels' estimates, and equal to them where the maximum is inside (no
/// component at 0).
#[test]
fn reml_components_reach_statsmodels_maximum_or_beyond() {
    for case in fixture("reml") {
        let name = case.field("name").text();
        let grid: Vec<Vec<f64>> = case
            .field("grid")
            .array()
            .iter()
            .map(|r| r.numbers())
            .collect();
        let ours = reml_components(&grid, 2000, 0).unwrap();
        let (row, column, residual) = (
            case.field("row").number(),
            case.field("column").number(),
            case.field("residual").number(),
        );
        let theirs = restricted_log_likelihood(&grid, row, column, residual);
        let at_ours = restricted_log_likelihood(
            &grid,
            ours.row.variance,
            ours.column.variance,
            ours.residual.variance,
        );
        assert_close(name, ours.log_likelihood, at_ours, 1e-12, 1e-12);
        assert!(
            at_ours >= theirs - 1e-9,
            "{name}: {at_ours} below statsmodels' {theirs}"
        );
        if ours.row.variance > 0.0 && ours.column.variance > 0.0 {
            assert_close(name, ours.row.variance, row, 1e-3, 1e-9);
            assert_close(name, ours.column.variance, column, 1e-3, 1e-9);
            assert_close(name, ours.residual.variance, residual, 1e-3, 1e-9);
        }
        assert_eq!(ours.row.identified, grid.len() >= 3, "{name}");
        for c in [ours.row, ours.column, ours.residual] {
            let ci = c.ci95.unwrap();
            assert!(0.0 <= ci.lo && ci.lo <= ci.hi, "{name}: {ci:?}");
        }
    }
}

#[test]
fn mcnemar_matches_statsmodels_exact_test() {
    for case in fixture("mcnemar") {
        let (b, c) = (
            case.field("b").number() as usize,
            case.field("c").number() as usize,
        );
        assert_close(
            &format!("mcnemar {b} {c}"),
            mcnemar_exact(b, c),
            case.field("p").number(),
            1e-10,
            1e-300,
        );
    }
}

#[test]
fn mann_whitney_matches_scipy() {
    for case in fixture("mann_whitney") {
        let (a, b) = (case.field("a").numbers(), case.field("b").numbers());
        let ours = mann_whitney(&a, &b).unwrap();
        let what = format!("mann_whitney {a:?} {b:?}");
        assert_eq!(ours.u, case.field("u").number(), "{what}");
        assert_eq!(ours.exact, case.field("exact").as_bool().unwrap(), "{what}");
        // The exact p is a sum of counted probabilities (1e-12); the normal tail comes from
        // statrs' erfc, good to about 5e-11 relative.
        let rel = if ours.exact { 1e-12 } else { 1e-9 };
        assert_close(&what, ours.p, case.field("p").number(), rel, 1e-300);
    }
}

/// The coefficient to the last bits; the percentile interval (the pairs resampled together, 10,000
/// resamples) within the Monte Carlo error of two generators' resamples: 0.06, about three
/// standard errors of an endpoint's quantile over 9 to 12 pairs.
#[test]
fn spearman_matches_scipy() {
    for case in fixture("spearman") {
        let (x, y) = (case.field("x").numbers(), case.field("y").numbers());
        let what = format!("spearman {x:?} {y:?}");
        let rho = spearman(&x, &y).unwrap();
        assert_close(&what, rho, case.field("rho").number(), 1e-12, 1e-15);
        let ours = spearman_interval(&x, &y, &Bootstrap::default()).unwrap();
        assert!(
            -1.0 <= ours.lo && ours.lo <= rho && rho <= ours.hi && ours.hi <= 1.0,
            "{what}"
        );
        let expected = case.field("ci95").numbers();
        assert!(
            (ours.lo - expected[0]).abs() <= 0.06 && (ours.hi - expected[1]).abs() <= 0.06,
            "{what}: ours [{}, {}], SciPy's {expected:?}",
            ours.lo,
            ours.hi
        );
    }
}

#[test]
fn powers_and_runs_match_statsmodels() {
    for case in fixture("power") {
        let (d, sd, n, alpha, margin) = (
            case.field("difference").number(),
            case.field("sd").number(),
            case.field("n").number(),
            case.field("alpha").number(),
            case.field("margin").number(),
        );
        let what = format!("power d {d} sd {sd} n {n} alpha {alpha}");
        // Normal cdfs from statrs' erfc: about 5e-11 relative.
        assert_close(
            &what,
            difference_power(d, sd, n, alpha),
            case.field("power").number(),
            1e-9,
            1e-300,
        );
        assert_close(
            &what,
            equivalence_power(d, sd, margin, n, alpha),
            case.field("equivalence_power").number(),
            1e-9,
            1e-12,
        );
        let runs = runs_for_power(|n| difference_power(d, sd, n, alpha), 0.8);
        assert_eq!(
            runs.map(|r| r as f64),
            case.field("runs_for_80").option(),
            "{what}"
        );
    }
}

#[test]
fn performance_profiles_match_rliable() {
    for case in fixture("profile") {
        let runs = case.field("runs").numbers();
        let tau = case.field("tau").numbers();
        let ours = performance_profile(&runs, &tau, &Bootstrap::default()).unwrap();
        assert_eq!(ours.share, case.field("share").numbers(), "{runs:?}");
        // The band's ends move in steps of one run in n: two bootstraps agree within a step.
        let step = 1.0 / runs.len() as f64 + 1e-12;
        let (lo, hi) = (case.field("lo").numbers(), case.field("hi").numbers());
        for (i, band) in ours.band.iter().enumerate() {
            assert!(
                (band.lo - lo[i]).abs() <= step && (band.hi - hi[i]).abs() <= step,
                "{runs:?} at {}: ours {band:?}, rliable [{}, {}]",
                tau[i],
                lo[i],
                hi[i]
            );
        }
    }
}

/// Lan-DeMets' spending functions at every look, against SciPy's normal distribution (the
/// O'Brien-Fleming type's upper tail computed as a tail on both sides), to 1e-8 relative: statrs'
/// normal quantile is good to about 1e-10, and the tail's slope multiplies that by up to 25
/// early on.
#[test]
fn spending_functions_match_scipy() {
    for case in fixture("spending") {
        let spending = match case.field("spending").text() {
            "obrien-fleming" => Spending::OBrienFleming,
            _ => Spending::Pocock,
        };
        let alpha = case.field("alpha").number();
        let looks = case.field("looks").number() as usize;
        let plan = SequentialPlan {
            alpha,
            looks,
            spending,
        };
        let mut cumulative = 0.0;
        for (k, &expected) in case.field("spent").numbers().iter().enumerate() {
            let what = format!("{spending:?} alpha {alpha} look {} of {looks}", k + 1);
            let t = (k + 1) as f64 / looks as f64;
            assert_close(&what, plan.spent(t), expected, 1e-8, 1e-300);
            cumulative += plan.level(k + 1).unwrap();
            assert_close(&what, cumulative, expected, 1e-8, 1e-300);
        }
    }
}
