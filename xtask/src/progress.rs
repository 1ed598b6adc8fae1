//! Progress bars and the per-epoch lines a person sees while networks train.
//!
//! indicatif draws nothing when standard error is not a terminal, so logs and CI output hold only
//! the epoch lines.

use std::time::Duration;

use actfn_train::{EpochMetrics, Observer, Verdict};
use indicatif::{ProgressBar, ProgressStyle};

/// A bar for a download of `total` bytes (a spinner when the size is unknown).
pub fn bytes_bar(total: Option<u64>, label: &str) -> ProgressBar {
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{msg:28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner(),
    };
    bar.set_message(label.to_string());
    bar
}

/// Shows a bar per epoch and prints one line when it ends, in the study's words.
pub struct EpochProgress {
    name: String,
    bar: Option<ProgressBar>,
}

impl EpochProgress {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            bar: None,
        }
    }
}

impl Observer for EpochProgress {
    fn epoch_started(&mut self, epoch: usize, steps: usize) {
        let bar = ProgressBar::new(steps as u64).with_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} steps {per_sec} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("{} epoch {epoch}", self.name));
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn step_finished(&mut self, _step: usize, _loss: f32) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn epoch_finished(&mut self, m: &EpochMetrics, verdict: Verdict) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let note = match verdict {
            Verdict::NewBest => "  (new best, checkpoint saved)",
            Verdict::Stop => "  (early stopping: no improvement within the patience)",
            // Continue, and whatever a later version adds.
            _ => "",
        };
        say!(
            "[Epoch {:2}] train acc {:05.2}%, val acc {:05.2}%, loss {:.4}, {:.1} s, {:.0} samples/s{note}",
            m.epoch,
            100.0 * m.train_acc,
            100.0 * m.val_acc,
            m.train_loss,
            m.seconds,
            m.samples_per_second
        );
    }

    fn message(&mut self, text: &str) {
        say!("{text}");
    }
}
