//! A sweep on this machine: every run that has not finished, either in this process one after
//! another ([`run_in_process`]) or as child processes a few at a time ([`run_local`]), with the
//! PyTorch peer's runs beside them; then the session's record and the report.

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use actfn_data::FashionMnist;
use actfn_train::{Observer, Outputs};

use crate::error::file_error;
use crate::peer::{Peer, peer_jobs};
use crate::report::{self, Preface};
use crate::schedule::{Job, SWEEP_PID, run_all};
use crate::{Error, Result, RunSpec, RunStatus, Session, SweepDir, SweepSettings};

/// The runs of the sweep that have not finished, in grid order; `say` hears of each run that
/// is unsound (its task sets it aside and trains it again).
pub fn pending(
    dir: &SweepDir,
    settings: &SweepSettings,
    say: &mut dyn FnMut(&str),
) -> Result<Vec<RunSpec>> {
    let mut pending = Vec::new();
    for (run, status) in dir.statuses(settings)? {
        if let RunStatus::Unsound(reason) = &status {
            say(&format!(
                "{}: {reason}; it is set aside and trained again",
                run.id()
            ));
        }
        if !matches!(status, RunStatus::Finished(_) | RunStatus::Diverged(_)) {
            pending.push(run);
        }
    }
    Ok(pending)
}

/// Trains every run of the sweep in `dir` that has not finished in this process, one after
/// another, on `data`, each writing `outputs` beside its records; returns the number trained.
/// The folder must hold the settings ([`SweepDir::prepare`]).
pub fn run_in_process(
    dir: &SweepDir,
    data: &FashionMnist,
    outputs: Outputs,
    observer: &mut dyn Observer,
) -> Result<usize> {
    let settings = dir.read_settings()?;
    let pending = pending(dir, &settings, &mut |line| observer.message(line))?;
    for run in &pending {
        crate::task::run_task(dir, run.index, data, outputs, observer)?;
    }
    Ok(pending.len())
}

/// How a local sweep runs its tasks as child processes.
pub struct Local {
    /// Runs at once.
    pub jobs: usize,
    /// The command that runs one task of the sweep, e.g. `cargo xtask sweep task --dir D
    /// --index N` (it runs [`run_task`](crate::run_task)). The task ends when this process
    /// does: it is given this process's id in [`SWEEP_PID`].
    pub task_command: Box<dyn Fn(&RunSpec) -> Command>,
    /// The PyTorch peer, when it runs the grid too.
    pub peer: Option<Peer>,
    /// The test set's labels, for the report's comparison image by image
    /// ([`Inputs::test_labels`](crate::report::Inputs::test_labels)).
    pub test_labels: Option<Vec<u32>>,
}

/// Runs every run of the sweep in `dir` that has not finished (and the peer's, with
/// [`Local::peer`]) as child processes, `local.jobs` at a time, records the session in
/// `sessions.json` and writes the report into the folder; returns the HTML report's path, or
/// [`Error::Failed`] (after the report) when runs failed, else [`Error::Diverged`] when runs
/// diverged (a rerun leaves those as they are). With nothing left to run and a report
/// there, nothing is run or written. The folder must hold the settings ([`SweepDir::prepare`]).
pub fn run_local(dir: &SweepDir, local: &Local, say: &dyn Fn(&str)) -> Result<PathBuf> {
    let settings = dir.read_settings()?;
    let runs = settings.runs()?;
    let pending = pending(dir, &settings, &mut |line| say(line))?;
    let peer_pending: Vec<RunSpec> = match &local.peer {
        Some(_) => runs
            .iter()
            .filter(|run| dir.peer_result(run).is_none())
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let report = dir.root.join("report.html");
    if pending.is_empty() && peer_pending.is_empty() && report.is_file() {
        say(&format!(
            "All {} runs of {} have ended (finished, or diverged); nothing to train. Report: {}",
            runs.len(),
            dir.root.display(),
            report.display()
        ));
        return Ok(report);
    }
    say(&format!(
        "Sweep {}: {} runs, {} to train, {} at a time with {} thread(s) each",
        dir.root.display(),
        runs.len(),
        pending.len(),
        local.jobs,
        settings.threads
    ));
    let mut jobs = Vec::new();
    for run in &pending {
        let folder = dir.run_folder(run);
        std::fs::create_dir_all(&folder)
            .map_err(|e| file_error(&folder, format!("cannot create it: {e}")))?;
        let mut command = (local.task_command)(run);
        command.env(SWEEP_PID, std::process::id().to_string());
        let (result_dir, spec, settings) = (dir.clone(), run.clone(), settings.clone());
        jobs.push(Job {
            label: format!("{} (task {})", run.id(), run.index),
            command,
            log: dir.log(run),
            result: Box::new(move || match result_dir.status(&settings, &spec) {
                RunStatus::Finished(r) => format!(
                    "test accuracy {:.2}% after {} epochs ({:.0} s)",
                    r.test_percent(),
                    r.record.summary.epochs_run,
                    r.record.summary.seconds
                ),
                _ => "finished".into(),
            }),
        });
    }
    if let Some(peer) = &local.peer {
        jobs.extend(peer_jobs(dir, &peer_pending, peer)?);
    }
    let started = SystemTime::now();
    let ended = run_all(jobs, local.jobs, "runs", say)?;
    dir.record_session(Session {
        started_unix: started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        wall_seconds: started.elapsed().map_or(0.0, |d| d.as_secs_f64()),
        runs: pending.len(),
        peer_runs: peer_pending.len(),
        jobs: local.jobs,
        threads: settings.threads,
        host: actfn_io::host_name(),
    })?;
    let mut inputs = report::gather(std::slice::from_ref(&dir.root))?;
    inputs.test_labels = local.test_labels.clone();
    let report = report::write(
        &inputs,
        &dir.root,
        &Preface::default(),
        &report::Analysis::default(),
    )?;
    say(&format!("Report: {}", report.display()));
    // A run that diverged is an outcome, said apart from those that failed, which a rerun
    // retries.
    let (mut failed, mut diverged) = (Vec::new(), Vec::new());
    for e in ended.iter().filter(|e| !e.success) {
        let said = format!(
            "{} ({})",
            e.label,
            e.last_line.as_deref().unwrap_or_default()
        );
        if e.diverged() {
            diverged.push(said);
        } else {
            failed.push(said);
        }
    }
    if !failed.is_empty() {
        Err(Error::Failed(failed))
    } else if !diverged.is_empty() {
        Err(Error::Diverged(diverged))
    } else {
        Ok(report)
    }
}
