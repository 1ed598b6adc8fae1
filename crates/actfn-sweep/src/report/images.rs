//! Groups compared on the same test images: each group against the best of its set, image by
//! image, from the runs' saved predictions. Where the seed-to-seed comparison asks whether
//! another seed would rank them the same, this asks whether other test images would: the test
//! set is a finite sample too.

use actfn_report::{Block, Table, heading, paragraph};
use actfn_stats::{PairedImages, holm, paired_images};

use super::Analysis;
use super::inputs::GroupRuns;
use super::sections::{ComparisonSet, comparison_sets};
use super::tables::{interval, mean};

/// Per run of `g`, whether it classified each test image right; `None` unless every run saved
/// its predictions for all of `labels`.
fn hits(g: &GroupRuns, labels: &[u32]) -> Option<Vec<Vec<bool>>> {
    g.runs
        .iter()
        .map(|r| {
            let predicted = r.record.predictions.as_ref()?;
            (predicted.len() == labels.len())
                .then(|| predicted.iter().zip(labels).map(|(p, l)| p == l).collect())
        })
        .collect()
}

/// The section: per set of several groups, each group against the set's best (highest mean)
/// on the same images; the groups whose runs kept no predictions are named as left out.
pub(super) fn paired_blocks(
    groups: &[GroupRuns],
    labels: Option<&[u32]>,
    analysis: &Analysis,
) -> Vec<Block> {
    let sets: Vec<_> = comparison_sets(groups)
        .into_iter()
        .filter(|s| s.groups.len() >= 2)
        .collect();
    if sets.is_empty() {
        return Vec::new();
    }
    let mut blocks = vec![heading("The same test images")];
    let kept = groups
        .iter()
        .flat_map(|g| &g.runs)
        .any(|r| r.record.predictions.is_some());
    if !kept {
        blocks.push(paragraph(
            "Not compared image by image: these runs kept no test predictions (recorded before \
             runs kept them, or read from a runs.csv without its predictions.csv); rerunning \
             the sweep keeps them.",
        ));
        return blocks;
    }
    let Some(labels) = labels else {
        blocks.push(paragraph(
            "Not compared image by image: the test labels were not given (`cargo xtask sweep \
             report` reads them from the Fashion-MNIST files it finds).",
        ));
        return blocks;
    };
    blocks.push(paragraph(
        "Each group against the best of its set, on the same 10,000 test images: the difference \
         of the mean accuracies with its 95% interval from resampling the images (what another \
         draw of test images would give, for these trained networks), the images that most runs \
         of one group classify right and most of the other's do not, and McNemar's exact test \
         on those, corrected by Holm over the set. It speaks of these runs' networks; whether \
         other seeds would rank the groups the same is the pairwise comparisons' question.",
    ));
    for ComparisonSet { name, groups: set } in sets {
        let Some(best) = set.iter().max_by(|a, b| {
            mean(&a.group.test)
                .partial_cmp(&mean(&b.group.test))
                .unwrap_or(std::cmp::Ordering::Equal)
        }) else {
            continue;
        };
        let mut left_out = Vec::new();
        let Some(best_hits) = hits(best, labels) else {
            blocks.push(paragraph(format!(
                "{name}: the best group, {}, has runs recorded before predictions were kept; \
                 rerunning them compares the set image by image.",
                best.group.label
            )));
            continue;
        };
        /// A group compared with the best.
        struct Row<'g> {
            group: &'g GroupRuns<'g>,
            paired: PairedImages,
        }
        let mut rows = Vec::new();
        for g in &set {
            if std::ptr::eq(*g, *best) {
                continue;
            }
            match hits(g, labels).and_then(|h| paired_images(&h, &best_hits, &analysis.bootstrap)) {
                Some(paired) => rows.push(Row { group: g, paired }),
                None => left_out.push(g.group.label.clone()),
            }
        }
        let raw: Vec<f64> = rows.iter().map(|r| r.paired.mcnemar_p).collect();
        let adjusted = holm(&raw).unwrap_or_else(|| vec![1.0; raw.len()]);
        let mut table = Table::numeric(&[
            &format!("vs {} ({name})", best.group.label),
            "runs",
            "difference [95% CI, images] (pt)",
            "images right only here / only there",
            "McNemar p (Holm)",
        ]);
        for (Row { group, paired: p }, holm_p) in rows.iter().zip(adjusted) {
            let points = p.ci95.map(|c| actfn_stats::Interval {
                lo: 100.0 * c.lo,
                hi: 100.0 * c.hi,
            });
            table.row(vec![
                group.group.label.clone(),
                format!("{} / {}", group.runs.len(), best.runs.len()),
                format!("{:+.2} {}", 100.0 * p.difference, interval(points)),
                format!("{} / {}", p.only_a, p.only_b),
                if holm_p < 0.001 {
                    "< 0.001".into()
                } else {
                    format!("{holm_p:.3}")
                },
            ]);
        }
        if !rows.is_empty() {
            blocks.push(Block::Table(table));
        }
        if !left_out.is_empty() {
            blocks.push(paragraph(format!(
                "Left out (runs recorded before predictions were kept): {}.",
                left_out.join(", ")
            )));
        }
    }
    blocks
}
