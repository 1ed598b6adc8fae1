//! `cargo xtask sweep` end to end: a run inside a sweep is the run `train` does, a sweep killed
//! mid-run ends as an uninterrupted one, a finished sweep reruns at once, bad input changes
//! nothing.

mod common;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{
    assert_refused, assert_success, claim_pid, runs_without_time, settings_only_sweep, snapshot,
    wait_while_running, xtask,
};

/// A small grid: two activations, two seeds, 4 epochs on 8192 images.
const GRID: [&str; 12] = [
    "sweep",
    "--acts",
    "relu,tanh",
    "--seeds",
    "2",
    "--subset",
    "8192",
    "--epochs",
    "4",
    "--threads",
    "1",
    "--out",
];

fn sweep(dir: &Path) -> Output {
    xtask().args(GRID).arg(dir).output().unwrap()
}

/// A file's lines without the two timing columns of `metrics.csv`.
fn metrics_without_time(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(","))
        .collect()
}

/// Sends `signal` (`-KILL`, `-STOP`, ...) to `target`, a process id or `-group`.
fn send(signal: &str, target: &str) {
    let status = Command::new("kill")
        .args([signal, "--", target])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {target} failed");
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_killed_sweep_ends_as_an_uninterrupted_one_and_a_finished_one_reruns_at_once() {
    let whole = tempfile::tempdir().unwrap();
    assert_success(&sweep(whole.path()));
    let expected = runs_without_time(whole.path());
    assert_eq!(expected.len(), 5, "a header and four runs: {expected:?}");
    // The session is recorded, and the report gives its wall time.
    let sessions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.path().join("sessions.json")).unwrap())
            .unwrap();
    assert_eq!(sessions.as_array().map(Vec::len), Some(1), "{sessions}");
    assert_eq!(sessions[0]["runs"], 4, "{sessions}");
    let report = std::fs::read_to_string(whole.path().join("report.md")).unwrap();
    assert!(
        report.contains("Wall time of the local sweeps") && report.contains("in 1 session(s)"),
        "{report}"
    );

    // Kill the whole process group (the sweep and its tasks) once a run is some way in.
    let killed = tempfile::tempdir().unwrap();
    let mut child = xtask()
        .args(GRID)
        .arg(killed.path())
        .stdout(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let first_run = killed
        .path()
        .join("runs")
        .join("relu-h512x256x256x128-p7-split42-seed0")
        .join("FashionMNIST_relu")
        .join("metrics.csv");
    wait_while_running(&mut child, "a run wrote its metrics", || {
        first_run.is_file()
    });
    std::thread::sleep(Duration::from_millis(300));
    send("-KILL", &format!("-{}", child.id()));
    child.wait().unwrap();
    let finished = std::fs::read_dir(killed.path().join("runs"))
        .unwrap()
        .filter(|run| {
            let run = run.as_ref().unwrap().path();
            std::fs::read_dir(&run).unwrap().any(|e| {
                let folder = e.unwrap().path();
                folder.is_dir() && folder.join("summary.json").is_file()
            })
        })
        .count();
    assert!(finished < 4, "the kill came after every run had finished");

    let rerun = sweep(killed.path());
    assert_success(&rerun);
    assert_eq!(runs_without_time(killed.path()), expected);

    // A finished sweep: nothing to train, at once.
    let started = Instant::now();
    let again = sweep(killed.path());
    assert_success(&again);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to train"));
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_run_inside_a_sweep_is_the_run_train_does() {
    // On an optimizer axis: the runs name their optimizer, and Adam's is train's Adam.
    let sweep_dir = tempfile::tempdir().unwrap();
    let output = xtask()
        .args([
            "sweep",
            "--acts",
            "tanh",
            "--optimizers",
            "sgd,adam",
            "--lrs",
            "0.001",
            "--seeds",
            "3",
            "--subset",
            "2048",
            "--epochs",
            "2",
            "--threads",
            "1",
            "--jobs",
            "1",
            "--out",
        ])
        .arg(sweep_dir.path())
        .output()
        .unwrap();
    assert_success(&output);
    let train_dir = tempfile::tempdir().unwrap();
    let output = xtask()
        .args([
            "train",
            "--act",
            "tanh",
            "--optimizer",
            "adam",
            "--lr",
            "0.001",
            "--seed",
            "2",
            "--subset",
            "2048",
            "--epochs",
            "2",
            "--threads",
            "1",
            "--checkpoint-dir",
        ])
        .arg(train_dir.path())
        .output()
        .unwrap();
    assert_success(&output);
    let in_sweep = sweep_dir
        .path()
        .join("runs")
        .join("tanh-h512x256x256x128-p7-split42-seed2-adam-lr0.001");
    assert_eq!(
        metrics_without_time(&in_sweep.join("FashionMNIST_tanh").join("metrics.csv")),
        metrics_without_time(
            &train_dir
                .path()
                .join("FashionMNIST_tanh")
                .join("metrics.csv")
        )
    );
    assert_eq!(
        std::fs::read(in_sweep.join("FashionMNIST_tanh.safetensors")).unwrap(),
        std::fs::read(train_dir.path().join("FashionMNIST_tanh.safetensors")).unwrap(),
        "the checkpoints differ"
    );
}

#[test]
fn depths_optimizers_and_learning_rates_cross_into_the_grid() {
    let dir = tempfile::tempdir().unwrap();
    let emitted = xtask()
        .args(["sweep", "--acts", "relu", "--seeds", "1", "--depths", "2,3"])
        .args([
            "--width",
            "64",
            "--optimizers",
            "sgd,adam",
            "--lrs",
            "0.1,0.001",
        ])
        .args(["--emit", "slurm", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_success(&emitted);
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sweep.json")).unwrap())
            .unwrap();
    assert_eq!(
        settings["axes"]["hidden_sizes"],
        serde_json::json!([[64, 64], [64, 64, 64]])
    );
    let optimizers = settings["axes"]["optimizer"].as_array().unwrap();
    assert_eq!(optimizers.len(), 4);
    assert_eq!(optimizers[1]["lr"], 0.001);
    assert_eq!(optimizers[2]["adam"]["lr"], 0.1);
    let tasks = std::fs::read_to_string(dir.path().join("tasks.tsv")).unwrap();
    assert_eq!(tasks.lines().count(), 1 + 2 * 4);
    assert!(
        tasks.contains("relu-h64x64x64-p7-split42-seed0-adam-lr0.001\t"),
        "{tasks}"
    );

    // One optimizer at one rate is the template's, as sweeps recorded before the axis.
    let one = tempfile::tempdir().unwrap();
    let emitted = xtask()
        .args(["sweep", "--acts", "relu", "--seeds", "1", "--lr", "0.1"])
        .args(["--emit", "slurm", "--out"])
        .arg(one.path())
        .output()
        .unwrap();
    assert_success(&emitted);
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(one.path().join("sweep.json")).unwrap())
            .unwrap();
    assert!(settings["axes"].get("optimizer").is_none());
    assert_eq!(settings["template"]["optimizer"]["lr"], 0.1);

    // Adam has no momentum.
    let output = xtask()
        .args([
            "sweep",
            "--optimizers",
            "adam",
            "--momentum",
            "0.5",
            "--emit",
            "slurm",
        ])
        .arg("--out")
        .arg(dir.path().join("adam"))
        .output()
        .unwrap();
    assert_refused(&output, "--momentum is SGD's");
    assert!(!dir.path().join("adam").exists());
}

#[test]
fn bad_sweep_input_is_one_error_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    // A folder made with one grid (settings only: the runs are not started).
    let settings = r#"{"acts":["relu"],"seeds":[0],"split_seeds":[42],"hidden":[[512,256,256,128]],"patience":[7],"max_epochs":2,"batch_size":256,"optimizer":{"lr":0.01,"momentum":0.9,"dampening":0.0,"weight_decay":0.0,"nesterov":false},"subset":1024,"device":"cpu","threads":1}"#;
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("sweep.json"), settings).unwrap();
    let before = snapshot(dir.path());
    let out_arg = out.to_str().unwrap();
    let cases: [(&[&str], &str); 12] = [
        (
            &["sweep", "--hidden", "2700000"],
            "--hidden 2700000 needs about",
        ),
        (
            &["sweep", "--seeds", "100000", "--split-seeds", "100000"],
            "has more than 1000000 runs",
        ),
        (
            &["sweep", "--emit", "slurm", "--time", "1h"],
            "is not a Slurm time",
        ),
        (
            &["sweep", "--emit", "slurm", "--mem", "4GB"],
            "is not a memory size",
        ),
        (&["sweep", "--emit", "lsf"], "--emit"),
        (
            &["sweep", "--acts", "relu,swiglu"],
            "unknown activation function \"swiglu\"",
        ),
        (&["sweep", "--seeds", "0"], "gives no seed"),
        (&["sweep", "--seeds", "1,x"], "\"x\" is not a seed"),
        (&["sweep", "--patience", ""], "--patience"),
        (&["sweep", "--jobs", "0"], "--jobs"),
        (&["sweep", "task", "--index", "5", "--dir"], "out of range"),
        (
            &[
                "sweep",
                "--acts",
                "relu",
                "--seeds",
                "0,",
                "--subset",
                "1024",
                "--epochs",
                "3",
                "--threads",
                "1",
            ],
            "other settings (template.max_epochs: saved 2, now 3)",
        ),
    ];
    for (args, needle) in cases {
        let mut command = xtask();
        command.args(args);
        if args.contains(&"task") {
            command.arg(out_arg);
        } else {
            command.args(["--out", out_arg]);
        }
        assert_refused(&command.output().unwrap(), needle);
        assert_eq!(snapshot(dir.path()), before, "{args:?} changed the folder");
    }
    // A task in a folder that is not a sweep.
    let output = xtask()
        .args(["sweep", "task", "--index", "0", "--dir"])
        .arg(dir.path().join("nothing"))
        .output()
        .unwrap();
    assert_refused(&output, "not a sweep folder");
    assert_eq!(snapshot(dir.path()), before);
}

/// The claim file of the first run (ReLU, seed 0) of a sweep of the study's network in `dir`.
fn first_claim(dir: &Path) -> std::path::PathBuf {
    dir.join("runs")
        .join("relu-h512x256x256x128-p7-split42-seed0")
        .join("claim.lock")
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn two_tasks_on_one_run_one_trains_and_the_other_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let grid = [
        "sweep",
        "--acts",
        "relu",
        "--seeds",
        "0,",
        "--subset",
        "8192",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--out",
    ];
    // The folder and its settings, without running (a job array for a cluster).
    assert_success(
        &xtask()
            .args(grid)
            .arg(dir.path())
            .args(["--emit", "slurm"])
            .output()
            .unwrap(),
    );
    let task = || {
        xtask()
            .args(["sweep", "task", "--index", "0", "--dir"])
            .arg(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = task();
    let claim = first_claim(dir.path());
    let started = Instant::now();
    while claim_pid(&claim) != Some(first.id()) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first task claimed nothing"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // The first task is paused while the second asks, so that a busy machine cannot let it
    // finish first (the second would then find the run done and succeed).
    send("-STOP", &first.id().to_string());
    let second = task().wait_with_output().unwrap();
    send("-CONT", &first.id().to_string());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success());
    assert!(
        stderr.contains(&format!("claimed by process {}", first.id())),
        "{stderr}"
    );
    assert_success(&first.wait_with_output().unwrap());
    // Nothing corrupted: the run ends as the same run trained alone.
    let alone = tempfile::tempdir().unwrap();
    assert_success(&xtask().args(grid).arg(alone.path()).output().unwrap());
    let checkpoint = |d: &Path| {
        std::fs::read(
            d.join("runs")
                .join("relu-h512x256x256x128-p7-split42-seed0")
                .join("FashionMNIST_relu.safetensors"),
        )
        .unwrap()
    };
    assert!(checkpoint(dir.path()) == checkpoint(alone.path()));
    assert!(!claim.exists(), "the claim outlived its task");
}

#[test]
fn a_report_opens_with_its_title_and_findings_and_a_missing_findings_file_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    settings_only_sweep(dir.path());
    let before = snapshot(dir.path());
    let refused = xtask()
        .args(["sweep", "report", "--dir"])
        .arg(dir.path())
        .arg("--findings")
        .arg(dir.path().join("no-such-findings.md"))
        .output()
        .unwrap();
    assert_refused(&refused, "no-such-findings.md");
    assert_eq!(snapshot(dir.path()), before, "a refused report wrote files");

    let findings = dir.path().join("findings.md");
    std::fs::write(
        &findings,
        "ReLU and **Tanh** do not differ\nbeyond noise.\n\n  \nSigmoid trains `3` times in 10.\n",
    )
    .unwrap();
    let made = xtask()
        .args(["sweep", "report", "--dir"])
        .arg(dir.path())
        .args(["--title", "Two seeds of ReLU", "--findings"])
        .arg(&findings)
        .output()
        .unwrap();
    assert_success(&made);
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    let title = report.find("# Two seeds of ReLU").expect("the title");
    let first = report
        .find("ReLU and **Tanh** do not differ beyond noise.")
        .expect("the first paragraph, on one line");
    let second = report
        .find("Sigmoid trains `3` times in 10.")
        .expect("the second paragraph");
    let runs = report.find("missing (never started)").expect("the runs");
    assert!(title < first && first < second && second < runs, "{report}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("Two seeds of ReLU") && html.contains("<strong>Tanh</strong>"));
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_task_ends_with_the_sweep_that_started_it() {
    let dir = tempfile::tempdir().unwrap();
    // One long run (the whole split, up to 50 epochs), so that the task is still training when
    // its sweep is killed.
    let mut parent = xtask()
        .args([
            "sweep",
            "--acts",
            "relu",
            "--seeds",
            "0,",
            "--threads",
            "1",
            "--out",
        ])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let claim = first_claim(dir.path());
    let started = Instant::now();
    let child = loop {
        if let Some(pid) = claim_pid(&claim) {
            break pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no task claimed its run"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    send("-KILL", &parent.id().to_string());
    parent.wait().unwrap();
    // The task notices within its polling period; a zombie waiting for its new parent to reap
    // it has ended too.
    let ended = || {
        std::fs::read_to_string(format!("/proc/{child}/stat")).map_or(true, |stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|state| state.trim_start().starts_with('Z'))
        })
    };
    let killed = Instant::now();
    while !ended() {
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "task {child} trains on after its sweep was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn a_killed_sequential_sweep_repeats_no_run_and_ends_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let pilot = common::sequential_pilot(dir.path());
    let whole = dir.path().join("whole");
    let output = common::sequential_sweep(&whole, &pilot).output().unwrap();
    assert_success(&output);
    let report = std::fs::read_to_string(whole.join("report.md")).unwrap();
    let section = common::sequential_section(&report);
    // The pilot was reused; Sigmoid's comparisons were decided on it, and the second look
    // trained ReLU and Tanh alone.
    assert!(
        section.contains("| ReLU vs Sigmoid | **different** | 1 | 5 / 5 |"),
        "{section}"
    );
    assert!(
        section.contains("| 2 | 5-6 | 0.0157 | ReLU, Tanh |  |"),
        "{section}"
    );
    assert!(
        !whole.join("look-1").exists(),
        "the pilot was trained again"
    );

    // Killed once a run of the second look has finished.
    let killed = dir.path().join("killed");
    let look = killed.join("look-2");
    let finished = |look: &Path| -> Vec<String> {
        let mut found: Vec<String> = std::fs::read_dir(look.join("runs"))
            .map(|runs| {
                runs.filter_map(|run| {
                    let run = run.unwrap().path();
                    let summary = std::fs::read_dir(&run)
                        .unwrap()
                        .map(|e| e.unwrap().path().join("summary.json"))
                        .find(|s| s.is_file())?;
                    Some(std::fs::read_to_string(summary).unwrap())
                })
                .collect()
            })
            .unwrap_or_default();
        found.sort();
        found
    };
    let mut child = common::sequential_sweep(&killed, &pilot)
        .stdout(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_while_running(&mut child, "a run of the second look finished", || {
        !finished(&look).is_empty()
    });
    send("-KILL", &format!("-{}", child.id()));
    child.wait().unwrap();
    let before = finished(&look);
    assert!(
        !killed.join("report.md").exists(),
        "the kill came after the end"
    );

    let rerun = common::sequential_sweep(&killed, &pilot).output().unwrap();
    assert_success(&rerun);
    let after = finished(&look);
    for run in &before {
        assert!(
            after.contains(run),
            "a finished run was trained again: {run}"
        );
    }
    let resumed = std::fs::read_to_string(killed.join("report.md")).unwrap();
    assert_eq!(common::sequential_section(&resumed), section);
    // `sweep report` on the folder says the same.
    let reported = xtask()
        .args(["sweep", "report", "--dir"])
        .arg(&killed)
        .output()
        .unwrap();
    assert_success(&reported);
    assert!(
        String::from_utf8_lossy(&reported.stdout).contains("different at look 1 (5 / 5 runs)"),
        "{}",
        common::text(&reported)
    );
}

#[test]
fn a_sequential_design_that_cannot_run_is_one_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sequential");
    for (flags, needle) in [
        (&["--pilot", "1"][..], "--pilot 1 is too few"),
        (
            &["--against", "gelu"][..],
            "--against gelu is not one of the functions compared",
        ),
        (
            &["--budget-runs", "20"][..],
            "--budget-runs 20 is less than the pilot's 30 runs",
        ),
        (
            &["--max-seeds", "3"][..],
            "--max-seeds 3 must be from the pilot's 5",
        ),
        (&["--patience", "7,50"][..], "give one value of --patience"),
        (
            &["--reuse", "no-such.csv"][..],
            "--reuse no-such.csv: cannot read it",
        ),
    ] {
        let output = xtask()
            .args(["sweep", "--until-decided", "--out"])
            .arg(&out)
            .args(flags)
            .output()
            .unwrap();
        assert_refused(&output, needle);
        assert!(!out.exists(), "{flags:?} wrote {}", out.display());
    }
    // The seeds are the looks': a seed list with --until-decided is refused by the parser.
    let output = xtask()
        .args(["sweep", "--until-decided", "--seeds", "5", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", common::text(&output));
    assert!(!out.exists());
}
