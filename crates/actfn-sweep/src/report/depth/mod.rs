//! Depth: for each function trained at several depths of one width, its test accuracy, its
//! dead units at initialization and after training, and how the gradient shrinks from the last
//! layer to the first at initialization, each against the number of hidden layers: figures
//! here, the tables behind the findings (the deepest against the shallowest, decided; the
//! measures at initialization with their intervals) in `tables`.

mod tables;

use std::path::Path;

use actfn_activations::Activation;
use actfn_plot::{Band, Corner};
use actfn_report::{Block, figure, heading, paragraph};
use actfn_train::NetworkState;

use super::Analysis;
use super::figures::{empty_band, push_mean};
use super::groups::{GroupKey, Setting, Varies, label};
use super::inputs::GroupRuns;
use crate::{FinishedRun, Result};

/// One function under one setting at several depths.
struct Depths<'g, 'r> {
    /// The function and what else its groups share but their depth: `SELU lr 0.003
    /// (lecun-normal)`.
    label: String,
    /// The groups by number of hidden layers, shallowest first.
    curve: Vec<(usize, &'g GroupRuns<'r>)>,
}

/// The groups that differ only in their number of hidden layers, every layer of one width.
fn depths<'g, 'r>(groups: &'g [GroupRuns<'r>]) -> Vec<Depths<'g, 'r>> {
    /// A function, its setting but for the depth, and its groups by depth.
    type Family<'g, 'r> = (Activation, Setting, Vec<(usize, &'g GroupRuns<'r>)>);
    let mut families: Vec<Family> = Vec::new();
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
            Some((_, _, curve)) => curve.push((hidden.len(), g)),
            None => families.push((g.key.act, setting, vec![(hidden.len(), g)])),
        }
    }
    families.retain(|(_, _, curve)| curve.len() >= 2);
    // Named by what differs between the families, depth aside.
    let keys: Vec<GroupKey> = families
        .iter()
        .map(|(act, setting, _)| GroupKey {
            act: *act,
            setting: setting.clone(),
        })
        .collect();
    let varies = Varies {
        hidden: false,
        ..Varies::of(&keys.iter().collect::<Vec<_>>())
    };
    families
        .into_iter()
        .zip(&keys)
        .map(|((_, _, mut curve), key)| {
            curve.sort_by_key(|(depth, _)| *depth);
            Depths {
                label: label(key, &varies),
                curve,
            }
        })
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
    blocks.extend(tables::accuracy_blocks(&families, analysis));
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
    blocks.extend(tables::initial_blocks(&families, analysis));
    Ok(blocks)
}

/// A function's mean of `value` at each depth with its BCa band; depths where no run has the
/// value are left out, and a function with fewer than two is.
fn band(d: &Depths, value: fn(&FinishedRun) -> Option<f64>, analysis: &Analysis) -> Option<Band> {
    let mut band = empty_band(d.label.clone());
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
        run_at(0.01, act, hidden, seed, norms, dead)
    }

    /// A run of `hidden` layers of 64 at SGD rate `lr`, whose layers' weight-gradient norms are
    /// `norms` and dead shares `dead` (initial, trained).
    fn run_at(
        lr: f64,
        act: &str,
        hidden: usize,
        seed: u64,
        norms: &[f64],
        dead: &[f64],
    ) -> FinishedRun {
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
            lr,
            momentum: Some(0.9),
            subset: None,
            device: "cpu".into(),
            threads: 1,
            epochs_run: 10,
            best_epoch: 3,
            best_val_acc: 0.8,
            // A point lower per hidden layer, a tenth of a point higher per seed.
            test_acc: 0.9 - 0.01 * hidden as f64 + 0.001 * seed as f64,
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
        // The intro, the accuracy table with its paragraph and sentence, the figures, and the
        // initial network's two tables with their paragraph.
        assert_eq!(blocks.len(), 2 + 3 + QUANTITIES.len() + 3);
        let mut doc = actfn_report::Document::new("depth");
        doc.extend(blocks);
        let text = doc.markdown("figures");
        // ReLU: 88.05% at 2 layers, 86.05% at 4, two points lower, decided.
        assert!(
            text.contains("| ReLU | 88.05 | 86.05 | -2.00 | 0.001 | 0.999 | **different** |"),
            "{text}"
        );
        assert!(
            text.contains("Lower at the deepest than at the shallowest: ReLU (-2.00 pt"),
            "{text}"
        );
        // The gradient ratio is 0 (equal norms) and no unit is dead, at either depth: no
        // spread, no interval.
        assert!(text.contains("| activation: dead units (%) | 2 layers | 4 layers |"));
        assert_eq!(text.matches("| ReLU | 0.00 | 0.00 |").count(), 2, "{text}");
    }

    #[test]
    fn families_that_share_a_function_are_named_by_what_differs() {
        let mut runs = Vec::new();
        for (lr, depth) in [(0.01, 2), (0.01, 4), (0.1, 2), (0.1, 4)] {
            runs.extend((0..2).map(|seed| run_at(lr, "relu", depth, seed, &[1.0; 5], &[0.0, 0.1])));
        }
        let inputs = super::super::Inputs {
            finished: runs,
            ..Default::default()
        };
        let groups = super::super::inputs::groups(&inputs);
        let labels: Vec<String> = depths(&groups).into_iter().map(|d| d.label).collect();
        assert_eq!(labels, ["ReLU lr 0.01", "ReLU lr 0.1"]);
    }
}
