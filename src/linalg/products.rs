//! The products the layers need, named for what they do, and the one that does them all.
//!
//! | function | computes | a layer uses it for |
//! |---|---|---|
//! | [`matmul_into`] | `c = a·b` | `dx = dy·W` |
//! | [`matmul_acc`] | `c += a·b` | `dW += dyᵀ·x` |
//! | [`matmul_bias_into`] | `c = b + a·b` (a bias row broadcast, then `+=`) | `y = x·Wᵀ + b` |
//! | [`gemm`] | `c = α·a·b + β·c`, split across cores | everything above |
//! | [`gemm_serial`] | the same on the calling thread | one block of a split product |
//!
//! ndarray views carry their strides, so `a·bᵀ` is `gemm(α, a, b.t(), β, c)` with no copy. On
//! one thread the work goes to [`matrixmultiply`] (a packed, cache-blocked, SIMD sgemm/dgemm),
//! except a layer's forward product `x·Wᵀ` in `f32` on a CPU with AVX-512 or AVX2 + FMA, which
//! goes to the outer-product kernel of `kernels/abt.rs` (its module docs say why), and a weight
//! gradient `dyᵀ·x` or an input gradient `dy·W` on the same rungs, which go to the one of
//! `kernels/atb.rs` (matrixmultiply's bits, no packing). Large products are cut into blocks of `c` that run on
//! the rayon pool side by side (`parallel.rs`).
//!
//! Every function here hands the views to the entry point of `T` ([`Scalar::KERNELS`]), which
//! is compiled in this crate: the products run optimised even when the caller is a debug build.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2};

use super::{Scalar, simd};

/// `c = a·b`, overwriting `c`: the product a layer *produces*, like `dx = dy·W`.
///
/// ```
/// use ndarray::{array, Array2};
/// use twostage::linalg::matmul_into;
/// let (dy, w) = (array![[1.0_f64, 2.0]], array![[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]]);
/// let mut dx = Array2::ones((1, 3)); // whatever was there is replaced
/// matmul_into(&mut dx, dy.view(), w.view());
/// assert_eq!(dx, array![[1.0, 2.0, 8.0]]);
/// ```
///
/// # Panics
/// If the shapes do not agree (a bug in the caller, never user input).
pub fn matmul_into<'c, T: Scalar>(
    c: impl Into<ArrayViewMut2<'c, T>>,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
) {
    gemm(T::one(), a, b, T::zero(), c.into());
}

/// `c += a·b`: the product a layer *accumulates*, like `dW += dyᵀ·x` (a gradient summed over
/// the batch, and over calls until `zero_grad`). Pass `b.t()` for `a·bᵀ`: no copy is made.
///
/// ```
/// use ndarray::{array, Array2};
/// use twostage::linalg::matmul_acc;
/// let (dy, x) = (array![[1.0_f64], [2.0]], array![[3.0, 4.0], [5.0, 6.0]]);
/// let mut dw = Array2::zeros((1, 2));
/// matmul_acc(&mut dw, dy.t(), x.view()); // dW += dyᵀ·x
/// matmul_acc(&mut dw, dy.t(), x.view()); // accumulates
/// assert_eq!(dw, array![[26.0, 32.0]]);
/// ```
///
/// # Panics
/// If the shapes do not agree (a bug in the caller, never user input).
pub fn matmul_acc<'c, T: Scalar>(
    c: impl Into<ArrayViewMut2<'c, T>>,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
) {
    gemm(T::one(), a, b, T::one(), c.into());
}

/// `c = bias + a·b` with `bias: (n,)` added to every row: a layer's forward `y = x·Wᵀ + b`,
/// as PyTorch's `addmm` computes it (every row of `c` set to `bias`, then `c += a·b`), so the
/// same bits as [`elementwise::broadcast_rows`](super::elementwise::broadcast_rows) followed by
/// [`matmul_acc`]. The difference is where the bias is written: when the product is split
/// across cores, each core writes the bias into its own block just before it computes that
/// block, instead of one core writing all of `c` first and the others fetching their blocks
/// from its cache (a two-thread autoencoder forward: `benches/README.md`, sixth session).
///
/// ```
/// use ndarray::{array, Array2};
/// use twostage::linalg::matmul_bias_into;
/// let (x, w, b) = (array![[1.0_f32, 2.0]], array![[3.0_f32, 4.0], [5.0, 6.0]], array![0.5_f32, -1.0]);
/// let mut y = Array2::zeros((1, 2));
/// matmul_bias_into(&mut y, x.view(), w.t(), b.view()); // y = x·Wᵀ + b
/// assert_eq!(y, array![[11.5, 16.0]]);
/// ```
///
/// # Panics
/// If the shapes do not agree (a bug in the caller, never user input).
pub fn matmul_bias_into<'c, T: Scalar>(
    c: impl Into<ArrayViewMut2<'c, T>>,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    bias: ArrayView1<T>,
) {
    (T::KERNELS.gemm_bias)(a, b, bias, c.into())
}

/// `c = α·a·b + β·c` with `a: (m, k)`, `b: (k, n)`, `c: (m, n)`, any strides.
///
/// Split across the rayon pool when the product is large enough: `c` is cut into one block per
/// thread (by rows when it is stored row by row and has 256 rows or more, else along its longer
/// side), each block an independent product; on two cores, a sum deeper than the blocks the
/// `aᵀ·b` kernel adds it up in (`dx = dy·W` through 784 rows) is cut at those blocks as well
/// (`split_sum.rs`). No cut changes which numbers are added in which order for any element of
/// `c`, so the result is bit-identical to the one-thread product.
///
/// ```
/// use ndarray::array;
/// use twostage::linalg::gemm;
/// let a = array![[1.0_f32, 2.0], [3.0, 4.0]];
/// let b = array![[5.0_f32, 6.0], [7.0, 8.0]];
/// let mut c = ndarray::Array2::zeros((2, 2));
/// gemm(1.0, a.view(), b.t(), 0.0, c.view_mut()); // c = a·bᵀ
/// assert_eq!(c, array![[17.0, 23.0], [39.0, 53.0]]);
/// ```
///
/// # Panics
/// If the shapes do not agree (a bug in the caller, never user input).
pub fn gemm<T: Scalar>(alpha: T, a: ArrayView2<T>, b: ArrayView2<T>, beta: T, c: ArrayViewMut2<T>) {
    (T::KERNELS.gemm)(alpha, a, b, beta, c)
}

/// `c = α·a·b + β·c` on the calling thread: by the packing-free kernels for `a·bᵀ` with both
/// stored row by row and for `aᵀ·b` with `aᵀ`, `b` and `c` stored row by row (`f32`, on the
/// AVX-512 and AVX2 rungs), by matrixmultiply otherwise.
///
/// # Panics
/// If the shapes do not agree.
pub fn gemm_serial<T: Scalar>(
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    c: ArrayViewMut2<T>,
) {
    (T::KERNELS.gemm_serial)(alpha, a, b, beta, c)
}

/// [`gemm_serial`]'s work, compiled in this crate for each type (`kernels::entry_points!`):
/// picks the kernel for the layouts (packing-free `a·bᵀ`, packing-free `aᵀ·b`, else
/// matrixmultiply), then the rung's copy of it.
pub(crate) fn serial<T: Scalar>(
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    mut c: ArrayViewMut2<T>,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(k == k2 && c.dim() == (m, n), "gemm_serial shapes");
    if m == 0 || n == 0 {
        return;
    }
    let p = Raw {
        dims: (m, k, n),
        a: (a.as_ptr(), a.strides()[0], a.strides()[1]),
        b: (b.as_ptr(), b.strides()[0], b.strides()[1]),
        c: (c.as_mut_ptr(), c.strides()[0], c.strides()[1]),
    };
    // SAFETY (all three): the views guarantee that their pointers and strides describe valid
    // m×k, k×n and m×n matrices; `c` is a mutable view, so it cannot alias `a` and `b`.
    if unsafe { abt(&p, alpha, beta, std::ptr::null()) || atb(&p, alpha, beta) } {
        return;
    }
    let ((a, rsa, csa), (b, rsb, csb), (c, rsc, csc)) = (p.a, p.b, p.c);
    // SAFETY: as above.
    unsafe {
        (T::KERNELS.raw_gemm)(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc);
    }
}

/// `c = bias + a·b` ([`matmul_bias_into`]) on the calling thread: by the `a·bᵀ` kernel, which
/// takes the bias in the store of its first block of sums, when it takes the layouts;
/// otherwise every row of `c` set to `bias`, then [`serial`] with β = 1 (the same bits).
pub(crate) fn serial_bias<T: Scalar>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    bias: ArrayView1<T>,
    mut c: ArrayViewMut2<T>,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n) && bias.len() == n,
        "gemm_serial shapes"
    );
    if m == 0 || n == 0 {
        return;
    }
    if let Some(bias_numbers) = bias.as_slice() {
        let p = Raw {
            dims: (m, k, n),
            a: (a.as_ptr(), a.strides()[0], a.strides()[1]),
            b: (b.as_ptr(), b.strides()[0], b.strides()[1]),
            c: (c.as_mut_ptr(), c.strides()[0], c.strides()[1]),
        };
        // SAFETY: as in `serial`; the bias holds n numbers.
        if unsafe { abt(&p, T::one(), T::one(), bias_numbers.as_ptr()) } {
            return;
        }
    }
    for mut row in c.rows_mut() {
        match (row.as_slice_mut(), bias.as_slice()) {
            (Some(row), Some(bias)) => super::elementwise::copy(simd::rung(), row, bias),
            (_, _) => row.assign(&bias),
        }
    }
    serial(T::one(), a, b, T::one(), c);
}

/// The three matrices of a product as pointers with (row, column) strides in elements.
struct Raw<T> {
    dims: (usize, usize, usize),
    a: (*const T, isize, isize),
    b: (*const T, isize, isize),
    c: (*mut T, isize, isize),
}

/// `c = α·a·b + β·c` by the packing-free `a·bᵀ` kernel when a and b are both stored row by row
/// (a layer's `x·Wᵀ`) and the type and the CPU have one, whatever the number of rows; false if
/// not done. For many rows matrixmultiply would be faster (gemm_probe; benches/README.md), but
/// the kernel decides the order of summation, and the frozen features computed in large chunks
/// must equal those of a training batch bit for bit (tests/parity.rs).
///
/// With a `bias` (not null: `n` numbers), `c = bias + a·bᵀ` instead, as [`serial_bias`] says.
///
/// # Safety
/// `p` describes valid matrices, `c` aliasing neither `a` nor `b`; `bias` null or `n` numbers.
unsafe fn abt<T: Scalar>(p: &Raw<T>, alpha: T, beta: T, bias: *const T) -> bool {
    let ((m, k, n), (a, rsa, csa), (b, rsb, csb), (c, rsc, csc)) = (p.dims, p.a, p.b, p.c);
    if !(k > 0 && csa == 1 && rsb == 1 && rsa >= 0 && csb >= 0) {
        return false;
    }
    let (rsa, csb) = (rsa as usize, csb as usize);
    // SAFETY: the caller's; a's rows are contiguous (csa = 1) and so are b's columns (rsb = 1).
    unsafe {
        (T::KERNELS.raw_abt)(
            simd::rung(),
            m,
            k,
            n,
            alpha,
            a,
            rsa,
            b,
            csb,
            beta,
            c,
            rsc,
            csc,
            bias,
        )
    }
}

/// `c = a·b + β·c` by the packing-free kernel of `kernels/atb.rs` when `b` and `c` are stored
/// row by row (a weight gradient `dyᵀ·x`, an input gradient `dy·W`); false if not done. It
/// gives matrixmultiply's bits, so it may take any block. Left to matrixmultiply: products of
/// more than [`ATB_MAX_ROWS`] rows with `a` stored row by row, where matrixmultiply's packing
/// pays for itself.
///
/// # Safety
/// As [`abt`].
unsafe fn atb<T: Scalar>(p: &Raw<T>, alpha: T, beta: T) -> bool {
    let ((m, k, n), (a, rsa, csa), (b, rsb, csb), (c, rsc, csc)) = (p.dims, p.a, p.b, p.c);
    if !atb_layouts(m, k, alpha, (rsa, csa), (rsb, csb), (rsc, csc)) {
        return false;
    }
    // The kernel's a is this aᵀ: element (p, i) is a[i, p].
    let (sa, rsb, rsc) = ((csa as usize, rsa as usize), rsb as usize, rsc as usize);
    // SAFETY: the caller's; the strides say b's and c's rows are contiguous.
    unsafe { (T::KERNELS.raw_atb)(simd::rung(), m, k, n, a, sa, b, rsb, beta, c, rsc) }
}

/// Whether the `atb` kernel takes a product of `m` rows, depth `k` and these (row, column)
/// strides, if the type and the rung have it ([`atb`]).
fn atb_layouts<T: Scalar>(
    m: usize,
    k: usize,
    alpha: T,
    (rsa, csa): (isize, isize),
    (rsb, csb): (isize, isize),
    (rsc, csc): (isize, isize),
) -> bool {
    let rows = csb == 1 && csc == 1 && rsa >= 0 && csa >= 0 && rsb >= 0 && rsc >= 0;
    // aᵀ stored row by row (dyᵀ) streams; `a` row by row (dy) is broadcast along its columns.
    let short = rsa == 1 || m <= ATB_MAX_ROWS;
    alpha == T::one() && k > 0 && rows && short
}

/// How deep the blocks are that [`serial`] cuts this product's sums into, if it gives it to
/// the `atb` kernel (`kernels/atb.rs`): each element's sum runs in blocks of that many terms,
/// block after block added to what the ones before left. So the sum may be cut at a block
/// boundary, the blocks summed apart and added in order, with the same bits
/// (`split_sum.rs` does so on two cores). `None` if another kernel would take the product.
pub(crate) fn atb_block_depth<T: Scalar>(
    alpha: T,
    a: &ArrayView2<T>,
    b: &ArrayView2<T>,
    c: &ArrayViewMut2<T>,
) -> Option<usize> {
    let strides = |s: &[isize]| (s[0], s[1]);
    let (m, k) = a.dim();
    let takes = atb_layouts(
        m,
        k,
        alpha,
        strides(a.strides()),
        strides(b.strides()),
        strides(c.strides()),
    ) && (T::KERNELS.atb_on)(simd::rung());
    takes.then_some(super::kernels::atb::MAX_K)
}

/// The most rows of `c` the `atb` kernel takes when `a` is stored row by row (`dy·W` at a
/// batch of up to this many).
const ATB_MAX_ROWS: usize = 256;
