//! `cargo xtask sweep`: a grid of independent training runs (activations x seeds x split seeds
//! x architectures x patiences), each exactly the run `train` does, with their statistics.
//!
//! - `grid`: the axes, the settings a sweep folder records, the runs;
//! - `task`: one run (`sweep task`), in a child process of the local sweep or a Slurm task;
//! - `schedule`: the child processes, a few at a time, with progress;
//! - `slurm`, `array_size`: the job array for a cluster, and how large an array it takes;
//! - `records`, `groups`, `stats`, `figures`, `report`, `preface`: what the runs left, and the
//!   report.

mod array_size;
mod figures;
mod grid;
mod groups;
mod preface;
mod records;
mod report;
mod schedule;
mod slurm;
mod stats;
mod task;

use std::path::PathBuf;
use std::process::Command;

use anyhow::bail;
use clap::{Args, Subcommand};

use crate::at_least_one;
use grid::{SweepDir, SweepSettings, parse_hidden, parse_seeds};
use records::RunStatus;
use schedule::Job;

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
}

/// Runs per hour of the two ways to use the 2-core reference machine, measured on the study's
/// protocol (see docs/bench/): the default is the faster.
const DEFAULT_JOBS: usize = 2;
const DEFAULT_THREADS: u16 = 1;

/// The grid and how to run it.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Activation functions, comma-separated, or `all` (every built-in) [default: the study's
    /// six].
    #[arg(long, value_name = "NAMES", value_parser = crate::train::parse_act_list)]
    acts: Option<crate::train::ActList>,
    /// Seeds of the initial weights and batch order: a count from 0 (`10`), a list (`0,3,7`;
    /// one seed: `7,`) or a range (`0-9`).
    #[arg(long, default_value = "10", value_parser = seed_list)]
    seeds: Seeds,
    /// Seeds of the train/validation split, as --seeds [default: the study's split, 42].
    #[arg(long, value_parser = seed_list)]
    split_seeds: Option<Seeds>,
    /// Hidden layer sizes; repeat the flag for several architectures.
    #[arg(long, value_parser = parse_hidden, default_value = "512,256,256,128")]
    hidden: Vec<Vec<usize>>,
    /// Early-stopping patiences (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "7")]
    patience: Vec<usize>,
    /// The most epochs per run.
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    lr: f64,
    /// Momentum.
    #[arg(long, default_value_t = 0.9, allow_negative_numbers = true)]
    momentum: f64,
    /// Training batch size.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    /// Train on the first N images of the training split only.
    #[arg(long, value_name = "N")]
    subset: Option<usize>,
    /// Initial weights of every run: pytorch (the study's), kaiming-normal or lecun-normal.
    #[arg(long, default_value_t = actfn_model::Init::PyTorch, value_parser = crate::train::parse_init)]
    init: actfn_model::Init,
    /// Where every run computes: cpu, cuda, cuda:N, metal or metal:N.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// CPU threads per run. The default 2 jobs x 1 thread finishes a sweep sooner on 2 cores
    /// than 1 job x 2 threads: 6 runs of 4 epochs took 26-31 s against 43-44 s (measured
    /// twice each on the 2-core reference machine).
    #[arg(long, default_value_t = DEFAULT_THREADS, value_parser = clap::value_parser!(u16).range(1..))]
    threads: u16,
    /// Runs at once, each in its own process.
    #[arg(long, default_value_t = DEFAULT_JOBS, value_parser = at_least_one)]
    jobs: usize,
    /// The sweep's name: its folder is sweeps/NAME.
    #[arg(long, default_value = "default", conflicts_with = "out")]
    name: String,
    /// The sweep's folder (instead of sweeps/NAME).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also run the grid with the study's PyTorch code (xtask/pytorch/peer.py) in this Python
    /// (with torch and numpy), on the same splits and protocol, and compare the two in the
    /// report.
    #[arg(long, value_name = "PYTHON", conflicts_with = "emit")]
    peer: Option<PathBuf>,
    /// Instead of running: write a job array for a cluster into the sweep folder (`slurm`:
    /// tasks.tsv and sweep.sbatch) and print the command that submits it.
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    #[command(flatten)]
    slurm: slurm::SlurmArgs,
}

/// What `--emit` writes.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Emit {
    /// A Slurm job array.
    Slurm,
}

/// The study's split seed.
const STUDY_SPLIT_SEED: u64 = 42;

/// A list of seeds, as one argument.
#[derive(Debug, Clone)]
struct Seeds(Vec<u64>);

fn seed_list(text: &str) -> Result<Seeds, String> {
    parse_seeds(text).map(Seeds)
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

impl RunArgs {
    fn settings(&self) -> SweepSettings {
        let acts = self
            .acts
            .as_ref()
            .map_or_else(actfn_activations::Activation::study, |list| list.0.clone());
        SweepSettings {
            acts: acts.iter().map(|a| a.key().to_string()).collect(),
            seeds: self.seeds.0.clone(),
            split_seeds: self
                .split_seeds
                .as_ref()
                .map_or_else(|| vec![STUDY_SPLIT_SEED], |s| s.0.clone()),
            hidden: self.hidden.clone(),
            patience: self.patience.clone(),
            max_epochs: self.epochs,
            batch_size: self.batch_size,
            optimizer: actfn_train::SgdConfig {
                lr: self.lr,
                momentum: self.momentum,
                ..actfn_train::SgdConfig::default()
            },
            subset: self.subset,
            init: self.init,
            device: self.device.clone(),
            threads: self.threads,
        }
    }

    fn folder(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| crate::project_root().join("sweeps").join(&self.name))
    }
}

pub fn run(args: &SweepArgs) -> anyhow::Result<()> {
    match &args.action {
        Some(SweepAction::Task(task)) => task::run(task),
        Some(SweepAction::Report(report)) => report::run(report),
        None => run_local(&args.run),
    }
}

/// Checks the settings and records them in the folder, or checks them against the ones it
/// records. Nothing is written when they are bad or differ.
fn prepare(dir: &SweepDir, settings: &SweepSettings) -> anyhow::Result<()> {
    settings.validate()?;
    actfn_model::parse_device(&settings.device)?;
    if dir.settings().is_file() {
        let saved = dir.read_settings()?;
        if let Some(difference) = actfn_train::first_difference(&saved, settings)? {
            bail!(
                "{} was created with other settings ({difference}); use those settings to continue \
                 it, or another --name or --out for a new sweep",
                dir.settings().display()
            );
        }
        return Ok(());
    }
    dir.write_settings(settings)
}

/// Refuses a grid with a network that could not train in this machine's memory, with the
/// numbers, before anything is written or allocated. (A cluster's nodes are not this machine:
/// there `--mem` is the limit, which Slurm enforces.)
fn fits_in_memory(settings: &SweepSettings) -> anyhow::Result<()> {
    let Some(memory) = crate::machine::memory_bytes() else {
        return Ok(());
    };
    let config = settings.train_config(0, 0, 0)?;
    for hidden in &settings.hidden {
        let net = settings.network_config(hidden)?;
        let needed = actfn_train::memory_estimate(&net, &config, settings.threads.into());
        if needed > memory {
            let sizes: Vec<String> = hidden.iter().map(|h| h.to_string()).collect();
            let gib = |bytes: u64| bytes as f64 / f64::from(1u32 << 30);
            bail!(
                "--hidden {} needs about {:.1} GiB to train (weights, gradients, momentum, \
                 activations and the data), more than this machine's {:.1} GiB: give smaller layers",
                sizes.join(","),
                gib(needed),
                gib(memory)
            );
        }
    }
    Ok(())
}

/// The local sweep: every run that has not finished, as child processes, then the report. With
/// `--emit slurm`, the job array instead.
fn run_local(args: &RunArgs) -> anyhow::Result<()> {
    let dir = SweepDir::new(&args.folder());
    let settings = args.settings();
    // Whatever would refuse the sweep refuses it before its folder is written.
    settings.validate()?;
    let runs = settings.runs()?;
    match args.emit {
        Some(Emit::Slurm) => {
            slurm::preflight(&dir, runs.len(), &args.slurm, settings.threads)?;
        }
        None => fits_in_memory(&settings)?,
    }
    prepare(&dir, &settings)?;
    if args.emit == Some(Emit::Slurm) {
        match slurm::emit(&dir, &settings, &runs, &args.slurm)? {
            Some(command) => say!(
                "Job array written to {}; submit it with:\n  {command}\nthen watch it with \
                 `squeue --me`, and build the report with `cargo xtask sweep report --dir {}`",
                dir.root.display(),
                slurm::shell_quote(&dir.root.to_string_lossy())
            ),
            None => say!(
                "Every run of {} has finished or is running: no array to write",
                dir.root.display()
            ),
        }
        return Ok(());
    }
    let mut pending = Vec::new();
    for (run, status) in records::statuses(&dir, &settings)? {
        if let RunStatus::Unsound(reason) = &status {
            say!("{}: {reason}; it is set aside and trained again", run.id());
        }
        if !matches!(status, RunStatus::Finished(_)) {
            pending.push(run);
        }
    }
    let peer_pending: Vec<_> = match &args.peer {
        Some(_) => runs
            .iter()
            .filter(|run| records::peer_result(&dir, run).is_none())
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let report_path = dir.root.join("report.html");
    if pending.is_empty() && peer_pending.is_empty() && report_path.is_file() {
        say!(
            "All {} runs of {} are finished; nothing to train. Report: {}",
            runs.len(),
            dir.root.display(),
            report_path.display()
        );
        return Ok(());
    }
    say!(
        "Sweep {}: {} runs, {} to train, {} at a time with {} thread(s) each",
        dir.root.display(),
        runs.len(),
        pending.len(),
        args.jobs,
        settings.threads
    );
    let exe = std::env::current_exe()?;
    let jobs: Vec<Job> = pending
        .iter()
        .map(|run| -> anyhow::Result<Job> {
            std::fs::create_dir_all(dir.run(run))?;
            let mut command = Command::new(&exe);
            command.arg("sweep").arg("task").arg("--dir").arg(&dir.root);
            // The task ends when this process does (see `task::end_with_parent`).
            command.env(task::SWEEP_PID, std::process::id().to_string());
            command.args(["--index", &run.index.to_string()]);
            let (result_dir, spec, settings) = (dir.clone(), run.clone(), settings.clone());
            Ok(Job {
                label: format!("{} (task {})", run.id(), run.index),
                command,
                log: dir.log(run),
                result: Box::new(
                    move || match records::status(&result_dir, &settings, &spec) {
                        RunStatus::Finished(r) => format!(
                            "test accuracy {:.2}% after {} epochs ({:.0} s)",
                            r.test_percent(),
                            r.run.summary.epochs_run,
                            r.run.summary.seconds
                        ),
                        _ => "finished".into(),
                    },
                ),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut jobs = jobs;
    if let Some(python) = &args.peer {
        jobs.extend(peer_jobs(&dir, &settings, &peer_pending, python)?);
    }
    let started = std::time::SystemTime::now();
    let ended = schedule::run_all(jobs, args.jobs, "runs")?;
    records::record_session(
        &dir,
        records::Session {
            started_unix: started
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            wall_seconds: started.elapsed().map_or(0.0, |d| d.as_secs_f64()),
            runs: pending.len(),
            peer_runs: peer_pending.len(),
            jobs: args.jobs,
            threads: settings.threads,
            host: actfn_io::host_name(),
        },
    )?;
    let inputs = report::gather(std::slice::from_ref(&dir.root))?;
    let path = report::write(&inputs, &dir.root, &report::Preface::default())?;
    say!("Report: {}", path.display());
    let failed: Vec<_> = ended.iter().filter(|e| !e.success).collect();
    if !failed.is_empty() {
        let names: Vec<String> = failed
            .iter()
            .map(|e| format!("{} ({})", e.label, e.last_line.clone().unwrap_or_default()))
            .collect();
        bail!(
            "{} runs failed: {}; rerun the same command to retry them",
            failed.len(),
            names.join("; ")
        );
    }
    Ok(())
}

/// The PyTorch peer's jobs for `runs`: the splits they need are written first.
fn peer_jobs(
    dir: &SweepDir,
    settings: &SweepSettings,
    runs: &[grid::RunSpec],
    python: &std::path::Path,
) -> anyhow::Result<Vec<Job>> {
    let peer_dir = dir.root.join("peer");
    std::fs::create_dir_all(&peer_dir)?;
    let (data_dir, data) = crate::data::find_or_fetch(true)?;
    let mut jobs = Vec::new();
    for run in runs {
        let split = peer_dir.join(format!("split{}.safetensors", run.split_seed));
        if !split.is_file() {
            crate::peer::write_split(&split, run.split_seed, data.train_len())?;
        }
        let out = records::peer_path(dir, run);
        let mut command = Command::new(python);
        command.arg(crate::peer::script("peer.py"));
        command
            .arg("--split")
            .arg(&split)
            .arg("--data")
            .arg(&data_dir);
        let hidden: Vec<String> = run.hidden.iter().map(|h| h.to_string()).collect();
        command.args([
            "--act",
            run.act.key(),
            "--seed",
            &run.seed.to_string(),
            "--split-seed",
            &run.split_seed.to_string(),
            "--hidden",
            &hidden.join(","),
            "--patience",
            &run.patience.to_string(),
            "--epochs",
            &settings.max_epochs.to_string(),
            "--lr",
            &settings.optimizer.lr.to_string(),
            "--momentum",
            &settings.optimizer.momentum.to_string(),
            "--batch-size",
            &settings.batch_size.to_string(),
            "--threads",
            &settings.threads.to_string(),
            "--init",
            settings.init.name(),
            "--id",
            &run.id(),
        ]);
        if let Some(subset) = settings.subset {
            command.args(["--subset", &subset.to_string()]);
        }
        command.arg("--out").arg(&out);
        let (result_dir, spec) = (dir.clone(), run.clone());
        jobs.push(Job {
            label: format!("PyTorch {}", run.id()),
            command,
            log: peer_dir.join(format!("{}.log", run.id())),
            result: Box::new(move || match records::peer_result(&result_dir, &spec) {
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
