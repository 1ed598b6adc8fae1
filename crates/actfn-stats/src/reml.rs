//! The variance of a crossed grid (splits x seeds, one run per cell) split into its sources by
//! restricted maximum likelihood, with parametric-bootstrap intervals, and each factor with
//! fewer than three levels marked "not identified".
//!
//! For a balanced crossed grid the restricted likelihood factors into three independent scaled
//! chi-squares: `SS_A ~ l_A chi2(a-1)`, `SS_B ~ l_B chi2(b-1)`, `SS_E ~ l_E chi2((a-1)(b-1))`
//! with `l_A = s2_e + b s2_A`, `l_B = s2_e + a s2_B`, `l_E = s2_e`. Its maximum under
//! `s2_A, s2_B >= 0` is each mean square where that keeps `l_A, l_B >= l_E`; a factor whose mean
//! square falls below the residual's is pooled into it (its component 0, its sum of squares and
//! degrees of freedom added to the residual's), which the method of moments does not do: there
//! the residual can exceed the total variance.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution};

use crate::Interval;
use crate::bootstrap::percentile;

/// The sums of squares of a crossed grid without replication.
pub(crate) struct Sums {
    pub(crate) rows: usize,
    pub(crate) columns: usize,
    pub(crate) mean: f64,
    /// `b * sum((row mean - mean)^2)`, with `a - 1` degrees of freedom.
    pub(crate) rows_ss: f64,
    /// `a * sum((column mean - mean)^2)`, with `b - 1`.
    pub(crate) columns_ss: f64,
    /// The interaction's (the residual's), with `(a - 1)(b - 1)`.
    pub(crate) residual_ss: f64,
}

impl Sums {
    /// The sums of `grid` (`grid[i][j]`: row `i`, column `j`); `None` when it is empty, ragged
    /// or holds a value that is not finite.
    pub(crate) fn of(grid: &[Vec<f64>]) -> Option<Self> {
        let a = grid.len();
        let b = grid.first()?.len();
        if b == 0
            || grid.iter().any(|r| r.len() != b)
            || grid.iter().flatten().any(|v| !v.is_finite())
        {
            return None;
        }
        let (af, bf) = (a as f64, b as f64);
        let mean = grid.iter().flatten().sum::<f64>() / (af * bf);
        let row_means: Vec<f64> = grid.iter().map(|r| r.iter().sum::<f64>() / bf).collect();
        let column_means: Vec<f64> = (0..b)
            .map(|j| grid.iter().map(|r| r[j]).sum::<f64>() / af)
            .collect();
        let residual_ss: f64 = grid
            .iter()
            .zip(&row_means)
            .flat_map(|(row, rm)| {
                row.iter()
                    .zip(&column_means)
                    .map(move |(y, cm)| (y - rm - cm + mean).powi(2))
            })
            .sum();
        Some(Self {
            rows: a,
            columns: b,
            mean,
            rows_ss: bf * row_means.iter().map(|m| (m - mean).powi(2)).sum::<f64>(),
            columns_ss: af * column_means.iter().map(|m| (m - mean).powi(2)).sum::<f64>(),
            residual_ss,
        })
    }
}

/// One variance component.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    /// The REML estimate (0 at the boundary).
    pub variance: f64,
    /// Its 95% parametric-bootstrap interval (percentiles of the estimates refitted to sums of
    /// squares drawn from the fitted model); none without resamples.
    pub ci95: Option<Interval>,
    /// Whether the grid can tell it apart: a factor needs at least three levels (with two, its
    /// estimate rests on one degree of freedom, and 0 means "not identified", not "absent").
    pub identified: bool,
}

/// The REML components of a crossed grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reml {
    /// Levels of the first factor (rows: data splits).
    pub rows: usize,
    /// Levels of the second factor (columns: seeds).
    pub columns: usize,
    /// The grand mean.
    pub mean: f64,
    /// The rows' component.
    pub row: Component,
    /// The columns' component.
    pub column: Component,
    /// The residual (interaction and noise).
    pub residual: Component,
    /// The maximized restricted log-likelihood, without its constant:
    /// `-1/2 sum(df_k ln l_k + SS_k / l_k)`.
    pub log_likelihood: f64,
}

/// The three sums of squares with their degrees of freedom.
#[derive(Debug, Clone, Copy)]
struct Squares {
    rows: (f64, f64),
    columns: (f64, f64),
    residual: (f64, f64),
}

/// The REML fit of sums of squares: `(s2_row, s2_column, s2_residual, log-likelihood)`.
fn fit(s: Squares, a: f64, b: f64) -> Option<[f64; 4]> {
    let mut best: Option<[f64; 4]> = None;
    for pool_rows in [false, true] {
        for pool_columns in [false, true] {
            let (mut ss, mut df) = s.residual;
            if pool_rows {
                ss += s.rows.0;
                df += s.rows.1;
            }
            if pool_columns {
                ss += s.columns.0;
                df += s.columns.1;
            }
            let le = ss / df;
            let la = if pool_rows { le } else { s.rows.0 / s.rows.1 };
            let lb = if pool_columns {
                le
            } else {
                s.columns.0 / s.columns.1
            };
            if la < le || lb < le || le <= 0.0 {
                continue;
            }
            let term = |(ss, df): (f64, f64), l: f64| df * l.ln() + ss / l;
            let ll = -0.5 * (term(s.rows, la) + term(s.columns, lb) + term(s.residual, le));
            if best.is_none_or(|best| ll > best[3]) {
                best = Some([(la - le) / b, (lb - le) / a, le, ll]);
            }
        }
    }
    best
}

/// The REML components of `grid` (`grid[i][j]`: row `i`, column `j`), with 95% intervals from
/// `reps` parametric-bootstrap resamples drawn from `seed` (none with `reps` 0). `None` when the
/// grid is empty, ragged, holds a value that is not finite, has fewer than two rows or columns,
/// or does not vary.
pub fn reml_components(grid: &[Vec<f64>], reps: usize, seed: u64) -> Option<Reml> {
    let sums = Sums::of(grid)?;
    let (a, b) = (sums.rows, sums.columns);
    if a < 2 || b < 2 {
        return None;
    }
    let (af, bf) = (a as f64, b as f64);
    let squares = Squares {
        rows: (sums.rows_ss, af - 1.0),
        columns: (sums.columns_ss, bf - 1.0),
        residual: (sums.residual_ss, (af - 1.0) * (bf - 1.0)),
    };
    let [row, column, residual, log_likelihood] = fit(squares, af, bf)?;
    // The bootstrap: sums of squares drawn from the fitted model's scaled chi-squares.
    let intervals = (reps > 0)
        .then(|| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let scaled = |df: f64, l: f64, rng: &mut ChaCha8Rng| -> Option<f64> {
                Some(l * ChiSquared::new(df).ok()?.sample(rng))
            };
            let (la, lb) = (residual + bf * row, residual + af * column);
            let mut fits: [Vec<f64>; 3] = [Vec::new(), Vec::new(), Vec::new()];
            for _ in 0..reps {
                let drawn = Squares {
                    rows: (scaled(squares.rows.1, la, &mut rng)?, squares.rows.1),
                    columns: (scaled(squares.columns.1, lb, &mut rng)?, squares.columns.1),
                    residual: (
                        scaled(squares.residual.1, residual, &mut rng)?,
                        squares.residual.1,
                    ),
                };
                let Some(f) = fit(drawn, af, bf) else {
                    continue;
                };
                for (all, value) in fits.iter_mut().zip(f) {
                    all.push(value);
                }
            }
            Some(fits.map(|mut v| {
                v.sort_by(f64::total_cmp);
                (!v.is_empty()).then(|| Interval {
                    lo: percentile(&v, 0.025),
                    hi: percentile(&v, 0.975),
                })
            }))
        })
        .flatten()
        .unwrap_or([None; 3]);
    let component = |variance, ci95, levels: usize| Component {
        variance,
        ci95,
        identified: levels >= 3,
    };
    Some(Reml {
        rows: a,
        columns: b,
        mean: sums.mean,
        row: component(row, intervals[0], a),
        column: component(column, intervals[1], b),
        residual: Component {
            variance: residual,
            ci95: intervals[2],
            identified: true,
        },
        log_likelihood,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_factor_below_the_residual_is_pooled_so_the_residual_never_exceeds_the_total() {
        // ELU of the splits page: 2 splits x 5 seeds, both factors below the residual.
        let elu = vec![
            vec![87.93, 88.33, 88.06, 88.78, 86.86],
            vec![88.41, 87.55, 87.95, 88.12, 88.36],
        ];
        let r = reml_components(&elu, 1000, 0).unwrap();
        let total = {
            let v: Vec<f64> = elu.iter().flatten().copied().collect();
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64
        };
        assert!(r.residual.variance <= total + 1e-12, "{r:?} vs {total}");
        assert!(!r.row.identified && r.column.identified);
        let ci = r.residual.ci95.unwrap();
        assert!(ci.lo >= 0.0 && ci.lo <= r.residual.variance && r.residual.variance <= ci.hi);
        assert_eq!(reml_components(&[vec![1.0, 2.0]], 10, 0), None);
    }
}
