//! A sequential sweep's section of the report: the design, each comparison's decision with the
//! look and the runs that made it, the looks, the seeds spent per function, and what comes
//! next.

use std::path::Path;

use actfn_plot::Series;
use actfn_report::{Block, Table, figure, heading, paragraph};
use actfn_stats::{Decision, PairTest};

use super::{End, Next, Progress, SequentialSettings};
use crate::Result;
use crate::report::decision_text;

/// The fixed design the sequential one is set against: the study's 10 seeds a function.
const FIXED_SEEDS: usize = 10;

/// A p-value in a table.
fn p(value: f64) -> String {
    if value < 1e-4 {
        format!("{value:.1e}")
    } else {
        format!("{value:.4}")
    }
}

/// The section: the design, the comparisons, the looks, the figure of seeds per function
/// (drawn into `figures`) and the state.
pub fn sequential_blocks(
    settings: &SequentialSettings,
    progress: &Progress,
    figures: &Path,
) -> Result<Vec<Block>> {
    let plan = settings.plan();
    let levels: Vec<String> = (1..=plan.looks)
        .map(|k| p(plan.level(k).unwrap_or(0.0)))
        .collect();
    let mut blocks = vec![
        heading("Seeds until decided"),
        paragraph(format!(
            "A sequential design: a pilot of {} seeds a function, then {} more at each look to \
             the functions in a comparison still open, at most {} looks ({} seeds a function). \
             The family-wise level {} is spent over the looks by Lan-DeMets' {} function, each \
             look's share its level (in order: {}): by Bonferroni's inequality over the looks \
             the chance of any false \"different\" at any look is at most {}, and so is that of \
             any false \"equal\"; at each look the pairs still open are corrected by Holm. A pair is **different** by the test of a \
             difference (Welch's, or Mann-Whitney's where a function's runs are a mixture of \
             chance and trained runs), equal by TOST within ±{} points, else undecided. The \
             later sections are the fixed-size report of the same runs: their decisions assume \
             one look and are not this design's.",
            settings.pilot,
            settings.batch,
            plan.looks,
            settings.max_seeds,
            settings.alpha,
            match settings.spending {
                actfn_stats::Spending::Pocock => "Pocock-type",
                _ => "O'Brien-Fleming-type",
            },
            levels.join(", "),
            settings.alpha,
            settings.margin,
        )),
    ];

    let mut comparisons = Table::numeric(&[
        "Pair",
        "Decision",
        "Look",
        "Runs (each)",
        "Difference (points)",
        "p (Holm)",
        "TOST p (Holm)",
        "Level",
    ]);
    for c in &progress.comparisons {
        let last = c.last.as_ref();
        comparisons.row(vec![
            format!("{} vs {}", c.pair.0.name(), c.pair.1.name()),
            decision_text(c.decision, settings.margin),
            c.look.map_or("open".into(), |k| k.to_string()),
            format!("{} / {}", c.runs.0, c.runs.1),
            last.and_then(|d| d.difference)
                .map_or("".into(), |d| format!("{d:+.2}")),
            last.map_or("".into(), |d| match d.test {
                PairTest::Rank => format!("{} (rank test)", p(d.holm_p)),
                _ => p(d.holm_p),
            }),
            last.map_or("".into(), |d| p(d.tost_p)),
            c.level.map_or("".into(), p),
        ]);
    }
    blocks.extend([
        paragraph(
            "Per comparison: the decision, the look that made it (open: none yet), the runs of \
             each function it was made on (or so far), the difference of the means, the tests' \
             p-values (Welch's, or the rank test where marked) corrected by Holm over the pairs \
             open at that look, and that look's level.",
        ),
        Block::Table(comparisons),
    ]);

    let mut looks = Table::numeric(&["Look", "Seeds", "Level", "Functions", "Reused", "Decided"]);
    for look in &progress.looks {
        let names = |acts: &[actfn_activations::Activation]| {
            acts.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
        };
        looks.row(vec![
            look.number.to_string(),
            format!("{}-{}", look.seeds.start, look.seeds.end.saturating_sub(1)),
            p(look.level),
            names(&look.groups),
            names(&look.reused),
            look.decided.to_string(),
        ]);
    }
    blocks.extend([
        paragraph(
            "Per look: the seeds it added, its level, the functions it added them to (those in \
             an open comparison), of which reused from committed runs, and the comparisons it \
             decided.",
        ),
        Block::Table(looks),
    ]);

    // Seeds per function after each look.
    let series: Vec<Series> = settings
        .groups()
        .iter()
        .map(|&act| {
            let mut seeds = 0;
            let points = progress
                .looks
                .iter()
                .map(|look| {
                    if look.groups.contains(&act) {
                        seeds += look.seeds.end - look.seeds.start;
                    }
                    (look.number as f64, seeds as f64)
                })
                .collect();
            Series {
                label: act.name().to_string(),
                points,
            }
        })
        .collect();
    if !progress.looks.is_empty() {
        actfn_plot::line_chart(
            &series,
            "Seeds per function over the looks",
            "Look",
            "Seeds",
            &figures.join("sequential_seeds"),
        )?;
        blocks.push(figure(
            "sequential_seeds",
            "Seeds per function over the looks",
            "A function stops getting seeds once every comparison it is in is decided.",
        ));
    }

    let spent = progress.trained + progress.reused.len();
    let fixed = FIXED_SEEDS * settings.groups().len();
    let open: Vec<String> = progress
        .open()
        .map(|c| format!("{} vs {}", c.pair.0.name(), c.pair.1.name()))
        .collect();
    let state = match &progress.next {
        Next::Done(End::Decided) => "Every comparison is decided.".to_string(),
        Next::Done(End::MaxSeeds) => format!("The last look is made; open: {}.", open.join(", ")),
        Next::Done(End::Budget { needed }) => format!(
            "Stopped by the budget of {} runs (the next look needs {needed}); open: {}.",
            settings.budget_runs.unwrap_or(0),
            open.join(", ")
        ),
        Next::Train(t) => format!(
            "Open: {}. Next: look {}, seeds {}-{} of {} ({} runs).",
            open.join(", "),
            t.look,
            t.settings.axes.seed.first().copied().unwrap_or(0),
            t.settings.axes.seed.last().copied().unwrap_or(0),
            t.settings
                .axes
                .act_fn
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", "),
            t.settings.runs().map_or(0, |r| r.len())
        ),
    };
    let decided = progress
        .comparisons
        .iter()
        .filter(|c| c.decision != Decision::Undecided)
        .count();
    blocks.push(paragraph(format!(
        "{state} {decided} of {} comparisons decided with {spent} runs ({} trained, {} reused); \
         the fixed design of {FIXED_SEEDS} seeds a function is {fixed} runs.",
        progress.comparisons.len(),
        progress.trained,
        progress.reused.len(),
    )));
    Ok(blocks)
}
