//! One function's result in one stage of a search (its accuracies and the measurements of its
//! initial network), `standings.csv` (the file of them all, from which a search's sections are
//! written again) and the mechanism study over a stage's standings.

use actfn_stats::Bootstrap;
use serde::{Deserialize, Serialize};

use crate::{Association, Measurement, Prediction, associations, cross_validated_ranking};

/// The measurements the mechanism study relates to accuracy, in the order of
/// [`Standing::measurements`].
pub const MEASUREMENTS: [&str; 6] = [
    "log10 grad first/last",
    "dead share",
    "last layer mean",
    "last layer std",
    "E f(Z)",
    "Var f(Z)",
];

/// One function in one stage: means over its finished runs, NaN where none finished or none
/// recorded the value. The first four measurements are the initial network's (epoch 0 of the
/// runs' dynamics); the last two the function's own under a standard normal input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    /// The stage: `0`, `1`, ... or `final`.
    pub stage: String,
    /// The stage's training images (none: all of the training split).
    pub images: Option<usize>,
    /// The stage's most epochs.
    pub epochs: usize,
    /// The function's name: the formula, or the built-in's name.
    pub function: String,
    /// Its key, which its runs are filed under (`f-9d17a84506a9`, `relu`).
    pub label: String,
    /// Its finished runs.
    pub runs: usize,
    /// Its runs whose training diverged (a NaN or infinite loss): they have no accuracy.
    pub diverged: usize,
    /// Mean best validation accuracy, in [0, 1].
    pub best_val_acc: f64,
    /// Mean test accuracy, in [0, 1].
    pub test_acc: f64,
    /// log10 of the first layer's gradient norm over the last's, on the first batch.
    pub gradient_ratio_log10: f64,
    /// The share of hidden units that no probe image activates.
    pub dead_share: f64,
    /// The mean of the last hidden layer's outputs on the probe images.
    pub last_mean: f64,
    /// Their standard deviation.
    pub last_std: f64,
    /// E f(Z), Z standard normal.
    pub normal_mean: f64,
    /// Var f(Z).
    pub normal_variance: f64,
}

/// A stage's training as the pages say it: `10000 images x 1 epochs`, `all images x 50 epochs`.
pub fn training(images: Option<usize>, epochs: usize) -> String {
    match images {
        Some(n) => format!("{n} images x {epochs} epochs"),
        None => format!("all images x {epochs} epochs"),
    }
}

impl Standing {
    /// The measurements, in the order of [`MEASUREMENTS`].
    pub fn measurements(&self) -> [f64; 6] {
        [
            self.gradient_ratio_log10,
            self.dead_share,
            self.last_mean,
            self.last_std,
            self.normal_mean,
            self.normal_variance,
        ]
    }
}

/// The standings as `standings.csv`, a header of the field names and a row per standing.
pub fn standings_csv(standings: &[Standing]) -> Result<String, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for s in standings {
        writer.serialize(s)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads `standings.csv` as [`standings_csv`] writes it; a row that does not read is an error
/// that names its line.
pub fn read_standings(text: &str) -> Result<Vec<Standing>, csv::Error> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect()
}

/// The mechanism study over `standings`: each measurement's correlation with `accuracy` and
/// the cross-validated ranking by the best single one (5 folds, seeded).
pub fn mechanism(
    standings: &[Standing],
    accuracy: fn(&Standing) -> f64,
) -> (Vec<Association>, Option<Prediction>) {
    let measurements: Vec<Measurement> = MEASUREMENTS
        .iter()
        .enumerate()
        .map(|(k, name)| Measurement {
            name: name.to_string(),
            values: standings.iter().map(|s| s.measurements()[k]).collect(),
        })
        .collect();
    let accuracies: Vec<f64> = standings.iter().map(accuracy).collect();
    (
        associations(&measurements, &accuracies, &Bootstrap::default()),
        cross_validated_ranking(&measurements, &accuracies, 5, 0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn standing(k: usize) -> Standing {
        Standing {
            stage: "0".into(),
            images: k.is_multiple_of(2).then_some(1024),
            epochs: 1,
            function: format!("x * sigmoid({k} * x)"),
            label: format!("f-{k}"),
            runs: 1,
            diverged: k % 3,
            best_val_acc: 0.80 + 0.005 * k as f64,
            test_acc: 0.79 + 0.005 * k as f64,
            gradient_ratio_log10: -(k as f64) / 10.0,
            dead_share: if k == 3 { f64::NAN } else { 0.1 },
            last_mean: 0.01 * ((k * 7) % 5) as f64,
            last_std: 0.5,
            normal_mean: 0.2,
            normal_variance: 0.3 + 0.01 * k as f64,
        }
    }

    #[test]
    fn standings_round_trip_through_their_csv_with_commas_and_nans() {
        let standings: Vec<Standing> = (0..12).map(standing).collect();
        let text = standings_csv(&standings).unwrap();
        assert!(text.starts_with("stage,images,epochs,function,label,runs,diverged,best_val_acc"));
        let back = read_standings(&text).unwrap();
        assert_eq!(back.len(), 12);
        for (a, b) in standings.iter().zip(&back) {
            assert_eq!(
                (&a.function, a.images, a.diverged),
                (&b.function, b.images, b.diverged)
            );
            for (x, y) in a.measurements().iter().zip(b.measurements()) {
                assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()));
            }
        }
        let broken = text.replacen("0.1,", "ten percent,", 1);
        assert!(read_standings(&broken).is_err());
        // Accuracy rises with Var f(Z) and falls with the gradient ratio, by construction.
        let (found, prediction) = mechanism(&back, |s| s.best_val_acc);
        let rho = |name: &str| found.iter().find(|a| a.measurement == name).unwrap().rho;
        assert!((rho("Var f(Z)").unwrap() - 1.0).abs() < 1e-12);
        assert!((rho("log10 grad first/last").unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(rho("last layer std"), None);
        assert!(prediction.unwrap().held_out_rho > 0.99);
    }
}
