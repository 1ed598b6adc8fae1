//! Runs a list of jobs as child processes, a few at a time: each job's output goes to its log
//! file, a line is printed as each one ends, and a bar shows the jobs done, left and an ETA.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

/// One job: a command whose output goes to `log`.
pub struct Job {
    /// What the job is, for the lines printed.
    pub label: String,
    pub command: Command,
    pub log: PathBuf,
    /// Reads the job's result once it has succeeded, for its line (e.g. the test accuracy).
    pub result: Box<dyn Fn() -> String>,
}

/// How a job ended.
pub struct Ended {
    pub label: String,
    pub success: bool,
    /// The last line of its log, when it failed.
    pub last_line: Option<String>,
}

/// The last non-empty line of a log file.
pub fn last_line(log: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

/// Runs `jobs`, at most `parallel` at once, and returns how each ended, in the order they end.
pub fn run_all(jobs: Vec<Job>, parallel: usize, what: &str) -> anyhow::Result<Vec<Ended>> {
    let total = jobs.len();
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template(&format!(
            "{what} [{{bar:30}}] {{pos}}/{{len}} done, {{msg}} left, eta {{eta}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(total.to_string());
    bar.enable_steady_tick(Duration::from_millis(500));
    let started = Instant::now();
    let mut waiting = jobs.into_iter();
    let mut running: Vec<(Job, Child)> = Vec::new();
    let mut ended = Vec::new();
    loop {
        while running.len() < parallel.max(1) {
            let Some(mut job) = waiting.next() else { break };
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&job.log)
                .with_context(|| format!("cannot open {}", job.log.display()))?;
            let child = job
                .command
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start {}", job.label))?;
            running.push((job, child));
        }
        if running.is_empty() {
            break;
        }
        let mut still = Vec::with_capacity(running.len());
        for (job, mut child) in running {
            match child.try_wait()? {
                None => still.push((job, child)),
                Some(status) => {
                    let done = ended.len() + 1;
                    let line = if status.success() {
                        format!("[{done}/{total}] {}: {}", job.label, (job.result)())
                    } else {
                        format!(
                            "[{done}/{total}] {}: FAILED ({status}); log {}: {}",
                            job.label,
                            job.log.display(),
                            last_line(&job.log).unwrap_or_default()
                        )
                    };
                    // A hidden bar (no terminal) drops `println`: logs get the line directly.
                    if bar.is_hidden() {
                        println!("{line}");
                    } else {
                        bar.println(line);
                    }
                    bar.inc(1);
                    bar.set_message((total - done).to_string());
                    ended.push(Ended {
                        label: job.label.clone(),
                        success: status.success(),
                        last_line: (!status.success()).then(|| last_line(&job.log)).flatten(),
                    });
                }
            }
        }
        running = still;
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
    println!(
        "{what}: {total} finished in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(ended)
}
