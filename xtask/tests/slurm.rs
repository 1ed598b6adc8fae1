//! The sweep as a Slurm job array, against a real one-node Slurm (`scripts/slurm-local.sh
//! start`, which `.ci/run` runs): the array's runs equal the local sweep's, and a cancelled task
//! is reported and resubmitted alone. Without a cluster: the script hands hostile folder names
//! to the task intact and passes shellcheck, and arrays and seed lists too large are refused.

mod common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{assert_success, runs_without_time, small_search, xtask};

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

/// `--emit slurm` of a grid of `seeds` seeds of one activation into `out`, with `extra` flags.
fn emit(out: &Path, seeds: &str, extra: &[&str]) -> Command {
    let mut command = xtask();
    command
        .args([
            "sweep",
            "--acts",
            "relu",
            "--seeds",
            seeds,
            "--threads",
            "1",
        ])
        .args(["--emit", "slurm", "--out"])
        .arg(out)
        .args(extra);
    command
}

/// The files below `dir` that a command substitution in a hostile folder name would make.
fn pwned(dir: &Path) -> Vec<PathBuf> {
    tree(dir)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("PWNED"))
        })
        .collect()
}

/// Every path under `root`, relative to it.
fn tree(root: &Path) -> Vec<PathBuf> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all.extend(
                tree(&path)
                    .into_iter()
                    .map(|p| path.strip_prefix(root).unwrap().join(p)),
            );
        }
        all.push(path.strip_prefix(root).unwrap().to_path_buf());
    }
    all
}

#[test]
fn hostile_folder_names_reach_the_task_intact_and_run_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let cwd = temp.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let names = [
        "q$(touch PWNED)",
        "a'b;touch PWNED2",
        "`touch PWNED3`",
        "my sweep",
    ];
    for name in names {
        let dir = temp.path().join(name);
        assert_success(&emit(&dir, "1", &[]).output().unwrap());
        // An index past the grid's one run: the task reads the sweep's settings from the folder
        // it was given and stops, naming it, without training (and without the data).
        let output = Command::new("bash")
            .arg(dir.join("sweep.sbatch"))
            .env("SLURM_ARRAY_TASK_ID", "7")
            .current_dir(&cwd)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{stderr}");
        let expected = format!(
            "task index 7 is out of range: the sweep in {} has 1 runs",
            dir.display()
        );
        assert!(stderr.contains(&expected), "{name}: {stderr}");
    }
    assert_eq!(
        tree(&cwd),
        Vec::<PathBuf>::new(),
        "the script wrote into its cwd"
    );
    let mut top: Vec<String> = std::fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    top.sort();
    let mut expected: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    expected.push("cwd".into());
    expected.sort();
    assert_eq!(top, expected, "something outside the sweep folders");
    let pwned = pwned(temp.path());
    assert!(pwned.is_empty(), "{pwned:?}");
    assert!(!Path::new("PWNED").exists() && !Path::new("PWNED2").exists());
}

#[test]
fn folder_names_sbatch_cannot_take_are_refused_before_the_script() {
    let temp = tempfile::tempdir().unwrap();
    for name in [
        "new\nline",
        "tab\there",
        "100%",
        "a#b",
        "a\"b",
        "back\\slash",
        "my-HetJob",
        "packjob",
    ] {
        let dir = temp.path().join(name);
        let output = emit(&dir, "1", &[]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name:?}: {stderr}");
        assert!(
            stderr.contains("sbatch cannot take") && stderr.contains("--out"),
            "{name:?}: {stderr}"
        );
        assert!(!dir.join("sweep.sbatch").exists(), "{name:?}");
        assert!(!dir.join("slurm").exists(), "{name:?}");
    }
}

#[test]
#[ignore = "needs shellcheck; .ci/run installs it"]
fn generated_scripts_pass_shellcheck() {
    let found = Command::new("shellcheck").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "shellcheck is not installed: apt-get install shellcheck (.ci/run installs it)"
    );
    let temp = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 4] = [
        ("plain", &[]),
        ("q$(touch PWNED)", &["--partition", "gpu_a100"]),
        ("a'b;touch PWNED2", &["--max-parallel", "3"]),
        ("my sweep", &["--time", "2-00:00:00", "--mem", "4G"]),
    ];
    for (name, extra) in cases {
        let dir = temp.path().join(name);
        assert_success(&emit(&dir, "3", extra).output().unwrap());
        let output = Command::new("shellcheck")
            .arg(dir.join("sweep.sbatch"))
            .output()
            .unwrap();
        assert_success(&output);
    }
}

#[test]
#[ignore = "needs a local Slurm (scripts/slurm-local.sh start); .ci/run runs it"]
fn sbatch_takes_a_folder_with_a_space_a_quote_and_a_dollar() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("my sweep's q$(touch PWNED)");
    // With the cluster's config, scontrol answers: its MaxArraySize (the default here) is read.
    let output = emit(&dir, "1002", &[])
        .env("SLURM_CONF", slurm_conf())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("this cluster's MaxArraySize is 1001"),
        "{stderr}"
    );
    let dir = temp.path().join("my sweep's q$(touch PWNED2)");
    assert_success(&emit(&dir, "1", &[]).output().unwrap());
    // Task 5 is past the grid's one run: it stops at once, without the data, naming the
    // folder, in the output file sbatch took from the script's `#SBATCH --output`.
    let output = slurm("sbatch")
        .args(["--parsable", "--array=5"])
        .arg(dir.join("sweep.sbatch"))
        .current_dir(temp.path())
        .output()
        .unwrap();
    assert_success(&output);
    wait(String::from_utf8_lossy(&output.stdout).trim());
    let log = std::fs::read_to_string(dir.join("slurm").join("task-5.out")).unwrap();
    let expected = format!(
        "task index 5 is out of range: the sweep in {} has 1 runs",
        dir.display()
    );
    assert!(log.contains(&expected), "{log}");
    let pwned = pwned(temp.path());
    assert!(pwned.is_empty(), "{pwned:?}");
}

/// `PATH` with a folder first whose `scontrol` is a shell script running `body`.
fn with_scontrol(folder: &Path, body: &str) -> OsString {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(folder).unwrap();
    let script = folder.join("scontrol");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut path = OsString::from(folder);
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

#[test]
fn arrays_past_max_array_size_are_refused_with_the_numbers() {
    let temp = tempfile::tempdir().unwrap();
    // The cluster's limit, as `scontrol show config` gives it: indices 0 to 99.
    let path = with_scontrol(
        &temp.path().join("small"),
        "printf 'MaxArraySize            = 100\\nMaxJobCount             = 10000\\n'",
    );
    let fits = temp.path().join("fits");
    assert_success(&emit(&fits, "100", &[]).env("PATH", &path).output().unwrap());
    let script = std::fs::read_to_string(fits.join("sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-99%16"), "{script}");

    let over = temp.path().join("over");
    let output = emit(&over, "101", &[]).env("PATH", &path).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("largest array index is 100")
            && stderr.contains("MaxArraySize is 100")
            && !stderr.contains("default"),
        "{stderr}"
    );
    assert!(!over.join("sweep.sbatch").exists());

    // An scontrol that never answers: Slurm's default, said to be one, after a short wait.
    let path = with_scontrol(&temp.path().join("hangs"), "exec sleep 60");
    let over = temp.path().join("over-default");
    let started = Instant::now();
    let output = emit(&over, "1002", &[])
        .env("PATH", &path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(started.elapsed() < Duration::from_secs(30), "{stderr}");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("largest array index is 1001")
            && stderr.contains("MaxArraySize is 1001")
            && stderr.contains("Slurm's default"),
        "{stderr}"
    );
    assert!(!over.join("sweep.sbatch").exists());
}

#[test]
fn seed_lists_too_long_are_refused_before_they_are_built() {
    let temp = tempfile::tempdir().unwrap();
    for (seeds, count) in [
        ("0-18446744073709551615", "18446744073709551616"),
        ("1000000000000", "1000000000000"),
        ("100001", "100001"),
    ] {
        let output = emit(&temp.path().join("big"), seeds, &[]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        // A usage error from the argument parser, not a panic (101) or an abort.
        assert_eq!(output.status.code(), Some(2), "{seeds}: {stderr}");
        assert!(
            stderr.contains(&format!("gives {count} seeds; at most 100000 are allowed")),
            "{seeds}: {stderr}"
        );
    }
    assert!(!temp.path().join("big").exists());
}

/// A search on a cluster: each run of the command writes the next stage's job array (only
/// when the last one has finished) and the last writes the search's report; its standings
/// (accuracies and measurements, byte for byte) are the local search's.
#[test]
#[ignore = "needs a local Slurm (scripts/slurm-local.sh start) and the Fashion-MNIST files; .ci/run runs it"]
fn a_search_runs_stage_by_stage_as_job_arrays() {
    let search = |out: &Path, emit: bool| {
        let mut command = small_search("1024x1", out);
        if emit {
            command.args(["--emit", "slurm", "--time", "20", "--mem", "1G"]);
        }
        let output = command.output().unwrap();
        assert_success(&output);
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    let local = tempfile::tempdir().unwrap();
    search(local.path(), false);
    let cluster = tempfile::tempdir().unwrap();
    for stage in ["stage-0", "final"] {
        let said = search(cluster.path(), true);
        assert!(said.contains("sbatch "), "{said}");
        assert!(!cluster.path().join("standings.csv").exists());
        let output = slurm("sbatch")
            .arg("--parsable")
            .arg(cluster.path().join(stage).join("sweep.sbatch"))
            .output()
            .unwrap();
        assert_success(&output);
        wait(String::from_utf8_lossy(&output.stdout).trim());
    }
    search(cluster.path(), true);
    let standings = |dir: &Path| std::fs::read_to_string(dir.join("standings.csv")).unwrap();
    assert_eq!(standings(cluster.path()), standings(local.path()));
    assert!(cluster.path().join("report.html").is_file());
}

#[test]
#[ignore = "needs a local Slurm (scripts/slurm-local.sh start) and the Fashion-MNIST files; .ci/run runs it"]
fn a_sequential_look_emits_only_the_runs_it_still_needs() {
    let dir = tempfile::tempdir().unwrap();
    let pilot = common::sequential_pilot(dir.path());
    let out = dir.path().join("sequential");
    let emit = || {
        let output = common::sequential_sweep(&out, &pilot)
            .args(["--emit", "slurm", "--time", "20", "--mem", "1G"])
            .env("SLURM_CONF", slurm_conf())
            .output()
            .unwrap();
        assert_success(&output);
        String::from_utf8_lossy(&output.stdout).to_string()
    };
    // The pilot is reused and decides Sigmoid's comparisons: the second look is ReLU and Tanh
    // over seeds 5 and 6, four runs.
    let first = emit();
    assert!(first.contains("# 4 tasks"), "{first}");
    let look = out.join("look-2");
    let tasks = std::fs::read_to_string(look.join("tasks.tsv")).unwrap();
    assert!(!tasks.contains("sigmoid"), "{tasks}");
    // One of them trained here: the array holds the three left.
    let task = xtask()
        .args(["sweep", "task", "--dir"])
        .arg(&look)
        .args(["--index", "0"])
        .output()
        .unwrap();
    assert_success(&task);
    let second = emit();
    assert!(second.contains("# 3 tasks"), "{second}");
    let script = std::fs::read_to_string(look.join("sweep.sbatch")).unwrap();
    assert!(script.contains("--array=1-3"), "{script}");

    // Submit each look's array until the sweep ends (at most the two looks left).
    for _ in 0..2 {
        let submitted = slurm("sbatch")
            .arg("--parsable")
            .arg(
                std::fs::read_dir(&out)
                    .unwrap()
                    .map(|e| e.unwrap().path().join("sweep.sbatch"))
                    .filter(|p| p.is_file())
                    .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
                    .unwrap(),
            )
            .output()
            .unwrap();
        assert_success(&submitted);
        wait(String::from_utf8_lossy(&submitted.stdout).trim());
        emit();
        if out.join("report.md").is_file() {
            break;
        }
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let section = common::sequential_section(&report);
    assert!(
        section.contains("| ReLU vs Sigmoid | **different** | 1 | 5 / 5 |"),
        "{section}"
    );
}
