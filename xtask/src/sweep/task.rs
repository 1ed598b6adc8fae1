//! `cargo xtask sweep task`: one run of a sweep ([`actfn_sweep::run_task`]), what each local job
//! and each Slurm array task runs.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use actfn_sweep::SweepDir;
use anyhow::bail;
use clap::Args;

use crate::progress::EpochProgress;
use crate::train::OutputArgs;

/// Arguments of `cargo xtask sweep task`.
#[derive(Args, Debug)]
pub struct TaskArgs {
    /// The sweep folder (made by `cargo xtask sweep`, or by `--emit slurm`).
    #[arg(long)]
    pub dir: PathBuf,
    /// The run's index in the grid (`tasks.tsv`; a Slurm array's `$SLURM_ARRAY_TASK_ID`).
    #[arg(long)]
    pub index: usize,
    #[command(flatten)]
    pub outputs: OutputArgs,
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

pub fn run(args: &TaskArgs) -> anyhow::Result<()> {
    end_with_parent();
    let dir = SweepDir::new(&args.dir);
    let settings = dir.read_settings()?;
    // The threads decide the last bits of the arithmetic: `main` set them from sweep.json.
    if usize::from(settings.threads) != rayon::current_num_threads() {
        bail!(
            "the sweep computes with {} threads, this process has {}: run tasks through \
             `cargo xtask sweep task`, which sets them",
            settings.threads,
            rayon::current_num_threads()
        );
    }
    let spec = dir.find_run(&settings, args.index)?;
    let (_, data) = crate::data::find_or_fetch(true)?;
    let name = actfn_train::checkpoint_name(spec.act);
    actfn_sweep::run_task(
        &dir,
        args.index,
        &data,
        args.outputs.outputs(),
        &mut EpochProgress::new(&name),
    )?;
    Ok(())
}

/// Ends this process when its parent ends (the local sweep killed, say), so that no task trains
/// on as an orphan and holds its run's claim against the next sweep. The run resumes from its
/// last finished epoch, and the claim of a process that has ended is taken over. The parent is
/// the one the local sweep names in `SWEEP_PID` (a sweep killed before this task started is
/// caught too), else the one the task started with (a Slurm step).
fn end_with_parent() {
    let parent = std::env::var(actfn_sweep::schedule::SWEEP_PID)
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
