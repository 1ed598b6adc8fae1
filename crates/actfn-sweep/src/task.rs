//! One run of a sweep, into the sweep's folder, as `cargo xtask train` trains: the code path of
//! every way to run a sweep (in this process, as a child process of the local sweep, as a Slurm
//! array task).

use actfn_data::FashionMnist;
use actfn_train::{Existing, Observer, Outcome, Outputs, Run, checkpoint_name, study_splits};

use crate::error::file_error;
use crate::{Result, RunSpec, SweepDir};

/// Trains the run `index` of the sweep in `dir` on `data` (or finds it finished), reporting to
/// `observer`. The run's folder is claimed while it trains, so a second task for the same run
/// (a resubmission while the first still runs) is refused, naming the holder. A run found
/// damaged, or made with other settings than the sweep's, is set aside and trained anew; an
/// unfinished one resumes from its last finished epoch. `outputs` says what the run writes
/// beside its records (TensorBoard events by default).
pub fn run_task(
    dir: &SweepDir,
    index: usize,
    data: &FashionMnist,
    outputs: Outputs,
    observer: &mut dyn Observer,
) -> Result<(RunSpec, Outcome)> {
    let settings = dir.read_settings()?;
    let spec = dir.find_run(&settings, index)?;
    let folder = dir.run_folder(&spec);
    std::fs::create_dir_all(&folder)
        .map_err(|e| file_error(&folder, format!("cannot create it: {e}")))?;
    let _claim = actfn_io::Claim::take(&folder)?;
    observer.message(&format!(
        "sweep task {} ({}) on {}, pid {}",
        spec.index,
        spec.id(),
        actfn_io::host_name(),
        std::process::id()
    ));
    let device = actfn_model::parse_device(&settings.device)?;
    let config = spec.train_config(&settings);
    let splits = study_splits(data, spec.split_seed, &device)?;
    let run = Run {
        net: spec.network(),
        config,
        dir: folder,
        name: checkpoint_name(spec.act),
        existing: Existing::Replace,
        outputs,
    };
    let outcome = actfn_train::train(&run, &splits, observer)?;
    observer.message(&format!(
        "sweep task {} finished: test accuracy {:.2}%",
        spec.index,
        100.0 * outcome.test_acc
    ));
    Ok((spec, outcome))
}
