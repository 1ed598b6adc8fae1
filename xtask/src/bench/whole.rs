//! Whole-command measurements, each in a child process of this binary: the peak memory of
//! `reproduce --quick` and the throughput of a small sweep for two ways to split the cores.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// A command's wall time and peak resident memory.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Footprint {
    pub wall_s: f64,
    pub peak_mib: f64,
}

/// The throughput of one `--jobs` x `--threads` split of the cores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepThroughput {
    pub jobs: usize,
    pub threads: u16,
    pub runs: usize,
    pub epochs_per_run: usize,
    pub wall_s: f64,
    /// Training epochs finished per hour, all jobs together.
    pub epochs_per_hour: f64,
}

impl SweepThroughput {
    /// Runs per hour at `epochs` epochs per run (the study's runs stop early, at about 40).
    pub fn runs_per_hour(&self, epochs: f64) -> f64 {
        self.epochs_per_hour / epochs
    }
}

/// The peak resident memory of a process, in MiB, from Linux's VmHWM; `None` once it is gone
/// (or where there is no /proc).
fn peak_mib_of(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Runs `command` to completion, polling its peak memory while it runs (VmHWM only grows, so
/// the last reading before it exits is its peak to within the polling interval's growth).
pub fn footprint(command: &mut Command, what: &str) -> anyhow::Result<Footprint> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {what}"))?;
    let mut peak = 0.0_f64;
    let status = loop {
        if let Some(mib) = peak_mib_of(child.id()) {
            peak = peak.max(mib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall_s = started.elapsed().as_secs_f64();
    if !status.success() {
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            std::io::Read::read_to_string(&mut pipe, &mut stderr)?;
        }
        bail!("{what} failed ({status}): {stderr}");
    }
    Ok(Footprint {
        wall_s,
        peak_mib: peak,
    })
}

/// `reproduce --quick` into a scratch folder under `scratch`.
pub fn reproduce_quick(exe: &Path, scratch: &Path) -> anyhow::Result<Footprint> {
    let out = scratch.join("reproduce-quick");
    let mut command = Command::new(exe);
    command
        .args(["reproduce", "--quick", "--overwrite", "--out"])
        .arg(&out);
    footprint(&mut command, "reproduce --quick")
}

/// The study's six activations, one seed, `epochs` epochs each, as a sweep of `jobs` processes
/// of `threads` threads.
pub fn sweep(
    exe: &Path,
    scratch: &Path,
    jobs: usize,
    threads: u16,
    epochs: usize,
) -> anyhow::Result<SweepThroughput> {
    let out = scratch.join(format!("sweep-{jobs}x{threads}"));
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    let mut command = Command::new(exe);
    command.args(["sweep", "--seeds", "0,", "--out"]).arg(&out);
    command.args([
        "--epochs",
        &epochs.to_string(),
        "--jobs",
        &jobs.to_string(),
        "--threads",
        &threads.to_string(),
    ]);
    let measured = footprint(&mut command, "the sweep benchmark")?;
    let runs = actfn_activations::Activation::study().len();
    Ok(SweepThroughput {
        jobs,
        threads,
        runs,
        epochs_per_run: epochs,
        wall_s: measured.wall_s,
        epochs_per_hour: (runs * epochs) as f64 * 3600.0 / measured.wall_s,
    })
}
