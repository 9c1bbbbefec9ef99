//! A product whose sum is cut over two cores as well as its columns: `dx = dy·W` through the
//! last layer's 784 rows of `W`, each core summing the rows of `W` it holds. Same bits as one
//! core: the partial sums are added in the order one core adds them.

use std::any::Any;
use std::cell::Cell;

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Axis, s};

use super::parallel::split_point;
use super::products::serial;
use super::{Scalar, elementwise, simd};

/// `c = a·b + β·c` on two cores, the sum over `k` cut as well as `c`'s columns, for a product
/// whose kernel sums in blocks of `depth` terms (`products::atb_block_depth`): an input gradient
/// `dx = dy·W` through the 784 rows of the last layer's `W`. Cut by columns alone, each core
/// would read half of every row of `W`, and half of those rows sit in the other core's cache
/// (the forward product, `dW` and Adam cut `W` by rows at [`split_point`]); in a two-thread
/// step that product took 83 µs against 44 hot (`benches/README.md`, sixth session).
///
/// Here `c` is cut into columns `left | right`; of each side, the calling core sums the first
/// blocks into `c` (β applied once, as the kernel does), the other core sums each remaining
/// block from 0 into a buffer of its own (or, when this core has none of that side's blocks,
/// the whole side into `c`); then each buffer is added to `c`, block after block. Those are
/// the additions one core makes summing the whole product, in the same order, so the bits
/// are the same. [`sum_cut`] picks how many blocks each side leaves here.
pub(super) fn split_sum<T: Scalar>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    c: ArrayViewMut2<T>,
    depth: usize,
) {
    let (m, k) = a.dim();
    let n = b.dim().1;
    let at = split_point(n, 1, 2);
    let blocks = k.div_ceil(depth);
    let firsts = sum_cut(k, depth, [at, n - at]);
    let rows = |from: usize, to: usize| (from * depth).min(k)..(to * depth).min(k);
    let bs = {
        let (left, right) = b.split_at(Axis(1), at);
        [left, right]
    };
    let mut cs = {
        let (left, right) = c.split_at(Axis(1), at);
        [left, right]
    };
    // The first block the other core sums into a buffer, on each side: all after the ones
    // summed here; of a side begun there, none (that core sums the whole side into `c`).
    let later = firsts.map(|first| if first == 0 { blocks } else { first });
    let len = (0..2)
        .map(|side| (blocks - later[side]) * m * bs[side].ncols())
        .sum();
    with_scratch(len, |scratch: &mut [T]| {
        // Each side's `c` goes to the core that sums its first block.
        let (mut here, mut there) = ([None, None], [None, None]);
        for (side, c) in cs.iter_mut().enumerate() {
            if firsts[side] > 0 {
                here[side] = Some(c);
            } else {
                there[side] = Some(c);
            }
        }
        let buffers = &mut *scratch;
        super::parallel::join(
            || {
                for (side, c) in here.into_iter().enumerate() {
                    if let Some(c) = c {
                        let rows = rows(0, firsts[side]);
                        let (a, b) = (a.slice(s![.., rows.clone()]), bs[side].slice(s![rows, ..]));
                        serial(T::one(), a, b, beta, c.view_mut());
                    }
                }
            },
            || {
                for (side, c) in there.into_iter().enumerate() {
                    if let Some(c) = c {
                        serial(T::one(), a, bs[side], beta, c.view_mut());
                    }
                }
                let mut rest = buffers;
                for (side, b) in bs.iter().enumerate() {
                    for block in later[side]..blocks {
                        let (buffer, tail) = std::mem::take(&mut rest).split_at_mut(m * b.ncols());
                        rest = tail;
                        let rows = rows(block, block + 1);
                        let (a, b) = (a.slice(s![.., rows.clone()]), b.slice(s![rows, ..]));
                        serial(T::one(), a, b, T::zero(), block_view(m, buffer));
                    }
                }
            },
        );
        // Each buffer added to its side of `c`, block after block, a row at a time by the
        // rung's vector add (ndarray's zip over a strided half of `c` is element by element).
        let rung = simd::rung();
        let mut rest = &*scratch;
        for (side, c) in cs.iter_mut().enumerate() {
            let width = c.ncols();
            for _ in later[side]..blocks {
                let (buffer, tail) = rest.split_at(m * width);
                rest = tail;
                for (mut row, sum) in c.rows_mut().into_iter().zip(buffer.chunks_exact(width)) {
                    match row.as_slice_mut() {
                        Some(row) => elementwise::add_assign(rung, row, sum),
                        None => row.zip_mut_with(&ArrayView1::from(sum), |c, &s| *c += s),
                    }
                }
            }
        }
    });
}

/// A run of `m × width` values as a row-major block.
fn block_view<T>(m: usize, buffer: &mut [T]) -> ArrayViewMut2<'_, T> {
    let width = buffer.len() / m.max(1);
    ArrayViewMut2::from_shape((m, width), buffer).expect("a buffer of m × width values")
}

/// Runs `f` on `len` values of a buffer this thread keeps from call to call (its contents are
/// whatever the last call left), so a training step allocates nothing once the first step has
/// sized it (`benches/alloc_count.rs`).
fn with_scratch<T: Scalar, R>(len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    thread_local! {
        static SCRATCH: Cell<Option<Box<dyn Any>>> = const { Cell::new(None) };
    }
    // A buffer of the other float type (a gradient check in f64 between f32 steps) is dropped.
    let mut buffer: Box<Vec<T>> = SCRATCH
        .take()
        .and_then(|buffer| buffer.downcast().ok())
        .unwrap_or_default();
    if buffer.len() < len {
        buffer.resize(len, T::zero());
    }
    let out = f(&mut buffer[..len]);
    SCRATCH.set(Some(buffer));
    out
}

/// How many blocks of the sum [`split_sum`] leaves on the calling core for each side of `c`
/// (`widths` columns each): the cut that should finish first, counting every row of `b` a core
/// reads from the other core's cache as costing as much again as the work on it. The calling
/// core holds rows `..split_point(k)` of `b` (where the forward product, `dW` and Adam cut `W`);
/// for the last layer's `dx` (784 rows in 4 blocks, 128 + 128 columns) that gives one side 1
/// block here and the other 2, against 4 and 0 for a cut by columns.
fn sum_cut(k: usize, depth: usize, widths: [usize; 2]) -> [usize; 2] {
    let blocks = k.div_ceil(depth);
    let held = split_point(k, 1, 2);
    let cost = |firsts: [usize; 2]| {
        let (mut here, mut there) = (0, 0);
        for (width, first) in widths.into_iter().zip(firsts) {
            let cut = (first * depth).min(k);
            // Here: rows ..cut, those from `held` on in the other cache; there: the rest.
            here += width * (cut + cut.saturating_sub(held));
            there += width * (k - cut + held.saturating_sub(cut));
        }
        here.max(there)
    };
    let mut best = [blocks, 0];
    for left in 0..=blocks {
        for right in 0..=blocks {
            if cost([left, right]) < cost(best) {
                best = [left, right];
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The last layer's `dx` (784 rows of `W` in blocks of 256, 256 columns) keeps one block of
    /// one side and two of the other on the calling core; a sum whose rows all sit on one core's
    /// side is cut by columns, as before.
    #[test]
    fn the_sum_is_cut_where_the_rows_are_held() {
        assert_eq!(sum_cut(784, 256, [128, 128]), [1, 2]);
        let [left, right] = sum_cut(600, 256, [128, 128]);
        assert!(left + right > 0 && left + right < 6, "{left}, {right}");
        // One block alone: nothing to cut but the columns.
        assert_eq!(sum_cut(200, 256, [64, 64]), [1, 0]);
    }
}
