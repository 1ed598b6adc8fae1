//! `cargo xtask sweep ... --emit slurm`: the sweep as a ready-to-submit Slurm job array, one
//! array task per run, each running the already built binary as `sweep task` (the code path of
//! the local sweep) into the shared sweep folder.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;

use super::grid::{RunSpec, SweepDir};
use super::records::{self, RunStatus};

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

/// The job script.
fn script(
    dir: &SweepDir,
    indices: &[usize],
    args: &SlurmArgs,
    threads: u16,
    binary: &Path,
) -> String {
    let name = dir
        .root
        .file_name()
        .map_or("sweep".into(), |n| n.to_string_lossy().to_string());
    let mut text = String::from("#!/bin/bash\n");
    let _ = writeln!(
        text,
        "# The actfn sweep {} as a job array: one task per run.",
        dir.root.display()
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
    let _ = writeln!(
        text,
        "#SBATCH --output={}/task-%a.out",
        output_dir(dir).display()
    );
    text.push_str("set -euo pipefail\n");
    let _ = writeln!(
        text,
        "exec {} sweep task --dir {} --index \"$SLURM_ARRAY_TASK_ID\"",
        binary.display(),
        dir.root.display()
    );
    text
}

/// Writes `sweep.sbatch` for the runs of `runs` (all, or with `only_missing` those neither
/// finished nor running) and returns the `sbatch` command, or `None` when no run is left.
pub fn emit(
    dir: &SweepDir,
    runs: &[RunSpec],
    args: &SlurmArgs,
    threads: u16,
) -> anyhow::Result<Option<String>> {
    let indices: Vec<usize> = runs
        .iter()
        .filter(|run| {
            !args.only_missing
                || matches!(
                    records::status(dir, run),
                    RunStatus::Missing | RunStatus::Failed(_)
                )
        })
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
    std::fs::create_dir_all(output_dir(dir))
        .with_context(|| format!("cannot create {}", output_dir(dir).display()))?;
    let path = dir.root.join("sweep.sbatch");
    actfn_io::atomic_write(
        &path,
        script(dir, &indices, args, threads, &binary).as_bytes(),
    )?;
    Ok(Some(format!(
        "sbatch {}   # {} tasks, at most {} at once",
        path.display(),
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
}
