//! The study's report: the blocks of the figures in the study's order, the tables of results,
//! the numbers the notebook printed beside ours, and what the results were computed on.

use actfn_activations::Activation;
use actfn_data::{EVAL_BATCH_SIZE, Splits};
use actfn_diagnostics::DeadNeurons;
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use actfn_train::{Outcome, TrainConfig};
use candle_core::Device;

use actfn_report::{Block, Document, Table, heading, paragraph};

/// Hidden sizes of the study's deep network for the dead-neuron count.
const DEEP_HIDDEN_SIZES: [usize; 10] = [256, 256, 256, 256, 256, 128, 128, 128, 128, 128];

/// The three dead-neuron counts of the study.
pub struct DeadCounts {
    /// The study's network of each activation at initialization.
    pub untrained: DeadNeurons,
    /// The trained ReLU network.
    pub trained: DeadNeurons,
    /// The deep ReLU network at initialization.
    pub deep: DeadNeurons,
}

impl DeadCounts {
    /// The study's counts over the training split: the ReLU network of `seed` at
    /// initialization, the `trained` ReLU network, and the deep ReLU network of `seed` at
    /// initialization.
    pub fn measure(
        splits: &Splits,
        trained: &BaseNetwork,
        seed: u64,
        device: &Device,
    ) -> crate::Result<Self> {
        let relu = BaseNetworkConfig::default();
        let deep = BaseNetworkConfig {
            hidden_sizes: DEEP_HIDDEN_SIZES.to_vec(),
            ..relu.clone()
        };
        let count = |net: &BaseNetwork| {
            actfn_diagnostics::dead_neurons(net, &splits.train, EVAL_BATCH_SIZE)
        };
        Ok(Self {
            untrained: count(&BaseNetwork::seeded(relu, seed, device)?.0)?,
            trained: count(trained)?,
            deep: count(&BaseNetwork::seeded(deep, seed, device)?.0)?,
        })
    }
}

/// The figures' blocks, each section in the study's order.
pub struct Sections {
    /// The activation functions and their gradients.
    pub functions: Vec<Block>,
    /// Example images.
    pub data: Vec<Block>,
    /// Gradients at initialization.
    pub gradients: Vec<Block>,
    /// Validation curves.
    pub validation: Vec<Block>,
    /// Activations of the trained networks.
    pub activations: Vec<Block>,
}

/// Everything the report tabulates.
pub struct Results<'a> {
    /// Each activation's training outcome.
    pub outcomes: &'a [(Activation, Outcome)],
    /// The dead-neuron counts.
    pub dead: &'a DeadCounts,
    /// Test accuracy of the original checkpoints per activation, when they were given.
    pub pretrained: Option<&'a [(Activation, f64)]>,
    /// Seconds per stage.
    pub timings: &'a [(&'static str, f64)],
    /// Seconds of the whole run.
    pub total_seconds: f64,
    /// `(what, value)` rows about the machine and the versions.
    pub environment: Vec<(&'static str, String)>,
}

/// Whether the run was the study (full) or the quick smoke test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// The study's protocol.
    Full,
    /// `--quick`: a subset, 2 epochs.
    Quick,
}

fn dead_row(table: &mut Table, what: &str, dead: &DeadNeurons, study: &str) {
    table.row(vec![
        what.to_string(),
        format!("{:?}", dead.dead),
        dead.percentages_text(),
        study.to_string(),
    ]);
}

/// The slopes each learned activation (PReLU) ended with, per hidden layer.
fn slopes_blocks(outcomes: &[(Activation, Outcome)]) -> Vec<Block> {
    let mut table = Table::numeric(&["activation", "learned slope per hidden layer"]);
    for (act, outcome) in outcomes {
        let slopes: Vec<String> = outcome
            .network
            .slopes()
            .iter()
            .filter_map(|s| {
                s.flatten_all()
                    .ok()?
                    .to_vec1::<f32>()
                    .ok()?
                    .first()
                    .copied()
            })
            .map(|v| format!("{v:.3}"))
            .collect();
        if !slopes.is_empty() {
            table.row(vec![act.name().to_string(), slopes.join(", ")]);
        }
    }
    if table.rows.is_empty() {
        return Vec::new();
    }
    vec![
        heading("Learned slopes"),
        paragraph("The slope each PReLU layer learned, from 0.25: near 0 a ReLU, near 1 linear."),
        Block::Table(table),
    ]
}

/// The report of a `reproduce` run.
pub fn assemble(
    sections: Sections,
    config: &TrainConfig,
    scale: Scale,
    results: &Results,
) -> Document {
    let mut doc = Document::new("Activation functions: the study, reproduced by actfn");
    if scale == Scale::Quick {
        doc.extend([paragraph(
            "**Quick run** (`--quick`): 2 epochs on a subset of the training split. The numbers show \
             that the pipeline works, not what the study measures.",
        )]);
    }
    doc.extend([paragraph(format!(
        "Settings: {}, batch {}, at most {} epochs, patience {}, seed {}, {} \
         initialization, split seed {}{}. One run per activation: for the spread over seeds, and \
         which differences are beyond noise, see the sweeps in `docs/results/` of the repository \
         (`cargo xtask sweep`).",
        config.optimizer,
        config.batch_size,
        config.max_epochs,
        config.patience,
        config.seed,
        config.init,
        config.split_seed,
        config
            .subset
            .map(|n| format!(", first {n} training images"))
            .unwrap_or_default()
    ))]);
    doc.extend(sections.functions);
    doc.extend(sections.data);
    doc.extend(sections.gradients);
    doc.extend(sections.validation);
    doc.extend([
        heading("Test accuracy"),
        Block::Table(accuracy_table(results.outcomes, true)),
        paragraph(
            "The study's column is what the original notebook printed for its pretrained networks \
             (trained, most likely, with batch 1024); a fresh run at batch 256 lands near, not on, \
             those digits.",
        ),
    ]);
    doc.extend(sections.activations);
    doc.extend(slopes_blocks(results.outcomes));

    let mut dead = Table::text(&[
        "network",
        "dead per hidden layer",
        "share",
        "the study's notebook",
    ]);
    let counts = results.dead;
    dead_row(
        &mut dead,
        "untrained ReLU (seed)",
        &counts.untrained,
        "[0, 0, 3, 10]",
    );
    dead_row(
        &mut dead,
        "trained ReLU",
        &counts.trained,
        "[0, 0, 0, 3] (its pretrained network)",
    );
    dead_row(
        &mut dead,
        "untrained deep ReLU",
        &counts.deep,
        "[0, 0, 7, 27, 89, 60, 58, 61, 72, 56]",
    );
    doc.extend([
        heading("Dead neurons"),
        paragraph(
            "A neuron is dead when its activation is exactly 0 for every image of the 50,000-image \
             training split.",
        ),
        Block::Table(dead),
        paragraph(
            "Untrained counts depend on the random generator (ChaCha here, PyTorch's Mersenne \
             Twister there): the digits differ, the shape (few in the first layers, tens of percent \
             deep in the deep network) is what compares.",
        ),
    ]);

    if let Some(pretrained) = results.pretrained {
        let mut table = Table::numeric(&[
            "activation",
            "original checkpoint",
            "the notebook printed",
            "ours",
        ]);
        for (act, original) in pretrained {
            let ours = results
                .outcomes
                .iter()
                .find(|(a, _)| a == act)
                .map_or("-".to_string(), |(_, o)| {
                    format!("{:.2}%", 100.0 * o.test_acc)
                });
            table.row(vec![
                act.name().to_string(),
                format!("{:.2}%", 100.0 * original),
                act.study_test_accuracy()
                    .map_or("-".into(), |a| format!("{a:.2}%")),
                ours,
            ]);
        }
        doc.extend([
            heading("Original checkpoints vs ours"),
            paragraph(
                "The original study's PyTorch checkpoints, imported and evaluated by this project's \
                 pipeline, beside the networks trained here.",
            ),
            Block::Table(table),
        ]);
    }

    let mut time = Table::numeric(&["stage", "seconds"]);
    for (what, seconds) in results.timings {
        time.row(vec![what.to_string(), format!("{seconds:.1}")]);
    }
    time.row(vec![
        "**total**".into(),
        format!("{:.1}", results.total_seconds),
    ]);
    let mut machine = Table::text(&["", ""]);
    for (what, value) in &results.environment {
        machine.row(vec![what.to_string(), value.clone()]);
    }
    doc.extend([
        heading("Time"),
        Block::Table(time),
        heading("Machine and versions"),
        Block::Table(machine),
    ]);
    doc
}

/// The runs' epochs, best epoch, best validation and test accuracy and time; with `study`, a
/// column of the accuracy the study's notebook printed for each activation (a dash for the
/// functions it does not have).
pub fn accuracy_table(outcomes: &[(Activation, Outcome)], study: bool) -> Table {
    let mut header = vec![
        "activation",
        "epochs",
        "best epoch",
        "best val acc",
        "test acc",
    ];
    if study {
        header.push("the study's printed test acc");
    }
    header.push("time (s)");
    let mut table = Table::numeric(&header);
    for (act, outcome) in outcomes {
        let s = outcome.summary.as_ref();
        let field = |f: &dyn Fn(&actfn_train::RunSummary) -> String| s.map_or("-".to_string(), f);
        let mut row = vec![
            act.name().to_string(),
            field(&|s| s.epochs_run.to_string()),
            field(&|s| s.best_epoch.to_string()),
            field(&|s| format!("{:.2}%", 100.0 * s.best_val_acc)),
            format!("{:.2}%", 100.0 * outcome.test_acc),
        ];
        if study {
            row.push(
                act.study_test_accuracy()
                    .map_or("-".into(), |a| format!("{a:.2}%")),
            );
        }
        row.push(field(&|s| format!("{:.1}", s.seconds)));
        table.row(row);
    }
    table
}
