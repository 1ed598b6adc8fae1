//! Each activation as one CPU kernel, with its derivative beside it: a single pass over memory
//! for the forward pass and a single pass for the backward pass, where the composed form takes
//! five to ten. They compute the same functions as the composed forms (which stay the
//! reference, and run on every other device); the tests compare the two.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::Activation;

/// Below this many elements a kernel runs on one thread: splitting costs more than it saves.
const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Elements per task when a kernel runs on several threads.
const CHUNK: usize = 1 << 13;

/// The float types the kernels serve.
trait Real: Copy + PartialOrd + Send + Sync {
    const ZERO: Self;
    const ONE: Self;
    fn exp(self) -> Self;
    fn exp_m1(self) -> Self;
    fn abs(self) -> Self;
    fn is_nan(self) -> bool;
    fn from_f64(v: f64) -> Self;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn div(self, o: Self) -> Self;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            fn exp_m1(self) -> Self {
                <$t>::exp_m1(self)
            }
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            fn add(self, o: Self) -> Self {
                self + o
            }
            fn sub(self, o: Self) -> Self {
                self - o
            }
            fn mul(self, o: Self) -> Self {
                self * o
            }
            fn div(self, o: Self) -> Self {
                self / o
            }
        }
    };
}
real!(f32);
real!(f64);

// Each function, then its derivative. The derivative takes the input `x` and the output
// `y = f(x)`, which the forward pass already computed: for sigmoid, tanh and elu the derivative
// is cheapest from `y` (no second exponential).

/// `1 / (1 + e^-x)` without overflow: `e^-|x|` is in (0, 1].
fn sigmoid<T: Real>(x: T) -> T {
    let e = x.abs().mul(T::from_f64(-1.0)).exp();
    let d = T::ONE.add(e);
    if x >= T::ZERO {
        T::ONE.div(d)
    } else {
        e.div(d)
    }
}
fn sigmoid_slope<T: Real>(_x: T, y: T) -> T {
    y.mul(T::ONE.sub(y))
}

/// `tanh(x) = sign(x) * (1 - e^-2|x|) / (1 + e^-2|x|)`, written with `expm1` so that it keeps
/// full relative precision near 0; one exponential is much cheaper than libm's `tanh`.
fn tanh<T: Real>(x: T) -> T {
    let m = x.abs().mul(T::from_f64(-2.0)).exp_m1();
    let t = m.mul(T::from_f64(-1.0)).div(T::from_f64(2.0).add(m));
    if x < T::ZERO {
        t.mul(T::from_f64(-1.0))
    } else if x > T::ZERO {
        t
    } else {
        x
    }
}
fn tanh_slope<T: Real>(_x: T, y: T) -> T {
    T::ONE.sub(y.mul(y))
}

/// NaN stays NaN, as in the composed `x * (x > 0)`.
fn relu<T: Real>(x: T) -> T {
    if x > T::ZERO || x.is_nan() {
        x
    } else {
        T::ZERO
    }
}
fn relu_slope<T: Real>(x: T, _y: T) -> T {
    if x > T::ZERO { T::ONE } else { T::ZERO }
}

fn leaky_relu<T: Real>(x: T, alpha: T) -> T {
    if x > T::ZERO { x } else { alpha.mul(x) }
}
fn leaky_relu_slope<T: Real>(x: T, _y: T, alpha: T) -> T {
    if x > T::ZERO { T::ONE } else { alpha }
}

fn elu<T: Real>(x: T) -> T {
    if x > T::ZERO { x } else { x.exp_m1() }
}
fn elu_slope<T: Real>(x: T, y: T) -> T {
    if x > T::ZERO { T::ONE } else { y.add(T::ONE) }
}

fn swish<T: Real>(x: T) -> T {
    x.mul(sigmoid(x))
}
fn swish_slope<T: Real>(x: T, _y: T) -> T {
    let s = sigmoid(x);
    s.add(x.mul(s).mul(T::ONE.sub(s)))
}

impl Activation {
    fn value<T: Real>(self, x: T) -> T {
        match self {
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => tanh(x),
            Activation::ReLU => relu(x),
            Activation::LeakyReLU { alpha } => leaky_relu(x, T::from_f64(alpha)),
            Activation::ELU => elu(x),
            Activation::Swish => swish(x),
        }
    }

    fn slope<T: Real>(self, x: T, y: T) -> T {
        match self {
            Activation::Sigmoid => sigmoid_slope(x, y),
            Activation::Tanh => tanh_slope(x, y),
            Activation::ReLU => relu_slope(x, y),
            Activation::LeakyReLU { alpha } => leaky_relu_slope(x, y, T::from_f64(alpha)),
            Activation::ELU => elu_slope(x, y),
            Activation::Swish => swish_slope(x, y),
        }
    }
}

/// Maps `x` into a new vector, on several threads when it is long.
fn map<T: Real>(x: &[T], f: impl Fn(T) -> T + Sync) -> Vec<T> {
    let mut out = vec![T::ZERO; x.len()];
    if x.len() < PARALLEL_THRESHOLD {
        out.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v));
    } else {
        out.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(o, x)| {
                o.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v));
            });
    }
    out
}

/// Maps triples of `x`, `y` and `g` into a new vector, on several threads when they are long.
fn map3<T: Real>(x: &[T], y: &[T], g: &[T], f: impl Fn(T, T, T) -> T + Sync) -> Vec<T> {
    let apply = |o: &mut [T], x: &[T], y: &[T], g: &[T]| {
        for (((o, &x), &y), &g) in o.iter_mut().zip(x).zip(y).zip(g) {
            *o = f(x, y, g);
        }
    };
    let mut out = vec![T::ZERO; x.len()];
    if x.len() < PARALLEL_THRESHOLD {
        apply(&mut out, x, y, g);
    } else {
        out.par_chunks_mut(CHUNK)
            .zip(
                x.par_chunks(CHUNK)
                    .zip(y.par_chunks(CHUNK).zip(g.par_chunks(CHUNK))),
            )
            .for_each(|(o, (x, (y, g)))| apply(o, x, y, g));
    }
    out
}

/// The contiguous data of a storage, or an error naming the operation.
fn contiguous<'a, T>(data: &'a [T], layout: &Layout, op: &str) -> candle_core::Result<&'a [T]> {
    match layout.contiguous_offsets() {
        Some((start, end)) => Ok(&data[start..end]),
        None => candle_core::bail!("{op} needs a contiguous tensor"),
    }
}

/// The activation applied by one kernel (forward), with [`ActivationGrad`] as its backward.
pub(crate) struct ActivationOp(pub Activation);

impl CustomOp1 for ActivationOp {
    fn name(&self) -> &'static str {
        "fused-activation"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let act = self.0;
        let out = match storage {
            CpuStorage::F32(data) => {
                CpuStorage::F32(map(contiguous(data, layout, self.name())?, |x| {
                    act.value(x)
                }))
            }
            CpuStorage::F64(data) => {
                CpuStorage::F64(map(contiguous(data, layout, self.name())?, |x| {
                    act.value(x)
                }))
            }
            _ => candle_core::bail!("{} supports f32 and f64 only", self.name()),
        };
        Ok((out, layout.shape().clone()))
    }

    fn bwd(
        &self,
        arg: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(self.0.backward(arg, res, grad_res)?))
    }
}

/// `grad * f'(x)` in one kernel, from the input `x`, the output `y = f(x)` and `grad`: the
/// backward pass through the activation.
pub(crate) struct ActivationGrad(pub Activation);

impl CustomOp3 for ActivationGrad {
    fn name(&self) -> &'static str {
        "fused-activation-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let act = self.0;
        let name = self.name();
        let out = match (s1, s2, s3) {
            (CpuStorage::F32(x), CpuStorage::F32(y), CpuStorage::F32(g)) => CpuStorage::F32(map3(
                contiguous(x, l1, name)?,
                contiguous(y, l2, name)?,
                contiguous(g, l3, name)?,
                |x, y, g| g * act.slope(x, y),
            )),
            (CpuStorage::F64(x), CpuStorage::F64(y), CpuStorage::F64(g)) => CpuStorage::F64(map3(
                contiguous(x, l1, name)?,
                contiguous(y, l2, name)?,
                contiguous(g, l3, name)?,
                |x, y, g| g * act.slope(x, y),
            )),
            _ => candle_core::bail!("{name} needs three f32 or three f64 tensors"),
        };
        Ok((out, l1.shape().clone()))
    }
}

/// Whether the fused kernels can serve `x`: on the CPU, f32 or f64, contiguous.
pub(crate) fn fits(x: &Tensor) -> bool {
    x.device().is_cpu()
        && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
        && x.is_contiguous()
}
