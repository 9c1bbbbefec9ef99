//! The reference products the fast ones are tested and measured against.

use ndarray::{ArrayView2, ArrayViewMut2};

use super::Scalar;

/// The textbook triple loop, `c[i,j] = α·Σₖ a[i,k]·b[k,j] + β·c[i,j]`: slow, obvious, and the
/// reference the fast [`gemm`](super::gemm) is tested against.
pub fn gemm_naive<T: Scalar>(
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    mut c: ArrayViewMut2<T>,
) {
    let (m, k) = a.dim();
    let n = b.dim().1;
    assert!(b.dim().0 == k && c.dim() == (m, n), "gemm_naive shapes");
    for i in 0..m {
        for j in 0..n {
            let mut sum = T::zero();
            for p in 0..k {
                sum += a[[i, p]] * b[[p, j]];
            }
            c[[i, j]] = alpha * sum + beta * c[[i, j]];
        }
    }
}

/// `c = α·a·b + β·c` by matrixmultiply alone, whatever the layouts, on the calling thread: the
/// reference the packing-free kernels are measured against (`benches/`), where
/// [`gemm_serial`](super::gemm_serial) would pick one of them.
///
/// Panics if the shapes do not agree.
pub fn gemm_matrixmultiply<T: Scalar>(
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    mut c: ArrayViewMut2<T>,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    assert!(
        b.nrows() == k && c.dim() == (m, n),
        "gemm_matrixmultiply shapes"
    );
    let [rsc, csc] = [c.strides()[0], c.strides()[1]];
    // SAFETY: the views describe valid m×k, k×n and m×n matrices; `c` is a mutable view, so it
    // cannot alias `a` or `b`.
    unsafe {
        (T::KERNELS.raw_gemm)(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            a.strides()[0],
            a.strides()[1],
            b.as_ptr(),
            b.strides()[0],
            b.strides()[1],
            beta,
            c.as_mut_ptr(),
            rsc,
            csc,
        )
    }
}
