//! Error control for comparisons looked at more than once: a sweep that adds seeds until each
//! comparison is decided tests after every batch, and testing each look at the full level
//! would inflate false decisions. An alpha-spending function (Lan and DeMets 1983) says how
//! much of the overall level each look may use; the looks' levels sum to the overall level, so
//! by Bonferroni's inequality over the looks the chance of any false decision, at any look,
//! stays at or below it. This is conservative next to the exact group-sequential boundaries,
//! which also count on the looks' correlation, and needs no numerical integration; the
//! simulation of the sequential sweep measures what it costs.

use statrs::distribution::{ContinuousCDF, Normal};

/// The shape of the spending over the looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Spending {
    /// Lan-DeMets' O'Brien-Fleming type, `2 - 2 Phi(z_(1 - alpha/2) / sqrt(t))`: almost nothing
    /// early, nearly the whole level at the last look (early decisions need large effects).
    OBrienFleming,
    /// Lan-DeMets' Pocock type, `alpha ln(1 + (e - 1) t)`: about even over the looks.
    Pocock,
}

/// A sequential design: an overall two-sided level spent over at most `looks` equally spaced
/// looks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SequentialPlan {
    /// The overall level, e.g. 0.05.
    pub alpha: f64,
    /// The most looks; the last is at information fraction 1.
    pub looks: usize,
    /// How the level is spent.
    pub spending: Spending,
}

impl SequentialPlan {
    /// The level spent by information fraction `t` (clamped to [0, 1]): 0 at 0, `alpha` at 1.
    pub fn spent(&self, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        if t == 0.0 {
            return 0.0;
        }
        // At the last look the whole level, exactly (the normal quantile is good to ~1e-10).
        if t == 1.0 {
            return self.alpha;
        }
        match self.spending {
            Spending::OBrienFleming => {
                let normal = Normal::standard();
                let z = normal.inverse_cdf(1.0 - self.alpha / 2.0);
                // The upper tail itself: 2 - 2 Phi would cancel to 0 early on.
                2.0 * normal.sf(z / t.sqrt())
            }
            Spending::Pocock => self.alpha * (1.0 + (std::f64::consts::E - 1.0) * t).ln(),
        }
    }

    /// The level of look `look` (1 to [`SequentialPlan::looks`]): what the spending function
    /// adds from the previous look's fraction to this one's. `None` for a look outside the plan
    /// or a level outside (0, 1).
    pub fn level(&self, look: usize) -> Option<f64> {
        let usable = (1..=self.looks).contains(&look) && self.alpha > 0.0 && self.alpha < 1.0;
        usable.then(|| {
            let k = self.looks as f64;
            self.spent(look as f64 / k) - self.spent((look - 1) as f64 / k)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_looks_levels_sum_to_the_overall_level() {
        for spending in [Spending::OBrienFleming, Spending::Pocock] {
            let plan = SequentialPlan {
                alpha: 0.05,
                looks: 6,
                spending,
            };
            let levels: Vec<f64> = (1..=6).map(|k| plan.level(k).unwrap()).collect();
            assert!(
                (levels.iter().sum::<f64>() - 0.05).abs() < 1e-15,
                "{levels:?}"
            );
            assert!(levels.iter().all(|&l| l > 0.0));
            assert_eq!(plan.level(0), None);
            assert_eq!(plan.level(7), None);
        }
        // O'Brien-Fleming spends little early, Pocock about evenly.
        let obf = SequentialPlan {
            alpha: 0.05,
            looks: 5,
            spending: Spending::OBrienFleming,
        };
        assert!(obf.level(1).unwrap() < 1e-4);
        assert!(obf.level(5).unwrap() > 0.02);
    }
}
