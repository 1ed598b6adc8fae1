//! A sweep folder: where each file of it lives, its recorded settings (`sweep.json`, with
//! `tasks.tsv` beside it) and the record of its local sessions (`sessions.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::file_error;
use crate::grid::tasks_tsv;
use crate::{Error, Result, RunSpec, SweepSettings};

/// The most bytes a sweep folder's JSON records (`sweep.json`, `sessions.json`, a peer's
/// result) are read to: a file larger than that is damaged or not the sweep's.
pub(crate) const RECORD_BYTES: u64 = 64 << 20;

/// The files of a sweep folder.
#[derive(Debug, Clone)]
pub struct SweepDir {
    /// The folder.
    pub root: PathBuf,
}

impl SweepDir {
    /// The sweep folder at `root` (nothing is read or written).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// `sweep.json`: the settings.
    pub fn settings_file(&self) -> PathBuf {
        self.root.join("sweep.json")
    }

    /// `tasks.tsv`: the runs, one per line.
    pub fn tasks_file(&self) -> PathBuf {
        self.root.join("tasks.tsv")
    }

    /// The checkpoint folder of one run (its checkpoint and run folder, as training writes them).
    pub fn run_folder(&self, run: &RunSpec) -> PathBuf {
        self.root.join("runs").join(run.id())
    }

    /// The log of one run's task in a local sweep.
    pub fn log(&self, run: &RunSpec) -> PathBuf {
        self.run_folder(run).join("log.txt")
    }

    /// The folder of the Slurm tasks' output files.
    pub fn slurm_output_dir(&self) -> PathBuf {
        self.root.join("slurm")
    }

    /// A Slurm task's output file (`--output=.../task-%a.out`).
    pub fn slurm_output(&self, index: usize) -> PathBuf {
        self.slurm_output_dir().join(format!("task-{index}.out"))
    }

    /// The PyTorch peer's folder: its splits, results and logs.
    pub fn peer_dir(&self) -> PathBuf {
        self.root.join("peer")
    }

    /// Reads `sweep.json`.
    pub fn read_settings(&self) -> Result<SweepSettings> {
        let path = self.settings_file();
        let text = actfn_io::read_text_at_most(&path, RECORD_BYTES).map_err(|e| {
            file_error(
                &self.root,
                format!(
                    "not a sweep folder (no readable sweep.json: {e}); create one with \
                     `cargo xtask sweep`"
                ),
            )
        })?;
        SweepSettings::from_json(&text)
            .map_err(|e| file_error(&path, format!("not a sweep's settings ({e})")))
    }

    /// Records `settings` in a new folder (`sweep.json` and `tasks.tsv`), or checks them against
    /// the ones the folder records. Nothing is written when they are bad or differ.
    pub fn prepare(&self, settings: &SweepSettings) -> Result<()> {
        let runs = settings.runs()?;
        actfn_model::parse_device(&settings.device)?;
        if self.settings_file().is_file() {
            return same_settings(&self.settings_file(), &self.read_settings()?, settings);
        }
        let runs_dir = self.root.join("runs");
        std::fs::create_dir_all(&runs_dir)
            .map_err(|e| file_error(&runs_dir, format!("cannot create it: {e}")))?;
        let json =
            serde_json::to_string_pretty(settings).map_err(|e| Error::Settings(e.to_string()))?;
        actfn_io::atomic_write(&self.settings_file(), json.as_bytes())?;
        actfn_io::atomic_write(&self.tasks_file(), tasks_tsv(&runs, settings).as_bytes())?;
        Ok(())
    }

    /// The run `index` of the sweep, or an error naming the valid range.
    pub fn find_run(&self, settings: &SweepSettings, index: usize) -> Result<RunSpec> {
        let runs = settings.runs()?;
        let count = runs.len();
        runs.into_iter().nth(index).ok_or_else(|| {
            Error::Settings(format!(
                "task index {index} is out of range: the sweep in {} has {count} runs (0 to {})",
                self.root.display(),
                count.saturating_sub(1)
            ))
        })
    }

    fn sessions_file(&self) -> PathBuf {
        self.root.join("sessions.json")
    }

    /// The local sessions of the folder, oldest first (none for a sweep run only on Slurm).
    pub fn sessions(&self) -> Result<Vec<Session>> {
        let path = self.sessions_file();
        if !path.is_file() {
            return Ok(Vec::new());
        }
        let text = actfn_io::read_text_at_most(&path, RECORD_BYTES)?;
        serde_json::from_str(&text).map_err(|e| {
            file_error(
                &path,
                format!("not a list of sweep sessions ({e}); remove it to start the record afresh"),
            )
        })
    }

    /// Adds `session` to the folder's `sessions.json`.
    pub fn record_session(&self, session: Session) -> Result<()> {
        let mut all = self.sessions()?;
        all.push(session);
        let json =
            serde_json::to_string_pretty(&all).map_err(|e| Error::Settings(e.to_string()))?;
        actfn_io::atomic_write(&self.sessions_file(), json.as_bytes())?;
        Ok(())
    }
}

/// Nothing when `now` are the settings `saved` in `file`, else the error that names the first
/// that differs and how to go on.
pub(crate) fn same_settings<T: Serialize>(file: &Path, saved: &T, now: &T) -> Result<()> {
    let difference =
        actfn_train::first_difference(saved, now).map_err(|e| Error::Settings(e.to_string()))?;
    match difference {
        None => Ok(()),
        Some(difference) => Err(Error::Settings(format!(
            "{} was created with other settings ({difference}); use those settings to continue \
             it, or another --name or --out for a new sweep",
            file.display()
        ))),
    }
}

/// One invocation of a local sweep, added to `sessions.json` when it ends. Its wall time is
/// what the sweep cost, which the runs' own times (several at once) do not tell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// When it started, in seconds since the Unix epoch.
    pub started_unix: u64,
    /// How long it took.
    pub wall_seconds: f64,
    /// Runs it set out to train.
    pub runs: usize,
    /// PyTorch peer runs it set out to train.
    pub peer_runs: usize,
    /// Runs at once.
    pub jobs: usize,
    /// CPU threads per run.
    pub threads: u16,
    /// The machine.
    pub host: String,
}
