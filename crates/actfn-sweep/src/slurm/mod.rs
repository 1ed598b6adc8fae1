//! The sweep as a ready-to-submit Slurm job array: one array task per run, each running an
//! already built binary's task command (the code path of the local sweep, [`run_task`]) into
//! the shared sweep folder.
//!
//! [`run_task`]: crate::run_task

mod array_size;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use array_size::{array_limit, check_array_size};

use crate::error::file_error;
use crate::{Error, Result, RunSpec, SweepDir, SweepSettings};

/// How the job array is submitted. `Default`: the cluster's default partition, one hour and
/// 2 GB per task, at most 16 tasks at once, every run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmSettings {
    /// The partition (queue) to submit to; none: the cluster's default ([`parse_partition`]).
    pub partition: Option<String>,
    /// The time limit of each task, as Slurm takes it ([`parse_time`]).
    pub time: String,
    /// Memory per task, as Slurm takes it ([`parse_memory`]).
    pub mem: String,
    /// The most tasks of the array that run at once (`--array=0-N%K`), at least 1.
    pub max_parallel: u32,
    /// Only the runs that have neither finished nor are running (after a failed node, say).
    pub only_missing: bool,
}

impl Default for SlurmSettings {
    fn default() -> Self {
        Self {
            partition: None,
            time: "01:00:00".into(),
            mem: "2G".into(),
            max_parallel: 16,
            only_missing: false,
        }
    }
}

impl SlurmSettings {
    /// Checks every value as the parsers do, naming the one at fault.
    fn validate(&self) -> Result<()> {
        let checks = [
            self.partition.as_deref().map(parse_partition),
            Some(parse_time(&self.time)),
            Some(parse_memory(&self.mem)),
        ];
        for check in checks.into_iter().flatten() {
            check.map_err(Error::Settings)?;
        }
        if self.max_parallel == 0 {
            return Err(Error::Settings("max_parallel must be at least 1".into()));
        }
        Ok(())
    }
}

/// A partition name: letters, digits, `-`, `_` and `.`.
pub fn parse_partition(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ','));
    accepted(text, ok, "a partition name (letters, digits, - _ .)")
}

/// `text` when `ok`, else the error that it is not `what`.
fn accepted(text: &str, ok: bool, what: &str) -> Result<String, String> {
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!("{text:?} is not {what}"))
    }
}

/// A Slurm time: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M` or `D-H:M:S`, all whole numbers.
pub fn parse_time(text: &str) -> Result<String, String> {
    let numbers = |s: &str, most: usize| {
        let parts: Vec<&str> = s.split(':').collect();
        parts.len() <= most
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let ok = match text.split_once('-') {
        Some((days, rest)) => numbers(days, 1) && numbers(rest, 3),
        None => numbers(text, 3),
    };
    accepted(
        text,
        ok,
        "a Slurm time: give minutes, HH:MM:SS or D-HH:MM:SS",
    )
}

/// A Slurm memory size: a whole number with an optional unit K, M, G or T.
pub fn parse_memory(text: &str) -> Result<String, String> {
    let digits = text.trim_end_matches(['K', 'M', 'G', 'T']);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && text.len() - digits.len() <= 1
        && digits.parse::<u64>().is_ok_and(|n| n > 0);
    accepted(text, ok, "a memory size: give e.g. 4G or 500M")
}

/// The array's index list: ranges of consecutive indices (`0-59`, `3,7-9`).
fn index_list(indices: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let start = indices[i];
        let mut end = start;
        while i + 1 < indices.len() && indices[i + 1] == end + 1 {
            i += 1;
            end = indices[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// `text` as one word of a POSIX shell: as it is when no character of it means anything to
/// the shell, else in single quotes, which keep every character but `'` as it is, each `'`
/// written as `'\''` (close, an escaped quote, reopen).
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// What in `path` sbatch cannot take inside a double-quoted `#SBATCH` value, if anything.
///
/// sbatch reads `#SBATCH` lines with its own small parser, not the shell's, and the parser has
/// changed between Slurm versions. In all of them a `"`-quoted value keeps its spaces and `'`
/// (an unquoted space ends the value: `my sweep` was an "Invalid directive"); but `\` escapes
/// the next character, a line ends the directive, `#` starts a comment (in older versions even
/// inside quotes), and older versions blank out the words `packjob` and `hetjob`, in any case,
/// anywhere on the line, as the separator of a heterogeneous job. In `--output`, `%` starts a
/// file name pattern (`%a`). Escaping each would depend on the cluster's version, so such a
/// folder is refused, naming the character, and the user renames it.
fn directive_trouble(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    if path.chars().any(char::is_control) {
        Some("a line break, tab or other control character")
    } else if path.contains('"') {
        Some("`\"`")
    } else if path.contains('\\') {
        Some("`\\`")
    } else if path.contains('#') {
        Some("`#`")
    } else if path.contains('%') {
        Some("`%`")
    } else if lower.contains("hetjob") || lower.contains("packjob") {
        Some("the word `hetjob` or `packjob`")
    } else {
        None
    }
}

/// A path as the script writes it, or an error: the script is text, and a path that is not
/// UTF-8 would name another file in it.
fn text_of<'a>(path: &'a Path, what: &str) -> Result<&'a str> {
    path.to_str().ok_or_else(|| {
        file_error(
            path,
            format!("{what} is not UTF-8, which the job script cannot name"),
        )
    })
}

/// The job script, or an error naming a path it cannot hold. The paths are absolute or
/// relative to where sbatch is run, as given.
fn script(
    dir: &SweepDir,
    indices: &[usize],
    slurm: &SlurmSettings,
    threads: u16,
    task: &TaskCommand,
) -> Result<String> {
    let root = text_of(&dir.root, "the sweep folder")?;
    if let Some(trouble) = directive_trouble(root) {
        return Err(Error::Settings(format!(
            "sbatch cannot take the sweep folder {root:?} in the job script's `#SBATCH --output` \
             line: it holds {trouble}; give --out a folder without it"
        )));
    }
    let output = text_of(&dir.slurm_output_dir(), "the sweep folder")?.to_string();
    let mut words = vec![shell_quote(text_of(&task.program, "the task's program")?)];
    words.extend(task.args.iter().map(|a| shell_quote(a)));
    // The job's name is a label in squeue: what would need quoting becomes `_`.
    let name: String = dir
        .root
        .file_name()
        .map_or("sweep".into(), |n| n.to_string_lossy().to_string())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut text = String::from("#!/bin/bash\n");
    // The folder holds no line break (`directive_trouble`), so it stays in this comment.
    let _ = writeln!(
        text,
        "# The actfn sweep {root} as a job array: one task per run."
    );
    text.push_str(
        "# Written by actfn-sweep (`cargo xtask sweep --emit slurm`); submit with sbatch. Each\n\
         # task runs the binary built on the login node (compute nodes do not compile) on one run\n\
         # of the grid (tasks.tsv), into the shared sweep folder.\n",
    );
    let _ = writeln!(text, "#SBATCH --job-name=actfn-{name}");
    let _ = writeln!(
        text,
        "#SBATCH --array={}%{}",
        index_list(indices),
        slurm.max_parallel
    );
    let _ = writeln!(text, "#SBATCH --cpus-per-task={threads}");
    let _ = writeln!(text, "#SBATCH --time={}", slurm.time);
    let _ = writeln!(text, "#SBATCH --mem={}", slurm.mem);
    if let Some(partition) = &slurm.partition {
        let _ = writeln!(text, "#SBATCH --partition={partition}");
    }
    let _ = writeln!(text, "#SBATCH --output=\"{output}/task-%a.out\"");
    text.push_str("set -euo pipefail\n");
    // A `$` or backquote in a quoted path is the folder's name, not an expansion.
    text.push_str("# shellcheck disable=SC2016\n");
    let _ = writeln!(
        text,
        "exec {} --dir {} --index \"$SLURM_ARRAY_TASK_ID\"",
        words.join(" "),
        shell_quote(root)
    );
    Ok(text)
}

/// The command an array task runs, without its `--dir D --index N`: a program built before the
/// array is submitted, e.g. `/home/me/actfn/target/release/xtask` with `sweep task`.
#[derive(Debug, Clone)]
pub struct TaskCommand {
    /// The binary.
    pub program: PathBuf,
    /// Its arguments before `--dir` and `--index`.
    pub args: Vec<String>,
}

/// Checks, before anything of the sweep folder is written, that an array of the whole grid of
/// `settings` can be written for its folder (a path sbatch can take) and submitted (within the
/// cluster's MaxArraySize, asked of `scontrol`).
pub fn preflight(
    dir: &SweepDir,
    settings: &SweepSettings,
    slurm: &SlurmSettings,
    task: &TaskCommand,
) -> Result<()> {
    slurm.validate()?;
    let runs = settings.runs()?.len();
    let indices: Vec<usize> = (0..runs).collect();
    script(dir, &indices, slurm, settings.threads, task)?;
    check_array_size(runs.saturating_sub(1), &array_limit()).map_err(Error::Cluster)
}

/// Writes `sweep.sbatch` for the runs of the sweep in `dir` (all, or with
/// [`SlurmSettings::only_missing`] those neither finished nor running) and returns the `sbatch`
/// command that submits it, or `None` when no run is left. The folder must hold the settings
/// ([`SweepDir::prepare`]), and [`preflight`] have passed.
pub fn emit(dir: &SweepDir, slurm: &SlurmSettings, task: &TaskCommand) -> Result<Option<String>> {
    slurm.validate()?;
    let settings = dir.read_settings()?;
    let runs: Vec<RunSpec> = settings.runs()?;
    let indices: Vec<usize> = runs
        .iter()
        .filter(|run| !slurm.only_missing || dir.status(&settings, run).needs_training())
        .map(|run| run.index)
        .collect();
    if indices.is_empty() {
        return Ok(None);
    }
    if !task.program.is_file() {
        return Err(file_error(
            &task.program,
            "not a file: the job script runs it, so build it first",
        ));
    }
    // The array's size was checked by `preflight`, over the whole grid; this array is part of it.
    let text = script(dir, &indices, slurm, settings.threads, task)?;
    let output = dir.slurm_output_dir();
    std::fs::create_dir_all(&output)
        .map_err(|e| file_error(&output, format!("cannot create it: {e}")))?;
    let path = dir.root.join("sweep.sbatch");
    actfn_io::atomic_write(&path, text.as_bytes())?;
    Ok(Some(format!(
        "sbatch {}   # {} tasks, at most {} at once",
        shell_quote(text_of(&path, "the sweep folder")?),
        indices.len(),
        slurm.max_parallel
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lists_are_ranges_of_consecutive_indices() {
        assert_eq!(index_list(&[0, 1, 2, 3]), "0-3");
        assert_eq!(index_list(&[3, 7, 8, 9, 12]), "3,7-9,12");
        assert_eq!(index_list(&[5]), "5");
    }

    #[test]
    fn slurm_values_are_checked() {
        for good in ["90", "01:00:00", "2-00:00:00", "1-12", "30:00"] {
            assert!(parse_time(good).is_ok(), "{good}");
        }
        for bad in ["1h", "", "1:2:3:4", "a-1", "-1"] {
            assert!(parse_time(bad).is_err(), "{bad}");
        }
        assert!(parse_memory("4G").is_ok() && parse_memory("500").is_ok());
        for bad in ["4GB", "G", "0", "-1G", "4.5G"] {
            assert!(parse_memory(bad).is_err(), "{bad}");
        }
        assert!(parse_partition("gpu_a100").is_ok() && parse_partition("a b").is_err());
    }

    #[test]
    fn shell_words_are_quoted_when_they_need_it() {
        assert_eq!(shell_quote("/scratch/sweeps/big"), "/scratch/sweeps/big");
        assert_eq!(shell_quote("my sweep"), "'my sweep'");
        assert_eq!(shell_quote("q$(touch x)"), "'q$(touch x)'");
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn folders_sbatch_cannot_take_are_named() {
        for fine in ["/scratch/my sweep", "a'b;c", "q$(x)", "Données"] {
            assert_eq!(directive_trouble(fine), None, "{fine}");
        }
        for bad in [
            "a\nb", "a\tb", "a\"b", r"a\b", "a#b", "100%", "x-HetJob", "packjob",
        ] {
            assert!(directive_trouble(bad).is_some(), "{bad:?}");
        }
    }
}
