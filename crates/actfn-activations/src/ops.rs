//! The functions on candle tensors: the composed forms (any device, autograd), and on the CPU
//! one fused operation per pass that runs the slice kernels, differentiable with the fused
//! backward as its gradient.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::kernels::{Kernel, ParameterValue};
use crate::{Activation, Error, Real, Visitor};

/// Below this many elements a fused operation runs on one thread: splitting costs more than it
/// saves.
const PARALLEL_THRESHOLD: usize = 1 << 15;

/// Elements per task when a fused operation runs on several threads.
const CHUNK: usize = 1 << 13;

/// `df/dp` of a learned parameter as tensor operations.
struct ParameterDerivative<'a>(&'a Tensor);

impl Visitor for ParameterDerivative<'_> {
    type Output = candle_core::Result<Tensor>;
    fn visit<K: Kernel>(self, _: f64) -> Self::Output {
        K::tensor_parameter_derivative(self.0)
    }
}

/// The composed form, `f(x)` or `f'(x)`, with a parameter.
struct Composed<'a> {
    x: &'a Tensor,
    param: Option<ParameterValue<'a>>,
    derivative: bool,
}

impl Visitor for Composed<'_> {
    type Output = candle_core::Result<Tensor>;
    fn visit<K: Kernel>(self, parameter: f64) -> Self::Output {
        let param = self.param.unwrap_or(ParameterValue::Fixed(parameter));
        if self.derivative {
            K::tensor_derivative(self.x, param)
        } else {
            K::tensor(self.x, param)
        }
    }
}

impl Activation {
    /// Applies the function element-wise: one fused kernel on the CPU (differentiable, with
    /// [`Activation::backward`] as its gradient), the composed form elsewhere.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if fits(x) && !matches!(self, Activation::Custom(_)) {
            x.apply_op1(ActivationOp(*self))
        } else {
            self.forward_composed(x)
        }
    }

    /// The gradient through the function: `grad * f'(x)`, element-wise, given the input `x` and
    /// the output `y = f(x)` of the forward pass. One fused kernel on the CPU (which takes the
    /// derivative from `y` where that is cheaper), the written derivative elsewhere.
    pub fn backward(&self, x: &Tensor, y: &Tensor, grad: &Tensor) -> candle_core::Result<Tensor> {
        let same = |t: &Tensor| fits(t) && t.dtype() == x.dtype() && t.shape() == x.shape();
        if fits(x) && same(y) && same(grad) && !matches!(self, Activation::Custom(_)) {
            x.apply_op3_no_bwd(y, grad, &ActivationGrad(*self))
        } else {
            grad * self.derivative(x)?
        }
    }

    /// Applies the function as a composition of primitive tensor operations, on any device.
    /// This is the reference form: autograd records each primitive.
    pub fn forward_composed(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.composed(x, None, false)
    }

    /// [`Activation::forward_composed`] with the parameter given as a tensor, such as a
    /// network's learned PReLU slope: autograd then reaches the parameter too.
    pub fn forward_composed_with(
        &self,
        x: &Tensor,
        param: ParameterValue,
    ) -> candle_core::Result<Tensor> {
        self.composed(x, Some(param), false)
    }

    /// The derivative of the function, element-wise, in closed form (no autograd).
    pub fn derivative(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.composed(x, None, true)
    }

    /// The derivative of the function in its learned parameter, `df/dp` at `x` (PReLU: `x`
    /// where `x <= 0`, else 0); zeros for a function without one.
    pub fn parameter_derivative(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.visit(ParameterDerivative(x))
            .unwrap_or_else(|| x.zeros_like())
    }

    /// [`Activation::derivative`] with the parameter given as a tensor.
    pub fn derivative_with(
        &self,
        x: &Tensor,
        param: ParameterValue,
    ) -> candle_core::Result<Tensor> {
        self.composed(x, Some(param), true)
    }

    fn composed(
        &self,
        x: &Tensor,
        param: Option<ParameterValue>,
        derivative: bool,
    ) -> candle_core::Result<Tensor> {
        match self {
            Activation::Custom(c) if derivative => c.derivative(x),
            Activation::Custom(c) => c.forward(x),
            Activation::Formula(f) => match (f.twin(), derivative) {
                (Some(twin), _) => twin.composed(x, param, derivative),
                (None, true) => f.derivative().tensor(x),
                (None, false) => f.forward_tensor(x),
            },
            builtin => builtin
                .visit(Composed {
                    x,
                    param,
                    derivative,
                })
                .unwrap_or_else(|| candle_core::bail!("{builtin} has no kernel")),
        }
    }

    /// [`Activation::forward_slice`] into a new vector, on several threads when `x` is long.
    fn forward_vec<T: Real>(&self, x: &[T]) -> Result<Vec<T>, Error> {
        let mut y = vec![T::ZERO; x.len()];
        if x.len() < PARALLEL_THRESHOLD {
            self.forward_slice(x, &mut y)?;
        } else {
            y.par_chunks_mut(CHUNK)
                .zip(x.par_chunks(CHUNK))
                .try_for_each(|(y, x)| self.forward_slice(x, y))?;
        }
        Ok(y)
    }

    /// `grad * f'(x)` into a new vector, on several threads when the slices are long.
    fn backward_vec<T: Real>(&self, x: &[T], y: &[T], grad: &[T]) -> Result<Vec<T>, Error> {
        let mut out = grad.to_vec();
        if x.len() < PARALLEL_THRESHOLD {
            self.backward_slice(x, y, &mut out)?;
        } else if x.len() != y.len() || x.len() != grad.len() {
            // The kernel names the slice that does not fit.
            self.backward_slice(x, y, &mut out)?;
        } else {
            out.par_chunks_mut(CHUNK)
                .zip(x.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
                .try_for_each(|(g, (x, y))| self.backward_slice(x, y, g))?;
        }
        Ok(out)
    }
}

/// The contiguous data of a storage, or an error naming the operation.
fn contiguous<'a, T>(data: &'a [T], layout: &Layout, op: &str) -> candle_core::Result<&'a [T]> {
    match layout
        .contiguous_offsets()
        .and_then(|(start, end)| data.get(start..end))
    {
        Some(data) => Ok(data),
        None => candle_core::bail!("{op} needs a contiguous tensor"),
    }
}

/// The activation applied by one kernel (forward), with [`ActivationGrad`] as its backward.
struct ActivationOp(Activation);

impl CustomOp1 for ActivationOp {
    fn name(&self) -> &'static str {
        "fused-activation"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let name = self.name();
        let wrap = candle_core::Error::wrap;
        let out = match storage {
            CpuStorage::F32(x) => CpuStorage::F32(
                self.0
                    .forward_vec(contiguous(x, layout, name)?)
                    .map_err(wrap)?,
            ),
            CpuStorage::F64(x) => CpuStorage::F64(
                self.0
                    .forward_vec(contiguous(x, layout, name)?)
                    .map_err(wrap)?,
            ),
            _ => candle_core::bail!("{name} supports f32 and f64 only"),
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
struct ActivationGrad(Activation);

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
        let wrap = candle_core::Error::wrap;
        let out = match (s1, s2, s3) {
            (CpuStorage::F32(x), CpuStorage::F32(y), CpuStorage::F32(g)) => CpuStorage::F32(
                act.backward_vec(
                    contiguous(x, l1, name)?,
                    contiguous(y, l2, name)?,
                    contiguous(g, l3, name)?,
                )
                .map_err(wrap)?,
            ),
            (CpuStorage::F64(x), CpuStorage::F64(y), CpuStorage::F64(g)) => CpuStorage::F64(
                act.backward_vec(
                    contiguous(x, l1, name)?,
                    contiguous(y, l2, name)?,
                    contiguous(g, l3, name)?,
                )
                .map_err(wrap)?,
            ),
            _ => candle_core::bail!("{name} needs three f32 or three f64 tensors"),
        };
        Ok((out, l1.shape().clone()))
    }
}

/// Whether the fused kernels can serve `x`: on the CPU, f32 or f64, contiguous.
fn fits(x: &Tensor) -> bool {
    x.device().is_cpu()
        && matches!(x.dtype(), candle_core::DType::F32 | candle_core::DType::F64)
        && x.is_contiguous()
}
