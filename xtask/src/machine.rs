//! What the results were computed on: the CPU (model, cores, vector extensions), the commit and
//! the versions, for the report and the benchmark.

use crate::project_root;

/// The CPU's model name, from `/proc/cpuinfo`, with its family and model numbers: the name
/// alone may not tell CPU generations apart (a virtual machine may report only "AMD EPYC").
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo").map_or_else(|_| "unknown CPU".into(), |i| model_of(&i))
}

/// The first CPU's model in the text of `/proc/cpuinfo`, e.g. `AMD EPYC, family 26 model 2`.
fn model_of(cpuinfo: &str) -> String {
    let field = |key: &str| {
        cpuinfo
            .lines()
            .find(|l| l.split(':').next().map(str::trim) == Some(key))
            .and_then(|l| l.split(':').nth(1))
            .map(|value| value.trim().to_string())
    };
    let name = field("model name").unwrap_or_else(|| "unknown CPU".into());
    match (field("cpu family"), field("model")) {
        (Some(family), Some(model)) => format!("{name}, family {family} model {model}"),
        _ => name,
    }
}

/// The machine's memory in bytes (`MemTotal` of `/proc/meminfo`), where it can tell.
pub fn memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse::<u64>()
        .ok()?;
    kib.checked_mul(1024)
}

/// The vector extensions the CPU offers that the matrix products and kernels can use.
pub fn vector_extensions() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut found = Vec::new();
        if std::arch::is_x86_feature_detected!("avx2") {
            found.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("fma") {
            found.push("fma");
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            found.push("avx512f");
        }
        found
    }
    #[cfg(target_arch = "aarch64")]
    {
        vec!["neon"]
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        Vec::new()
    }
}

/// The CPU model, its core count and vector extensions, e.g.
/// `AMD EPYC, family 26 model 2 (2 cores; avx2, fma, avx512f)`.
pub fn cpu_description() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let extensions = vector_extensions();
    let extensions = if extensions.is_empty() {
        "baseline vectors only".to_string()
    } else {
        extensions.join(", ")
    };
    format!("{} ({cores} cores; {extensions})", cpu_model())
}

/// The candle version in Cargo.lock.
pub fn candle_version() -> String {
    std::fs::read_to_string(project_root().join("Cargo.lock"))
        .ok()
        .and_then(|lock| {
            let at = lock.find("name = \"candle-core\"")?;
            let version = lock[at..].lines().nth(1)?;
            Some(
                version
                    .trim_start_matches("version = ")
                    .trim_matches('"')
                    .to_string(),
            )
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The first line a program prints, run in the project root, or "unknown".
fn first_line_of(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .current_dir(project_root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// The short hash of the checked-out commit.
pub fn git_commit() -> String {
    first_line_of("git", &["rev-parse", "--short", "HEAD"])
}

/// Facts about the machine and the software, as `(what, value)` rows.
pub fn environment(device_name: &str, threads: u16) -> Vec<(&'static str, String)> {
    vec![
        ("CPU", cpu_description()),
        ("device", device_name.to_string()),
        ("CPU threads", threads.to_string()),
        (
            "actfn",
            format!("{} (commit {})", env!("CARGO_PKG_VERSION"), git_commit()),
        ),
        ("candle", candle_version()),
        ("rustc", first_line_of("rustc", &["--version"])),
        (
            "OS",
            format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::model_of;

    #[test]
    fn the_cpu_model_names_its_family_and_model_apart_from_its_name() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\nmodel\t\t: 2\n\
                    model name\t: AMD EPYC\nprocessor\t: 1\ncpu family\t: 26\n";
        assert_eq!(model_of(info), "AMD EPYC, family 26 model 2");
        assert_eq!(model_of("model name\t: Some CPU\n"), "Some CPU");
        assert_eq!(model_of(""), "unknown CPU");
    }
}
