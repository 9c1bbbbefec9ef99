//! Buffers that start on a cache line.
//!
//! The AVX-512 kernels load and store whole 64-byte registers. When a row starts 16 bytes past a
//! line (where the allocator puts a large `Vec`), every such access touches two lines, which
//! costs an Intel core more than one: the forward product gained 4–9 % on a Xeon when only its
//! packed panel was aligned (`benches/README.md`, twelfth session). So the
//! buffers a training step streams through (weights, gradients, Adam's moments, the layers'
//! inputs and outputs, the batch) are made here. The alignment only ever changes speed, never a
//! number: a buffer that is cloned or replaced by another array works as before.

use ndarray::{Array, Array1, Dimension, IntoDimension, s};

use super::Scalar;

/// A cache line, in bytes.
const LINE: usize = 64;

/// How many elements past `at` the next cache line starts (fewer than [`padding`]`::<T>()`).
pub(crate) fn to_line<T>(at: *const T) -> usize {
    // (`align_offset` may decline, with usize::MAX: then the buffer is simply unaligned.)
    at.align_offset(LINE).min(padding::<T>())
}

/// The elements to allocate beyond a buffer's own so that it can start on a cache line.
pub(crate) const fn padding<T>() -> usize {
    LINE / std::mem::size_of::<T>()
}

/// An array of zeros of `shape`, row-major, whose first element starts a cache line.
pub fn zeros<T: Scalar, Sh: IntoDimension>(shape: Sh) -> Array<T, Sh::Dim> {
    let dim = shape.into_dimension();
    let n = dim.size();
    let storage = Array1::from_elem(n + padding::<T>(), T::zero());
    let at = to_line(storage.as_ptr());
    storage
        .slice_move(s![at..at + n])
        .into_shape_with_order(dim)
        .expect("n elements in row-major order")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_start_a_cache_line_and_are_zero() {
        for (rows, cols) in [(1, 1), (32, 784), (3, 5), (0, 7)] {
            let a = zeros::<f32, _>((rows, cols));
            assert_eq!(a.dim(), (rows, cols));
            assert!(a.iter().all(|&x| x == 0.0));
            assert!(a.is_standard_layout());
            if rows * cols > 0 {
                assert_eq!(a.as_ptr() as usize % LINE, 0, "{rows}×{cols}");
            }
        }
        let v = zeros::<f64, _>(1003);
        assert_eq!((v.len(), v.as_ptr() as usize % LINE), (1003, 0));
    }
}
