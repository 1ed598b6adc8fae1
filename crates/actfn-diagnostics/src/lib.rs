//! The study's measurements on any network from `actfn-model`: activation curves, gradients at
//! initialization, layer outputs and dead neurons.
