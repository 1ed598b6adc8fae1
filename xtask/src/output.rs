//! Lines for a person on standard output. A closed or full standard output never panics (as
//! `println!` does): the first failure is kept, the command goes on, and `main` ends it with that
//! error and a failing exit code.

use std::io::Write as _;
use std::sync::OnceLock;

static FAILURE: OnceLock<String> = OnceLock::new();

/// Writes `args` and a newline to standard output, keeping the first failure for [`failure`].
pub fn line(args: std::fmt::Arguments) {
    let mut out = std::io::stdout().lock();
    let written = out
        .write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        let _ = FAILURE.set(e.to_string());
    }
}

/// Why standard output could not be written, if it could not.
pub fn failure() -> Option<&'static str> {
    FAILURE.get().map(String::as_str)
}
