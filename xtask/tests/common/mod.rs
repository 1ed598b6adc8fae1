//! Helpers shared by the xtask integration tests: the built tool, what it printed, and the
//! `runs.csv` a sweep leaves.

// Each test binary compiles this module and uses its own share of it.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The tool, as cargo built it for these tests.
pub fn xtask() -> Command {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
}

/// What a command printed, standard output then standard error.
pub fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Asserts that the command succeeded, showing what it printed when it did not.
pub fn assert_success(output: &Output) {
    assert!(output.status.success(), "{}", text(output));
}

/// `runs.csv` without its time and host columns (the last two).
pub fn runs_without_time(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("runs.csv"))
        .unwrap()
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            fields[..fields.len() - 2].join(",")
        })
        .collect()
}

/// The process id a run's `claim.lock` names, once the file holds one.
pub fn claim_pid(claim: &Path) -> Option<u32> {
    std::fs::read_to_string(claim).ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("pid="))
            .and_then(|p| p.trim().parse().ok())
    })
}

/// Makes `dir` a sweep folder of ReLU over two seeds with its settings and no finished run
/// (`--emit slurm` trains nothing).
pub fn settings_only_sweep(dir: &Path) {
    let emitted = xtask()
        .args(["sweep", "--acts", "relu", "--seeds", "2", "--out"])
        .arg(dir)
        .args(["--emit", "slurm"])
        .output()
        .unwrap();
    assert_success(&emitted);
}

/// Asserts a failure with one `error:` line containing `needle`, and no panic.
pub fn assert_refused(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected a failure with {needle:?}"
    );
    assert!(stderr.contains(needle), "expected {needle:?} in:\n{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Every file under `dir` with its bytes.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

/// Waits until `ready()`, polling, while `child` still runs: fails if `child` ends first
/// (`what` says what it should have done) or after two minutes without it.
pub fn wait_while_running(child: &mut std::process::Child, what: &str, ready: impl Fn() -> bool) {
    let started = std::time::Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "no progress: waited two minutes for {what}"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "it ended before {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A small search into `out`: three unary operations and one binary (nine core units, some of
/// them one function), the halving `stages`, 2 finalists against ReLU over 2 seeds at 1024
/// images x 1 epoch.
pub fn small_search(stages: &str, out: &Path) -> Command {
    let mut command = xtask();
    command
        .args([
            "search",
            "--unary",
            "x,tanh(x),relu(x)",
            "--binary",
            "U + V",
        ])
        .args(["--stages", stages, "--finalists", "2", "--against", "relu"])
        .args(["--final-seeds", "2", "--final-stage", "1024x1", "--out"])
        .arg(out);
    command
}

/// The pilot of a small sequential sweep, as a results page's runs.csv in `dir` would give it:
/// ReLU, Tanh and Sigmoid over seeds 0 to 4 at 1024 images x 1 epoch, ReLU near 88%, Tanh half
/// a point above, Sigmoid at chance. On it Sigmoid's comparisons are decided at the first look
/// and ReLU vs Tanh is not, so the next look trains ReLU and Tanh alone.
pub fn sequential_pilot(dir: &Path) -> std::path::PathBuf {
    let mut csv = String::from(
        "index,id,act,seed,split_seed,hidden,patience,init,max_epochs,batch_size,optimizer,lr,\
         momentum,subset,device,threads,epochs_run,best_epoch,best_val_acc,test_acc,\
         stopped_early,seconds,host\n",
    );
    let noise = [0.1, -0.2, 0.05, 0.25, -0.15];
    for (index, (seed, act)) in (0..5)
        .flat_map(|seed| ["relu", "tanh", "sigmoid"].map(|act| (seed, act)))
        .enumerate()
    {
        let percent = match act {
            "relu" => 88.0 + noise[seed],
            "tanh" => 88.5 + noise[seed],
            _ => 10.0,
        };
        csv.push_str(&format!(
            "{index},{act}-h512x256x256x128-p7-split42-seed{seed},{act},{seed},42,\
             512x256x256x128,7,pytorch,1,256,sgd,0.01,0.9,1024,cpu,1,1,1,0.8,{:.4},false,1.0,\
             test\n",
            percent / 100.0
        ));
    }
    let path = dir.join("pilot.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// A small sequential sweep into `out` from the pilot in `reuse`: ReLU, Tanh and Sigmoid at
/// 1024 images x 1 epoch, 2 seeds a look up to 9 (three looks).
pub fn sequential_sweep(out: &Path, reuse: &Path) -> Command {
    let mut command = xtask();
    command
        .args(["sweep", "--until-decided", "--acts", "relu,tanh,sigmoid"])
        .args(["--subset", "1024", "--epochs", "1", "--threads", "1"])
        .args(["--batch", "2", "--max-seeds", "9", "--reuse"])
        .arg(reuse)
        .arg("--out")
        .arg(out);
    command
}

/// The sequential section of a report: from its heading to the settings that follow it.
pub fn sequential_section(report: &str) -> String {
    let start = report.find("## Seeds until decided").expect(report);
    let end = report[start..]
        .find("\nGrid: ")
        .map_or(report.len(), |e| start + e);
    report[start..end].to_string()
}
