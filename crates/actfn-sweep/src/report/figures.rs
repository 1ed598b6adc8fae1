//! The sweep report's figures and its opening paragraph: every run's test accuracy per
//! activation, the validation curves as mean and band, and the dynamics per layer over epochs.

use std::path::Path;

use actfn_model::BaseNetworkConfig;
use actfn_plot::{Band, Corner, LinePanel, PointGroup};
use actfn_report::{Block, figure, heading, paragraph};

use super::Analysis;
use super::inputs::{GroupRuns, Inputs};
use super::tables::{Group, TRAINED_ABOVE};
use crate::grid::sizes;
use actfn_train::OptimizerConfig;

use crate::Result;

/// Optimizers in words: `SGD lr 0.01, momentum 0.9` for one, `SGD momentum 0.9 at lr 0.001,
/// 0.01; Adam betas 0.9/0.999 eps 1e-8 at lr 0.0001` for several.
fn optimizer_list(optimizers: &[OptimizerConfig]) -> String {
    if let [one] = optimizers {
        return one.to_string();
    }
    // One entry per optimizer and settings, with its learning rates in the order given.
    let mut kinds: Vec<(String, Vec<String>)> = Vec::new();
    for optimizer in optimizers {
        let describe: Vec<String> = optimizer
            .describe()
            .iter()
            .map(|(name, value)| format!(" {name} {value}"))
            .collect();
        let kind = format!("{}{}", optimizer.name(), describe.concat());
        let lr = optimizer.lr().to_string();
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, lrs)) => lrs.push(lr),
            None => kinds.push((kind, vec![lr])),
        }
    }
    let kinds: Vec<String> = kinds
        .into_iter()
        .map(|(kind, lrs)| format!("{kind} at lr {}", lrs.join(", ")))
        .collect();
    kinds.join("; ")
}

/// What the sweeps ran: axes, protocol, machine; sweeps that differ only in their optimizer
/// (one learning rate each) in one paragraph.
pub fn settings_blocks(inputs: &Inputs) -> Vec<Block> {
    // Each sweep's grid, the rest of its protocol, and its optimizers.
    let mut paragraphs: Vec<(String, String, Vec<OptimizerConfig>)> = Vec::new();
    for s in &inputs.settings {
        let seeds = |v: &[u64]| match v {
            [one] => one.to_string(),
            many => format!("{} ({}..{})", many.len(), many[0], many[many.len() - 1]),
        };
        let (a, t) = (&s.axes, &s.template);
        let keys: Vec<&str> = a.act_fn.iter().map(|act| act.key()).collect();
        let hidden: Vec<String> = a.hidden_sizes.iter().map(|h| sizes(h, "-")).collect();
        let grid = format!(
            "Grid: activations {}; seeds {}; split seeds {}; hidden {}; patience {}.",
            keys.join(", "),
            seeds(&a.seed),
            seeds(&a.split_seed),
            hidden.join(" / "),
            a.patience
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
        let rest = format!(
            "batch {}, at most {} epochs{}; {} with {} thread(s) per run.",
            t.batch_size,
            t.max_epochs,
            t.subset
                .map(|n| format!(", first {n} training images"))
                .unwrap_or_default(),
            s.device,
            s.threads
        );
        match paragraphs
            .iter_mut()
            .find(|(g, r, _)| *g == grid && *r == rest)
        {
            Some((_, _, optimizers)) => optimizers.extend(s.optimizers()),
            None => paragraphs.push((grid, rest, s.optimizers())),
        }
    }
    let mut blocks: Vec<Block> = paragraphs
        .into_iter()
        .map(|(grid, rest, optimizers)| {
            paragraph(format!(
                "{grid} Protocol: {}, {rest}",
                optimizer_list(&optimizers)
            ))
        })
        .collect();
    blocks.push(paragraph(cost(inputs)));
    blocks
}

/// What the runs cost: the wall time of the local sessions and the run time summed over runs.
fn cost(inputs: &Inputs) -> String {
    let hours = |seconds: f64| format!("{:.1} h", seconds / 3600.0);
    let actfn: f64 = inputs
        .finished
        .iter()
        .map(|r| r.record.summary.seconds)
        .sum();
    let peer: f64 = inputs.peer.iter().map(|p| p.result.seconds).sum();
    let mut text = format!(
        "Run time summed over runs: actfn {} ({} runs)",
        hours(actfn),
        inputs.finished.len()
    );
    if !inputs.peer.is_empty() {
        text += &format!(", PyTorch {} ({} runs)", hours(peer), inputs.peer.len());
    }
    text.push('.');
    if !inputs.sessions.is_empty() {
        let wall: f64 = inputs.sessions.iter().map(|s| s.wall_seconds).sum();
        let mut hosts: Vec<String> = inputs
            .sessions
            .iter()
            .map(|s| format!("{} jobs x {} thread(s) on {}", s.jobs, s.threads, s.host))
            .collect();
        hosts.sort();
        hosts.dedup();
        text += &format!(
            " Wall time of the local sweeps: {} in {} session(s) ({}).",
            hours(wall),
            inputs.sessions.len(),
            hosts.join("; ")
        );
    }
    text
}

/// Every run's test accuracy as a point, with the mean and its BCa interval per group.
pub fn test_accuracy(figures: &Path, groups: &[Group], analysis: &Analysis) -> Result<Vec<Block>> {
    let points: Vec<PointGroup> = groups
        .iter()
        .filter_map(|g| {
            let d = actfn_stats::describe(&g.test)?;
            let bca = analysis.mean_bca(&g.test);
            Some(PointGroup {
                label: g.label.clone(),
                values: g.test.clone(),
                mean: d.mean,
                interval: bca.map(|i| (i.lo, i.hi)),
            })
        })
        .collect();
    actfn_plot::strip_chart(
        &points,
        "Test accuracy over seeds",
        "Test accuracy (%)",
        &figures.join("test_accuracy"),
    )?;
    Ok(vec![figure(
        "test_accuracy",
        "Test accuracy over seeds",
        "One point per run; the bar is the mean and the whiskers its 95% BCa bootstrap \
         interval, which stays within the runs' range. Overlapping whiskers mean a single run \
         could have ranked them either way.",
    )])
}

/// Groups a figure of one curve or panel per group draws at most: beyond it curves share
/// colours and panels run on for pages.
pub const MOST_DRAWN: usize = 16;

/// Thresholds of a performance profile.
const PROFILE_POINTS: usize = 80;

/// The performance profile of every group: the share of its runs above each test accuracy,
/// with a bootstrap band, over the range of the groups whose runs all trained.
pub fn profiles(figures: &Path, groups: &[Group], analysis: &Analysis) -> Result<Vec<Block>> {
    // The range of the groups whose runs all trained (where the groups differ), else of
    // every run: a group with runs below it reads as a profile that starts below 1.
    let trained: Vec<f64> = groups
        .iter()
        .filter(|g| g.test.iter().all(|t| *t > TRAINED_ABOVE))
        .flat_map(|g| g.test.iter().copied())
        .collect();
    let shown = if trained.is_empty() {
        groups.iter().flat_map(|g| g.test.iter().copied()).collect()
    } else {
        trained
    };
    let (lo, hi) = shown
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    if lo > hi {
        return Ok(Vec::new());
    }
    let (lo, hi) = (lo - 0.1, hi + 0.1);
    let thresholds: Vec<f64> = (0..PROFILE_POINTS)
        .map(|k| lo + (hi - lo) * k as f64 / (PROFILE_POINTS - 1) as f64)
        .collect();
    let bands: Vec<Band> = groups
        .iter()
        .filter_map(|g| {
            let p = actfn_stats::performance_profile(&g.test, &thresholds, &analysis.bootstrap)?;
            Some(Band {
                label: g.label.clone(),
                xs: p.thresholds,
                mean: p.share,
                lo: p.band.iter().map(|b| b.lo).collect(),
                hi: p.band.iter().map(|b| b.hi).collect(),
                marks: Vec::new(),
            })
        })
        .collect();
    if bands.is_empty() {
        return Ok(Vec::new());
    }
    actfn_plot::band_chart(
        &bands,
        "Performance profiles",
        ("Test accuracy τ (%)", "Share of runs above τ"),
        Corner::LowerLeft,
        &figures.join("profiles"),
    )?;
    Ok(vec![figure(
        "profiles",
        "Performance profiles",
        "For each group, the share of its runs whose test accuracy is above τ, with a 95% \
         bootstrap band (rliable's performance profile): a curve to the right of another is \
         better at every level; a curve that starts below 1 is a group some of whose runs did \
         not train.",
    )])
}

/// A band of no points yet.
pub(super) fn empty_band(label: String) -> Band {
    Band {
        label,
        xs: Vec::new(),
        mean: Vec::new(),
        lo: Vec::new(),
        hi: Vec::new(),
        marks: Vec::new(),
    }
}

/// Adds the point at `x` to `band`: the mean of `values`, its BCa interval as the band's edges
/// (the mean itself where there is none). Returns the mean; adds nothing for no values.
pub(super) fn push_mean(
    band: &mut Band,
    x: f64,
    values: &[f64],
    analysis: &Analysis,
) -> Option<f64> {
    let m = super::tables::mean(values)?;
    let bca = analysis.mean_bca(values);
    band.xs.push(x);
    band.mean.push(m);
    band.lo.push(bca.map_or(m, |b| b.lo));
    band.hi.push(bca.map_or(m, |b| b.hi));
    Some(m)
}

/// Per epoch, the mean and standard deviation over the runs that reached it (at least two),
/// of a number each run records per epoch, as a band.
fn mean_band(label: &str, runs: &[Vec<f64>]) -> Option<Band> {
    let longest = runs.iter().map(Vec::len).max()?;
    let mut band = empty_band(label.to_string());
    for epoch in 0..longest {
        let values: Vec<f64> = runs.iter().filter_map(|r| r.get(epoch).copied()).collect();
        let Some(d) = actfn_stats::describe(&values).filter(|d| d.n >= 2) else {
            continue;
        };
        let sd = d.sd.unwrap_or(0.0);
        band.xs.push((epoch + 1) as f64);
        band.mean.push(d.mean);
        band.lo.push(d.mean - sd);
        band.hi.push(d.mean + sd);
    }
    (!band.xs.is_empty()).then_some(band)
}

/// Validation accuracy over epochs per group: the mean over seeds and a band of one standard
/// deviation.
pub fn validation_bands(figures: &Path, groups: &[GroupRuns]) -> Result<Vec<Block>> {
    let bands: Vec<Band> = groups
        .iter()
        .filter_map(|g| {
            let curves: Vec<Vec<f64>> = g
                .runs
                .iter()
                .map(|r| r.record.metrics.iter().map(|m| 100.0 * m.val_acc).collect())
                .collect();
            mean_band(&g.group.label, &curves)
        })
        .collect();
    if bands.is_empty() {
        return Ok(Vec::new());
    }
    actfn_plot::band_chart(
        &bands,
        "Validation accuracy over seeds",
        ("Epochs", "Validation accuracy (%)"),
        Corner::LowerRight,
        &figures.join("validation_bands"),
    )?;
    Ok(vec![
        heading("Training dynamics"),
        figure(
            "validation_bands",
            "Validation accuracy over seeds",
            "Mean over the seeds still training at each epoch, with a band of one standard \
             deviation; a curve ends where fewer than two runs remain.",
        ),
    ])
}

/// One per-layer dynamic, averaged over a group's runs per epoch, as one panel per group.
fn dynamics_panels(
    groups: &[GroupRuns],
    value: impl Fn(&actfn_train::LayerDynamics) -> Option<f64>,
) -> Vec<LinePanel> {
    groups
        .iter()
        .filter_map(|GroupRuns { group, runs, .. }| {
            let layers = runs
                .iter()
                .flat_map(|r| r.record.dynamics.iter().map(|d| d.layer + 1))
                .max()?;
            let epochs = runs.iter().map(|r| r.record.metrics.len()).max()?;
            let mut xs = Vec::new();
            let mut series: Vec<(String, Vec<f32>)> = (0..layers)
                .map(|l| (BaseNetworkConfig::linear_name(l), Vec::new()))
                .collect();
            for epoch in 1..=epochs {
                let per_layer: Vec<Option<f64>> = (0..layers)
                    .map(|layer| {
                        let values: Vec<f64> = runs
                            .iter()
                            .flat_map(|r| &r.record.dynamics)
                            .filter(|d| d.epoch == epoch && d.layer == layer)
                            .filter_map(&value)
                            .collect();
                        (!values.is_empty())
                            .then(|| values.iter().sum::<f64>() / values.len() as f64)
                    })
                    .collect();
                if per_layer.iter().all(Option::is_none) {
                    continue;
                }
                xs.push(epoch as f32);
                for (s, v) in series.iter_mut().zip(&per_layer) {
                    s.1.push(v.unwrap_or(f64::NAN) as f32);
                }
            }
            // Layers without the quantity (the output layer's dead share) are left out.
            series.retain(|(_, ys)| ys.iter().any(|v| v.is_finite()));
            (!xs.is_empty() && !series.is_empty()).then(|| LinePanel {
                title: group.label.clone(),
                xs,
                series,
                y_range: None,
            })
        })
        .collect()
}

/// The dead-neuron share and the weight-gradient norm of every layer over the epochs, mean over
/// seeds, one panel per group.
pub fn dynamics(figures: &Path, groups: &[GroupRuns]) -> Result<Vec<Block>> {
    /// One figure: its panels, file stem, plot title, and its title and caption in the report.
    struct Dynamic {
        panels: Vec<LinePanel>,
        stem: &'static str,
        plot_title: &'static str,
        title: &'static str,
        caption: &'static str,
    }
    let figures_of = [
        Dynamic {
            panels: dynamics_panels(groups, |d| d.activation.map(|a| 100.0 * a.dead_share)),
            stem: "dead_share",
            plot_title: "Dead neurons on the probe images (%), mean over seeds",
            title: "Dead neurons per layer over epochs",
            caption: "The share of each hidden layer's neurons that are 0 on all 1024 probe \
                      images after each epoch: ReLU's climb in the last layers is neurons that \
                      died in training.",
        },
        Dynamic {
            panels: dynamics_panels(groups, |d| {
                (d.weight_grad_norm > 0.0).then(|| d.weight_grad_norm.log10())
            }),
            stem: "gradient_norms",
            plot_title: "log10 of the weight-gradient norm per layer, mean over seeds",
            title: "Weight-gradient norms per layer over epochs",
            caption: "The mean norm of each layer's weight gradient over an epoch's steps, on a \
                      log scale: layers far apart mean the gradient fades (or grows) on its way \
                      to the input.",
        },
    ];
    let mut blocks = Vec::new();
    for d in figures_of {
        if d.panels.is_empty() {
            continue;
        }
        actfn_plot::line_grid(&d.panels, 3, d.plot_title, &figures.join(d.stem))?;
        blocks.push(figure(d.stem, d.title, d.caption));
    }
    Ok(blocks)
}
