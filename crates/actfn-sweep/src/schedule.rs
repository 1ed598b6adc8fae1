//! Runs a list of jobs as child processes, a few at a time: each job's output goes to its log
//! file, a line is said as each one ends, and a bar shows the jobs done, left and an ETA.

use std::io::{BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::error::file_error;
use crate::{Error, Result};

/// One job: a command whose output goes to `log`.
pub struct Job {
    /// What the job is, for the lines said.
    pub label: String,
    /// The process to start.
    pub command: Command,
    /// Where its output goes (appended).
    pub log: PathBuf,
    /// Reads the job's result once it has succeeded, for its line (e.g. the test accuracy).
    pub result: Box<dyn Fn() -> String>,
}

/// How a job ended.
pub struct Ended {
    /// The job's label.
    pub label: String,
    /// Whether it exited with success.
    pub success: bool,
    /// The last line of its log, when it failed.
    pub last_line: Option<String>,
}

impl Ended {
    /// Whether its training diverged: an outcome, not a failure that a rerun retries.
    pub fn diverged(&self) -> bool {
        !self.success
            && self
                .last_line
                .as_deref()
                .is_some_and(|line| line.contains(actfn_train::DIVERGED))
    }
}

/// The last non-empty line of a log file, read from its last 64 KiB only (a log can be large,
/// or not a file at all).
pub fn last_line(log: &std::path::Path) -> Option<String> {
    const TAIL: u64 = 64 << 10;
    let mut file = std::fs::File::open(log).ok()?;
    let metadata = file.metadata().ok()?;
    if !metadata.is_file() {
        return None;
    }
    file.seek(SeekFrom::Start(metadata.len().saturating_sub(TAIL)))
        .ok()?;
    let mut bytes = Vec::new();
    file.take(TAIL).read_to_end(&mut bytes).ok()?;
    String::from_utf8_lossy(&bytes)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
}

/// A job's process, and the thread that copies its standard error into its log.
struct Running {
    job: Job,
    child: Child,
    /// Returns the last non-empty line the job wrote to its standard error.
    errors: JoinHandle<Option<String>>,
}

impl Running {
    /// Starts `job`: its standard output goes to its log, its standard error through a thread
    /// that appends each line to the log and keeps the last one, which so survives a log that
    /// cannot be written.
    fn start(mut job: Job) -> Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&job.log)
            .map_err(|e| file_error(&job.log, format!("cannot open the log: {e}")))?;
        let stdout = log
            .try_clone()
            .map_err(|e| file_error(&job.log, format!("cannot open the log: {e}")))?;
        let mut child = job
            .command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::Cluster(format!("cannot start {}: {e}", job.label)))?;
        let Some(stderr) = child.stderr.take() else {
            return Err(Error::Cluster(format!(
                "{} gave no standard error",
                job.label
            )));
        };
        let errors = std::thread::spawn(move || {
            let mut log = log;
            let mut last = None;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // A failed write (a full disk) loses the line from the log, not from `last`.
                let _ = writeln!(log, "{line}");
                if !line.trim().is_empty() {
                    last = Some(line.trim().to_string());
                }
            }
            last
        });
        Ok(Self { job, child, errors })
    }
}

/// Runs `jobs`, at most `parallel` at once, and returns how each ended, in the order they end.
/// `say` gets a line as each job ends, and one at the end.
pub fn run_all(
    jobs: Vec<Job>,
    parallel: usize,
    what: &str,
    say: &dyn Fn(&str),
) -> Result<Vec<Ended>> {
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
    let mut running: Vec<Running> = Vec::new();
    let mut ended = Vec::new();
    loop {
        while running.len() < parallel.max(1) {
            let Some(job) = waiting.next() else { break };
            running.push(Running::start(job)?);
        }
        if running.is_empty() {
            break;
        }
        let mut still = Vec::with_capacity(running.len());
        for mut run in running {
            let waited = run
                .child
                .try_wait()
                .map_err(|e| Error::Cluster(format!("cannot wait for {}: {e}", run.job.label)))?;
            match waited {
                None => still.push(run),
                Some(status) => {
                    let job = run.job;
                    // The log's last line, or, where the log could not be written (a full
                    // disk), the last line the job wrote to its standard error.
                    let reason = (!status.success())
                        .then(|| {
                            let said = run.errors.join().ok().flatten();
                            last_line(&job.log).or(said)
                        })
                        .flatten();
                    let done = ended.len() + 1;
                    let end = Ended {
                        label: job.label.clone(),
                        success: status.success(),
                        last_line: reason,
                    };
                    let said = end.last_line.as_deref().unwrap_or_default();
                    let line = if end.success {
                        format!("[{done}/{total}] {}: {}", job.label, (job.result)())
                    } else if end.diverged() {
                        format!("[{done}/{total}] {}: {said}", job.label)
                    } else {
                        format!(
                            "[{done}/{total}] {}: FAILED ({status}); log {}: {said}",
                            job.label,
                            job.log.display(),
                        )
                    };
                    // A hidden bar (no terminal) drops `println`: logs get the line directly.
                    if bar.is_hidden() {
                        say(&line);
                    } else {
                        bar.println(line);
                    }
                    bar.inc(1);
                    bar.set_message((total - done).to_string());
                    ended.push(end);
                }
            }
        }
        running = still;
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
    say(&format!(
        "{what}: {total} ended in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    ));
    Ok(ended)
}

/// The variable in which a local sweep gives its tasks its process id: a task ends when that
/// process ends (`cargo xtask sweep task` watches it), so that no task of a killed sweep trains
/// on as an orphan and holds its run's claim.
pub const SWEEP_PID: &str = "ACTFN_SWEEP_PID";
