//! Matrix products: the only heavy arithmetic in the engine.
//!
//! One function does every product the layers need, `c = α·a·b + β·c`, because ndarray views
//! carry their strides: `a·bᵀ` is `gemm(α, a, b.t(), β, c)` with no copy. The work goes to
//! [`matrixmultiply`] (a packed, cache-blocked, SIMD sgemm/dgemm), except a layer's forward
//! product `x·Wᵀ` in `f32` on a CPU with AVX-512 or AVX2 + FMA, which goes to the packing-free
//! kernel of `linalg/abt.rs` (its module docs say why), and a weight gradient `dyᵀ·x` on the
//! same rungs, which goes to the one of `linalg/atb.rs` (matrixmultiply's bits, no packing).
//! [`simd`] picks the kernels' instruction set at run time (`TWOSTAGE_SIMD` forces a lower
//! one); [`elementwise`] holds the element-wise passes of a step, on the same ladder. Large
//! products are cut into independent column or row blocks of `c` that run on the rayon pool
//! side by side.
//!
//! [`gemm_naive`] is the textbook triple loop, kept beside the fast path so tests can check one
//! against the other.
//!
//! ```
//! use ndarray::array;
//! use twostage::linalg::gemm;
//! let a = array![[1.0_f32, 2.0], [3.0, 4.0]];
//! let b = array![[5.0_f32, 6.0], [7.0, 8.0]];
//! let mut c = ndarray::Array2::zeros((2, 2));
//! gemm(1.0, a.view(), b.t(), 0.0, c.view_mut()); // c = a·bᵀ
//! assert_eq!(c, array![[17.0, 23.0], [39.0, 53.0]]);
//! ```

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ndarray::{ArrayView2, ArrayViewMut2, Axis, NdFloat};

mod abt;
mod atb;
pub mod elementwise;
pub mod simd;

/// The floating-point types the engine runs in: `f32` to train, `f64` to check gradients.
pub trait Scalar: NdFloat + Send + Sync + std::iter::Sum {
    /// `c = α·a·b + β·c` on raw strided storage, by matrixmultiply.
    ///
    /// # Safety
    /// The pointers and strides must describe valid `m×k`, `k×n` and `m×n` matrices, and `c`
    /// must not alias `a` or `b`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn raw_gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: *const Self,
        rsa: isize,
        csa: isize,
        b: *const Self,
        rsb: isize,
        csb: isize,
        beta: Self,
        c: *mut Self,
        rsc: isize,
        csc: isize,
    );

    /// `c = α·a·bᵀ + β·c` for `a: (m, k)` with row stride `lda` and `b: (n, k)` with row stride
    /// `ldb`, both contiguous along `k`, by the packing-free kernel of `linalg/abt.rs` if this
    /// type and this CPU have one. Returns `false`, having done nothing, if not.
    ///
    /// # Safety
    /// As [`Scalar::raw_gemm`], with `m, n, k ≥ 1`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn raw_gemm_abt(
        _m: usize,
        _k: usize,
        _n: usize,
        _alpha: Self,
        _a: *const Self,
        _lda: usize,
        _b: *const Self,
        _ldb: usize,
        _beta: Self,
        _c: *mut Self,
        _rsc: isize,
        _csc: isize,
    ) -> bool {
        false
    }

    /// `c = a·b + β·c` for `a: (m, k)` whose columns are contiguous (`aᵀ` stored row by row,
    /// row stride `lda`), `b: (k, n)` and `c: (m, n)` stored row by row (row strides `ldb`,
    /// `ldc`): a weight gradient `dW += dyᵀ·x`, by the packing-free kernel of `linalg/atb.rs`
    /// if this type and this CPU have one. Returns `false`, having done nothing, if not.
    ///
    /// # Safety
    /// As [`Scalar::raw_gemm`].
    #[allow(clippy::too_many_arguments)]
    unsafe fn raw_gemm_atb(
        _m: usize,
        _k: usize,
        _n: usize,
        _a: *const Self,
        _lda: usize,
        _b: *const Self,
        _ldb: usize,
        _beta: Self,
        _c: *mut Self,
        _ldc: usize,
    ) -> bool {
        false
    }

    /// Converts an `f64` constant (a learning rate, `1/N`) to this type.
    fn from_f64(x: f64) -> Self;
    /// Widens to `f64` (for summing losses).
    fn to_f64(self) -> f64;

    /// `self / divisor`, correctly rounded like the division, given `reciprocal`, which must
    /// be `1.0 / divisor.to_f64()` (computed once for many divisions by the same number).
    ///
    /// For `f64` this is the division. For `f32` it is `self · reciprocal` in `f64`, rounded
    /// once to `f32`, which is bit-identical to the `f32` division whenever the quotient is a
    /// normal `f32`, 0, ±∞ or NaN, and costs a multiply instead of the divider (a divider pass
    /// is a fifth to a third of a fused Adam step). Why the bits agree: with `x = X·2ᵃ` and
    /// `c = C·2ᵇ` (`X`, `C` 24-bit integers) and `m` a midpoint between two `f32` next to
    /// `x/c`, `x − c·m` is a nonzero multiple of `2ᵃ⁻²⁵` (it cannot be 0: `m`'s odd numerator
    /// exceeds 2²⁴), so `x/c` lies at least `2⁻⁴⁹·x/c` from every midpoint, while the two
    /// `f64` roundings move it by less than `2⁻⁵²·x/c`. Both therefore round to the same `f32`.
    /// (`tests` in `optim/adam/kernel.rs` check it against the division on every significand
    /// of `x` for the divisors Adam uses.)
    #[inline(always)]
    fn div_by_constant(self, divisor: Self, reciprocal: f64) -> Self {
        let _ = reciprocal;
        self / divisor
    }
}

impl Scalar for f32 {
    unsafe fn raw_gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: f32,
        a: *const f32,
        rsa: isize,
        csa: isize,
        b: *const f32,
        rsb: isize,
        csb: isize,
        beta: f32,
        c: *mut f32,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded from the caller's contract.
        unsafe {
            matrixmultiply::sgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
    unsafe fn raw_gemm_abt(
        m: usize,
        k: usize,
        n: usize,
        alpha: f32,
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        beta: f32,
        c: *mut f32,
        rsc: isize,
        csc: isize,
    ) -> bool {
        // SAFETY: the caller's contract; `sgemm_abt` checks the CPU itself.
        unsafe {
            abt::sgemm_abt(
                simd::rung(),
                m,
                k,
                n,
                alpha,
                a,
                lda,
                b,
                ldb,
                beta,
                c,
                rsc,
                csc,
            )
        }
    }
    unsafe fn raw_gemm_atb(
        m: usize,
        k: usize,
        n: usize,
        a: *const f32,
        lda: usize,
        b: *const f32,
        ldb: usize,
        beta: f32,
        c: *mut f32,
        ldc: usize,
    ) -> bool {
        // SAFETY: the caller's contract; `sgemm_atb` checks the CPU itself.
        unsafe { atb::sgemm_atb(simd::rung(), m, k, n, a, lda, b, ldb, beta, c, ldc) }
    }
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn div_by_constant(self, _divisor: f32, reciprocal: f64) -> f32 {
        (self as f64 * reciprocal) as f32
    }
}

impl Scalar for f64 {
    unsafe fn raw_gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: f64,
        a: *const f64,
        rsa: isize,
        csa: isize,
        b: *const f64,
        rsb: isize,
        csb: isize,
        beta: f64,
        c: *mut f64,
        rsc: isize,
        csc: isize,
    ) {
        // SAFETY: forwarded from the caller's contract.
        unsafe {
            matrixmultiply::dgemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc, csc)
        }
    }
    fn from_f64(x: f64) -> f64 {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

/// A product is split only if each of the two halves gets at least this many multiply-adds.
/// Splitting `32×64×64` gains nothing; `32×128×64` gains in isolation, but the stage-2 head's
/// step, made of such products, is faster whole on the caller's thread than handed to the pool
/// to split them. The threshold was measured with `benches/gemm_probe.rs` (one thread against
/// split, from inside the pool); the figures are in `benches/README.md`. The 262k-MAC products
/// of the stage-2 head still stay on one thread: its whole step then runs on the caller's
/// thread without visiting the pool, which measured faster than splitting them (`on_pool`).
pub const PARALLEL_MIN_MACS: usize = 1 << 18;

/// Blocks are cut at multiples of this many rows/columns, so every thread gets whole
/// micro-kernel tiles.
const BLOCK_ALIGN: usize = 16;

/// `c = α·a·b + β·c` with `a: (m, k)`, `b: (k, n)`, `c: (m, n)`, any strides.
///
/// Split across the rayon pool when the product is large enough: `c` is cut into one block per
/// thread (by rows when it is stored row by row and has 256 rows or more, else along its longer
/// side), each block an independent product. The cut never changes which
/// numbers are added in which order for any element of `c`, so the result is bit-identical
/// to the one-thread product.
///
/// Panics if the shapes do not agree (a bug in the caller, never user input).
pub fn gemm<T: Scalar>(alpha: T, a: ArrayView2<T>, b: ArrayView2<T>, beta: T, c: ArrayViewMut2<T>) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n),
        "gemm shapes: ({m}×{k})·({k2}×{n}) into {:?}",
        c.dim()
    );
    // More pieces than cores would only queue up behind each other.
    let pieces = rayon::current_num_threads().min(usable_cores());
    gemm_split(alpha, a, b, beta, c, pieces);
}

fn gemm_split<T: Scalar>(
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    mut c: ArrayViewMut2<T>,
    pieces: usize,
) {
    let (m, k) = a.dim();
    let n = b.dim().1;
    let too_small = m * n * k < PARALLEL_MIN_MACS * 2;
    if pieces <= 1 || too_small || (m < 2 * BLOCK_ALIGN && n < 2 * BLOCK_ALIGN) {
        gemm_serial(alpha, a, b, beta, c);
        return;
    }
    let left_pieces = pieces / 2;
    // Split c at a tile boundary, in proportion to the pieces on each side: by rows when c is
    // stored row by row and tall enough, so each thread's block is one contiguous run of memory
    // (a gradient `dW`, whose rows Adam then updates on the same thread: `split_point`), else
    // along its longer side.
    let split_rows = (c.strides()[1] == 1 && m >= 16 * BLOCK_ALIGN) || m >= n;
    let len = if split_rows { m } else { n };
    let at = split_point(len, left_pieces, pieces);
    if split_rows {
        let (a_top, a_bottom) = a.split_at(Axis(0), at);
        let (c_top, c_bottom) = c.view_mut().split_at(Axis(0), at);
        rayon::join(
            || gemm_split(alpha, a_top, b, beta, c_top, left_pieces),
            || gemm_split(alpha, a_bottom, b, beta, c_bottom, pieces - left_pieces),
        );
    } else {
        let (b_left, b_right) = b.split_at(Axis(1), at);
        let (c_left, c_right) = c.view_mut().split_at(Axis(1), at);
        rayon::join(
            || gemm_split(alpha, a, b_left, beta, c_left, left_pieces),
            || gemm_split(alpha, a, b_right, beta, c_right, pieces - left_pieces),
        );
    }
}

/// Where [`gemm`] cuts `len` rows or columns for `left_pieces` of `pieces` threads: at a tile
/// boundary, in proportion. Adam cuts a weight's rows at the same points, so the thread that
/// accumulated a block of `dW` is the one that reads it back.
pub fn split_point(len: usize, left_pieces: usize, pieces: usize) -> usize {
    let at = (len * left_pieces / pieces).div_ceil(BLOCK_ALIGN) * BLOCK_ALIGN;
    at.clamp(BLOCK_ALIGN, len - 1)
}

/// Runs `f` on a thread of the rayon pool (right here when the caller already is one), with
/// the pool's other threads kept awake to take halves of products as soon as they are offered.
///
/// Call it around a whole training epoch, not around each product: a thread outside the pool
/// that splits a product hands *both* halves to the pool and sleeps until they are done, so
/// every split costs two wake-ups; inside the pool, [`gemm`]'s `rayon::join` runs one half on
/// the calling thread and lets another pool thread steal the second.
///
/// Why keep them awake: an idle rayon thread yields to the OS 32 times (well under a
/// microsecond each) and then sleeps. A training step has serial stretches longer than that (the loss,
/// gathering the batch, the bias and ReLU passes), so the other thread fell asleep between
/// products, and the next `join` found nobody to steal its second half and ran both halves
/// itself: `benches/join_probe.rs` shows a join after a serial stretch taking more than twice
/// as long, most of them on one thread (figures in `benches/README.md`). So, as OpenMP's
/// active wait policy does, other pool threads run a *spinner* for the duration of `f` (one
/// each, by `spawn_broadcast`): a loop that takes pool work as soon as there is any
/// (`rayon::yield_now`) and otherwise spins. The cost is that those cores stay busy while `f`
/// runs, so the spinners are kept polite:
/// - there are never more of them than the cores the process may use ([`usable_cores`], which
///   respects CPU affinity and cgroup quotas) minus the one `f` runs on: with `--threads 1000`
///   on 2 cores, one thread spins and the other 998 sleep as rayon's idle threads do (before
///   this cap, 999 spinners left `f`'s thread a sliver of a core and an epoch never ended);
/// - they back off when they are not winning: a spinner that finds it was descheduled (another
///   process or thread wanted its core: two trainings side by side) stops spinning and sleeps
///   in growing naps instead, going back to spinning when a wake-up finds work waiting.
///
/// One `on_pool` at a time has spinners; a second one running at the same moment (tests in
/// parallel) runs without, as plain rayon would.
///
/// With a one-thread pool nothing is split, so `f` runs right here: hopping would only add two
/// context switches per step.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() || rayon::current_num_threads() == 1 {
        return f();
    }
    static SPINNERS_OUT: AtomicBool = AtomicBool::new(false);
    let claimed = SPINNERS_OUT
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_ok();
    // Dropped after the scope, which waits for every spinner to return, a panic included.
    let _release = claimed.then(|| StoreOnDrop(&SPINNERS_OUT, false));
    let done = AtomicBool::new(false);
    // `f`'s thread has a core; the spinners may have the others.
    let spinners = usable_cores().min(rayon::current_num_threads()) - 1;
    rayon::scope(|scope| {
        if claimed && spinners > 0 {
            let (done, owner) = (&done, rayon::current_thread_index());
            scope.spawn_broadcast(move |_, context| {
                let index = context.index();
                // Pool threads other than the owner, numbered from 0.
                let rank = match owner {
                    Some(owner) if index == owner => return,
                    Some(owner) if index > owner => index - 1,
                    _ => index,
                };
                if rank < spinners {
                    spin_until(done);
                }
            });
        }
        // Stops the spinners however `f` ends, a panic included.
        let _stop = StoreOnDrop(&done, true);
        f()
    })
}

/// How many threads of this process can run at once: `std::thread::available_parallelism`
/// (the CPUs in the affinity mask, limited by a cgroup CPU quota), read once; 1 if unknown.
pub fn usable_cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A spinner of [`on_pool`]: runs pool work as it appears until `done` is set.
///
/// While winning it spins, checking the clock every [`POLLS_PER_CHECK`] fruitless polls; a gap
/// of more than [`DESCHEDULED`] between two checks means the OS gave its core to someone else
/// for that long, so the core is contended and spinning only steals time from whoever needs it.
/// Then it naps, from [`FIRST_NAP`] doubling up to [`LONGEST_NAP`], polling once after each nap,
/// and spins again as soon as a poll finds work. Nothing here affects which numbers are added
/// in which order: a half that no spinner takes runs on the thread that offered it.
fn spin_until(done: &AtomicBool) {
    let mut idle_polls = 0_u32;
    let mut last_check = Instant::now();
    let mut nap: Option<Duration> = None;
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() == Some(rayon::Yield::Executed) {
            idle_polls = 0;
            nap = None;
            last_check = Instant::now();
            continue;
        }
        if let Some(length) = nap {
            std::thread::sleep(length);
            nap = Some((length * 2).min(LONGEST_NAP));
            continue;
        }
        idle_polls += 1;
        if idle_polls.is_multiple_of(POLLS_PER_CHECK) {
            let now = Instant::now();
            if now - last_check > DESCHEDULED {
                nap = Some(FIRST_NAP);
            }
            last_check = now;
            // Let the OS run another thread of this core's queue, if there is one.
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Fruitless polls between two looks at the clock (and two `sched_yield`s): about 10–30 µs.
const POLLS_PER_CHECK: u32 = 256;
/// A gap between two looks at the clock longer than this means the spinner was descheduled.
const DESCHEDULED: Duration = Duration::from_micros(500);
/// A spinner's first nap after it was descheduled.
const FIRST_NAP: Duration = Duration::from_micros(50);
/// Its longest nap.
const LONGEST_NAP: Duration = Duration::from_millis(2);

/// Stores a value in its flag when dropped.
struct StoreOnDrop<'a>(&'a AtomicBool, bool);

impl Drop for StoreOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(self.1, Ordering::Release);
    }
}

/// `c = α·a·b + β·c` on the calling thread: by the packing-free kernels for `a·bᵀ` with both
/// stored row by row and for `aᵀ·b` with `aᵀ`, `b` and `c` stored row by row (`f32`, on the
/// AVX-512 and AVX2 rungs), by matrixmultiply otherwise.
pub fn gemm_serial<T: Scalar>(
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
    let [rsa, csa] = [a.strides()[0], a.strides()[1]];
    let [rsb, csb] = [b.strides()[0], b.strides()[1]];
    let [rsc, csc] = [c.strides()[0], c.strides()[1]];
    // a·bᵀ with a and b both stored row by row (a layer's x·Wᵀ): the packing-free kernel, if the
    // type and the CPU have one, whatever the number of rows. Beyond ~256 rows matrixmultiply
    // would be faster (gemm_probe; benches/README.md), but the kernel decides
    // the order of summation, and the frozen features computed in 1024-row chunks must equal
    // those of a training batch bit for bit (tests/parity.rs).
    if k > 0 && csa == 1 && rsb == 1 && rsa >= 0 && csb >= 0 {
        // SAFETY: as below; a's rows are contiguous (csa = 1) and so are b's columns (rsb = 1).
        let done = unsafe {
            T::raw_gemm_abt(
                m,
                k,
                n,
                alpha,
                a.as_ptr(),
                rsa as usize,
                b.as_ptr(),
                csb as usize,
                beta,
                c.as_mut_ptr(),
                rsc,
                csc,
            )
        };
        if done {
            return;
        }
    }
    // aᵀ·b with aᵀ, b and c stored row by row (a weight gradient dyᵀ·x): the packing-free
    // kernel of linalg/atb.rs, which gives matrixmultiply's bits (so it may take any block).
    if alpha == T::one()
        && k > 0
        && rsa == 1
        && csb == 1
        && csc == 1
        && csa >= 0
        && rsb >= 0
        && rsc >= 0
    {
        // SAFETY: as below; the strides say aᵀ's, b's and c's rows are contiguous.
        let done = unsafe {
            T::raw_gemm_atb(
                m,
                k,
                n,
                a.as_ptr(),
                csa as usize,
                b.as_ptr(),
                rsb as usize,
                beta,
                c.as_mut_ptr(),
                rsc as usize,
            )
        };
        if done {
            return;
        }
    }
    // SAFETY: the views guarantee that their pointers and strides describe valid m×k, k×n and
    // m×n matrices; `c` is a mutable view, so it cannot alias the shared views `a` and `b`.
    unsafe {
        T::raw_gemm(
            m,
            k,
            n,
            alpha,
            a.as_ptr(),
            rsa,
            csa,
            b.as_ptr(),
            rsb,
            csb,
            beta,
            c.as_mut_ptr(),
            rsc,
            csc,
        );
    }
}

/// `c = α·a·b + β·c` by matrixmultiply alone, whatever the layouts, on the calling thread: the
/// reference the packing-free kernels are measured against (`benches/`), where [`gemm_serial`]
/// would pick one of them.
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
        T::raw_gemm(
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

/// The textbook triple loop, `c[i,j] = α·Σₖ a[i,k]·b[k,j] + β·c[i,j]`: slow, obvious, and the
/// reference the fast [`gemm`] is tested against.
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
