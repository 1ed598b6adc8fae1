//! `cargo xtask sweep simulate`: the sequential design's error rates, power and cost on
//! experiments drawn from a page's committed runs ([`actfn_sweep::sequential::simulate`]),
//! beside the fixed design of 10 seeds; written as a page.

use std::path::PathBuf;

use actfn_activations::Activation;
use actfn_plot::Series;
use actfn_report::{Block, Document, Table, figure, heading, paragraph};
use actfn_sweep::report::read_runs_csv;
use actfn_sweep::sequential::{Design, Scenario, SequentialSettings, Simulated, simulate};
use anyhow::Context;
use clap::Args;

/// Arguments of `cargo xtask sweep simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// The runs the experiments are drawn from: a page's runs.csv with the study's six at
    /// patience 7 [default: docs/results/study/runs.csv].
    #[arg(long, value_name = "FILE")]
    runs_csv: Option<PathBuf>,
    /// Experiments per scenario and design.
    #[arg(long, default_value_t = 10_000, value_parser = crate::at_least_one)]
    experiments: usize,
    /// Seed of the draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where the page goes [default: docs/results/simulation].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// The fixed design the sequential one is set against.
const FIXED: usize = 10;
/// The shifts of the effect scenarios, in points.
const SHIFTS: [f64; 6] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5];

fn percent(share: f64) -> String {
    format!("{:.2}%", 100.0 * share)
}

/// The Monte Carlo standard error of a share over `n` experiments.
fn standard_error(share: f64, n: usize) -> f64 {
    (share * (1.0 - share) / n as f64).sqrt()
}

pub fn run(args: &SimulateArgs) -> anyhow::Result<()> {
    let results = crate::project_root().join("docs").join("results");
    let runs_csv = args
        .runs_csv
        .clone()
        .unwrap_or_else(|| results.join("study").join("runs.csv"));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| results.join("simulation"));
    let rows = read_runs_csv(&runs_csv)?;
    let study = Activation::study();
    let mut sources = Vec::new();
    for act in &study {
        let runs: Vec<f64> = rows
            .iter()
            .filter(|r| r.act == act.key() && r.patience == 7)
            .map(|r| 100.0 * r.test_acc)
            .collect();
        if runs.len() < 2 {
            anyhow::bail!(
                "{} has {} runs of {} at patience 7: give a runs.csv with the study's six \
                 (docs/results/study/runs.csv)",
                runs_csv.display(),
                runs.len(),
                act.key()
            );
        }
        sources.push(runs);
    }
    let n = args.experiments;
    let settings = SequentialSettings::default();
    let mut seed = args.seed;
    let mut next_seed = || {
        seed += 1;
        seed
    };
    let mut doc = Document::new("Seeds until decided: the design's error rates by simulation");
    doc.extend([paragraph(format!(
        "Each experiment draws every group's runs with replacement from a function's committed \
         runs ({}, 10 seeds each at patience 7), shifted by a chosen number of points, and \
         decides them with the code `sweep --until-decided` decides real runs with: a pilot of \
         {} seeds, {} more per look to the groups in open comparisons, at most {} seeds (4 \
         looks), O'Brien-Fleming spending of 5% over the looks, Holm over the open pairs, \
         equivalence within ±{} points. Beside it, the fixed design: {FIXED} seeds a group, \
         decided once at 5% (the fixed-size report's rule). {n} experiments per scenario and \
         design, seeded (`cargo xtask sweep simulate --experiments {n} --seed {}`); a share's \
         Monte Carlo standard error is at most {:.2} points.",
        runs_csv
            .strip_prefix(crate::project_root())
            .unwrap_or(&runs_csv)
            .display(),
        settings.pilot,
        settings.batch,
        settings.max_seeds,
        settings.margin,
        args.seed,
        100.0 * standard_error(0.5, n),
    ))]);

    // The null: six groups alike, drawn from one function's runs.
    let mut null = Table::numeric(&[
        "Drawn from",
        "Sequential: any false different",
        "Sequential: runs",
        "Fixed: any false different",
        "Fixed: runs",
    ]);
    let mut worst = 0.0_f64;
    for (act, source) in study.iter().zip(&sources) {
        let scenario = Scenario {
            sources: vec![source.clone(); 6],
            shifts: vec![0.0; 6],
        };
        let sequential = simulate(&settings, &scenario, Design::Sequential, n, next_seed());
        let fixed = simulate(&settings, &scenario, Design::Fixed(FIXED), n, next_seed());
        worst = worst.max(sequential.false_different);
        null.row(vec![
            act.name().to_string(),
            percent(sequential.false_different),
            format!("{:.1}", sequential.mean_runs),
            percent(fixed.false_different),
            format!("{:.1}", fixed.mean_runs),
        ]);
    }
    doc.extend([
        heading("No difference: the family-wise error"),
        paragraph(format!(
            "Six groups drawn alike from one function's runs: the share of experiments in which \
             any of the 15 pairs is called different (a false positive), and the runs an \
             experiment used. The design's bound is 5%; the largest share measured is {} \
             (Monte Carlo standard error {:.2} points).",
            percent(worst),
            100.0 * standard_error(worst.max(0.05), n)
        )),
        Block::Table(null),
    ]);

    // One difference: two groups, the second shifted.
    let mut effects = Table::numeric(&[
        "Drawn from, shift (points)",
        "Sequential: different",
        "Sequential: equal",
        "Sequential: runs",
        "Fixed: different",
        "Fixed: equal",
    ]);
    let mut two = SequentialSettings::default();
    two.sweep.axes.act_fn = vec![Activation::ReLU, Activation::Tanh];
    let mut curves: Vec<Series> = Vec::new();
    for (act, source) in study.iter().zip(&sources) {
        if !matches!(act, Activation::ReLU | Activation::Tanh) {
            continue;
        }
        let mut sequential_curve = Vec::new();
        let mut fixed_curve = Vec::new();
        for shift in SHIFTS {
            let scenario = Scenario {
                sources: vec![source.clone(), source.clone()],
                shifts: vec![0.0, shift],
            };
            let sequential = simulate(&two, &scenario, Design::Sequential, n, next_seed());
            let fixed = simulate(&two, &scenario, Design::Fixed(FIXED), n, next_seed());
            let (s_diff, s_equal) = sequential.pairs[0];
            let (f_diff, f_equal) = fixed.pairs[0];
            sequential_curve.push((shift, 100.0 * s_diff));
            fixed_curve.push((shift, 100.0 * f_diff));
            effects.row(vec![
                format!("{}, +{shift:.1}", act.name()),
                percent(s_diff),
                percent(s_equal),
                format!("{:.1}", sequential.mean_runs),
                percent(f_diff),
                percent(f_equal),
            ]);
        }
        curves.push(Series {
            label: format!("{}: sequential", act.name()),
            points: sequential_curve,
        });
        curves.push(Series {
            label: format!("{}: fixed {FIXED} seeds", act.name()),
            points: fixed_curve,
        });
    }
    let figures = out.join("figures");
    std::fs::create_dir_all(&figures)
        .with_context(|| format!("cannot create {}", figures.display()))?;
    actfn_plot::line_chart(
        &curves,
        "Chance to call a shifted copy different",
        "Shift (points)",
        "Called different (%)",
        &figures.join("power"),
    )?;
    doc.extend([
        heading("One difference: power and false equivalence"),
        paragraph(format!(
            "Two groups drawn from one function's runs, the second shifted: the share of \
             experiments that call them different (at shift 0 a false positive, above it the \
             power) and equal within ±{m} (a false equivalence where the shift is {m} or more), \
             and the runs used (the fixed design: {}).",
            2 * FIXED,
            m = settings.margin
        )),
        Block::Table(effects),
        figure(
            "power",
            "Chance to call a shifted copy different",
            "The share of experiments that call a group and its shifted copy different, by the \
             sequential design (up to 20 seeds, stopping when decided) and by the fixed design \
             of 10 seeds.",
        ),
    ]);

    // The study as committed.
    let scenario = Scenario {
        sources: sources.clone(),
        shifts: vec![0.0; 6],
    };
    let sequential = simulate(&settings, &scenario, Design::Sequential, n, next_seed());
    let fixed = simulate(&settings, &scenario, Design::Fixed(FIXED), n, next_seed());
    let most = simulate(
        &settings,
        &scenario,
        Design::Fixed(settings.max_seeds),
        n,
        next_seed(),
    );
    doc.extend(study_blocks(&settings, &sequential, &fixed, &most));
    let page = doc.write(&out)?;
    say!("Simulation page: {}", page.display());
    Ok(())
}

/// The study's six drawn as committed: per pair the share called different and equal by each
/// design, and the runs used.
fn study_blocks(
    settings: &SequentialSettings,
    sequential: &Simulated,
    fixed: &Simulated,
    most: &Simulated,
) -> Vec<Block> {
    let groups = settings.groups();
    let mut table = Table::numeric(&[
        "Pair",
        "Sequential: different",
        "Sequential: equal",
        "Fixed: different",
        "Fixed: equal",
        "Fixed 20: different",
        "Fixed 20: equal",
    ]);
    for (k, (i, j)) in settings.pairs().into_iter().enumerate() {
        table.row(vec![
            format!("{} vs {}", groups[i].name(), groups[j].name()),
            percent(sequential.pairs[k].0),
            percent(sequential.pairs[k].1),
            percent(fixed.pairs[k].0),
            percent(fixed.pairs[k].1),
            percent(most.pairs[k].0),
            percent(most.pairs[k].1),
        ]);
    }
    let decided = |s: &Simulated| s.pairs.iter().map(|p| p.0 + p.1).sum::<f64>();
    vec![
        heading("The study's six as committed"),
        paragraph(format!(
            "Every group drawn from its own function's runs: the share of experiments that \
             call each pair different or equal, by the sequential design, the fixed design of \
             {FIXED} seeds and the fixed design of its most seeds, {}. On average the \
             sequential design decides {:.1} of the 15 pairs with {:.1} runs, the fixed design \
             of {FIXED} seeds {:.1} with {:.0} runs, of {} seeds {:.1} with {:.0} runs.",
            settings.max_seeds,
            decided(sequential),
            sequential.mean_runs,
            decided(fixed),
            fixed.mean_runs,
            settings.max_seeds,
            decided(most),
            most.mean_runs
        )),
        Block::Table(table),
    ]
}
