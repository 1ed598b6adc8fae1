//! The search's sections of its report, put before the final comparison's statistics: the
//! screen, each stage's leaderboard with the measurements of the initial network, the
//! mechanism study (a table over the stages and a figure per stage), and the skipped formulas.

use std::path::Path;

use actfn_plot::{PointSet, ScatterPanel, scatter_grid};
use actfn_report::{Block, Table, figure, heading, paragraph};
use actfn_search::{MEASUREMENTS, Screened, Standing, mechanism, promote};

/// Rows of a stage's leaderboard on the page; `standings.csv` has them all.
const LEADERBOARD_ROWS: usize = 15;

/// Rows of the skipped formulas on the page; `candidates.json` has them all.
const SKIPPED_ROWS: usize = 30;

/// A number, or `-` for NaN; `-0.000` as `0.000`.
fn number(v: f64, digits: usize) -> String {
    if v.is_nan() {
        return "-".into();
    }
    let v = if v.abs() < 0.5 * 10f64.powi(-(digits as i32)) {
        0.0
    } else {
        v
    };
    format!("{v:.digits$}")
}

/// Each accuracy in percent.
fn percent(v: f64) -> String {
    number(100.0 * v, 2)
}

/// One stage of the search and its standings, or the final comparison.
struct StageResult<'a> {
    /// Short: `stage 0`, `final`.
    name: String,
    /// The section's heading: the name with the stage's training.
    heading: String,
    standings: &'a [Standing],
    /// What the stage ranks by: best validation accuracy in the halving, test accuracy in the
    /// final comparison (its candidates are chosen already).
    by_test: bool,
}

impl StageResult<'_> {
    fn accuracy(&self) -> fn(&Standing) -> f64 {
        if self.by_test {
            |s| s.test_acc
        } else {
            |s| s.best_val_acc
        }
    }

    /// The functions with an accuracy, which the mechanism study relates to their
    /// measurements (one whose every run diverged has none).
    fn scored(&self) -> usize {
        let accuracy = self.accuracy();
        self.standings
            .iter()
            .filter(|s| accuracy(s).is_finite())
            .count()
    }

    fn accuracy_name(&self) -> &'static str {
        if self.by_test {
            "test accuracy"
        } else {
            "best validation accuracy"
        }
    }
}

/// The stages of `standings`, each a run of standings with the same stage, in order.
fn stages_of(standings: &[Standing]) -> Vec<StageResult<'_>> {
    standings
        .chunk_by(|a, b| a.stage == b.stage)
        .map(|chunk| {
            let first = &chunk[0];
            let training = actfn_search::training(first.images, first.epochs);
            if first.stage == FINAL {
                let seeds = chunk.iter().map(|s| s.runs).max().unwrap_or(0);
                StageResult {
                    name: FINAL.into(),
                    heading: format!("Final comparison: {training} x {seeds} seeds"),
                    standings: chunk,
                    by_test: true,
                }
            } else {
                StageResult {
                    name: format!("stage {}", first.stage),
                    heading: format!(
                        "Stage {}: {training}, {} functions",
                        first.stage,
                        chunk.len()
                    ),
                    standings: chunk,
                    by_test: false,
                }
            }
        })
        .collect()
}

/// The final comparison's name in `standings.csv`.
pub(super) const FINAL: &str = "final";

/// The leaderboard of a stage: its best [`LEADERBOARD_ROWS`] by the stage's accuracy.
fn leaderboard(stage: &StageResult) -> Table {
    let mut header = vec!["rank", "function", "label", "runs"];
    header.extend(MEASUREMENTS);
    header.extend(["best val acc (%)", "test acc (%)"]);
    let mut table = Table::numeric(&header);
    table.align[1] = actfn_report::Align::Left;
    table.align[2] = actfn_report::Align::Left;
    let accuracy = stage.accuracy();
    let scores: Vec<(usize, f64)> = stage
        .standings
        .iter()
        .enumerate()
        .map(|(i, s)| (i, accuracy(s)))
        .collect();
    for (rank, i) in promote(&scores, LEADERBOARD_ROWS).into_iter().enumerate() {
        let s = &stage.standings[i];
        let mut row = vec![
            (rank + 1).to_string(),
            format!("`{}`", s.function),
            s.label.clone(),
            s.runs.to_string(),
        ];
        row.extend(s.measurements().iter().map(|&m| number(m, 3)));
        row.extend([percent(s.best_val_acc), percent(s.test_acc)]);
        table.row(row);
    }
    table
}

/// The search's sections from its standings (every stage's, the final comparison's last): the
/// screen, the mechanism table over every stage, then per stage its leaderboard and its figure
/// of accuracy against each measurement, and the skipped formulas. The figures go into
/// `figures`.
pub(super) fn search_blocks(
    screened: &Screened,
    standings: &[Standing],
    figures: &Path,
) -> anyhow::Result<Vec<Block>> {
    let stages = stages_of(standings);
    let mut blocks = vec![
        heading("Search"),
        paragraph(format!(
            "{} candidates passed the screen (finite values and derivatives on a grid from -1e4 \
             to 1e4, in f32 and f64; one candidate per behaviour on a probe grid); {} formulas \
             were skipped{}. Each stage trains its functions once (seed 0) on its images and \
             epochs; the better half by best validation accuracy goes on, and the last stage's \
             best are the finalists, compared with the built-ins under the final protocol over \
             several seeds. The measurements of the initial network are epoch 0 of each run's \
             dynamics: log10 of the first layer's gradient norm over the last's on the first \
             batch, the share of hidden units no probe image activates, the last hidden layer's \
             mean and standard deviation on the probe images; E f(Z) and Var f(Z) are the \
             function's own under a standard normal input (AQuaSurF's statistic). Every \
             stage's standings are in `standings.csv`, every candidate and skipped formula in \
             `candidates.json`.",
            screened.kept.len(),
            screened.skipped.len(),
            match screened.not_drawn {
                0 => String::new(),
                n => format!(" and {n} candidates were not drawn for the budget"),
            }
        )),
        heading("Mechanism: do measurements at initialization order the functions?"),
        paragraph(format!(
            "Per stage, Spearman's rank correlation of each measurement with the stage's \
             accuracy (best validation accuracy in the halving stages, test accuracy in the \
             final comparison), with its 95% BCa bootstrap interval (the functions resampled \
             {} times): an interval that holds 0 says nothing either way; none where \
             the resamples' correlations are undefined (a measurement mostly tied). Below, the \
             cross-validated ranking: in each of 5 folds, the single measurement (and sign) \
             that correlates most on the other folds ranks the held-out functions; the mean \
             held-out correlation is that ranking's skill, where ranking by nothing has 0. Its p \
             is a permutation test of \"better than ranking by nothing\": the share of {} \
             shufflings of the accuracies, each put through the whole procedure (the choice of \
             measurement included), that reach the observed skill (and the observed one).",
            actfn_stats::Bootstrap::default().reps,
            actfn_search::PERMUTATIONS
        )),
    ];
    let mut header = vec!["measurement".to_string()];
    header.extend(
        stages
            .iter()
            .map(|s| format!("{} (n = {})", s.name, s.scored())),
    );
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::numeric(&header);
    let mut ranking = Table::numeric(&[
        "stage",
        "folds",
        "chosen in each fold",
        "held-out ρ",
        "p (permutation)",
    ]);
    let found: Vec<_> = stages
        .iter()
        .map(|s| mechanism(s.standings, s.accuracy()))
        .collect();
    for (k, name) in MEASUREMENTS.iter().enumerate() {
        let mut row = vec![name.to_string()];
        for (associations, _) in &found {
            let a = &associations[k];
            row.push(match (a.rho, a.interval) {
                (Some(rho), Some(i)) => format!("{rho:.2} [{:.2}, {:.2}]", i.lo, i.hi),
                (Some(rho), None) => format!("{rho:.2} (no interval)"),
                _ => "-".into(),
            });
        }
        table.row(row);
    }
    for (stage, (_, prediction)) in stages.iter().zip(&found) {
        ranking.row(match prediction {
            Some(p) => vec![
                stage.name.clone(),
                p.folds.to_string(),
                p.chosen.join(", "),
                format!("{:.2}", p.held_out_rho),
                format!("{:.3}", p.p_value),
            ],
            None => vec![
                stage.name.clone(),
                "-".into(),
                "too few functions".into(),
                "-".into(),
                "-".into(),
            ],
        });
    }
    blocks.extend([Block::Table(table), Block::Table(ranking)]);

    for (k, stage) in stages.iter().enumerate() {
        blocks.push(heading(stage.heading.clone()));
        blocks.push(paragraph(format!(
            "The best {} of {} functions by {}.",
            LEADERBOARD_ROWS.min(stage.standings.len()),
            stage.standings.len(),
            stage.accuracy_name()
        )));
        blocks.push(Block::Table(leaderboard(stage)));
        let diverged: Vec<String> = stage
            .standings
            .iter()
            .filter(|s| s.diverged > 0)
            .map(|s| {
                format!(
                    "`{}` ({} of {})",
                    s.function,
                    s.diverged,
                    s.diverged + s.runs
                )
            })
            .collect();
        if !diverged.is_empty() {
            blocks.push(paragraph(format!(
                "{} functions diverged in some run (a NaN or infinite loss; the runs that did \
                 have no accuracy, and a function without a finished run is ranked last and \
                 left out of the mechanism study): {}.",
                diverged.len(),
                diverged.join(", ")
            )));
        }
        let accuracy = stage.accuracy();
        let built_in = |s: &&Standing| !s.label.starts_with("f-");
        let points = |keep: &dyn Fn(&&Standing) -> bool, m: usize| -> Vec<(f64, f64)> {
            stage
                .standings
                .iter()
                .filter(keep)
                .map(|s| (s.measurements()[m], 100.0 * accuracy(s)))
                .collect()
        };
        let panels: Vec<ScatterPanel> = MEASUREMENTS
            .iter()
            .enumerate()
            .map(|(m, name)| ScatterPanel {
                title: name.to_string(),
                sets: [
                    ("candidates", points(&|s| !built_in(s), m)),
                    ("built-ins", points(&built_in, m)),
                ]
                .into_iter()
                .filter(|(_, points)| !points.is_empty())
                .map(|(label, points)| PointSet {
                    label: label.into(),
                    points,
                })
                .collect(),
            })
            .collect();
        let stem = format!("mechanism_{k}");
        let title = format!("{}: accuracy against the initial network", stage.heading);
        scatter_grid(
            &panels,
            3,
            &title,
            &format!("{} (%)", stage.accuracy_name()),
            &figures.join(&stem),
        )?;
        blocks.push(figure(
            stem,
            title,
            format!(
                "One point per function: its {} against each measurement of its initial \
                 network (and of the function under a standard normal input).",
                stage.accuracy_name()
            ),
        ));
    }

    if !screened.skipped.is_empty() {
        let mut skipped = Table::text(&["formula", "reason"]);
        for s in screened.skipped.iter().take(SKIPPED_ROWS) {
            skipped.row(vec![format!("`{}`", s.formula), s.reason.clone()]);
        }
        blocks.extend([
            heading("Skipped"),
            paragraph(format!(
                "{} of the {} skipped formulas; `candidates.json` has them all.",
                SKIPPED_ROWS.min(screened.skipped.len()),
                screened.skipped.len()
            )),
            Block::Table(skipped),
        ]);
    }
    blocks.extend([
        heading("Final comparison: statistics"),
        paragraph(
            "The rest of this report is the sweep's report of the final comparison's runs: the \
             finalists and the built-ins, each over the final seeds, with the intervals and the \
             pairwise decisions of every sweep.",
        ),
    ]);
    Ok(blocks)
}
