//! Depth: for each function trained at several depths of one width, its test accuracy, its
//! dead units at initialization and after training, and how the gradient shrinks from the last
//! layer to the first at initialization, each against the number of hidden layers.

use std::path::Path;

use actfn_activations::Activation;
use actfn_plot::{Band, Corner};
use actfn_report::{Block, figure, heading, paragraph};
use actfn_train::NetworkState;

use super::Analysis;
use super::figures::{empty_band, push_mean};
use super::groups::Setting;
use super::inputs::GroupRuns;
use crate::{FinishedRun, Result};

/// One function under one setting at several depths.
struct Depths<'g, 'r> {
    act: Activation,
    /// The groups by number of hidden layers, shallowest first.
    curve: Vec<(usize, &'g GroupRuns<'r>)>,
}

/// The groups that differ only in their number of hidden layers, every layer of one width.
fn depths<'g, 'r>(groups: &'g [GroupRuns<'r>]) -> Vec<Depths<'g, 'r>> {
    let mut families: Vec<(Activation, Setting, Depths)> = Vec::new();
    for g in groups {
        let hidden = &g.key.setting.hidden;
        let Some(&width) = hidden.first() else {
            continue;
        };
        if hidden.iter().any(|&h| h != width) {
            continue;
        }
        let mut setting = g.key.setting.clone();
        setting.hidden = vec![width];
        match families
            .iter_mut()
            .find(|(act, s, _)| *act == g.key.act && *s == setting)
        {
            Some((_, _, d)) => d.curve.push((hidden.len(), g)),
            None => families.push((
                g.key.act,
                setting,
                Depths {
                    act: g.key.act,
                    curve: vec![(hidden.len(), g)],
                },
            )),
        }
    }
    families
        .into_iter()
        .map(|(_, _, mut d)| {
            d.curve.sort_by_key(|(depth, _)| *depth);
            d
        })
        .filter(|d| d.curve.len() >= 2)
        .collect()
}

/// A run's mean dead share over its hidden layers at `epoch` (0: the initial network), in
/// percent, if it recorded that epoch.
fn dead_share(run: &FinishedRun, epoch: usize) -> Option<f64> {
    NetworkState::at(&run.record.dynamics, epoch)
        .dead_share
        .map(|share| 100.0 * share)
}

/// log10 of the first layer's weight-gradient norm over the last layer's, at initialization.
fn gradient_ratio(run: &FinishedRun) -> Option<f64> {
    NetworkState::at(&run.record.dynamics, 0).gradient_ratio_log10
}

/// One of the section's quantities: a value per run.
struct Quantity {
    stem: &'static str,
    title: &'static str,
    y_label: &'static str,
    caption: &'static str,
    legend: Corner,
    value: fn(&FinishedRun) -> Option<f64>,
}

const QUANTITIES: [Quantity; 4] = [
    Quantity {
        stem: "depth_test_accuracy",
        title: "Test accuracy over depth",
        y_label: "test accuracy (%)",
        caption: "Per function, the mean test accuracy at each depth with its 95% BCa band over \
                  seeds.",
        legend: Corner::LowerLeft,
        value: |r| Some(r.test_percent()),
    },
    Quantity {
        stem: "depth_dead_initial",
        title: "Dead units at initialization",
        y_label: "dead units (%, mean over hidden layers)",
        caption: "Per function, the share of hidden units whose output is exactly 0 on every one \
                  of 1,024 training images, in the initial network, mean over its hidden \
                  layers; mean and 95% BCa band over seeds.",
        legend: Corner::UpperLeft,
        value: |r| dead_share(r, 0),
    },
    Quantity {
        stem: "depth_dead_trained",
        title: "Dead units after training",
        y_label: "dead units (%, mean over hidden layers)",
        caption: "The same after training, at the best epoch (whose weights the run keeps).",
        legend: Corner::UpperLeft,
        value: |r| dead_share(r, r.record.summary.best_epoch),
    },
    Quantity {
        stem: "depth_gradient_ratio",
        title: "Gradient of the first layer over the last, at initialization",
        y_label: "log10(|grad first| / |grad last|)",
        caption: "Per function, log10 of the norm of the first layer's weight gradient over the \
                  last layer's on the first training batch of the initial network: below 0 the \
                  gradient shrinks on its way back to the input (vanishes), above 0 it grows.",
        legend: Corner::LowerLeft,
        value: gradient_ratio,
    },
];

/// The section, where some function was trained at several depths.
pub(super) fn depth_blocks(
    groups: &[GroupRuns],
    analysis: &Analysis,
    figures: &Path,
) -> Result<Vec<Block>> {
    let families = depths(groups);
    if families.is_empty() {
        return Ok(Vec::new());
    }
    let mut blocks = vec![
        heading("Depth"),
        paragraph(
            "The functions trained at several depths of one width, against the number of hidden \
             layers. Runs recorded before the initial network was measured (epoch 0 of \
             dynamics.csv) and runs read from a runs.csv have no value at initialization.",
        ),
    ];
    for q in &QUANTITIES {
        let bands: Vec<Band> = families
            .iter()
            .filter_map(|d| band(d, q.value, analysis))
            .collect();
        if bands.is_empty() {
            continue;
        }
        actfn_plot::band_chart(
            &bands,
            q.title,
            ("hidden layers", q.y_label),
            q.legend,
            &figures.join(q.stem),
        )?;
        blocks.push(figure(q.stem, q.title, q.caption));
    }
    Ok(blocks)
}

/// A function's mean of `value` at each depth with its BCa band; depths where no run has the
/// value are left out, and a function with fewer than two is.
fn band(d: &Depths, value: fn(&FinishedRun) -> Option<f64>, analysis: &Analysis) -> Option<Band> {
    let mut band = empty_band(d.act.name().to_string());
    for (depth, g) in &d.curve {
        let values: Vec<f64> = g.runs.iter().filter_map(|r| value(r)).collect();
        push_mean(&mut band, *depth as f64, &values, analysis);
    }
    (band.xs.len() >= 2).then_some(band)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actfn_train::LayerDynamics;

    fn run(act: &str, hidden: usize, seed: u64, norms: &[f64], dead: &[f64]) -> FinishedRun {
        let row = super::super::RunRow {
            index: 0,
            id: String::new(),
            act: act.into(),
            seed,
            split_seed: 42,
            hidden: vec!["64"; hidden].join("x"),
            patience: 7,
            init: actfn_model::Init::PyTorch,
            max_epochs: 50,
            batch_size: 256,
            optimizer: "sgd".into(),
            lr: 0.01,
            momentum: Some(0.9),
            subset: None,
            device: "cpu".into(),
            threads: 1,
            epochs_run: 10,
            best_epoch: 3,
            best_val_acc: 0.8,
            test_acc: 0.8,
            stopped_early: true,
            seconds: 1.0,
            host: "test".into(),
        };
        let mut run = row.finished_run().unwrap();
        let layers = hidden + 1;
        for epoch in [0, 3] {
            for (layer, &weight_grad_norm) in norms.iter().enumerate().take(layers) {
                run.record.dynamics.push(LayerDynamics {
                    epoch,
                    layer,
                    weight_grad_norm,
                    activation: (layer < hidden).then(|| actfn_diagnostics::LayerProbe {
                        dead_share: dead[epoch.min(1)],
                        mean: 0.0,
                        std: 1.0,
                    }),
                });
            }
        }
        run
    }

    #[test]
    fn measures_come_from_the_initial_and_the_best_epoch() {
        // Norms 0.01 (first) to 1 (last): the gradient shrinks a hundredfold, log10 = -2.
        let r = run("sigmoid", 3, 0, &[0.01, 0.1, 0.5, 1.0], &[0.25, 0.5]);
        assert!((gradient_ratio(&r).unwrap() + 2.0).abs() < 1e-12);
        assert_eq!(dead_share(&r, 0), Some(25.0));
        assert_eq!(dead_share(&r, r.record.summary.best_epoch), Some(50.0));
        assert_eq!(dead_share(&r, 7), None);
    }

    #[test]
    fn families_cross_depths_of_one_width_only() {
        let runs: Vec<FinishedRun> = [2, 4]
            .into_iter()
            .flat_map(|depth| {
                (0..2).map(move |seed| run("relu", depth, seed, &[1.0; 5], &[0.0, 0.1]))
            })
            .collect();
        let inputs = super::super::Inputs {
            finished: runs,
            ..Default::default()
        };
        let groups = super::super::inputs::groups(&inputs);
        let families = depths(&groups);
        assert_eq!(families.len(), 1);
        let depths: Vec<usize> = families[0].curve.iter().map(|(d, _)| *d).collect();
        assert_eq!(depths, [2, 4]);
        let dir = tempfile::tempdir().unwrap();
        let blocks = depth_blocks(&groups, &Analysis::default(), dir.path()).unwrap();
        assert!(dir.path().join("depth_gradient_ratio.svg").is_file());
        assert_eq!(blocks.len(), 2 + QUANTITIES.len());
    }
}
