//! Tests on the real Fashion-MNIST: sizes, class balance, the study's normalization, the split.

use std::collections::HashSet;

use actfn_data::{CLASS_NAMES, normalize, split_indices};
use actfn_model::rng::{self, Stream};
use actfn_tests::real_data;

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn sizes_and_class_balance() {
    let data = real_data();
    assert_eq!((data.train_len(), data.test_len()), (60_000, 10_000));
    assert_eq!(data.train_images.len(), 60_000 * 784);
    for (labels, per_class) in [(&data.train_labels, 6_000), (&data.test_labels, 1_000)] {
        let mut counts = [0usize; 10];
        labels.iter().for_each(|&l| counts[usize::from(l)] += 1);
        assert_eq!(counts, [per_class; 10]);
    }
    assert_eq!(CLASS_NAMES[9], "Ankle boot");
}

#[test]
#[ignore = "needs the Fashion-MNIST files (cargo xtask data); .ci/run runs it"]
fn normalized_training_images_have_the_studys_mean_and_std() {
    let data = real_data();
    let mean_pixel = data.train_images.iter().map(|&p| f64::from(p)).sum::<f64>()
        / data.train_images.len() as f64;
    assert!(
        (mean_pixel - 72.940).abs() < 0.0005,
        "mean pixel {mean_pixel}"
    );
    let values = normalize(&data.train_images);
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let std = (values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    assert!((mean + 0.42792).abs() < 5e-5, "mean {mean}");
    assert!((std - 0.70605).abs() < 5e-5, "std {std}");
    let (min, max) = values
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    assert_eq!((min, max), (-1.0, 1.0));
}

#[test]
fn the_split_is_seeded_disjoint_and_complete() {
    let split =
        |seed| split_indices(60_000, 10_000, &mut rng::seeded(seed, Stream::Split)).unwrap();
    let (train, val) = split(42);
    assert_eq!((train.len(), val.len()), (50_000, 10_000));
    assert_eq!(split(42), (train.clone(), val.clone()));
    assert_ne!(split(43).0, train);
    let all: HashSet<u32> = train.iter().chain(&val).copied().collect();
    assert_eq!(all.len(), 60_000);
    assert!(all.iter().all(|&i| i < 60_000));
}
