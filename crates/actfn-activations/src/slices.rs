//! The CPU kernels on plain slices: each function's loop specialized to it (one monomorphized
//! copy per function and float type, so it vectorizes), for code that manages its own buffers
//! and threads, like the network's CPU training step. Functions of one's own run their own
//! kernel, or their tensor form on a temporary tensor.

use candle_core::{Device, Tensor};

use crate::kernels::Kernel;
use crate::simd::{self, Level};
use crate::{Activation, CustomActivation, Error, Real, Visitor};

/// An error unless `got` is `expected`.
fn check_length(what: &'static str, expected: usize, got: usize) -> Result<(), Error> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

/// `y[i] = f(x[i])`, in the kernels' version `level`.
struct Forward<'a, T> {
    x: &'a [T],
    y: &'a mut [T],
    level: Level,
}

impl<T: Real> Visitor for Forward<'_, T> {
    type Output = ();
    fn visit<K: Kernel>(self, parameter: f64) {
        let p = T::from_f64(parameter);
        simd::forward::<T, K>(self.level, self.x, self.y, p);
    }
}

/// `grad[i] *= f'(x[i])`, given `y = f(x)`, in the kernels' version `level`.
struct Backward<'a, T> {
    x: &'a [T],
    y: &'a [T],
    grad: &'a mut [T],
    level: Level,
}

impl<T: Real> Visitor for Backward<'_, T> {
    type Output = ();
    fn visit<K: Kernel>(self, parameter: f64) {
        let p = T::from_f64(parameter);
        simd::backward::<T, K>(self.level, self.x, self.y, self.grad, p);
    }
}

/// The learned parameter's gradient `sum(grad * df/dp)`, then `grad *= f'(x)`, in one pass.
struct BackwardLearned<'a, T> {
    x: &'a [T],
    y: &'a [T],
    grad: &'a mut [T],
}

impl<T: Real> Visitor for BackwardLearned<'_, T> {
    type Output = f64;
    fn visit<K: Kernel>(self, parameter: f64) -> f64 {
        let p = T::from_f64(parameter);
        simd::backward_learned::<T, K>(simd::detected(), self.x, self.y, self.grad, p)
    }
}

/// A function of one's own on a slice through its tensor form: `tensor_op` of `x`, as `T`s.
fn through_tensor<T: Real>(
    c: &dyn CustomActivation,
    x: &[T],
    tensor_op: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
) -> Result<Vec<T>, Error> {
    let wrap = |source| Error::Custom {
        name: c.name().to_string(),
        source,
    };
    let t = Tensor::from_slice(x, x.len(), &Device::Cpu).map_err(wrap)?;
    tensor_op(&t)
        .and_then(|out| out.flatten_all()?.to_dtype(T::DTYPE)?.to_vec1::<T>())
        .map_err(wrap)
}

impl Activation {
    /// Writes `y = f(x)` element by element, on this thread: the forward kernel on plain
    /// slices. The slices must be equally long.
    pub fn forward_slice<T: Real>(&self, x: &[T], y: &mut [T]) -> Result<(), Error> {
        check_length("output", x.len(), y.len())?;
        if let Activation::Formula(f) = *self {
            match f.twin() {
                Some(twin) => twin.forward_slice(x, y)?,
                None => T::formula_forward(f, x, y),
            }
            return Ok(());
        }
        if let Activation::Custom(c) = *self {
            if !T::custom_forward(c, x, y) {
                y.copy_from_slice(&through_tensor(c, x, |t| c.forward(t))?);
            }
            return Ok(());
        }
        self.visit(Forward {
            x,
            y,
            level: simd::detected(),
        });
        Ok(())
    }

    /// Multiplies `grad` in place by `f'(x)`, given the input `x` and the output `y = f(x)` of
    /// the forward pass, on this thread: the backward kernel on plain slices. The slices must be
    /// equally long.
    pub fn backward_slice<T: Real>(&self, x: &[T], y: &[T], grad: &mut [T]) -> Result<(), Error> {
        check_length("forward output", x.len(), y.len())?;
        check_length("gradient", x.len(), grad.len())?;
        if let Activation::Formula(f) = *self {
            match f.twin() {
                Some(twin) => twin.backward_slice(x, y, grad)?,
                None => T::formula_backward(f, x, grad),
            }
            return Ok(());
        }
        if let Activation::Custom(c) = *self {
            if !T::custom_backward(c, x, y, grad) {
                let derivative = through_tensor(c, x, |t| c.derivative(t))?;
                for (g, s) in grad.iter_mut().zip(derivative) {
                    *g *= s;
                }
            }
            return Ok(());
        }
        self.visit(Backward {
            x,
            y,
            grad,
            level: simd::detected(),
        });
        Ok(())
    }

    /// [`Activation::backward_slice`] that also returns the gradient of the function's learned
    /// parameter, `sum(grad * df/dp)` over the slice, taken before `grad` is scaled (0 for a
    /// function without one).
    pub fn backward_slice_learned<T: Real>(
        &self,
        x: &[T],
        y: &[T],
        grad: &mut [T],
    ) -> Result<f64, Error> {
        check_length("forward output", x.len(), y.len())?;
        check_length("gradient", x.len(), grad.len())?;
        if !self.learned_parameter() {
            self.backward_slice(x, y, grad)?;
            return Ok(0.0);
        }
        Ok(self.visit(BackwardLearned { x, y, grad }).unwrap_or(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_of_other_lengths_are_refused_naming_the_slice() {
        let act = Activation::Tanh;
        let err = act.forward_slice(&[1f32, 2.0], &mut [0.0]).unwrap_err();
        assert!(
            err.to_string().contains("output slice has 1 elements"),
            "{err}"
        );
        let err = act
            .backward_slice(&[1f32, 2.0], &[0.5, 0.9], &mut [1.0, 1.0, 1.0])
            .unwrap_err();
        assert!(err.to_string().contains("gradient slice has 3"), "{err}");
    }

    /// Every version of every kernel gives the baseline's bits, on inputs that reach every
    /// branch (both signs, the kinks, saturation, huge values, NaN).
    #[test]
    fn the_vector_versions_give_the_baselines_bits() {
        let detected = simd::detected();
        eprintln!("this CPU runs the {detected:?} kernels");
        let xs: Vec<f32> = (0..20_011)
            .map(|i| ((i as f32) * 0.7919).sin() * 12.0 * if i % 97 == 0 { 1e3 } else { 1.0 })
            .chain([0.0, -0.0, 3.0, -3.0, 20.0, f32::NAN, 88.7, -88.7, 1e30])
            .collect();
        let grads: Vec<f32> = (0..xs.len())
            .map(|i| ((i * 31) % 17) as f32 / 8.0 - 1.0)
            .collect();
        for act in Activation::builtins() {
            let run = |level: Level| {
                let mut y = vec![0f32; xs.len()];
                act.visit(Forward {
                    x: &xs,
                    y: &mut y,
                    level,
                });
                let mut g = grads.clone();
                act.visit(Backward {
                    x: &xs,
                    y: &y,
                    grad: &mut g,
                    level,
                });
                (y, g)
            };
            let (y0, g0) = run(Level::Baseline);
            for level in [Level::Avx2, Level::Avx512]
                .into_iter()
                .filter(|l| *l <= detected)
            {
                let (y, g) = run(level);
                // The same bits, NaN being NaN whatever its payload.
                let same = |a: &[f32], b: &[f32]| {
                    a.iter()
                        .zip(b)
                        .all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
                };
                assert!(same(&y, &y0), "{act} forward, {level:?}");
                assert!(same(&g, &g0), "{act} backward, {level:?}");
            }
        }
    }

    #[test]
    fn the_learned_slope_gradient_is_the_sum_over_the_non_positive_inputs() {
        let act = Activation::PReLU { init: 0.25 };
        let (x, mut grad) = ([-2.0f64, 0.0, 3.0, -1.0], [1.0, 2.0, 3.0, 0.5]);
        let mut y = [0.0; 4];
        act.forward_slice(&x, &mut y).unwrap();
        let slope = act.backward_slice_learned(&x, &y, &mut grad).unwrap();
        // df/da = x where x <= 0: 1 * -2 + 2 * 0 + 0.5 * -1.
        assert_eq!(slope, -2.5);
        assert_eq!(grad, [0.25, 0.5, 3.0, 0.125]);
    }
}
