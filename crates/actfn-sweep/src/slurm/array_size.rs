//! How large a Slurm job array the cluster takes: its `MaxArraySize`, asked of `scontrol` (with
//! a time limit: scontrol may hang on an unreachable controller) or Slurm's default, and the
//! check of an array against it.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Slurm's `MaxArraySize` where slurm.conf does not set it: array indices 0 to 1000.
const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// How long `scontrol show config` may take. A live controller answers in well under a
/// second; a configured but unreachable one makes scontrol retry for a minute or more.
const SCONTROL_TIMEOUT: Duration = Duration::from_secs(5);

/// The cluster's `MaxArraySize`, and where it comes from.
#[derive(Debug)]
pub(super) struct ArrayLimit {
    max_array_size: usize,
    /// `None`: read from the cluster; else why Slurm's default is assumed.
    assumed: Option<String>,
}

/// `MaxArraySize` in the output of `scontrol show config` (`MaxArraySize = 1001`).
fn parse_max_array_size(config: &str) -> Option<usize> {
    config.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "MaxArraySize")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// Runs `scontrol show config` for at most `SCONTROL_TIMEOUT` and reads `MaxArraySize`, or
/// says why it could not.
fn query_max_array_size() -> Result<usize, String> {
    let mut child = Command::new("scontrol")
        .args(["show", "config"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("scontrol did not start: {e}"))?;
    // Read on a thread, so that the wait can end: scontrol may hang on an unreachable
    // controller, and a full pipe would block it before it exits.
    let Some(mut stdout) = child.stdout.take() else {
        return Err("scontrol gave no output pipe".into());
    };
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = sender.send(stdout.read_to_string(&mut text).map(|_| text));
    });
    let Ok(read) = receiver.recv_timeout(SCONTROL_TIMEOUT) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "scontrol did not answer within {} s",
            SCONTROL_TIMEOUT.as_secs()
        ));
    };
    let status = child.wait().map_err(|e| format!("scontrol: {e}"))?;
    let text = read.map_err(|e| format!("scontrol's output did not read: {e}"))?;
    if !status.success() {
        return Err(format!("scontrol show config failed ({status})"));
    }
    parse_max_array_size(&text)
        .ok_or_else(|| "scontrol show config gave no MaxArraySize".to_string())
}

/// The cluster's `MaxArraySize` where scontrol tells it, else Slurm's default.
pub(super) fn array_limit() -> ArrayLimit {
    match query_max_array_size() {
        Ok(max_array_size) => ArrayLimit {
            max_array_size,
            assumed: None,
        },
        Err(why) => ArrayLimit {
            max_array_size: DEFAULT_MAX_ARRAY_SIZE,
            assumed: Some(why),
        },
    }
}

/// Whether an array whose largest index is `largest` fits under `limit`, or an error with the
/// numbers and the fixes.
///
/// Slurm takes array indices 0 to MaxArraySize - 1. The array's indices are the grid's run
/// indices, as `sweep task --index`, `task-%a.out` and `tasks.tsv` all name a run by them, so a
/// grid too large for one array is refused rather than cut into several arrays with offsets;
/// a cluster that caps the array size usually caps the jobs a user may queue as well.
pub(super) fn check_array_size(largest: usize, limit: &ArrayLimit) -> Result<(), String> {
    let max = limit.max_array_size;
    if largest < max {
        return Ok(());
    }
    let source = match &limit.assumed {
        None => format!("this cluster's MaxArraySize is {max}"),
        Some(why) => format!("Slurm's default MaxArraySize is {max} (assumed: {why})"),
    };
    let allowed = if max == 0 {
        "job arrays are disabled".to_string()
    } else {
        format!("array indices run from 0 to {}", max - 1)
    };
    Err(format!(
        "the job array's largest array index is {largest}, but {source}, so {allowed}: \
         make the grid smaller (fewer seeds, split seeds, activations or architectures), split \
         it into several sweeps of at most {max} runs (one --out each; `sweep report --dir A B` \
         reports them together), or ask the cluster's administrators to raise MaxArraySize"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_array_size_is_read_from_scontrol() {
        let config = "Configuration data as of 2024-05-01T10:00:00\n\
                      MaxArraySize            = 4001\n\
                      MaxJobCount             = 10000\n";
        assert_eq!(parse_max_array_size(config), Some(4001));
        assert_eq!(parse_max_array_size("MaxJobCount = 10000\n"), None);
        assert_eq!(parse_max_array_size("MaxArraySize = many\n"), None);
    }

    #[test]
    fn arrays_fit_below_max_array_size_or_are_refused_with_the_numbers() {
        let cluster = ArrayLimit {
            max_array_size: 1001,
            assumed: None,
        };
        assert!(check_array_size(0, &cluster).is_ok());
        assert!(check_array_size(1000, &cluster).is_ok());
        let refused = check_array_size(1001, &cluster).unwrap_err();
        assert!(
            refused.contains("largest array index is 1001")
                && refused.contains("this cluster's MaxArraySize is 1001")
                && refused.contains("0 to 1000")
                && refused.contains("raise MaxArraySize"),
            "{refused}"
        );
        let default = ArrayLimit {
            max_array_size: DEFAULT_MAX_ARRAY_SIZE,
            assumed: Some("scontrol did not start".into()),
        };
        let refused = check_array_size(1_000_000, &default).unwrap_err();
        assert!(
            refused.contains("largest array index is 1000000")
                && refused.contains(
                    "Slurm's default MaxArraySize is 1001 (assumed: scontrol did not start)"
                ),
            "{refused}"
        );
        let disabled = ArrayLimit {
            max_array_size: 0,
            assumed: None,
        };
        let refused = check_array_size(0, &disabled).unwrap_err();
        assert!(refused.contains("job arrays are disabled"), "{refused}");
    }
}
