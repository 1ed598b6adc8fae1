//! `cargo xtask sweep ... --emit slurm`: the sweep as a ready-to-submit Slurm job array, one
//! array task per run, each running the already built binary as `sweep task` (the code path of
//! the local sweep) into the shared sweep folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use super::array_size::{array_limit, check_array_size};
use super::grid::{RunSpec, SweepDir, SweepSettings};
use super::records;

/// How the job array is submitted.
#[derive(Args, Debug, Clone)]
pub struct SlurmArgs {
    /// The partition (queue) to submit to [default: the cluster's default partition].
    #[arg(long, value_parser = parse_partition)]
    partition: Option<String>,
    /// The time limit of each task, as Slurm takes it: minutes, `HH:MM:SS` or `D-HH:MM:SS`.
    /// A run of the study's protocol takes 2 to 5 minutes of one core.
    #[arg(long, default_value = "01:00:00", value_parser = parse_time)]
    time: String,
    /// Memory per task, as Slurm takes it (`4G`, `500M`); a run needs about 400 MB.
    #[arg(long, default_value = "2G", value_parser = parse_memory)]
    mem: String,
    /// The most tasks of the array that run at once (`--array=0-N%K`).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    max_parallel: u32,
    /// Only the runs that have neither finished nor are running (after a failed node, say).
    #[arg(long)]
    only_missing: bool,
}

/// A partition name: letters, digits, `-`, `_` and `.`.
fn parse_partition(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ','));
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a partition name (letters, digits, - _ .)"
        ))
    }
}

/// A Slurm time: `M`, `M:S`, `H:M:S`, `D-H`, `D-H:M` or `D-H:M:S`, all whole numbers.
fn parse_time(text: &str) -> Result<String, String> {
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
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a Slurm time: give minutes, HH:MM:SS or D-HH:MM:SS"
        ))
    }
}

/// A Slurm memory size: a whole number with an optional unit K, M, G or T.
fn parse_memory(text: &str) -> Result<String, String> {
    let digits = text.trim_end_matches(['K', 'M', 'G', 'T']);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && text.len() - digits.len() <= 1
        && digits.parse::<u64>().is_ok_and(|n| n > 0);
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a memory size: give e.g. 4G or 500M"
        ))
    }
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

/// The folder of the tasks' Slurm output files.
pub fn output_dir(dir: &SweepDir) -> PathBuf {
    dir.root.join("slurm")
}

/// A task's Slurm output file.
pub fn output_file(dir: &SweepDir, index: usize) -> PathBuf {
    output_dir(dir).join(format!("task-{index}.out"))
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
fn text_of<'a>(path: &'a Path, what: &str) -> anyhow::Result<&'a str> {
    path.to_str().with_context(|| {
        format!(
            "{what} {} is not UTF-8, which the job script cannot name",
            path.display()
        )
    })
}

/// The job script, or an error naming a path it cannot hold. The paths are absolute or
/// relative to where sbatch is run, as given.
fn script(
    dir: &SweepDir,
    indices: &[usize],
    args: &SlurmArgs,
    threads: u16,
    binary: &Path,
) -> anyhow::Result<String> {
    let root = text_of(&dir.root, "the sweep folder")?;
    if let Some(trouble) = directive_trouble(root) {
        bail!(
            "sbatch cannot take the sweep folder {root:?} in the job script's `#SBATCH --output` \
             line: it holds {trouble}; give --out a folder without it"
        );
    }
    let output = text_of(&output_dir(dir), "the sweep folder")?.to_string();
    let binary = text_of(binary, "this binary")?;
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
        "# Written by `cargo xtask sweep --emit slurm`; submit with sbatch. Each task runs the\n\
         # binary built on the login node (compute nodes do not compile) on one run of the grid\n\
         # (tasks.tsv), into the shared sweep folder.\n",
    );
    let _ = writeln!(text, "#SBATCH --job-name=actfn-{name}");
    let _ = writeln!(
        text,
        "#SBATCH --array={}%{}",
        index_list(indices),
        args.max_parallel
    );
    let _ = writeln!(text, "#SBATCH --cpus-per-task={threads}");
    let _ = writeln!(text, "#SBATCH --time={}", args.time);
    let _ = writeln!(text, "#SBATCH --mem={}", args.mem);
    if let Some(partition) = &args.partition {
        let _ = writeln!(text, "#SBATCH --partition={partition}");
    }
    let _ = writeln!(text, "#SBATCH --output=\"{output}/task-%a.out\"");
    text.push_str("set -euo pipefail\n");
    // A `$` or backquote in a quoted path is the folder's name, not an expansion.
    text.push_str("# shellcheck disable=SC2016\n");
    let _ = writeln!(
        text,
        "exec {} sweep task --dir {} --index \"$SLURM_ARRAY_TASK_ID\"",
        shell_quote(binary),
        shell_quote(root)
    );
    Ok(text)
}

/// Checks, before anything of the sweep folder is written, that an array of `runs` tasks can be
/// written for its folder (a path sbatch can take) and submitted (within the cluster's
/// MaxArraySize).
pub fn preflight(
    dir: &SweepDir,
    runs: usize,
    args: &SlurmArgs,
    threads: u16,
) -> anyhow::Result<()> {
    let indices: Vec<usize> = (0..runs).collect();
    let binary = std::env::current_exe().context("cannot find this binary's path")?;
    script(dir, &indices, args, threads, &binary)?;
    check_array_size(runs.saturating_sub(1), &array_limit()).map_err(anyhow::Error::msg)
}

/// Writes `sweep.sbatch` for the runs of `runs` (all, or with `only_missing` those neither
/// finished nor running) and returns the `sbatch` command, or `None` when no run is left.
pub fn emit(
    dir: &SweepDir,
    settings: &SweepSettings,
    runs: &[RunSpec],
    args: &SlurmArgs,
) -> anyhow::Result<Option<String>> {
    let indices: Vec<usize> = runs
        .iter()
        .filter(|run| !args.only_missing || records::status(dir, settings, run).needs_training())
        .map(|run| run.index)
        .collect();
    if indices.is_empty() {
        return Ok(None);
    }
    let binary = std::env::current_exe().context("cannot find this binary's path")?;
    if !binary.is_file() {
        bail!(
            "{} is not a file; build with `cargo build --release -p xtask` first",
            binary.display()
        );
    }
    // The array's size was checked by `preflight`, over the whole grid; this array is part of it.
    let text = script(dir, &indices, args, settings.threads, &binary)?;
    std::fs::create_dir_all(output_dir(dir))
        .with_context(|| format!("cannot create {}", output_dir(dir).display()))?;
    let path = dir.root.join("sweep.sbatch");
    actfn_io::atomic_write(&path, text.as_bytes())?;
    Ok(Some(format!(
        "sbatch {}   # {} tasks, at most {} at once",
        shell_quote(text_of(&path, "the sweep folder")?),
        indices.len(),
        args.max_parallel
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
