//! The study's transforms and split, and batches cut from tensors that live on the device.

use candle_core::{Device, Tensor};
use rand::Rng;
use rand::seq::SliceRandom;

use crate::{Error, FashionMnist, Result};

/// Pixels per image (28 x 28).
const PIXELS: usize = 28 * 28;

/// The batch size of the study's validation and test loaders, and of every evaluation pass.
pub const EVAL_BATCH_SIZE: usize = 1024;

/// The study's transform, `ToTensor` then `Normalize((0.5,), (0.5,))`: `(x/255 - 0.5)/0.5`, in
/// [-1, 1].
pub fn normalize(pixels: &[u8]) -> Vec<f32> {
    pixels
        .iter()
        .map(|&p| (f32::from(p) / 255.0 - 0.5) / 0.5)
        .collect()
}

/// A seeded permutation of `0..n`, cut into `(train, validation)` with `n_val` validation
/// indices, as `torch.utils.data.random_split(dataset, [n - n_val, n_val])` cuts it.
pub fn split_indices(n: usize, n_val: usize, rng: &mut impl Rng) -> Result<(Vec<u32>, Vec<u32>)> {
    if n_val > n {
        return Err(Error::InvalidArgument(format!(
            "cannot take {n_val} validation images out of {n}"
        )));
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.shuffle(rng);
    let val = order.split_off(n - n_val);
    Ok((order, val))
}

/// The order in which one training epoch visits `n` images: a permutation drawn from `rng`, as
/// [`Split::batches`] draws it (the study's `DataLoader(shuffle=True)`).
pub fn epoch_order(n: usize, rng: &mut dyn rand::RngCore) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.shuffle(rng);
    order
}

/// Images and labels of one split, each one tensor on the device.
#[derive(Debug, Clone)]
pub struct Split {
    /// `[N, 784]` f32, normalized to [-1, 1].
    pub images: Tensor,
    /// `[N]` u32 class labels.
    pub labels: Tensor,
}

impl Split {
    /// Normalizes the images at `indices` (all of them if `None`) and moves them to `device`.
    /// `pixels` holds 784 bytes per label; an index past the last image is an error naming it.
    pub fn from_bytes(
        pixels: &[u8],
        labels: &[u8],
        indices: Option<&[u32]>,
        device: &Device,
    ) -> Result<Self> {
        if labels.len().checked_mul(PIXELS) != Some(pixels.len()) {
            return Err(Error::InvalidArgument(format!(
                "{} pixels for {} labels: expected {PIXELS} pixels per image",
                pixels.len(),
                labels.len()
            )));
        }
        let (pixels, labels): (Vec<u8>, Vec<u32>) = match indices {
            None => (
                pixels.to_vec(),
                labels.iter().map(|&l| u32::from(l)).collect(),
            ),
            Some(indices) => {
                let mut picked_pixels = Vec::with_capacity(indices.len() * PIXELS);
                let mut picked_labels = Vec::with_capacity(indices.len());
                for (position, &i) in indices.iter().enumerate() {
                    let i = i as usize;
                    let (Some(label), Some(image)) =
                        (labels.get(i), pixels.get(i * PIXELS..(i + 1) * PIXELS))
                    else {
                        return Err(Error::InvalidArgument(format!(
                            "index {i} at position {position} is past the last of {} images",
                            labels.len()
                        )));
                    };
                    picked_pixels.extend_from_slice(image);
                    picked_labels.push(u32::from(*label));
                }
                (picked_pixels, picked_labels)
            }
        };
        let n = labels.len();
        Ok(Self {
            images: Tensor::from_vec(normalize(&pixels), (n, PIXELS), device)?,
            labels: Tensor::from_vec(labels, n, device)?,
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.dims()[0]
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n` images (all of them if there are fewer).
    pub fn head(&self, n: usize) -> Result<Self> {
        let n = n.min(self.len());
        Ok(Self {
            images: self.images.narrow(0, 0, n)?,
            labels: self.labels.narrow(0, 0, n)?,
        })
    }

    /// The batches of one epoch: shuffled by `rng` when given (the training loader), in order
    /// otherwise (validation and test). With `drop_last`, a final short batch is left out.
    pub fn batches(
        &self,
        batch_size: usize,
        rng: Option<&mut dyn rand::RngCore>,
        drop_last: bool,
    ) -> Result<Batches<'_>> {
        if batch_size == 0 {
            return Err(Error::InvalidArgument(
                "the batch size must be at least 1".into(),
            ));
        }
        let n = self.len();
        let order = match rng {
            Some(rng) => Some(Tensor::from_vec(
                epoch_order(n, rng),
                n,
                self.images.device(),
            )?),
            None => None,
        };
        let batch_count = if drop_last {
            n / batch_size
        } else {
            n.div_ceil(batch_size)
        };
        Ok(Batches {
            split: self,
            order,
            batch_size,
            next: 0,
            batch_count,
        })
    }
}

/// An iterator over `(images, labels)` batches of a [`Split`].
///
/// Each batch is a slice (in order) or an `index_select` (shuffled) of the split's tensors: no
/// per-image work and no copy to or from the host.
#[derive(Debug)]
pub struct Batches<'a> {
    split: &'a Split,
    order: Option<Tensor>,
    batch_size: usize,
    next: usize,
    batch_count: usize,
}

impl Batches<'_> {
    fn batch(&self, index: usize) -> candle_core::Result<(Tensor, Tensor)> {
        let start = index * self.batch_size;
        let len = self.batch_size.min(self.split.len() - start);
        match &self.order {
            Some(order) => {
                let ids = order.narrow(0, start, len)?;
                Ok((
                    self.split.images.index_select(&ids, 0)?,
                    self.split.labels.index_select(&ids, 0)?,
                ))
            }
            None => Ok((
                self.split.images.narrow(0, start, len)?,
                self.split.labels.narrow(0, start, len)?,
            )),
        }
    }
}

impl Iterator for Batches<'_> {
    type Item = candle_core::Result<(Tensor, Tensor)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.batch_count {
            return None;
        }
        let batch = self.batch(self.next);
        self.next += 1;
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.batch_count - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}

/// The study's three splits on one device.
#[derive(Debug, Clone)]
pub struct Splits {
    /// Training images (50,000 by default), in the order of the seeded permutation.
    pub train: Split,
    /// Validation images (10,000 by default).
    pub val: Split,
    /// The 10,000 test images, in file order.
    pub test: Split,
}

impl Splits {
    /// Splits the training images into train and `n_val` validation images by a permutation
    /// drawn from `rng`, and keeps the test images apart.
    pub fn new(
        raw: &FashionMnist,
        n_val: usize,
        rng: &mut impl Rng,
        device: &Device,
    ) -> Result<Self> {
        let (train, val) = split_indices(raw.train_len(), n_val, rng)?;
        Ok(Self {
            train: Split::from_bytes(&raw.train_images, &raw.train_labels, Some(&train), device)?,
            val: Split::from_bytes(&raw.train_images, &raw.train_labels, Some(&val), device)?,
            test: Split::from_bytes(&raw.test_images, &raw.test_labels, None, device)?,
        })
    }
}
