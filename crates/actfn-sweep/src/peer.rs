//! The PyTorch peer of a sweep: the same grid run by the study's own PyTorch code
//! (`xtask/pytorch/peer.py`), which reads the run from the sweep folder as a task does
//! (`sweep.json` and the run's index) and trains on actfn's split, written here; and the inputs
//! of the step-by-step trace of one epoch (`xtask/pytorch/trace.py`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use actfn_model::rng::{self, Stream};
use actfn_model::{BaseNetwork, BaseNetworkConfig};
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::file_error;
use crate::folder::RECORD_BYTES;
use crate::schedule::Job;
use crate::{Error, Result, RunSpec, SweepDir};

/// One run of the PyTorch peer, as `peer.py` writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerResult {
    /// The run's id ([`RunSpec::id`]).
    pub id: String,
    /// The activation's key.
    pub act: String,
    /// Seed given to `torch.manual_seed`.
    pub seed: u64,
    /// Seed of actfn's split it trained on.
    pub split_seed: u64,
    /// Early-stopping patience.
    pub patience: usize,
    /// Hidden layer sizes.
    pub hidden: Vec<usize>,
    /// Test accuracy of the best epoch's weights, in [0, 1].
    pub test_acc: f64,
    /// The best validation accuracy.
    pub best_val_acc: f64,
    /// The best epoch, from 1.
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs_run: usize,
    /// Validation accuracy per epoch.
    pub val_acc: Vec<f64>,
    /// Wall time of the run.
    pub seconds: f64,
    /// PyTorch's version.
    pub torch: String,
}

/// How the peer runs: the Python with torch and numpy, the script, and the data.
#[derive(Debug, Clone)]
pub struct Peer {
    /// A Python with torch and numpy.
    pub python: PathBuf,
    /// `xtask/pytorch/peer.py`.
    pub script: PathBuf,
    /// The folder with the four Fashion-MNIST files.
    pub data_dir: PathBuf,
    /// The training images in them (60,000), which the split divides.
    pub train_images: usize,
}

impl SweepDir {
    /// The peer's result file of a run.
    pub fn peer_result_file(&self, spec: &RunSpec) -> PathBuf {
        self.peer_dir().join(format!("{}.json", spec.id()))
    }

    /// The split file of `split_seed` the peer trains on.
    pub fn peer_split_file(&self, split_seed: u64) -> PathBuf {
        self.peer_dir()
            .join(format!("split{split_seed}.safetensors"))
    }

    /// The peer's result of a run, if it finished (an unreadable file counts as not finished).
    pub fn peer_result(&self, spec: &RunSpec) -> Option<PeerResult> {
        let text = actfn_io::read_text_at_most(&self.peer_result_file(spec), RECORD_BYTES).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// The split of `split_seed` of `images` training images as index tensors, `train_indices`
/// and `val_indices` (u32), as actfn draws it.
pub fn split_tensors(split_seed: u64, images: usize) -> Result<HashMap<String, Tensor>> {
    let (train, val) = actfn_train::study_split_indices(images, split_seed)?;
    let tensor = |v: Vec<u32>| {
        let n = v.len();
        Tensor::from_vec(v, n, &Device::Cpu).map_err(actfn_model::Error::from)
    };
    Ok(HashMap::from([
        ("train_indices".to_string(), tensor(train)?),
        ("val_indices".to_string(), tensor(val)?),
    ]))
}

/// Writes the split of `split_seed` of `images` training images to `path` (safetensors, with
/// the seed as metadata), for a PyTorch peer to train on actfn's split.
pub fn write_split(path: &Path, split_seed: u64, images: usize) -> Result<()> {
    let tensors = split_tensors(split_seed, images)?;
    let metadata = HashMap::from([("split_seed".to_string(), split_seed.to_string())]);
    let bytes = safetensors::serialize(&tensors, Some(metadata))
        .map_err(|e| file_error(path, format!("cannot serialize the split: {e}")))?;
    actfn_io::atomic_write(path, &bytes)?;
    Ok(())
}

/// What a step-by-step trace trains: the study's ReLU network from the initial weights of
/// `seed`, on the split of `split_seed`, for `epochs` epochs with `optimizer`. `Default` is the
/// study's first epoch (seed 42, split 42, SGD lr 0.01 momentum 0.9).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceSettings {
    /// Seed of the initial weights and the batch order.
    pub seed: u64,
    /// Seed of the train/validation split.
    pub split_seed: u64,
    /// Epochs to trace.
    pub epochs: usize,
    /// The optimizer.
    pub optimizer: actfn_train::OptimizerConfig,
}

impl Default for TraceSettings {
    fn default() -> Self {
        Self {
            seed: 42,
            split_seed: 42,
            epochs: 1,
            optimizer: actfn_train::OptimizerConfig::default(),
        }
    }
}

/// Writes to `path` (safetensors) what `xtask/pytorch/trace.py` needs to train the study's
/// ReLU network exactly as actfn does: its initial weights (`init.<name>`), the split of
/// `train_images` images, and each epoch's batch order over the training split, one after the
/// other (`batch_order`, each epoch's last short batch dropped), with the settings as metadata
/// (the optimizer as its JSON).
pub fn write_trace_inputs(path: &Path, train_images: usize, trace: &TraceSettings) -> Result<()> {
    let TraceSettings {
        seed,
        split_seed,
        epochs,
        optimizer,
    } = *trace;
    let config = actfn_train::TrainConfig {
        seed,
        split_seed,
        optimizer,
        ..actfn_train::TrainConfig::default()
    };
    let mut tensors = split_tensors(split_seed, train_images)?;
    let (net, _) = BaseNetwork::seeded(BaseNetworkConfig::default(), seed, &Device::Cpu)?;
    for (name, tensor) in net.named_parameters() {
        tensors.insert(format!("init.{name}"), tensor);
    }
    // Each epoch's order, exactly as training draws it from one generator.
    let images = train_images.saturating_sub(actfn_train::VALIDATION_IMAGES);
    let kept = images / config.batch_size * config.batch_size;
    let mut shuffle = rng::seeded(seed, Stream::Shuffle);
    let mut order = Vec::with_capacity(kept * epochs);
    for _ in 0..epochs {
        order.extend_from_slice(&actfn_data::epoch_order(images, &mut shuffle)[..kept]);
    }
    let order =
        Tensor::from_vec(order, kept * epochs, &Device::Cpu).map_err(actfn_model::Error::from)?;
    tensors.insert("batch_order".into(), order);
    let optimizer = serde_json::to_string(&config.optimizer)
        .map_err(|e| Error::Settings(format!("cannot write the optimizer: {e}")))?;
    let metadata = HashMap::from([
        ("seed".to_string(), seed.to_string()),
        ("split_seed".to_string(), split_seed.to_string()),
        ("batch_size".to_string(), config.batch_size.to_string()),
        ("epochs".to_string(), epochs.to_string()),
        ("optimizer".to_string(), optimizer),
    ]);
    let bytes = safetensors::serialize(&tensors, Some(metadata))
        .map_err(|e| file_error(path, format!("cannot serialize the trace's inputs: {e}")))?;
    actfn_io::atomic_write(path, &bytes)?;
    Ok(())
}

/// The peer's jobs for `runs`, each `peer.py --dir D --index N --data DATA`; the splits they
/// need are written first.
pub fn peer_jobs(dir: &SweepDir, runs: &[RunSpec], peer: &Peer) -> Result<Vec<Job>> {
    if !peer.script.is_file() {
        return Err(Error::Settings(format!(
            "the PyTorch peer's script {} is missing",
            peer.script.display()
        )));
    }
    let peer_dir = dir.peer_dir();
    std::fs::create_dir_all(&peer_dir)
        .map_err(|e| file_error(&peer_dir, format!("cannot create it: {e}")))?;
    let mut jobs = Vec::new();
    for run in runs {
        let split = dir.peer_split_file(run.split_seed);
        if !split.is_file() {
            write_split(&split, run.split_seed, peer.train_images)?;
        }
        let mut command = Command::new(&peer.python);
        command
            .arg(&peer.script)
            .arg("--dir")
            .arg(&dir.root)
            .args(["--index", &run.index.to_string()])
            .arg("--data")
            .arg(&peer.data_dir);
        let (result_dir, spec) = (dir.clone(), run.clone());
        jobs.push(Job {
            label: format!("PyTorch {}", run.id()),
            command,
            log: peer_dir.join(format!("{}.log", run.id())),
            result: Box::new(move || match result_dir.peer_result(&spec) {
                Some(p) => format!(
                    "test accuracy {:.2}% after {} epochs ({:.0} s)",
                    100.0 * p.test_acc,
                    p.epochs_run,
                    p.seconds
                ),
                None => "finished without a result".into(),
            }),
        });
    }
    Ok(jobs)
}
