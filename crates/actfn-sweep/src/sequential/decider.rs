//! A sequential design's decisions on plain numbers, look by look: what [`super::progress`]
//! makes of a sweep's runs and what [`super::simulate`] makes of drawn ones, by the same code.

use actfn_stats::{Decision, SequentialPlan, decide_look};

use super::{Comparison, SequentialSettings};
use crate::report::mixture;

/// The state of a sequential design between looks: each group's results so far and each
/// comparison's decision.
#[derive(Debug, Clone)]
pub struct Decider {
    plan: SequentialPlan,
    margin: f64,
    samples: Vec<Vec<f64>>,
    /// The comparisons' pairs of group indices, in the comparisons' order.
    pairs: Vec<(usize, usize)>,
    open: Vec<(usize, usize)>,
    comparisons: Vec<Comparison>,
    looks: usize,
}

impl Decider {
    /// Before the first look of `settings`' design.
    pub fn new(settings: &SequentialSettings) -> Self {
        let groups = settings.groups();
        let pairs = settings.pairs();
        Self {
            plan: settings.plan(),
            margin: settings.margin,
            samples: vec![Vec::new(); groups.len()],
            comparisons: pairs
                .iter()
                .map(|&(i, j)| Comparison {
                    pair: (groups[i], groups[j]),
                    decision: Decision::Undecided,
                    look: None,
                    runs: (0, 0),
                    last: None,
                    level: None,
                })
                .collect(),
            open: pairs.clone(),
            pairs,
            looks: 0,
        }
    }

    /// The groups (indices into the settings' groups) in a comparison still open: the ones the
    /// next look adds seeds to.
    pub fn wanted(&self) -> Vec<usize> {
        (0..self.samples.len())
            .filter(|&g| self.open.iter().any(|&(i, j)| i == g || j == g))
            .collect()
    }

    /// Whether every comparison is decided.
    pub fn all_decided(&self) -> bool {
        self.open.is_empty()
    }

    /// The level of the next look.
    pub fn next_level(&self) -> Option<f64> {
        self.plan.level(self.looks + 1)
    }

    /// Makes the next look, each group of `added` (index, results in percent) given its new
    /// results, and decides the comparisons still open at the look's level; returns how many
    /// it decided. A look past the plan's last decides nothing.
    pub fn look(&mut self, added: &[(usize, Vec<f64>)]) -> usize {
        for (g, results) in added {
            if let Some(sample) = self.samples.get_mut(*g) {
                sample.extend(results);
            }
        }
        self.looks += 1;
        let look = self.looks;
        let views: Vec<&[f64]> = self.samples.iter().map(Vec::as_slice).collect();
        let Some(decisions) =
            decide_look(&views, &self.open, &self.plan, look, self.margin, mixture)
        else {
            return 0;
        };
        let level = self.plan.level(look);
        let mut decided = 0;
        for d in decisions {
            let (Some(at), Some(k)) = (
                self.open.iter().position(|&p| p == (d.i, d.j)),
                self.pairs.iter().position(|&p| p == (d.i, d.j)),
            ) else {
                continue;
            };
            let c = &mut self.comparisons[k];
            c.runs = (views[d.i].len(), views[d.j].len());
            c.decision = d.decision;
            c.last = Some(d);
            c.level = level;
            if d.decision != Decision::Undecided {
                c.look = Some(look);
                decided += 1;
                self.open.remove(at);
            }
        }
        decided
    }

    /// Every comparison and what the looks said of it.
    pub fn comparisons(&self) -> &[Comparison] {
        &self.comparisons
    }

    /// The runs given so far, over the groups.
    pub fn runs(&self) -> usize {
        self.samples.iter().map(Vec::len).sum()
    }
}
