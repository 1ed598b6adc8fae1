//! The study's conventions that every caller shares: a run's name, and the seeded split of the
//! 60,000 training images into training and validation images.

use actfn_activations::Activation;
use actfn_data::{FashionMnist, Splits};
use actfn_model::rng::{self, Stream};
use candle_core::Device;

use crate::Result;

/// The validation images the study takes out of the 60,000 training images.
pub const VALIDATION_IMAGES: usize = 10_000;

/// The study's name of a run's checkpoint and records, e.g. `FashionMNIST_relu`.
pub fn checkpoint_name(act: Activation) -> String {
    format!("FashionMNIST_{}", act.key())
}

/// The study's splits of `data` on `device`: [`VALIDATION_IMAGES`] validation images drawn by the
/// split stream of `split_seed`, the rest for training, the test images apart.
pub fn study_splits(data: &FashionMnist, split_seed: u64, device: &Device) -> Result<Splits> {
    let mut rng = rng::seeded(split_seed, Stream::Split);
    Ok(Splits::new(data, VALIDATION_IMAGES, &mut rng, device)?)
}

/// The indices of `split_seed`'s split of `images` training images, as [`study_splits`] draws
/// them: training, then validation (what a peer in another framework needs to train on the same
/// images).
pub fn study_split_indices(images: usize, split_seed: u64) -> Result<(Vec<u32>, Vec<u32>)> {
    let mut rng = rng::seeded(split_seed, Stream::Split);
    Ok(actfn_data::split_indices(
        images,
        VALIDATION_IMAGES,
        &mut rng,
    )?)
}
