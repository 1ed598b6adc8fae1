//! `cargo xtask sweep task`: one run of a sweep, into the sweep's folder, as `train` runs it.
//! The local sweep runs each run this way in a child process, and a Slurm array runs one per
//! array task, so both take the same code path.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use actfn_train::Existing;
use anyhow::{Context, bail};
use clap::Args;

use super::grid::{RunSpec, SweepDir};
use crate::train::train_one;

/// Arguments of `cargo xtask sweep task`.
#[derive(Args, Debug)]
pub struct TaskArgs {
    /// The sweep folder (made by `cargo xtask sweep`, or by `--emit slurm`).
    #[arg(long)]
    pub dir: PathBuf,
    /// The run's index in the grid (`tasks.tsv`; a Slurm array's `$SLURM_ARRAY_TASK_ID`).
    #[arg(long)]
    pub index: usize,
}

impl TaskArgs {
    /// The CPU threads the run computes with, from the sweep's settings (none when they do not
    /// read: the task then fails with the reason).
    pub fn threads(&self) -> Option<u16> {
        SweepDir::new(&self.dir)
            .read_settings()
            .ok()
            .map(|s| s.threads)
    }
}

/// The run `index` of the sweep in `dir`, or an error naming the valid range.
pub fn find_run(dir: &SweepDir, index: usize) -> anyhow::Result<RunSpec> {
    let runs = dir.read_settings()?.runs()?;
    let count = runs.len();
    runs.into_iter().nth(index).with_context(|| {
        format!(
            "task index {index} is out of range: the sweep in {} has {count} runs (0 to {})",
            dir.root.display(),
            count.saturating_sub(1)
        )
    })
}

pub fn run(args: &TaskArgs) -> anyhow::Result<()> {
    end_with_parent();
    let dir = SweepDir::new(&args.dir);
    let settings = dir.read_settings()?;
    let run = find_run(&dir, args.index)?;
    let folder = dir.run(&run);
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    // One task per run at a time: a second one (a resubmission while the first still runs)
    // refuses, naming the holder.
    let _claim = actfn_io::Claim::take(&folder)?;
    say!(
        "sweep task {} ({}) on {}, pid {}",
        run.index,
        run.id(),
        actfn_io::host_name(),
        std::process::id()
    );
    let config = settings.train_config(run.seed, run.split_seed, run.patience)?;
    let device = actfn_model::parse_device(&settings.device)?;
    if usize::from(settings.threads) != rayon::current_num_threads() {
        bail!(
            "the sweep computes with {} threads, this process has {}: run tasks through \
             `cargo xtask sweep task`, which sets them",
            settings.threads,
            rayon::current_num_threads()
        );
    }
    let splits = crate::data::load_splits(run.split_seed, &device)?;
    let outcome = train_one(&run.network(), &config, &splits, &folder, Existing::Replace)?;
    say!(
        "sweep task {} finished: test accuracy {:.2}%",
        run.index,
        100.0 * outcome.test_acc
    );
    Ok(())
}

/// The variable in which the local sweep gives its tasks its process id.
pub const SWEEP_PID: &str = "ACTFN_SWEEP_PID";

/// Ends this process when its parent ends (the local sweep killed, say), so that no task trains
/// on as an orphan and holds its run's claim against the next sweep. The run resumes from its
/// last finished epoch, and the claim of a process that has ended is taken over. The parent is
/// the one the local sweep names (a sweep killed before this task started is caught too), else
/// the one the task started with (a Slurm step).
fn end_with_parent() {
    let parent = std::env::var(SWEEP_PID)
        .ok()
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(std::os::unix::process::parent_id);
    std::thread::spawn(move || {
        loop {
            if std::os::unix::process::parent_id() != parent {
                // Not eprintln!, which panics when standard error is closed.
                let _ = writeln!(
                    std::io::stderr(),
                    "sweep task: its parent process {parent} has ended, so it ends too; the run \
                     continues from its last finished epoch when the sweep runs again"
                );
                std::process::exit(1);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
}
