//! An exclusive claim of a folder: a lock file created with `create_new`, naming its holder.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{Error, Result, io_error};

/// The lock file's name inside a claimed folder.
const LOCK_NAME: &str = "claim.lock";

/// How long a live holder of this host is watched before a claim is refused. A task killed a
/// moment ago (a sweep stopped with Ctrl-C or `kill` and started again at once) still runs for
/// some milliseconds while the kernel tears it down, after its parent has already been reaped.
const DYING_GRACE: Duration = Duration::from_secs(2);

/// Who holds a claim: the host, the process id and when it took the claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The host name (the kernel's, as `hostname` prints it).
    pub host: String,
    /// The process id on that host.
    pub pid: u32,
    /// When the claim was taken, in seconds since the Unix epoch.
    pub started: u64,
    /// When the process started, in clock ticks since boot (Linux), to tell it from a later
    /// process that got the same id.
    pub process_start: Option<u64>,
}

/// A process's state and start time (clock ticks since boot) from `/proc/<pid>/stat`.
fn process_stat(pid: u32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: the fields follow the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

impl Holder {
    /// This process, now.
    fn this_process() -> Self {
        let pid = std::process::id();
        Holder {
            host: host_name(),
            pid,
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            process_start: process_stat(pid).map(|(_, start)| start),
        }
    }

    fn to_text(&self) -> String {
        let mut text = format!(
            "host={}\npid={}\nstarted={}\n",
            self.host, self.pid, self.started
        );
        if let Some(start) = self.process_start {
            text.push_str(&format!("process_start={start}\n"));
        }
        text
    }

    /// Parses a lock file's text; `None` if it is not one (e.g. written half by a crash).
    fn parse(text: &str) -> Option<Self> {
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        };
        Some(Holder {
            host: field("host")?.to_string(),
            pid: field("pid")?.parse().ok()?,
            started: field("started")?.parse().ok()?,
            process_start: field("process_start").and_then(|s| s.parse().ok()),
        })
    }

    /// Whether the holder is certainly gone: a process of this host that no longer runs (or is
    /// a zombie, killed but not yet reaped, or another process that got its id since). A holder
    /// on another host, or on a system without `/proc`, is taken to be alive.
    fn is_dead(&self) -> bool {
        if self.host != host_name() || !Path::new("/proc/self/stat").exists() {
            return false;
        }
        match process_stat(self.pid) {
            None => true,
            Some((state, start)) => {
                state == 'Z' || state == 'X' || self.process_start.is_some_and(|s| s != start)
            }
        }
    }

    /// Whether the holder is gone or goes within [`DYING_GRACE`]. Only a process of this host
    /// other than this one is waited for: nothing here can see another host's die.
    fn is_dead_or_dying(&self) -> bool {
        if self.is_dead() {
            return true;
        }
        if self.host != host_name() || self.pid == std::process::id() {
            return false;
        }
        let deadline = Instant::now() + DYING_GRACE;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            if self.is_dead() {
                return true;
            }
        }
        false
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        write!(
            f,
            "process {} on host {} (claimed {} s ago)",
            self.pid,
            self.host,
            now.saturating_sub(self.started)
        )
    }
}

/// The kernel's host name, or `$HOSTNAME`, or `unknown`.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// The lock file's text and its holder. A lock file that does not parse may be one that its
/// holder has created and not yet written (the two are not one step): it is read again until it
/// parses or [`DYING_GRACE`] has passed, and only then is it taken for one a crash left torn.
fn read_when_written(lock: &Path) -> (String, Option<Holder>) {
    let deadline = Instant::now() + DYING_GRACE;
    loop {
        let text = std::fs::read_to_string(lock).unwrap_or_default();
        let holder = Holder::parse(&text);
        if holder.is_some() || Instant::now() >= deadline {
            return (text, holder);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A folder claimed by this process until the claim is dropped.
#[derive(Debug)]
pub struct Claim {
    lock: PathBuf,
}

impl Claim {
    /// Claims `dir` (which must exist) for this process. If another live process holds it, the
    /// error names the holder ([`Error::Claimed`]); a claim left by a process of this host that
    /// has died is taken over.
    pub fn take(dir: &Path) -> Result<Self> {
        let lock = dir.join(LOCK_NAME);
        let holder = Holder::this_process();
        // Two rounds at most: a stale claim is removed once, then the claim is created anew.
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(mut file) => {
                    let written = file
                        .write_all(holder.to_text().as_bytes())
                        .and_then(|()| file.sync_all());
                    if let Err(source) = written {
                        let _ = std::fs::remove_file(&lock);
                        return Err(Error::Io { path: lock, source });
                    }
                    crate::atomic::sync_dir(dir)?;
                    return Ok(Claim { lock });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let (text, holder) = read_when_written(&lock);
                    match holder {
                        Some(other) if !other.is_dead_or_dying() => {
                            return Err(Error::Claimed {
                                dir: dir.to_path_buf(),
                                lock,
                                holder: other,
                            });
                        }
                        // A dead holder, or a lock file a crash left unwritten: take it over,
                        // unless another process replaced it since it was read.
                        _ => {
                            if std::fs::read_to_string(&lock).unwrap_or_default() == text {
                                match std::fs::remove_file(&lock) {
                                    Ok(()) => {}
                                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                                    Err(source) => return Err(Error::Io { path: lock, source }),
                                }
                            }
                        }
                    }
                }
                Err(source) => return Err(io_error(&lock)(source)),
            }
        }
        let text = std::fs::read_to_string(&lock).map_err(io_error(&lock))?;
        Err(Error::Claimed {
            dir: dir.to_path_buf(),
            holder: Holder::parse(&text).unwrap_or(Holder {
                host: "unknown".into(),
                pid: 0,
                started: 0,
                process_start: None,
            }),
            lock,
        })
    }

    /// The holder of `dir`'s claim, if it is claimed.
    pub fn holder(dir: &Path) -> Option<Holder> {
        Holder::parse(&std::fs::read_to_string(dir.join(LOCK_NAME)).ok()?)
    }

    /// Whether `dir` is claimed by a process that is not known to be dead.
    pub fn is_held(dir: &Path) -> bool {
        Self::holder(dir).is_some_and(|h| !h.is_dead())
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        // Nothing can be done about a failure here; a lock file left behind names a dead
        // process and is taken over by the next claim.
        let _ = std::fs::remove_file(&self.lock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_names_the_holder_and_a_released_folder_can_be_claimed_again() {
        let dir = tempfile::tempdir().unwrap();
        let claim = Claim::take(dir.path()).unwrap();
        match Claim::take(dir.path()).unwrap_err() {
            Error::Claimed { holder, .. } => {
                assert_eq!(holder.pid, std::process::id());
                assert_eq!(holder.host, host_name());
            }
            other => panic!("expected Claimed, got {other}"),
        }
        assert!(Claim::is_held(dir.path()));
        drop(claim);
        assert!(!dir.path().join(LOCK_NAME).exists());
        assert!(!Claim::is_held(dir.path()));
        Claim::take(dir.path()).unwrap();
    }

    #[test]
    fn a_claim_of_a_dead_process_or_a_torn_lock_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join(LOCK_NAME);
        // Process ids above the kernel's limit (4194304 at most) never run.
        let dead = Holder {
            host: host_name(),
            pid: 4_194_305,
            started: 1,
            process_start: None,
        };
        std::fs::write(&lock, dead.to_text()).unwrap();
        let claim = Claim::take(dir.path()).unwrap();
        assert_eq!(Claim::holder(dir.path()).unwrap().pid, std::process::id());
        drop(claim);
        std::fs::write(&lock, "host=").unwrap();
        Claim::take(dir.path()).unwrap();
    }

    #[test]
    fn a_lock_file_being_written_is_waited_for_not_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join(LOCK_NAME);
        // A holder between `create_new` and its write: the file is there, still empty.
        std::fs::write(&lock, "").unwrap();
        let writer = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                std::fs::write(&lock, Holder::this_process().to_text()).unwrap();
            })
        };
        let taken = Claim::take(dir.path());
        writer.join().unwrap();
        assert!(
            matches!(taken, Err(Error::Claimed { ref holder, .. }) if holder.pid == std::process::id()),
            "{taken:?}"
        );
    }

    #[test]
    fn a_pid_that_another_process_took_since_is_not_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        // This process's id, but a start time it does not have: a claim left by an earlier
        // process that had the same id.
        let mut earlier = Holder::this_process();
        earlier.process_start = earlier.process_start.map(|s| s + 1);
        std::fs::write(dir.path().join(LOCK_NAME), earlier.to_text()).unwrap();
        Claim::take(dir.path()).unwrap();
    }

    #[test]
    fn a_killed_but_unreaped_process_is_dead() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let holder = Holder {
            pid: child.id(),
            process_start: process_stat(child.id()).map(|(_, s)| s),
            ..Holder::this_process()
        };
        assert!(!holder.is_dead());
        child.kill().unwrap();
        // Not yet waited for: a zombie.
        std::thread::sleep(Duration::from_millis(100));
        assert!(holder.is_dead());
        child.wait().unwrap();
        assert!(holder.is_dead());
    }

    #[test]
    fn a_holder_that_dies_within_the_grace_is_taken_over_and_one_that_lives_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join(LOCK_NAME);
        let holder_of = |child: &std::process::Child| Holder {
            pid: child.id(),
            process_start: process_stat(child.id()).map(|(_, s)| s),
            ..Holder::this_process()
        };
        // Ends a few hundred milliseconds after the claim is asked for, as a killed task does.
        let mut dying = std::process::Command::new("sleep")
            .arg("0.3")
            .spawn()
            .unwrap();
        std::fs::write(&lock, holder_of(&dying).to_text()).unwrap();
        let claim = Claim::take(dir.path()).unwrap();
        dying.wait().unwrap();
        drop(claim);

        let mut living = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::write(&lock, holder_of(&living).to_text()).unwrap();
        let started = Instant::now();
        let refused = Claim::take(dir.path());
        living.kill().unwrap();
        living.wait().unwrap();
        assert!(
            matches!(refused, Err(Error::Claimed { ref holder, .. }) if holder.pid == living.id()),
            "{refused:?}"
        );
        assert!(started.elapsed() >= DYING_GRACE);
    }

    #[test]
    fn a_claim_from_another_host_is_respected() {
        let dir = tempfile::tempdir().unwrap();
        let other = Holder {
            host: format!("{}-elsewhere", host_name()),
            pid: 4_194_305,
            started: 1,
            process_start: None,
        };
        std::fs::write(dir.path().join(LOCK_NAME), other.to_text()).unwrap();
        let err = Claim::take(dir.path()).unwrap_err();
        assert!(err.to_string().contains("-elsewhere"), "{err}");
    }
}
