//! What a report is made from: everything read from the sweep folders ([`gather`]), and the
//! finished runs in groups.

use std::path::PathBuf;

use actfn_activations::Activation;

use super::groups::{GroupKey, Varies, key_of, label};
use super::tables::Group;
use crate::error::file_error;
use crate::peer::PeerResult;
use crate::{FinishedRun, Result, RunSpec, Session, SweepDir, SweepSettings};

/// A run of the grid that has not finished.
#[derive(Debug, Clone)]
pub struct Unfinished {
    /// Its sweep folder.
    pub folder: PathBuf,
    /// Its place in the grid.
    pub spec: RunSpec,
    /// Where it stands ([`RunStatus::describe`](crate::RunStatus::describe)).
    pub status: String,
}

/// A run of the PyTorch peer, with the training config of the sweep that ran it.
#[derive(Debug, Clone)]
pub struct PeerRun {
    /// Its place in the grid.
    pub spec: RunSpec,
    /// The training config it ran under.
    pub config: actfn_train::TrainConfig,
    /// The CPU threads PyTorch was given (the sweep's threads per run).
    pub threads: usize,
    /// What it recorded.
    pub result: PeerResult,
}

/// What a report is made from: everything read from the sweep folders.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Each folder's settings.
    pub settings: Vec<SweepSettings>,
    /// The finished runs.
    pub finished: Vec<FinishedRun>,
    /// The PyTorch peer's runs.
    pub peer: Vec<PeerRun>,
    /// The local sessions of every folder.
    pub sessions: Vec<Session>,
    /// The runs that have not finished.
    pub unfinished: Vec<Unfinished>,
    /// The test set's labels, in order, for the comparison image by image (the caller gives
    /// them: the report reads no data set).
    pub test_labels: Option<Vec<u32>>,
}

impl Inputs {
    /// Adds `other`'s runs to these: sweep folders and a page's `runs.csv` reported together,
    /// e.g. new sweeps beside the runs of a page whose folders are gone. A run (by its name and
    /// its recorded training settings) found in both is refused: it would count twice.
    pub fn extend(&mut self, other: Inputs) -> Result<()> {
        let same = |a: &FinishedRun, b: &FinishedRun| {
            a.spec.id() == b.spec.id()
                && a.record.summary.train_config == b.record.summary.train_config
                && a.record.net == b.record.net
        };
        if let Some(twice) = other
            .finished
            .iter()
            .find(|b| self.finished.iter().any(|a| same(a, b)))
        {
            return Err(crate::Error::Settings(format!(
                "the run {} is given twice (in a sweep folder and a runs.csv, or in two of \
                 either): report each run from one place",
                twice.spec.id()
            )));
        }
        self.settings.extend(other.settings);
        self.finished.extend(other.finished);
        self.peer.extend(other.peer);
        self.sessions.extend(other.sessions);
        self.unfinished.extend(other.unfinished);
        if self.test_labels.is_none() {
            self.test_labels = other.test_labels;
        }
        Ok(())
    }
}

/// Reads every run's status and records, and the peer's results, from `dirs`. A folder named
/// twice (however its path is spelled) is read once.
pub fn gather(dirs: &[PathBuf]) -> Result<Inputs> {
    let mut inputs = Inputs::default();
    let mut seen = std::collections::BTreeSet::new();
    for root in dirs {
        let dir = SweepDir::new(root);
        let settings = dir.read_settings()?;
        let canonical = std::fs::canonicalize(root)
            .map_err(|e| file_error(root, format!("cannot resolve the folder: {e}")))?;
        if !seen.insert(canonical) {
            continue;
        }
        for (spec, status) in dir.statuses(&settings)? {
            if let Some(result) = dir.peer_result(&spec) {
                inputs.peer.push(PeerRun {
                    config: spec.train_config(&settings),
                    spec: spec.clone(),
                    threads: settings.threads.into(),
                    result,
                });
            }
            match (status.describe(), status) {
                (_, crate::RunStatus::Finished(run)) => inputs.finished.push(*run),
                (Some(status), _) => inputs.unfinished.push(Unfinished {
                    folder: root.clone(),
                    spec,
                    status,
                }),
                (None, _) => {}
            }
        }
        inputs.settings.push(settings);
        inputs.sessions.extend(dir.sessions()?);
    }
    Ok(inputs)
}

/// A group of the report: its key, its statistics' inputs and its runs.
#[derive(Clone)]
pub(crate) struct GroupRuns<'a> {
    pub key: GroupKey,
    pub group: Group,
    pub runs: Vec<&'a FinishedRun>,
}

/// The finished runs in groups (runs that differ only in their seeds), in the order the sweeps
/// list the activations, each labelled by what differs between groups.
pub(crate) fn groups(inputs: &Inputs) -> Vec<GroupRuns<'_>> {
    let mut keyed: Vec<(GroupKey, Vec<&FinishedRun>)> = Vec::new();
    for run in &inputs.finished {
        let key = key_of(&run.spec, &run.record.summary.train_config);
        match keyed.iter_mut().find(|(k, _)| *k == key) {
            Some((_, runs)) => runs.push(run),
            None => keyed.push((key, vec![run])),
        }
    }
    // The activations in the order the sweeps list them, else (runs read from runs.csv) in the
    // order their runs come.
    let listed: Vec<Activation> = inputs
        .settings
        .iter()
        .flat_map(|s| s.axes.act_fn.iter().copied())
        .chain(inputs.finished.iter().map(|r| r.spec.act))
        .collect();
    let position = |key: &GroupKey| listed.iter().position(|a| *a == key.act);
    keyed.sort_by(|(a, _), (b, _)| {
        (position(a), a.act.key(), &a.setting).cmp(&(position(b), b.act.key(), &b.setting))
    });
    let varies = Varies::of(&keyed.iter().map(|(k, _)| k).collect::<Vec<_>>());
    keyed
        .into_iter()
        .map(|(key, runs)| GroupRuns {
            group: Group::of(label(&key, &varies), &runs),
            key,
            runs,
        })
        .collect()
}
