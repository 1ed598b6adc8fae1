//! The slice kernels compiled three times, for the baseline x86-64 (SSE2), for AVX2 with FMA
//! and for AVX-512, and run in the widest the CPU has (checked at run time; elsewhere the
//! baseline). The arithmetic is the same IEEE operations in every version (Rust never fuses a
//! multiply and an add on its own), so all three give the same bits; the tests compare them.

use crate::Real;
use crate::kernels::Kernel;

/// Which compiled version of the kernels runs, narrowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// The baseline, on any CPU.
    Baseline,
    /// AVX2 and FMA.
    Avx2,
    /// AVX-512 (foundation, byte and word, doubleword and quadword, vector length).
    Avx512,
}

/// The widest version this CPU runs.
pub(crate) fn detected() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            return Level::Avx512;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

/// Generates `$name::<generics>(level, args)`: the loop `$body` compiled three times
/// (baseline, AVX2 with FMA, AVX-512), the loop inlined into each (`#[inline(always)]`), and the
/// version for `level` run, or the widest this CPU runs if that is narrower.
macro_rules! versions {
    ($(#[doc = $doc:literal])* $name:ident<$($g:ident: $bound:path),*>
        => $body:ident($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        $(#[doc = $doc])*
        pub(crate) fn $name<$($g: $bound),*>(level: $crate::simd::Level, $($arg: $ty),*) -> $ret {
            use $crate::simd::{Level, detected};
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2<$($g: $bound),*>($($arg: $ty),*) -> $ret {
                $body::<$($g),*>($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
            fn avx512<$($g: $bound),*>($($arg: $ty),*) -> $ret {
                $body::<$($g),*>($($arg),*)
            }
            match level.min(detected()) {
                Level::Baseline => $body::<$($g),*>($($arg),*),
                #[cfg(target_arch = "x86_64")]
                #[allow(unsafe_code)]
                // SAFETY: the AVX2 version runs only when `detected` found AVX2 and FMA.
                Level::Avx2 => unsafe { avx2::<$($g),*>($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                #[allow(unsafe_code)]
                // SAFETY: the AVX-512 version runs only when `detected` found its features.
                Level::Avx512 => unsafe { avx512::<$($g),*>($($arg),*) },
                #[cfg(not(target_arch = "x86_64"))]
                _ => $body::<$($g),*>($($arg),*),
            }
        }
    };
}
pub(crate) use versions;

/// `y[i] = f(x[i])`.
#[inline(always)]
fn forward_loop<T: Real, K: Kernel>(x: &[T], y: &mut [T], p: T) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y = K::value(x, p);
    }
}

/// `grad[i] *= f'(x[i])`, given `y = f(x)`.
#[inline(always)]
fn backward_loop<T: Real, K: Kernel>(x: &[T], y: &[T], grad: &mut [T], p: T) {
    for ((g, &x), &y) in grad.iter_mut().zip(x).zip(y) {
        *g *= K::derivative(x, y, p);
    }
}

/// `sum(grad * df/dp)`, then `grad *= f'(x)`, in one pass.
#[inline(always)]
fn backward_learned_loop<T: Real, K: Kernel>(x: &[T], y: &[T], grad: &mut [T], p: T) -> f64 {
    let mut sum = 0.0f64;
    for ((g, &x), &y) in grad.iter_mut().zip(x).zip(y) {
        sum += (*g * K::parameter_derivative(x, p)).to_f64();
        *g *= K::derivative(x, y, p);
    }
    sum
}

versions! {
    /// The forward kernel, `y = f(x)`.
    forward<T: Real, K: Kernel> => forward_loop(x: &[T], y: &mut [T], p: T) -> ()
}

versions! {
    /// The backward kernel, `grad *= f'(x)`.
    backward<T: Real, K: Kernel> => backward_loop(x: &[T], y: &[T], grad: &mut [T], p: T) -> ()
}

versions! {
    /// The backward kernel with the learned parameter's gradient.
    backward_learned<T: Real, K: Kernel> => backward_learned_loop(x: &[T], y: &[T], grad: &mut [T], p: T) -> f64
}
