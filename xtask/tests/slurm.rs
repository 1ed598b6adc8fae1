//! The sweep as a Slurm job array, against a real one-node Slurm (`scripts/slurm-local.sh
//! start`, which `.ci/run` runs): the array's runs equal the local sweep's, and a cancelled task
//! is reported and resubmitted alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

/// `SLURM_CONF`, or the local cluster's config; panics with the fix when neither is there.
fn slurm_conf() -> PathBuf {
    let conf = std::env::var_os("SLURM_CONF")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/actfn-slurm/slurm.conf"));
    assert!(
        conf.is_file(),
        "no Slurm: run scripts/slurm-local.sh start (or set SLURM_CONF)"
    );
    conf
}

fn slurm(program: &str) -> Command {
    let mut command = Command::new(program);
    command.env("SLURM_CONF", slurm_conf());
    command
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The grid: two activations, two seeds, on part of the data.
fn grid(out: &Path, subset: &str, epochs: &str) -> Vec<String> {
    [
        "sweep",
        "--acts",
        "relu,tanh",
        "--seeds",
        "2",
        "--subset",
        subset,
        "--epochs",
        epochs,
        "--threads",
        "1",
        "--out",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([out.display().to_string()])
    .collect()
}

/// Writes the job array (with `extra` flags) and submits it; returns the job id.
fn submit(out: &Path, subset: &str, epochs: &str, extra: &[&str]) -> String {
    let output = xtask()
        .args(grid(out, subset, epochs))
        .args(["--emit", "slurm", "--time", "20", "--mem", "1G"])
        .args(extra)
        .output()
        .unwrap();
    assert_success(&output);
    let output = slurm("sbatch")
        .arg("--parsable")
        .arg(out.join("sweep.sbatch"))
        .output()
        .unwrap();
    assert_success(&output);
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Waits until no task of `job` is queued or running.
fn wait(job: &str) {
    let started = Instant::now();
    loop {
        let output = slurm("squeue").args(["-h", "-j", job]).output().unwrap();
        if String::from_utf8_lossy(&output.stdout).trim().is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "job {job} still runs after 10 minutes"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `runs.csv` without its time and host columns.
fn runs_without_time(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("runs.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            fields[..fields.len() - 2].join(",")
        })
        .collect()
}

/// Every run's checkpoint bytes, by run folder.
fn checkpoints(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .flat_map(|run| {
            let run = run.unwrap().path();
            std::fs::read_dir(&run)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
                .map(|p| {
                    (
                        p.display()
                            .to_string()
                            .replace(&dir.display().to_string(), ""),
                        std::fs::read(&p).unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    all.sort();
    all
}

fn report(dir: &Path) -> String {
    let output = xtask()
        .args(["sweep", "report", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert_success(&output);
    String::from_utf8_lossy(&output.stdout).to_string()
}

#[test]
#[ignore = "needs a local Slurm (scripts/slurm-local.sh start) and the Fashion-MNIST files; .ci/run runs it"]
fn a_slurm_array_gives_the_local_sweeps_runs_and_checkpoints() {
    let local = tempfile::tempdir().unwrap();
    assert_success(
        &xtask()
            .args(grid(local.path(), "4096", "2"))
            .output()
            .unwrap(),
    );
    let cluster = tempfile::tempdir().unwrap();
    let job = submit(cluster.path(), "4096", "2", &["--max-parallel", "4"]);
    wait(&job);
    let summary = report(cluster.path());
    assert!(summary.contains("4 runs finished, 0 not"), "{summary}");
    assert_eq!(
        runs_without_time(cluster.path()),
        runs_without_time(local.path())
    );
    assert_eq!(checkpoints(cluster.path()), checkpoints(local.path()));
    let script = std::fs::read_to_string(cluster.path().join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3%4"), "{script}");
    assert!(script.contains("sweep task --dir"), "{script}");
}

#[test]
#[ignore = "needs a local Slurm (scripts/slurm-local.sh start) and the Fashion-MNIST files; .ci/run runs it"]
fn a_cancelled_task_is_reported_and_resubmitted_alone() {
    let cluster = tempfile::tempdir().unwrap();
    let job = submit(cluster.path(), "8192", "4", &["--max-parallel", "2"]);
    // Cancel task 1 once it is some way in.
    let metrics = cluster
        .path()
        .join("runs")
        .join("tanh-h512x256x256x128-p7-split42-seed0")
        .join("FashionMNIST_tanh")
        .join("metrics.csv");
    let started = Instant::now();
    while !metrics.is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "task 1 made no progress"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_success(&slurm("scancel").arg(format!("{job}_1")).output().unwrap());
    wait(&job);
    let summary = report(cluster.path());
    assert!(summary.contains("3 runs finished, 1 not"), "{summary}");
    assert!(
        summary.contains("task 1 (tanh-h512x256x256x128-p7-split42-seed0): failed or interrupted"),
        "{summary}"
    );

    // Only the missing run: an array of one task.
    let again = submit(cluster.path(), "8192", "4", &["--only-missing"]);
    let script = std::fs::read_to_string(cluster.path().join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=1%16"), "{script}");
    wait(&again);
    assert!(report(cluster.path()).contains("4 runs finished, 0 not"));

    let local = tempfile::tempdir().unwrap();
    assert_success(
        &xtask()
            .args(grid(local.path(), "8192", "4"))
            .output()
            .unwrap(),
    );
    assert_eq!(
        runs_without_time(cluster.path()),
        runs_without_time(local.path())
    );
    assert_eq!(checkpoints(cluster.path()), checkpoints(local.path()));
}
