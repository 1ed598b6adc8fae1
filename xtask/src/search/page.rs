//! `search.md`: the screen, each stage's leaderboard, the finalists and the skipped formulas.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use actfn_search::{Candidate, Screened, promote};

use super::{Stage, Standing};

/// The search's page: the screen, each stage's leaderboard, the finalists, and where the final
/// comparison's report is.
pub(super) fn search_page(
    screened: &Screened,
    stages: &[(Stage, Vec<Standing>)],
    finalists: &[Candidate],
    final_dir: &Path,
) -> String {
    let mut md = String::from("# Search\n\n");
    let _ = writeln!(
        md,
        "{} candidates passed the screen; {} formulas were skipped{}.\n",
        screened.kept.len(),
        screened.skipped.len(),
        match screened.not_drawn {
            0 => String::new(),
            n => format!(" and {n} candidates were not drawn for the budget"),
        }
    );
    for (k, (stage, standings)) in stages.iter().enumerate() {
        let _ = writeln!(
            md,
            "## Stage {k}: {} images x {} epochs\n\n| rank | formula | label | E f(Z) | Var f(Z) | best val acc | test acc |\n|---:|---|---|---:|---:|---:|---:|",
            stage.subset.map_or("all".to_string(), |n| n.to_string()),
            stage.epochs
        );
        let scores: Vec<(usize, f64)> = standings
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.best_val_acc))
            .collect();
        // -0.000 is 0.000.
        let moment = |v: f64| if v.abs() < 5e-4 { 0.0 } else { v };
        for (rank, i) in promote(&scores, scores.len()).into_iter().enumerate() {
            let s = &standings[i];
            let _ = writeln!(
                md,
                "| {} | `{}` | {} | {:.3} | {:.3} | {:.2}% | {:.2}% |",
                rank + 1,
                s.candidate.formula,
                s.candidate.label,
                moment(s.candidate.normal_mean),
                moment(s.candidate.normal_variance),
                100.0 * s.best_val_acc,
                100.0 * s.test_acc
            );
        }
        md.push('\n');
    }
    md.push_str("## Finalists\n\n");
    for c in finalists {
        let _ = writeln!(md, "- `{}` ({})", c.formula, c.label);
    }
    let _ = writeln!(
        md,
        "\nThe final comparison, with its statistics: {}.\n\n## Skipped\n\n| formula | reason |\n|---|---|",
        PathBuf::from(final_dir).join("report.md").display()
    );
    for s in &screened.skipped {
        let _ = writeln!(md, "| `{}` | {} |", s.formula, s.reason);
    }
    md
}
