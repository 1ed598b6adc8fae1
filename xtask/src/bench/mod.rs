//! `cargo xtask bench`: actfn's training speed side by side with the study's PyTorch code, on
//! this machine, in one run; writes `docs/bench/bench.json` and `docs/bench/README.md`.
//!
//! Each thread count runs in a child process (`bench-worker`), because candle and rayon read the
//! thread count once per process.

mod ceiling;
mod markdown;
mod whole;
mod worker;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};
use clap::Args;
use serde::{Deserialize, Serialize};

use crate::{at_least_one, project_root};
use markdown::markdown;
use worker::{Measurement, step_flop};
pub use worker::{WorkerArgs, worker};

/// Arguments of `cargo xtask bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Thread counts to measure (each at least 1).
    #[arg(long, value_delimiter = ',', default_value = "1,2",
          value_parser = clap::value_parser!(u16).range(1..))]
    threads: Vec<u16>,
    /// The Python with PyTorch and torchvision to measure the study's code with; without it,
    /// the PyTorch columns are left out.
    #[arg(long, value_name = "PYTHON")]
    pytorch: Option<PathBuf>,
    /// Training steps timed one by one (after the warm-up steps).
    #[arg(long, default_value_t = 60, value_parser = at_least_one)]
    steps: usize,
    /// Repeats of each epoch and validation timing.
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    repeats: usize,
    /// Epochs per run of the sweep-throughput measurement (the study's six activations, one
    /// seed, for each way of splitting the cores).
    #[arg(long, default_value_t = 3, value_parser = at_least_one)]
    sweep_epochs: usize,
    /// Where the JSON and the Markdown table go.
    #[arg(long, default_value = "docs/bench")]
    out: PathBuf,
}

/// Runs `command`, which prints one JSON measurement per line, and parses the lines.
fn collect(command: &mut Command, what: &str) -> anyhow::Result<Vec<Measurement>> {
    let output = command
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    if !output.status.success() {
        bail!("{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).with_context(|| format!("{what} printed {l}")))
        .collect()
}

/// Everything one run of the benchmark measured.
#[derive(Debug, Serialize, Deserialize)]
struct Report {
    machine: String,
    commit: String,
    candle: String,
    pytorch: Option<String>,
    step_gflop: f64,
    actfn: Vec<Measurement>,
    pytorch_in_memory: Vec<Measurement>,
    pytorch_dataloader: Vec<Measurement>,
    /// `reproduce --quick`, at the default settings.
    reproduce_quick: Option<whole::Footprint>,
    /// A small sweep, for each `--jobs` x `--threads` split of the cores.
    #[serde(default)]
    sweeps: Vec<whole::SweepThroughput>,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let data_dir = crate::data::find_or_fetch(true)?.0;
    let mut report = Report {
        machine: crate::machine::cpu_description(),
        commit: crate::machine::git_commit(),
        candle: crate::machine::candle_version(),
        pytorch: None,
        step_gflop: step_flop(256) / 1e9,
        actfn: Vec::new(),
        pytorch_in_memory: Vec::new(),
        pytorch_dataloader: Vec::new(),
        reproduce_quick: None,
        sweeps: Vec::new(),
    };
    for &threads in &args.threads {
        say!("==> actfn, {threads} thread(s)");
        let mut command = Command::new(&exe);
        command.args([
            "bench-worker",
            "--threads",
            &threads.to_string(),
            "--steps",
            &args.steps.to_string(),
        ]);
        command.args(["--repeats", &args.repeats.to_string()]);
        report
            .actfn
            .extend(collect(&mut command, "the actfn benchmark worker")?);
        if let Some(python) = &args.pytorch {
            for mode in ["memory", "dataloader"] {
                say!("==> PyTorch ({mode}), {threads} thread(s)");
                let mut command = Command::new(python);
                command.arg(crate::peer::script("bench.py"));
                command
                    .args(["--threads", &threads.to_string(), "--mode", mode, "--data"])
                    .arg(&data_dir);
                command.args([
                    "--steps",
                    &args.steps.to_string(),
                    "--repeats",
                    &args.repeats.to_string(),
                ]);
                let measured = collect(&mut command, "the PyTorch benchmark")?;
                if mode == "memory" {
                    &mut report.pytorch_in_memory
                } else {
                    &mut report.pytorch_dataloader
                }
                .extend(measured);
            }
            let version = Command::new(python)
                .args(["-c", "import torch; print(torch.__version__)"])
                .output()?;
            report.pytorch = Some(String::from_utf8_lossy(&version.stdout).trim().to_string());
        }
    }
    let scratch = std::env::temp_dir().join(format!("actfn-bench-{}", std::process::id()));
    let measured = whole_commands(&exe, &scratch, args, &mut report);
    // The scratch folder goes whether or not the measurements worked.
    let _ = std::fs::remove_dir_all(&scratch);
    measured?;
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        project_root().join(&args.out)
    };
    std::fs::create_dir_all(&out)?;
    actfn_io::atomic_write(
        &out.join("bench.json"),
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    let table = markdown(&report);
    actfn_io::atomic_write(&out.join("README.md"), table.as_bytes())?;
    say!("\n{table}");
    Ok(())
}

/// The whole-command measurements: `reproduce --quick`, then the sweep for every split of the
/// cores into jobs x threads.
fn whole_commands(
    exe: &std::path::Path,
    scratch: &std::path::Path,
    args: &BenchArgs,
    report: &mut Report,
) -> anyhow::Result<()> {
    say!("==> reproduce --quick (peak memory)");
    report.reproduce_quick = Some(whole::reproduce_quick(exe, scratch)?);
    let cores = args.threads.iter().copied().max().unwrap_or(1);
    for jobs in [usize::from(cores), 1] {
        let threads = (cores / jobs as u16).max(1);
        say!("==> sweep throughput, {jobs} job(s) x {threads} thread(s)");
        report.sweeps.push(whole::sweep(
            exe,
            scratch,
            jobs,
            threads,
            args.sweep_epochs,
        )?);
        if cores == 1 {
            break;
        }
    }
    Ok(())
}
