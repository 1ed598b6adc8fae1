//! `cargo xtask sweep --until-decided`: a sweep that adds seeds, a look at a time, to the
//! functions in comparisons still undecided ([`actfn_sweep::sequential`]); each look is a sweep
//! folder under the sweep's, trained here or emitted as a job array.

use std::path::{Path, PathBuf};

use actfn_stats::Decision;
use actfn_sweep::report::{Analysis, Preface};
use actfn_sweep::sequential::{
    End, Next, SequentialDir, SequentialSettings, parse_spending, progress, write_report,
};
use anyhow::Context;
use clap::Args;

use super::grid::RunArgs;

/// The flags of a sequential sweep.
#[derive(Args, Debug)]
pub struct SequentialArgs {
    /// Add seeds until each comparison is decided (different, or equal within --margin), a
    /// batch at a time to the functions in open comparisons, under error control over the
    /// repeated looks (docs/SEQUENTIAL.md).
    #[arg(long, conflicts_with = "seeds")]
    pub until_decided: bool,
    /// Seeds of every function at the first look.
    #[arg(long, default_value_t = 5, requires = "until_decided")]
    pilot: usize,
    /// Seeds added at each later look.
    #[arg(long, default_value_t = 5, requires = "until_decided", value_parser = crate::at_least_one)]
    batch: usize,
    /// The most seeds of a function (the last look reaches it).
    #[arg(long, default_value_t = 20, requires = "until_decided")]
    max_seeds: usize,
    /// The most runs to train over all the looks [default: no limit but --max-seeds].
    #[arg(long, requires = "until_decided")]
    budget_runs: Option<usize>,
    /// Compare each function with this one only [default: every pair].
    #[arg(long, value_name = "NAME", requires = "until_decided", value_parser = crate::train::parse_act_list)]
    against: Option<crate::train::ActList>,
    /// Two functions are called equal only within this many points of test accuracy.
    #[arg(long, default_value_t = 0.3, requires = "until_decided")]
    margin: f64,
    /// How the 5% level is spent over the looks: obrien-fleming (little early, most at the
    /// end) or pocock (about even).
    #[arg(long, default_value = "obrien-fleming", value_parser = parse_spending, requires = "until_decided")]
    spending: actfn_stats::Spending,
    /// A results page's runs.csv whose runs take the place of a look's where they hold a
    /// function's whole batch with the same settings (repeat for several).
    #[arg(long, value_name = "FILE", requires = "until_decided")]
    reuse: Vec<PathBuf>,
}

impl SequentialArgs {
    /// The design these flags and the grid's give.
    fn settings(&self, run: &RunArgs) -> anyhow::Result<SequentialSettings> {
        let against = self
            .against
            .as_ref()
            .map(|list| crate::train::ActList::one(list, "--against", run.non_finite))
            .transpose()?;
        let reuse = self
            .reuse
            .iter()
            .map(|path| {
                std::fs::canonicalize(path)
                    .with_context(|| format!("--reuse {}: cannot read it", path.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut settings = SequentialSettings {
            sweep: run.settings()?,
            pilot: self.pilot,
            batch: self.batch,
            max_seeds: self.max_seeds,
            budget_runs: self.budget_runs,
            against,
            margin: self.margin,
            spending: self.spending,
            reuse,
            ..SequentialSettings::default()
        };
        // The looks give the seeds: the recorded sweep has the pilot's.
        settings.sweep.axes.seed = settings.seeds_of_look(1).collect();
        settings.validate()?;
        Ok(settings)
    }
}

/// Runs the looks until every comparison is decided or the seeds or budget run out (with
/// `--emit slurm`: writes the next look's job array and stops), then writes the report.
pub fn run(run: &RunArgs, args: &SequentialArgs) -> anyhow::Result<()> {
    let dir = SequentialDir::new(&run.folder());
    let settings = args.settings(run)?;
    if run.emit.is_none() {
        super::fits_in_memory(&settings.sweep)?;
    }
    dir.prepare(&settings)?;
    let reused = settings.reused_runs()?;
    let training = super::Training {
        jobs: run.jobs,
        emit: run.emit,
        // A look's array holds only the runs it still needs.
        slurm: actfn_sweep::slurm::SlurmSettings {
            only_missing: true,
            ..run.slurm.settings()
        },
        task: super::task_command(&run.outputs)?,
    };
    loop {
        let now = progress(&dir, &settings, &reused)?;
        let Next::Train(look) = &now.next else {
            break;
        };
        let open = now.open().count();
        say!(
            "Look {} of {}: seeds {}-{} of {} ({} comparisons open)",
            look.look,
            settings.looks(),
            look.settings.axes.seed.first().copied().unwrap_or(0),
            look.settings.axes.seed.last().copied().unwrap_or(0),
            names(&look.settings.axes.act_fn),
            if look.look == 1 {
                settings.pairs().len()
            } else {
                open
            }
        );
        if !super::train_or_emit(&look.dir, &look.settings, &training, "sweep")? {
            return Ok(());
        }
    }
    report(&dir, &dir.root, &Preface::default())
}

/// Writes the sequential sweep's report and says where it stands: what `sweep report` does
/// for a sequential sweep's folder.
pub fn report(dir: &SequentialDir, out: &Path, preface: &Preface) -> anyhow::Result<()> {
    let (progress, path) = write_report(dir, out, preface, &Analysis::default())?;
    for c in &progress.comparisons {
        let pair = format!("{} vs {}", c.pair.0.name(), c.pair.1.name());
        match (c.decision, c.look) {
            (Decision::Undecided, _) => {
                say!("  {pair}: open after {} / {} runs", c.runs.0, c.runs.1)
            }
            (decision, look) => say!(
                "  {pair}: {} at look {} ({} / {} runs)",
                match decision {
                    Decision::Different => "different",
                    _ => "equal within the margin",
                },
                look.unwrap_or(0),
                c.runs.0,
                c.runs.1
            ),
        }
    }
    let state = match &progress.next {
        Next::Done(End::Decided) => "every comparison is decided".to_string(),
        Next::Done(End::MaxSeeds) => "the last look is made".to_string(),
        Next::Done(End::Budget { needed }) => {
            format!("the budget is spent (the next look needs {needed} runs)")
        }
        Next::Train(t) => format!(
            "next: look {}, {} runs of {} (rerun the sweep command)",
            t.look,
            t.settings.runs().map_or(0, |r| r.len()),
            names(&t.settings.axes.act_fn)
        ),
        _ => String::new(),
    };
    say!(
        "{state}; {} runs trained, {} reused; report: {}",
        progress.trained,
        progress.reused.len(),
        path.display()
    );
    Ok(())
}

fn names(acts: &[actfn_activations::Activation]) -> String {
    acts.iter().map(|a| a.key()).collect::<Vec<_>>().join(",")
}
