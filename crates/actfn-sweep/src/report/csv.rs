//! `runs.csv`: one row per finished run, every setting as the run itself recorded it and every
//! result. The header is the row type's fields, written and read by serde.

use std::path::Path;

use serde::{Deserialize, Serialize};

use actfn_activations::{Activation, NonFinitePolicy};
use actfn_train::{OptimizerConfig, RunRecord, RunSummary, TrainConfig, checkpoint_name};

use super::inputs::PeerRun;
use crate::error::file_error;
use crate::grid::sizes;
use crate::peer::PeerResult;
use crate::{Error, FinishedRun, Result, RunSpec};

/// One row of `runs.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// The run's index in its sweep's grid.
    pub index: usize,
    /// Its id, [`RunSpec::id`](crate::RunSpec::id).
    pub id: String,
    /// The activation's key; a formula's canonical text (its key is a hash, which names nothing
    /// to another process).
    pub act: String,
    /// Seed of the initial weights and the batch order.
    pub seed: u64,
    /// Seed of the split.
    pub split_seed: u64,
    /// Hidden layer sizes, `512x256x256x128`.
    pub hidden: String,
    /// Early-stopping patience.
    pub patience: usize,
    /// How the initial weights were drawn.
    pub init: actfn_model::Init,
    /// The most epochs.
    pub max_epochs: usize,
    /// Training batch size.
    pub batch_size: usize,
    /// The optimizer's key, `sgd` or `adam` (rows written before Adam existed have none: SGD).
    #[serde(default = "sgd_key")]
    pub optimizer: String,
    /// Learning rate.
    pub lr: f64,
    /// SGD's momentum (none for Adam, whose other settings are PyTorch's defaults).
    pub momentum: Option<f64>,
    /// Training images used, when not all.
    pub subset: Option<usize>,
    /// Where it computed.
    pub device: String,
    /// CPU threads.
    pub threads: usize,
    /// Epochs trained.
    pub epochs_run: usize,
    /// The best epoch, from 1.
    pub best_epoch: usize,
    /// Its validation accuracy, in [0, 1].
    pub best_val_acc: f64,
    /// The test accuracy of its weights, in [0, 1].
    pub test_acc: f64,
    /// Whether early stopping ended it.
    pub stopped_early: bool,
    /// Training time, to a tenth of a second.
    pub seconds: f64,
    /// The machine.
    pub host: String,
}

/// How `runs.csv` names a function: a built-in (or one registered in code) by its key, a formula
/// by its canonical text.
fn act_column(act: Activation) -> String {
    match act {
        Activation::Formula(f) => f.text().to_string(),
        other => other.key().to_string(),
    }
}

/// The function an `act` column names. A formula is taken as recorded: one that the safety
/// check refuses was accepted when its runs were trained.
fn recorded_act(name: &str) -> Result<Activation> {
    match Activation::from_name(name, None) {
        Err(actfn_activations::Error::NonFinite { .. }) => {
            Ok(Activation::formula(name, NonFinitePolicy::Accept)?)
        }
        other => Ok(other?),
    }
}

/// The optimizer of rows written before Adam existed.
fn sgd_key() -> String {
    "sgd".into()
}

impl RunRow {
    /// A row with the settings of `spec` and `config`; the results are the caller's to fill.
    pub(crate) fn settings(spec: &RunSpec, config: &TrainConfig) -> Self {
        Self {
            index: spec.index,
            id: spec.id(),
            act: act_column(spec.act),
            seed: spec.seed,
            split_seed: spec.split_seed,
            hidden: sizes(&spec.hidden, "x"),
            patience: spec.patience,
            init: config.init,
            max_epochs: config.max_epochs,
            batch_size: config.batch_size,
            optimizer: config.optimizer.key().to_string(),
            lr: config.optimizer.lr(),
            momentum: match config.optimizer {
                OptimizerConfig::Sgd(sgd) => Some(sgd.momentum),
                _ => None,
            },
            subset: config.subset,
            device: String::new(),
            threads: 0,
            epochs_run: 0,
            best_epoch: 0,
            best_val_acc: 0.0,
            test_acc: 0.0,
            stopped_early: false,
            seconds: 0.0,
            host: String::new(),
        }
    }

    /// The row of a finished run.
    pub fn of(run: &FinishedRun) -> Self {
        let s = &run.record.summary;
        Self {
            device: s.device.clone(),
            threads: s.threads,
            epochs_run: s.epochs_run,
            best_epoch: s.best_epoch,
            best_val_acc: s.best_val_acc,
            test_acc: s.test_acc,
            stopped_early: s.stopped_early,
            seconds: (s.seconds * 10.0).round() / 10.0,
            host: s.host.clone(),
            ..Self::settings(&run.spec, &s.train_config)
        }
    }
}

impl RunRow {
    /// The finished run this row describes, without its per-epoch records (metrics, dynamics,
    /// slopes): what the statistics need, for a sweep whose run folders are gone but whose
    /// `runs.csv` is kept (as `docs/results/` keeps them).
    pub fn finished_run(&self) -> Result<FinishedRun> {
        let bad = |what: &str| Error::Settings(format!("runs.csv row {}: {what}", self.id));
        let act = recorded_act(&self.act)?;
        let hidden = self
            .hidden
            .split('x')
            .map(|h| {
                h.parse()
                    .map_err(|_| bad("hidden is not sizes like 512x256"))
            })
            .collect::<Result<Vec<usize>>>()?;
        let optimizer = OptimizerConfig::with_lr(&self.optimizer, self.lr).map_err(|e| bad(&e))?;
        let optimizer = match (optimizer, self.momentum) {
            (sgd @ OptimizerConfig::Sgd(_), Some(momentum)) => {
                sgd.with_momentum(momentum).map_err(|e| bad(&e))?
            }
            (OptimizerConfig::Sgd(_), None) => return Err(bad("an SGD run without its momentum")),
            (other, _) => other,
        };
        let mut spec = RunSpec {
            index: self.index,
            act,
            seed: self.seed,
            split_seed: self.split_seed,
            hidden,
            patience: self.patience,
            optimizer: None,
        };
        // The id says whether the sweep's optimizer axis named the run's optimizer.
        if spec.id() != self.id {
            spec.optimizer = Some(optimizer);
        }
        let train_config = TrainConfig {
            max_epochs: self.max_epochs,
            patience: self.patience,
            batch_size: self.batch_size,
            optimizer,
            seed: self.seed,
            init: self.init,
            split_seed: self.split_seed,
            subset: self.subset,
            ..TrainConfig::default()
        };
        let summary = RunSummary {
            name: checkpoint_name(act),
            act_fn: act.name().to_string(),
            best_epoch: self.best_epoch,
            best_val_acc: self.best_val_acc,
            test_acc: self.test_acc,
            epochs_run: self.epochs_run,
            stopped_early: self.stopped_early,
            seconds: self.seconds,
            device: self.device.clone(),
            threads: self.threads,
            host: self.host.clone(),
            train_config,
        };
        Ok(FinishedRun {
            record: RunRecord {
                net: spec.network(),
                summary,
                metrics: Vec::new(),
                dynamics: Vec::new(),
                slopes: Vec::new(),
                predictions: None,
            },
            spec,
        })
    }
}

/// What `device` says of a PyTorch peer's run: `pytorch <version>`.
const PEER_DEVICE: &str = "pytorch ";

impl RunRow {
    /// The row of a run of the PyTorch peer, in `peer_runs.csv`: its settings as the sweep gave
    /// them, its results as `peer.py` recorded them, `device` naming PyTorch's version (the
    /// peer records neither its machine nor its epochs beyond the validation curve).
    pub fn of_peer(run: &PeerRun) -> Self {
        let r = &run.result;
        Self {
            device: format!("{PEER_DEVICE}{}", r.torch),
            threads: run.threads,
            epochs_run: r.epochs_run,
            best_epoch: r.best_epoch,
            best_val_acc: r.best_val_acc,
            test_acc: r.test_acc,
            stopped_early: r.epochs_run < run.config.max_epochs,
            seconds: (r.seconds * 10.0).round() / 10.0,
            host: String::new(),
            ..Self::settings(&run.spec, &run.config)
        }
    }

    /// The peer's run a `peer_runs.csv` row describes (without its validation curve).
    pub fn peer_run(&self) -> Result<PeerRun> {
        let run = self.finished_run()?;
        let torch = self.device.strip_prefix(PEER_DEVICE).ok_or_else(|| {
            Error::Settings(format!(
                "peer_runs.csv row {}: device {:?} is not \"{PEER_DEVICE}<version>\"",
                self.id, self.device
            ))
        })?;
        Ok(PeerRun {
            result: PeerResult {
                id: self.id.clone(),
                act: self.act.clone(),
                seed: self.seed,
                split_seed: self.split_seed,
                patience: self.patience,
                hidden: run.spec.hidden.clone(),
                test_acc: self.test_acc,
                best_val_acc: self.best_val_acc,
                best_epoch: self.best_epoch,
                epochs_run: self.epochs_run,
                val_acc: Vec::new(),
                seconds: self.seconds,
                torch: torch.to_string(),
            },
            config: run.record.summary.train_config,
            threads: self.threads,
            spec: run.spec,
        })
    }
}

/// The file of the peer's runs beside a report's `runs.csv`.
pub const PEER_RUNS: &str = "peer_runs.csv";

/// The file of the runs' test predictions beside a report's `runs.csv`: a header, then a line
/// per run that kept them, its id and one digit per test image (the class it predicted), so
/// that a page's comparison image by image regenerates from the repository.
pub const PREDICTIONS: &str = "predictions.csv";

/// The text of [`PREDICTIONS`] for `runs`; `None` when no run kept its predictions.
pub(super) fn predictions_csv(runs: &[FinishedRun]) -> Option<String> {
    let mut text = String::from("id,classes\n");
    let mut any = false;
    for run in runs {
        let Some(classes) = &run.record.predictions else {
            continue;
        };
        any = true;
        text += &run.spec.id();
        text.push(',');
        // The network has 10 outputs: each class is one digit.
        text.extend(
            classes
                .iter()
                .map(|&c| char::from_digit(c, 10).unwrap_or('?')),
        );
        text.push('\n');
    }
    any.then_some(text)
}

/// The predictions per run id of a [`PREDICTIONS`] file.
fn read_predictions(path: &Path) -> Result<std::collections::HashMap<String, Vec<u32>>> {
    let text = actfn_io::read_text_at_most(path, crate::folder::RECORD_BYTES)?;
    let bad = |line: usize, what: &str| {
        file_error(
            path,
            format!("line {line}: {what}; it is written by `sweep report` beside runs.csv"),
        )
    };
    let mut lines = text.lines();
    if lines.next() != Some("id,classes") {
        return Err(bad(1, "the header is not `id,classes`"));
    }
    lines
        .enumerate()
        .map(|(i, line)| {
            let (id, classes) = line
                .split_once(',')
                .ok_or_else(|| bad(i + 2, "no comma after the run's id"))?;
            let classes = classes
                .chars()
                .map(|c| c.to_digit(10))
                .collect::<Option<Vec<u32>>>()
                .ok_or_else(|| bad(i + 2, "a class that is not a digit"))?;
            Ok((id.to_string(), classes))
        })
        .collect()
}

impl super::Inputs {
    /// The runs of one or more `runs.csv` files, as a report's inputs: the finished runs
    /// without their epochs ([`RunRow::finished_run`]), with their test predictions from the
    /// [`PREDICTIONS`] file and the PyTorch peer's runs from the [`PEER_RUNS`] file beside
    /// each, where there are such files.
    pub fn from_runs_csv(paths: &[impl AsRef<Path>]) -> Result<Self> {
        let mut inputs = Self::default();
        for path in paths {
            let path = path.as_ref();
            let context = |e: Error| file_error(path, format!("{e}; is it a sweep's runs.csv?"));
            for row in read_runs_csv(path)? {
                inputs.finished.push(row.finished_run().map_err(context)?);
            }
            let predictions = path.with_file_name(PREDICTIONS);
            if predictions.is_file() {
                let mut by_id = read_predictions(&predictions)?;
                for run in &mut inputs.finished {
                    if let Some(classes) = by_id.remove(&run.spec.id()) {
                        run.record.predictions = Some(classes);
                    }
                }
            }
            let peer = path.with_file_name(PEER_RUNS);
            if peer.is_file() {
                for row in read_runs_csv(&peer)? {
                    inputs.peer.push(row.peer_run().map_err(|e| {
                        file_error(&peer, format!("{e}; is it a report's {PEER_RUNS}?"))
                    })?);
                }
            }
        }
        Ok(inputs)
    }
}

/// `runs.csv`'s text for `rows`.
pub fn runs_csv(rows: &[RunRow]) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |e: &dyn std::fmt::Display| file_error(Path::new("runs.csv"), e.to_string());
    for row in rows {
        writer.serialize(row).map_err(|e| failed(&e))?;
    }
    let bytes = writer.into_inner().map_err(|e| failed(&e))?;
    String::from_utf8(bytes).map_err(|e| failed(&e))
}

/// Reads the rows of a `runs.csv` (a file larger than 64 MiB is not one).
pub fn read_runs_csv(path: &Path) -> Result<Vec<RunRow>> {
    let text = actfn_io::read_text_at_most(path, crate::folder::RECORD_BYTES)?;
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<Vec<RunRow>, _>>()
        .map_err(|e| file_error(path, format!("not a sweep's runs.csv ({e})")))
}
