//! Early stopping on validation accuracy, as the study's `train_model` decides it.

/// What to do after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The score is the best so far (or the first): save the checkpoint.
    NewBest,
    /// No improvement, but patience is not yet exhausted.
    Continue,
    /// No improvement for `patience` epochs: stop.
    Stop,
}

/// The study's rule: a score strictly above the best is a new best; otherwise stop once the best
/// epoch is `patience` or more epochs back.
///
/// Read back from a saved state, it is checked: a best epoch that is not one of the recorded
/// scores, or that is not the best of them, is refused rather than trusted.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Recorded")]
pub struct EarlyStopping {
    patience: usize,
    scores: Vec<f64>,
    best_epoch: Option<usize>,
}

/// The serialized form, before its check.
#[derive(serde::Deserialize)]
struct Recorded {
    patience: usize,
    scores: Vec<f64>,
    best_epoch: Option<usize>,
}

impl TryFrom<Recorded> for EarlyStopping {
    type Error = String;

    fn try_from(r: Recorded) -> Result<Self, String> {
        let mut replayed = EarlyStopping::new(r.patience);
        for &score in &r.scores {
            replayed.record(score);
        }
        if replayed.best_epoch != r.best_epoch {
            return Err(format!(
                "the early-stopping state names epoch {:?} as the best of {} scores, but it is {:?}",
                r.best_epoch,
                r.scores.len(),
                replayed.best_epoch
            ));
        }
        Ok(replayed)
    }
}

impl EarlyStopping {
    /// A fresh state with the given patience.
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            scores: Vec::new(),
            best_epoch: None,
        }
    }

    /// Records the next epoch's validation score and says what to do.
    pub fn record(&mut self, score: f64) -> Verdict {
        let epoch = self.scores.len();
        self.scores.push(score);
        match self.best_epoch {
            Some(best) if self.scores.get(best).is_some_and(|&b| score <= b) => {
                if best + self.patience <= epoch {
                    Verdict::Stop
                } else {
                    Verdict::Continue
                }
            }
            _ => {
                self.best_epoch = Some(epoch);
                Verdict::NewBest
            }
        }
    }

    /// The epoch (from 0) with the best score, if any epoch was recorded.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    /// The best score, if any epoch was recorded.
    pub fn best_score(&self) -> Option<f64> {
        self.best_epoch.and_then(|e| self.scores.get(e).copied())
    }

    /// All recorded scores, in order.
    pub fn scores(&self) -> &[f64] {
        &self.scores
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `scores` and returns the epoch (from 0) at which the rule said stop, if it did.
    fn stop_epoch(patience: usize, scores: &[f64]) -> (Option<usize>, EarlyStopping) {
        let mut stopping = EarlyStopping::new(patience);
        let stop = scores
            .iter()
            .position(|&s| stopping.record(s) == Verdict::Stop);
        (stop, stopping)
    }

    #[test]
    fn never_improving_stops_after_patience_plus_one_epochs() {
        // The study's sigmoid run: stuck at chance, early stopping after 8 epochs.
        let (stop, state) = stop_epoch(7, &[0.1; 20]);
        assert_eq!(stop, Some(7));
        assert_eq!(state.best_epoch(), Some(0));
    }

    #[test]
    fn a_late_improvement_resets_the_patience_and_ties_do_not_count() {
        let scores = [
            0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.69, 0.7, 0.68, 0.1, 0.2, 0.3,
        ];
        let (stop, state) = stop_epoch(3, &scores);
        // Best 0.7 at epoch 4; epochs 5, 6 and 7 do not beat it, so epoch 7 stops.
        assert_eq!(stop, Some(7));
        assert_eq!(
            (state.best_epoch(), state.best_score()),
            (Some(4), Some(0.7))
        );
    }

    #[test]
    fn a_saved_state_whose_best_epoch_is_out_of_range_or_wrong_is_refused() {
        let out_of_range = r#"{"patience": 7, "scores": [0.5, 0.6], "best_epoch": 9}"#;
        let err = serde_json::from_str::<EarlyStopping>(out_of_range).unwrap_err();
        assert!(err.to_string().contains("epoch Some(9)"), "{err}");
        let not_the_best = r#"{"patience": 7, "scores": [0.5, 0.6], "best_epoch": 0}"#;
        assert!(serde_json::from_str::<EarlyStopping>(not_the_best).is_err());
        let good = r#"{"patience": 7, "scores": [0.5, 0.6, 0.55], "best_epoch": 1}"#;
        let state: EarlyStopping = serde_json::from_str(good).unwrap();
        assert_eq!(state.best_score(), Some(0.6));
    }

    #[test]
    fn steady_improvement_never_stops() {
        let scores: Vec<f64> = (0..50).map(|i| f64::from(i) / 50.0).collect();
        let (stop, state) = stop_epoch(7, &scores);
        assert_eq!((stop, state.best_epoch()), (None, Some(49)));
    }
}
