//! Student's t distribution where statrs alone is not accurate: the quantile for any degrees of
//! freedom, and the two-sided p-value of a t statistic.
//!
//! statrs' `inverse_cdf` inverts the incomplete beta function and then forms
//! `sqrt(df (1 - y) / y)`: near `p = 0.5` and for large `df` the `1 - y` cancels (six digits
//! lost at df 1e4, none left at 1e7), and past df of about 1e8 its Newton loop need not end.
//! Here the quantile solves `P(T > t) = 1 - p` (or `P(0 < T < t) = p - 0.5` near the center)
//! with a bounded, bracketed Newton iteration on statrs' regularized incomplete beta function,
//! always called on the argument that needs no `1 - x`; and for large `df` it is the normal
//! quantile with the Cornish-Fisher correction in powers of `1 / df`.

use std::f64::consts::{PI, SQRT_2};

use statrs::function::beta::beta_reg;
use statrs::function::erf::erfc_inv;
use statrs::function::gamma::{gamma_ur, ln_gamma};

/// From this many degrees of freedom on, the quantile is the Cornish-Fisher expansion for every
/// tail (its first neglected term is below 1e-13 relative down to the smallest positive f64);
/// from [`MEDIUM_DF`] on it is when `df >= 100 z^2` (below 1e-14). Elsewhere the incomplete beta
/// function is inverted, which statrs evaluates to about 1e-12 up to df 1e4 and 1e-10 at 1e5.
const LARGE_DF: f64 = 1e5;

/// See [`LARGE_DF`].
const MEDIUM_DF: f64 = 1e3;

/// At most this many steps of the root finder (Newton, bisection or bracket growth).
const MAX_STEPS: usize = 200;

/// The `p` quantile of Student's t distribution with `df` degrees of freedom, for any `df > 0`
/// (`f64::INFINITY` is the standard normal distribution) and `0 < p < 1`; `None` otherwise, for
/// NaN, or where the quantile is not a finite `f64` (the far tails at `df` well below 1).
///
/// Within about 2e-13 relative of a 50-digit solution for df from 1 to 1e9 and p from
/// `0.5 + 1e-6` to `1 - 1e-10` (see `tests/reference.rs`; SciPy's `t.ppf` is off by up to 4e-5
/// near `p = 0.5`), and to about 1e-12 for any df and p (checked against SciPy's `t.isf` for
/// df from 1 to 1e8 and tails down to 1e-300). Every loop is bounded: no argument can hang it.
pub fn t_quantile(p: f64, df: f64) -> Option<f64> {
    if !(df > 0.0 && p > 0.0 && p < 1.0) {
        return None;
    }
    if p == 0.5 {
        return Some(0.0);
    }
    // 1 - p is exact for p >= 0.5, so the upper tail keeps every digit of a p near 1.
    let (tail, sign) = if p > 0.5 { (1.0 - p, 1.0) } else { (p, -1.0) };
    upper_quantile(tail, df)
        .filter(|q| q.is_finite())
        .map(|q| sign * q)
}

/// The two-sided p-value `2 P(T > |t|)` of a t statistic, from the survival function: never
/// `1 - cdf`, which rounds every p-value below 1e-16 to 0 (and loses digits well above). The
/// survival function comes from [`split`] rather than statrs' `sf`, whose incomplete beta
/// function rounds `df / (df + t^2)` to 1 for `|t| < 1e-7` and so p to 1 exactly. `None` unless
/// `df > 0` and `t` is not NaN.
pub(crate) fn two_sided_p(t: f64, df: f64) -> Option<f64> {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return None;
    }
    let t = t.abs();
    if df >= LARGE_DF || (df >= MEDIUM_DF && df >= 100.0 * t * t) {
        // Where the incomplete beta function loses digits, the normal deviate z whose
        // Cornish-Fisher quantile is t gives the p-value 2 P(Z > z) = erfc(z / sqrt 2), here
        // Q(1/2, z^2 / 2): statrs' erfc is off by about 5e-11 relative, its incomplete gamma
        // function by about 1e-15 (1e-14 at p near 1e-300). Its continued fraction, for
        // a = 1/2 and 0 < z^2 / 2 <= 800 only, is checked to end in the tests.
        if t > 1e3 {
            // P(T > 1e3) < 1e-1000 for df >= 1e3.
            return Some(0.0);
        }
        let z = normal_deviate(t, df);
        return Some(if z == 0.0 {
            1.0
        } else if z > 40.0 {
            0.0
        } else {
            gamma_ur(0.5, z * z / 2.0)
        });
    }
    Some((2.0 * split(t, df).0).clamp(0.0, 1.0))
}

/// The `z >= 0` with `cornish_fisher(z, df) = t` for `t >= 0`, by Newton's method from `z = t`
/// (above the root, where the expansion is increasing and convex, so the steps fall
/// monotonically onto it), at most [`MAX_STEPS`] of them.
fn normal_deviate(t: f64, df: f64) -> f64 {
    let mut z = t;
    for _ in 0..MAX_STEPS {
        let z2 = z * z;
        let d1 = (3.0 * z2 + 1.0) / 4.0;
        let d2 = ((25.0 * z2 + 48.0) * z2 + 3.0) / 96.0;
        let d3 = (((21.0 * z2 + 95.0) * z2 + 51.0) * z2 - 15.0) / 384.0;
        let d4 = ((((711.0 * z2 + 5432.0) * z2 + 7410.0) * z2 - 5760.0) * z2 - 945.0) / 92160.0;
        let slope = 1.0 + (d1 + (d2 + (d3 + d4 / df) / df) / df) / df;
        let step = (cornish_fisher(z, df) - t) / slope;
        z -= step;
        if step.is_nan() || step.abs() <= 1e-15 * z {
            break;
        }
    }
    z.max(0.0)
}

/// The `t > 0` with `P(T > t) = tail`, for `0 < tail < 0.5`.
fn upper_quantile(tail: f64, df: f64) -> Option<f64> {
    // z > 0 with P(Z > z) = tail: erfc_inv takes both 2 tail and 1 - 2 tail exactly.
    let z = SQRT_2 * erfc_inv(2.0 * tail);
    if df >= LARGE_DF || (df >= MEDIUM_DF && df >= 100.0 * z * z) {
        return Some(cornish_fisher(z, df));
    }
    if df == 1.0 {
        // The Cauchy distribution: t = cot(pi tail) = tan(pi (0.5 - tail)), each where exact.
        return Some(if tail < 0.25 {
            1.0 / (PI * tail).tan()
        } else {
            (PI * (0.5 - tail)).tan()
        });
    }
    let ln_norm = ln_gamma((df + 1.0) / 2.0) - ln_gamma(df / 2.0) - 0.5 * (df * PI).ln();
    let density = |t: f64| (ln_norm - (df + 1.0) / 2.0 * (t * t / df).ln_1p()).exp();
    if tail < 0.25 {
        // In the tail, solve ln P(T > t) = ln tail: nearly linear in ln t, and relative.
        let ln_tail = tail.ln();
        let start = match tail_start(tail, df, z) {
            Start::Exact(t) => return Some(t),
            Start::Near(t) => t,
        };
        solve(start, |t| {
            let (upper, _) = split(t, df);
            (ln_tail - upper.ln(), density(t) / upper)
        })
    } else {
        // Near the center, solve P(0 < T < t) = 0.5 - tail (exact for tail >= 0.25).
        let center = 0.5 - tail;
        solve(z * (1.0 + (z * z + 1.0) / (4.0 * df)), |t| {
            let (_, inner) = split(t, df);
            (inner - center, density(t))
        })
    }
}

/// `(P(T > t), P(0 < T < t))` for `t >= 0`: half the regularized incomplete beta function at
/// `x = df / (df + t^2)` or at `y = t^2 / (df + t^2)`, whichever statrs evaluates without
/// forming `1 - x` itself (it swaps to `1 - x` when `x >= (a + 1) / (a + b + 2)`).
fn split(t: f64, df: f64) -> (f64, f64) {
    let s = t / df.sqrt();
    let (x, y) = if s > 1e150 {
        ((1.0 / s).powi(2), 1.0)
    } else {
        let s2 = s * s;
        (1.0 / (1.0 + s2), s2 / (1.0 + s2))
    };
    let (a, b) = (df / 2.0, 0.5);
    if y < (b + 1.0) / (a + b + 2.0) {
        let inner = 0.5 * beta_reg(b, a, y);
        (0.5 - inner, inner)
    } else {
        let upper = 0.5 * beta_reg(a, b, x);
        (upper, 0.5 - upper)
    }
}

/// Where [`solve`] starts in the tail.
enum Start {
    /// The quantile itself: beyond the f64 range of the incomplete beta function, where its
    /// first term is exact to every digit.
    Exact(f64),
    /// A start for the root.
    Near(f64),
}

/// The first term of `I_x(df/2, 1/2)` for small `x` where that is small, else the
/// Cornish-Fisher expansion.
fn tail_start(tail: f64, df: f64, z: f64) -> Start {
    // 0.5 x^(df/2) (1 - x)^(1/2) / ((df/2) B(df/2, 1/2)) = tail, with x = df / (df + t^2), the
    // next term O(x) relative.
    let ln_beta = ln_gamma(df / 2.0) + ln_gamma(0.5) - ln_gamma(df / 2.0 + 0.5);
    let ln_x = ((tail * df).ln() + ln_beta) * 2.0 / df;
    if ln_x < -600.0 {
        // t = sqrt(df (1 - x) / x) = sqrt(df / x) to every digit; infinite where it overflows.
        Start::Exact((0.5 * (df.ln() - ln_x)).exp())
    } else if ln_x < 0.1f64.ln() {
        let x = ln_x.exp();
        Start::Near((df * (1.0 - x) / x).sqrt())
    } else {
        Start::Near(cornish_fisher(z, df))
    }
}

/// The t quantile from the normal one `z`, by the Cornish-Fisher expansion to `df^-4`
/// (Abramowitz and Stegun 26.7.5).
fn cornish_fisher(z: f64, df: f64) -> f64 {
    let z2 = z * z;
    let g1 = (z2 + 1.0) * z / 4.0;
    let g2 = ((5.0 * z2 + 16.0) * z2 + 3.0) * z / 96.0;
    let g3 = (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) * z / 384.0;
    let g4 = ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) * z / 92160.0;
    z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df
}

/// The root in `t > 0` of an increasing `f` (given as `t -> (f(t), f'(t))`), from `start`:
/// Newton's steps inside a bracket that every evaluation narrows, bisection when a step would
/// leave it, growth while there is no upper end, and never more than [`MAX_STEPS`] steps.
/// `None` when the root is beyond the largest f64 (or was never bracketed).
fn solve(start: f64, f: impl Fn(f64) -> (f64, f64)) -> Option<f64> {
    let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
    let mut t = if start.is_finite() && start > 0.0 {
        start
    } else {
        1.0
    };
    for _ in 0..MAX_STEPS {
        let (value, slope) = f(t);
        if value == 0.0 {
            return Some(t);
        }
        // A NaN (a density or tail that underflowed) counts as past the root.
        if value < 0.0 {
            lo = t;
        } else {
            hi = t;
        }
        let newton = t - value / slope;
        let next = if newton > lo && newton < hi {
            newton
        } else if hi.is_infinite() {
            // Grow fast: from 1 to the end of the f64 range in about a dozen steps.
            let grown = (16.0 * t).max(t * t);
            if !grown.is_finite() {
                return None;
            }
            grown
        } else if lo > 0.0 && hi > 4.0 * lo {
            (lo * hi).sqrt()
        } else {
            0.5 * (lo + hi)
        };
        // Newton converges quadratically: a step this small leaves an error far below it.
        // (An open bracket has hi = inf, and inf - lo <= inf: only a closed one can be narrow.)
        if (next - t).abs() <= 1e-12 * next
            || (hi.is_finite() && hi - lo <= 4.0 * f64::EPSILON * hi)
        {
            return Some(next);
        }
        t = next;
    }
    // Out of steps: the last point if the root was bracketed at all.
    hi.is_finite().then_some(t)
}

#[cfg(test)]
mod tests {
    use statrs::distribution::{Continuous, ContinuousCDF, StudentsT};

    use super::*;

    #[test]
    fn the_split_adds_up_and_matches_statrs() {
        for df in [1.0, 2.5, 30.0, 1e4] {
            let dist = StudentsT::new(0.0, 1.0, df).unwrap();
            for t in [0.0, 1e-8, 0.3, 1.0, 1.96, 5.0, 100.0] {
                let (upper, inner) = split(t, df);
                assert!((upper + inner - 0.5).abs() < 1e-15, "df {df}, t {t}");
                if t >= 0.3 {
                    // Both lose about 1e-12 to ln_gamma's cancellation at df 1e4.
                    assert!((upper - dist.sf(t)).abs() < 1e-11, "df {df}, t {t}");
                } else {
                    // statrs' sf is 0.5 exactly below |t| of about 1e-7; P(0 < T < t) is
                    // density(0) t there.
                    assert!(
                        (inner - dist.pdf(0.0) * t).abs() <= 1e-10 * t,
                        "df {df}, t {t}"
                    );
                }
            }
        }
    }

    /// The reports print p-values with 3 decimals and intervals with 2: for ordinary inputs (df
    /// 4 to 20, |t| < 10) the survival function gives the same p as the old `2 (1 - cdf)` to
    /// every printed digit, and the quantile the same as statrs' inverse CDF to 1e-12.
    #[test]
    fn printed_values_do_not_change_for_ordinary_inputs() {
        let mut compared = 0;
        for df_quarters in 16..=80 {
            let df = f64::from(df_quarters) / 4.0;
            let dist = StudentsT::new(0.0, 1.0, df).unwrap();
            for hundredths in -1000..=1000 {
                let t = f64::from(hundredths) / 100.0;
                let old = (2.0 * (1.0 - dist.cdf(t.abs()))).clamp(0.0, 1.0);
                let new = two_sided_p(t, df).unwrap();
                assert_eq!(format!("{old:.3}"), format!("{new:.3}"), "t {t}, df {df}");
                assert!((old - new).abs() < 1e-13, "t {t}, df {df}: {old} vs {new}");
                compared += 1;
            }
            let (old, new) = (dist.inverse_cdf(0.975), t_quantile(0.975, df).unwrap());
            assert!((old - new).abs() < 1e-12 * old, "df {df}: {old} vs {new}");
        }
        assert_eq!(compared, 65 * 2001);
    }

    #[test]
    fn quantile_and_p_value_invert_each_other() {
        for df in [1.0, 1.5, 2.0, 3.0, 7.3, 30.0, 1e3, 5e4, 1e7] {
            for p in [1e-30, 1e-12, 1e-6, 0.01, 0.025, 0.2, 0.45, 0.4999] {
                let t = -t_quantile(p, df).unwrap();
                let back = two_sided_p(t, df).unwrap() / 2.0;
                assert!(
                    (back - p).abs() < 1e-9 * p,
                    "df {df}, p {p}: t {t}, back {back}"
                );
            }
        }
    }

    #[test]
    fn far_tails_match_a_high_precision_reference() {
        // mpmath at 60 digits (SciPy's t.ppf saturates near 1e153 there).
        let q = t_quantile(1e-300, 1.5).unwrap();
        assert!(
            (q - -5.219_469_427_344_636e199).abs() < 1e-12 * 5.22e199,
            "{q:e}"
        );
        // Infinite degrees of freedom are the normal distribution.
        let p = two_sided_p(1.959963984540054, f64::INFINITY).unwrap();
        assert!((p - 0.05).abs() < 1e-16, "{p}");
        assert_eq!(two_sided_p(0.0, f64::INFINITY), Some(1.0));
        assert_eq!(two_sided_p(1e300, 1e6), Some(0.0));
        assert_eq!(two_sided_p(f64::NAN, 3.0), None);
        assert_eq!(two_sided_p(1.0, 0.0), None);
    }

    #[test]
    fn the_normal_tail_ends_over_its_whole_range() {
        // 2 P(Z > z) for z in (0, 40], every 1e-3, and against erfc's known values.
        for k in 1..=40_000 {
            let z = f64::from(k) / 1000.0;
            let p = gamma_ur(0.5, z * z / 2.0);
            // Below the smallest normal f64 (z > 37.5) statrs returns 0.
            assert!(p < 1.0 && (p > 0.0 || z > 37.5), "z {z}: {p}");
        }
        // erfc(2 / sqrt 2) = 2 P(Z > 2) = 0.04550026389635842 (mpmath).
        let p = two_sided_p(2.0, f64::INFINITY).unwrap();
        assert!((p - 0.04550026389635842).abs() < 1e-14 * p, "{p}");
    }

    #[test]
    fn the_root_finder_is_bounded() {
        // No root: f stays negative, so the bracket grows until the f64 range ends.
        assert_eq!(solve(1.0, |_| (-1.0, 0.0)), None);
        // A flat f that never reaches 0 still stops.
        assert!(solve(1.0, |t| (t - 3.0, f64::NAN)).is_some());
        let root = solve(10.0, |t| (t * t - 2.0, 2.0 * t)).unwrap();
        assert!((root - SQRT_2).abs() < 1e-15);
    }
}
