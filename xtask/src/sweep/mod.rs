//! `cargo xtask sweep`: the command line of `actfn-sweep`. A grid of independent training runs
//! (activations x seeds x split seeds x architectures x patiences), each exactly the run `train`
//! does, run here as child processes or written as a Slurm job array; and its report.
//!
//! - `grid`: the grid's flags; `slurm`: the job array's; `report`: `sweep report`;
//! - `plan`: `sweep plan`, the seeds each comparison needs;
//! - `simulate`: `sweep simulate`, the sequential design's error rates by simulation;
//! - `sequential`: `--until-decided`, seeds added until each comparison is decided;
//! - `task`: one run (`sweep task`), in a child process of the local sweep or a Slurm task.

mod grid;
mod plan;
mod report;
mod sequential;
mod simulate;
mod slurm;
mod task;

pub(crate) use grid::Emit;
pub(crate) use slurm::SlurmArgs;

use std::process::Command;

use actfn_sweep::slurm::TaskCommand;
use actfn_sweep::{Local, SweepDir, SweepSettings};
use anyhow::bail;
use clap::{Args, Subcommand};

use grid::RunArgs;

/// Arguments of `cargo xtask sweep`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SweepArgs {
    #[command(subcommand)]
    action: Option<SweepAction>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum SweepAction {
    /// Run one run of a sweep folder (what each local job and Slurm array task runs).
    Task(task::TaskArgs),
    /// Build runs.csv and the report from the finished runs; list the others.
    Report(report::ReportArgs),
    /// How many seeds each comparison needs for 80% power, and what they would cost.
    Plan(plan::PlanArgs),
    /// The sequential design's error rates, power and cost on runs drawn from a page's.
    Simulate(simulate::SimulateArgs),
}

impl SweepArgs {
    /// The CPU threads of the command when it computes in this process (`sweep task`).
    pub fn threads(&self) -> Option<u16> {
        match &self.action {
            Some(SweepAction::Task(args)) => args.threads(),
            _ => None,
        }
    }
}

/// This binary's `sweep task`, which runs [`actfn_sweep::run_task`], writing `outputs`.
pub(crate) fn task_command(outputs: &crate::train::OutputArgs) -> anyhow::Result<TaskCommand> {
    let mut args = vec!["sweep".into(), "task".into()];
    args.extend(outputs.flags());
    Ok(TaskCommand {
        program: std::env::current_exe()?,
        args,
    })
}

pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    match &args.action {
        Some(SweepAction::Task(task)) => task::run(task),
        Some(SweepAction::Report(report)) => report::run(report),
        Some(SweepAction::Plan(plan)) => plan::run(plan),
        Some(SweepAction::Simulate(simulate)) => simulate::run(simulate),
        None => run_local(&args.run),
    }
}

/// Refuses a grid with a network that could not train in this machine's memory, with the
/// numbers, before anything is written or allocated. (A cluster's nodes are not this machine:
/// there `--mem` is the limit, which Slurm enforces.)
fn fits_in_memory(settings: &SweepSettings) -> anyhow::Result<()> {
    let (Some(memory), Some(need)) = (
        crate::machine::memory_bytes(),
        settings.largest_memory_need()?,
    ) else {
        return Ok(());
    };
    if need.bytes > memory {
        let sizes: Vec<String> = need.hidden.iter().map(|h| h.to_string()).collect();
        let gib = |bytes: u64| bytes as f64 / f64::from(1u32 << 30);
        bail!(
            "--hidden {} needs about {:.1} GiB to train (weights, gradients, momentum, \
             activations and the data), more than this machine's {:.1} GiB: give smaller layers",
            sizes.join(","),
            gib(need.bytes),
            gib(memory)
        );
    }
    Ok(())
}

/// The local sweep: every run that has not finished, as child processes, then the report. With
/// `--emit slurm`, the job array instead.
fn run_local(args: &RunArgs) -> anyhow::Result<()> {
    if args.sequential.until_decided {
        if args.peer.is_some() {
            bail!("--peer is not for a sequential sweep: run the peer's sweep apart");
        }
        return sequential::run(args, &args.sequential);
    }
    let dir = SweepDir::new(&args.folder());
    let settings = args.settings()?;
    // Whatever would refuse the sweep refuses it before its folder is written.
    settings.validate()?;
    let task = task_command(&args.outputs)?;
    match args.emit {
        Some(Emit::Slurm) => {
            actfn_sweep::slurm::preflight(&dir, &settings, &args.slurm.settings(), &task)?
        }
        None => fits_in_memory(&settings)?,
    }
    dir.prepare(&settings)?;
    if args.emit == Some(Emit::Slurm) {
        match actfn_sweep::slurm::emit(&dir, &args.slurm.settings(), &task)? {
            Some(command) => say!(
                "Job array written to {}; submit it with:\n  {command}\nthen watch it with \
                 `squeue --me`, and build the report with `cargo xtask sweep report --dir {}`",
                dir.root.display(),
                actfn_sweep::slurm::shell_quote(&dir.root.to_string_lossy())
            ),
            None => say!(
                "Every run of {} has finished or is running: no array to write",
                dir.root.display()
            ),
        }
        return Ok(());
    }
    run_here(&dir, args.jobs, task, args.peer.as_deref())
}

/// How the stages of a longer command (a search's stages, a sequential sweep's looks) are
/// trained: here, `jobs` at a time, or as a job array.
pub(crate) struct Training {
    pub jobs: usize,
    pub emit: Option<Emit>,
    pub slurm: actfn_sweep::slurm::SlurmSettings,
    pub task: TaskCommand,
}

/// Trains what has not finished of the sweep `settings` in `dir` (prepared here), and returns
/// true; with `--emit slurm` and runs left, writes their job array instead, says how to go on
/// (run the same `command` again when it has finished) and returns false.
pub(crate) fn train_or_emit(
    dir: &SweepDir,
    settings: &SweepSettings,
    training: &Training,
    command: &str,
) -> anyhow::Result<bool> {
    let task = training.task.clone();
    if training.emit.is_none() {
        dir.prepare(settings)?;
        run_here(dir, training.jobs, task, None)?;
        return Ok(true);
    }
    actfn_sweep::slurm::preflight(dir, settings, &training.slurm, &task)?;
    dir.prepare(settings)?;
    let left = actfn_sweep::pending(dir, settings, &mut |line| say!("{line}"))?;
    if left.is_empty() {
        return Ok(true);
    }
    match actfn_sweep::slurm::emit(dir, &training.slurm, &task)? {
        Some(submit) => say!(
            "Job array of {} written; submit it with:\n  {submit}\nthen run this {command} \
             command again when it has finished: it goes on from there",
            dir.root.display()
        ),
        None => say!(
            "Every run of {} left is running; run this {command} command again when they have \
             finished",
            dir.root.display()
        ),
    }
    Ok(false)
}

/// Runs every run of the prepared sweep in `dir` that has not finished, `jobs` at a time, each
/// as `task` in a child process (with the PyTorch peer's runs in `peer`, a Python, beside them),
/// then writes its report.
pub(crate) fn run_here(
    dir: &SweepDir,
    jobs: usize,
    task: TaskCommand,
    peer: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    // The data the tasks train on: its test labels for the report, its folder for the peer.
    let (data_dir, data) = crate::data::find_or_fetch(true)?;
    let test_labels = Some(data.test_labels.iter().map(|&l| l.into()).collect());
    let peer = peer.map(|python| actfn_sweep::peer::Peer {
        python: python.to_path_buf(),
        script: crate::peer::script("peer.py"),
        data_dir,
        train_images: data.train_len(),
    });
    let root = dir.root.clone();
    let local = Local {
        jobs,
        task_command: Box::new(move |run| {
            let mut command = Command::new(&task.program);
            command.args(&task.args).arg("--dir").arg(&root);
            command.args(["--index", &run.index.to_string()]);
            command
        }),
        peer,
        test_labels,
    };
    actfn_sweep::run_local(dir, &local, &|line| say!("{line}"))?;
    Ok(())
}
