//! The project's one source of randomness: a ChaCha generator seeded by the caller.
//!
//! candle's own random functions cannot be seeded on the CPU, so nothing that must repeat uses
//! them. Each use of randomness (initialization, the train/validation split, shuffling) draws from
//! its own stream of the same seeded ChaCha generator, so that changing how many numbers one use
//! draws never shifts another.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// What a random stream is used for; each has its own ChaCha stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Initial weights of a network.
    Init = 0,
    /// The permutation that splits the training images into train and validation.
    Split = 1,
    /// The order of training batches, epoch after epoch.
    Shuffle = 2,
}

/// The seeded generator for one stream.
pub fn seeded(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}
