//! The variance of a crossed grid split into its sources: a two-way random-effects analysis of
//! variance without replication (one run per cell).
//!
//! With `a` levels of the first factor (data splits) crossed with `b` levels of the second
//! (initial-weight seeds), each cell one value `y_ij = mu + A_i + B_j + e_ij`, the mean squares
//! estimate
//!
//! ```text
//! E[MS_A] = s2_e + b s2_A,   E[MS_B] = s2_e + a s2_B,   E[MS_E] = s2_e
//! ```
//!
//! (the interaction cannot be told from the residual with one run per cell, so `s2_e` holds
//! both). Components estimated below zero are reported as 0. The grand mean's variance is
//! `s2_A / a + s2_B / b + s2_e / (a b)`, estimated by a combination of mean squares whose
//! degrees of freedom come from Satterthwaite's approximation.

use crate::{Interval, t_quantile};

/// The variance components of a crossed grid, and the grand mean with an interval that
/// accounts for every source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarianceComponents {
    /// Levels of the first factor (rows).
    pub rows: usize,
    /// Levels of the second factor (columns).
    pub columns: usize,
    /// The variance between rows (the split's); none with one row.
    pub row: Option<f64>,
    /// The variance between columns (the seed's); none with one column.
    pub column: Option<f64>,
    /// The residual (interaction and noise); none unless both factors have two levels or more.
    pub residual: Option<f64>,
    /// The grand mean.
    pub mean: f64,
    /// Its 95% interval, accounting for both factors and the residual; none when the grid
    /// cannot estimate it.
    pub ci95: Option<Interval>,
    /// Satterthwaite's degrees of freedom of that interval.
    pub df: Option<f64>,
}

impl VarianceComponents {
    /// Each estimated component's share of their sum, `(row, column, residual)`.
    pub fn shares(&self) -> Option<(f64, f64, f64)> {
        let (r, c, e) = (self.row?, self.column?, self.residual?);
        let total = r + c + e;
        (total > 0.0).then(|| (r / total, c / total, e / total))
    }
}

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

/// The components of `grid` (`grid[i][j]`: row `i`, column `j`; every row as long). `None` when
/// the grid is empty, ragged or holds a value that is not finite.
///
/// With one row (or one column) that factor's component is not estimable, and the other
/// factor's variance is the plain sample variance (which then also holds the residual).
pub fn variance_components(grid: &[Vec<f64>]) -> Option<VarianceComponents> {
    let Sums {
        rows: a,
        columns: b,
        mean,
        rows_ss: ss_rows,
        columns_ss: ss_columns,
        residual_ss: ss_residual,
    } = Sums::of(grid)?;
    let (af, bf) = (a as f64, b as f64);
    let (df_rows, df_columns) = (af - 1.0, bf - 1.0);
    let df_residual = df_rows * df_columns;
    let components = |row, column, residual, terms: &[(f64, f64, f64)]| {
        // The grand mean's variance as sum(c_k MS_k) with Satterthwaite's df.
        let variance: f64 = terms.iter().map(|&(c, ms, _)| c * ms).sum();
        let df_denominator: f64 = terms
            .iter()
            .filter(|&&(_, _, df)| df > 0.0)
            .map(|&(c, ms, df)| (c * ms).powi(2) / df)
            .sum();
        let df =
            (variance > 0.0 && df_denominator > 0.0).then(|| variance * variance / df_denominator);
        let ci95 = df.and_then(|df| {
            Some(Interval::around(
                mean,
                t_quantile(0.975, df)? * variance.sqrt(),
            ))
        });
        Some(VarianceComponents {
            rows: a,
            columns: b,
            row,
            column,
            residual,
            mean,
            ci95,
            df,
        })
    };
    let n = af * bf;
    match (a > 1, b > 1) {
        (true, true) => {
            let ms_rows = ss_rows / df_rows;
            let ms_columns = ss_columns / df_columns;
            let ms_residual = ss_residual / df_residual;
            let row = ((ms_rows - ms_residual) / bf).max(0.0);
            let column = ((ms_columns - ms_residual) / af).max(0.0);
            // s2_A / a + s2_B / b + s2_e / (ab) with each component as estimated (a component
            // set to 0 drops its mean square from the combination).
            let mut terms = vec![(1.0 / n, ms_residual, df_residual)];
            if row > 0.0 {
                terms.push((1.0 / n, ms_rows, df_rows));
                terms.push((-1.0 / n, ms_residual, df_residual));
            }
            if column > 0.0 {
                terms.push((1.0 / n, ms_columns, df_columns));
                terms.push((-1.0 / n, ms_residual, df_residual));
            }
            // Merge the residual's terms: Satterthwaite takes one coefficient per mean square.
            let residual_coefficient: f64 = terms
                .iter()
                .filter(|t| t.1 == ms_residual && t.2 == df_residual)
                .map(|t| t.0)
                .sum();
            let mut merged: Vec<(f64, f64, f64)> = terms
                .into_iter()
                .filter(|t| !(t.1 == ms_residual && t.2 == df_residual))
                .collect();
            if residual_coefficient != 0.0 {
                merged.push((residual_coefficient, ms_residual, df_residual));
            }
            components(Some(row), Some(column), Some(ms_residual), &merged)
        }
        // One row: the columns' sample variance; the mean's variance is it over b.
        (false, true) => {
            let variance = ss_columns / df_columns;
            components(
                None,
                Some(variance),
                None,
                &[(1.0 / bf, variance, df_columns)],
            )
        }
        (true, false) => {
            let variance = ss_rows / df_rows;
            components(Some(variance), None, None, &[(1.0 / af, variance, df_rows)])
        }
        (false, false) => components(None, None, None, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Normal};

    /// A grid with row, column and residual standard deviations `s`, drawn from `seed`.
    fn synthetic(rows: usize, columns: usize, s: (f64, f64, f64), seed: u64) -> Vec<Vec<f64>> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let draw =
            |sd: f64, rng: &mut rand_chacha::ChaCha8Rng| Normal::new(0.0, sd).unwrap().sample(rng);
        let row_effects: Vec<f64> = (0..rows).map(|_| draw(s.0, &mut rng)).collect();
        let column_effects: Vec<f64> = (0..columns).map(|_| draw(s.1, &mut rng)).collect();
        row_effects
            .iter()
            .map(|r| {
                column_effects
                    .iter()
                    .map(|c| 88.0 + r + c + draw(s.2, &mut rng))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_synthetic_grid_gives_back_its_components_within_their_sampling_error() {
        let (a, b) = (40usize, 40usize);
        let (sr, sc, se) = (0.6f64, 0.3f64, 0.2f64);
        let (af, bf) = (a as f64, b as f64);
        // Expected mean squares and the standard errors of the estimates they give.
        let (e_rows, e_columns, e_residual) =
            (se * se + bf * sr * sr, se * se + af * sc * sc, se * se);
        let df_residual = (af - 1.0) * (bf - 1.0);
        let var_ms = |e: f64, df: f64| 2.0 * e * e / df;
        let se_row =
            ((var_ms(e_rows, af - 1.0) + var_ms(e_residual, df_residual)) / (bf * bf)).sqrt();
        let se_column =
            ((var_ms(e_columns, bf - 1.0) + var_ms(e_residual, df_residual)) / (af * af)).sqrt();
        let se_residual = var_ms(e_residual, df_residual).sqrt();
        let mut covered = 0;
        for seed in 0..20 {
            let c = variance_components(&synthetic(a, b, (sr, sc, se), seed)).unwrap();
            assert!((c.row.unwrap() - sr * sr).abs() < 4.0 * se_row, "{c:?}");
            assert!(
                (c.column.unwrap() - sc * sc).abs() < 4.0 * se_column,
                "{c:?}"
            );
            assert!(
                (c.residual.unwrap() - se * se).abs() < 4.0 * se_residual,
                "{c:?}"
            );
            covered += usize::from(c.ci95.unwrap().contains(88.0));
        }
        // The interval around the grand mean holds the true mean about 95% of the time.
        assert!(covered >= 16, "covered {covered} of 20");
    }

    #[test]
    fn a_grid_worked_by_hand() {
        // Rows means 2 and 4, column means 2 and 4, grand mean 3, no interaction:
        // MS_rows = 2 * (1 + 1) / 1 = 4, MS_columns = 4, MS_residual = 0.
        let c = variance_components(&[vec![1.0, 3.0], vec![3.0, 5.0]]).unwrap();
        assert_eq!(
            (c.row, c.column, c.residual),
            (Some(2.0), Some(2.0), Some(0.0))
        );
        assert_eq!(c.mean, 3.0);
        assert_eq!(c.shares(), Some((0.5, 0.5, 0.0)));
    }

    #[test]
    fn one_level_of_a_factor_is_reported_as_not_estimable_never_nan() {
        let one_split = variance_components(&[vec![88.0, 88.4, 87.9, 88.3]]).unwrap();
        assert_eq!((one_split.row, one_split.residual), (None, None));
        let column = one_split.column.unwrap();
        assert!(column.is_finite() && column > 0.0);
        assert!(one_split.ci95.unwrap().contains(one_split.mean));
        assert_eq!(one_split.shares(), None);
        let one_seed = variance_components(&[vec![88.0], vec![88.6]]).unwrap();
        assert_eq!((one_seed.column, one_seed.residual), (None, None));
        assert!(one_seed.row.unwrap().is_finite());
        let single = variance_components(&[vec![88.0]]).unwrap();
        assert_eq!((single.row, single.column, single.ci95), (None, None, None));
        assert_eq!(variance_components(&[vec![1.0, 2.0], vec![3.0]]), None);
        assert_eq!(variance_components(&[]), None);
    }
}
