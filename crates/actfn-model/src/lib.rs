//! The study's `BaseNetwork`: an MLP with one activation function, seeded PyTorch-style
//! initialization, and checkpoints as a JSON config plus safetensors weights.
//!
//! Parameters are named as PyTorch's `nn.Sequential` names them (`layers.0.weight`,
//! `layers.0.bias`, `layers.2.weight`, ...), weights laid out `[out, in]`, so a checkpoint maps one
//! to one onto the study's `state_dict`.
//!
//! [`BaseNetwork::loss_and_gradients`] is the training step's forward and backward pass, written
//! out (no autograd graph); for `f32` on the CPU it runs on plain slices with the work split
//! between rayon's threads by hand. [`BaseNetwork::forward_no_grad`] evaluates the same way.
//!
//! ```
//! use actfn_model::{BaseNetwork, BaseNetworkConfig};
//! use candle_core::{DType, Device, Tensor};
//!
//! let config = BaseNetworkConfig::default(); // 784-512-256-256-128-10, ReLU
//! let (net, _varmap) = BaseNetwork::seeded(config, 42, &Device::Cpu)?;
//! assert_eq!(net.parameter_count(), 633_226);
//!
//! let images = Tensor::zeros((2, 1, 28, 28), DType::F32, &Device::Cpu)?;
//! let logits = net.forward(&images)?; // any [N, ...] input is flattened
//! assert_eq!(logits.dims(), [2, 10]);
//!
//! let dir = tempfile::tempdir()?;
//! net.save(dir.path(), "FashionMNIST_relu")?;
//! let again = BaseNetwork::load(dir.path(), "FashionMNIST_relu", &Device::Cpu)?;
//! assert_eq!(again.config(), net.config());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! API boundary: [`BaseNetwork`], [`BaseNetworkConfig`], [`Init`], [`Gradients`], checkpoints,
//! [`parse_device`], the seeded [`rng`] streams and the [`pytorch`] reader. The slice path
//! (`cpu/`) is private: it is how [`BaseNetwork::loss_and_gradients`] and
//! [`BaseNetwork::forward_no_grad`] run on the CPU, not something to call.

mod checkpoint;
mod config;
mod cpu;
mod device;
mod error;
mod gradients;
mod init;
mod linear;
mod network;
pub mod pytorch;
pub mod rng;

pub use checkpoint::{config_path, weights_path};
pub use config::BaseNetworkConfig;
pub use device::{device_name, parse_device};
pub use error::{Error, Result};
pub use gradients::Gradients;
pub use init::Init;
pub use network::BaseNetwork;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
