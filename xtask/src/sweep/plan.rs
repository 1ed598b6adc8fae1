//! `cargo xtask sweep plan`: how many seeds each comparison of one or more sweep folders (or a
//! page's runs.csv) needs for 80% power, and what the runs would cost ([`actfn_sweep::plan`]).

use std::path::PathBuf;

use actfn_sweep::plan::{PlanSettings, plan};
use actfn_sweep::report;
use clap::Args;

/// Arguments of `cargo xtask sweep plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// The sweep folders (a pilot, or any sweep).
    #[arg(long, num_args = 1.., required_unless_present = "runs_csv")]
    dir: Vec<PathBuf>,
    /// A report's runs.csv, alone or beside the folders.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    runs_csv: Vec<PathBuf>,
    /// The power a decision is wanted with.
    #[arg(long, default_value_t = 0.8, value_parser = share)]
    power: f64,
    /// Two groups are called equal only within this many points of test accuracy.
    #[arg(long, default_value_t = 0.3, value_parser = super::report::positive_points)]
    margin: f64,
    /// Plan each function's comparison with this one only [default: every pair].
    #[arg(long, value_name = "NAME", value_parser = crate::train::parse_act_list)]
    against: Option<crate::train::ActList>,
    /// Runs at once, for the wall time.
    #[arg(long, default_value_t = 2, value_parser = crate::at_least_one)]
    jobs: usize,
}

/// A share strictly between 0 and 1.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if p > 0.0 && p < 1.0 => Ok(p),
        _ => Err(format!(
            "{text:?} is not a power: give a share between 0 and 1, e.g. 0.8"
        )),
    }
}

pub fn run(args: &PlanArgs) -> anyhow::Result<()> {
    let mut inputs = report::gather(&args.dir)?;
    if !args.runs_csv.is_empty() {
        inputs.extend(report::Inputs::from_runs_csv(&args.runs_csv)?)?;
    }
    if inputs.finished.is_empty() {
        anyhow::bail!("no run has finished in the folders given: nothing to plan from");
    }
    let against = args
        .against
        .as_ref()
        .map(|list| crate::train::ActList::one(list, "--against", Default::default()))
        .transpose()?;
    let settings = PlanSettings {
        power: args.power,
        margin: args.margin,
        against,
        ..PlanSettings::default()
    };
    let plan = plan(&inputs, &settings);
    let most = settings.most_runs;
    let runs = |n: Option<usize>| n.map_or(format!("> {most}"), |n| n.to_string());
    say!(
        "Runs per group for {:.0}% power to decide each pair (bootstrap of the observed runs; \
         closed form: the normal approximation, or Noether's for the rank test):",
        100.0 * settings.power
    );
    for p in &plan.pairs {
        let name = format!("{} vs {}", p.pair.0, p.pair.1);
        match p.decision {
            actfn_stats::Decision::Undecided => say!(
                "  {name}: open on {} / {} runs; bootstrap {}, closed form {}",
                p.runs.0,
                p.runs.1,
                runs(p.bootstrap_runs),
                p.closed_runs.map_or("-".into(), |n| n.to_string())
            ),
            decided => say!(
                "  {name}: {} on {} / {} runs",
                match decided {
                    actfn_stats::Decision::Different => "different",
                    _ => "equal within the margin",
                },
                p.runs.0,
                p.runs.1
            ),
        }
    }
    say!("Per group (runs now -> wanted, mean time per run):");
    for g in &plan.groups {
        say!(
            "  {}: {} -> {}, {:.0} s",
            g.label,
            g.runs,
            g.wanted,
            g.seconds
        );
    }
    say!(
        "{} more runs: {:.1} h of training, about {:.1} h on this machine at {} at once",
        plan.more_runs(),
        plan.hours(),
        plan.hours() / args.jobs as f64,
        args.jobs
    );
    Ok(())
}
