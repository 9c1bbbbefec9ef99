//! Splitting a product over cores, and keeping the pool ready to take the pieces.
//!
//! [`gemm`](super::gemm) cuts `c` into blocks at [`split_point`]s, one per thread, and runs them
//! with [`join`] (a deep sum in blocks is cut along the sum as well: `split_sum.rs`); Adam
//! cuts its updates at the same points. [`on_pool`] runs a training
//! epoch on the pool with the other threads kept spinning, so the second half of a `join` is
//! taken at once (the epoch's thread hands it to them directly), and [`join`] spins while the
//! other half finishes, so the joining thread is awake when it does; [`usable_cores`] caps both
//! at the cores the process may use.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut2, Axis};

use super::Scalar;
use super::offer::{Owner, is_owner, offer_join, take_offer};
use super::products::{atb_block_depth, serial, serial_bias};
use super::split_sum::split_sum;

/// A product is split only if each of the two halves gets at least this many multiply-adds:
/// below it, handing half to another thread costs more than it saves. The stage-2 head's
/// products (up to `32×128×64`, 262k) stay on one thread, so its whole step runs on the
/// caller's thread without visiting the pool. Measured with `benches/gemm_probe.rs` (one thread
/// against split, from inside the pool); the figures are in `benches/README.md`.
pub const PARALLEL_MIN_MACS: usize = 1 << 18;

/// Blocks are cut at multiples of this many rows/columns, so every thread gets whole
/// micro-kernel tiles.
const BLOCK_ALIGN: usize = 16;

/// [`gemm`](super::gemm)'s work, compiled in this crate for each type
/// (`kernels::entry_points!`).
pub(crate) fn gemm_on_cores<T: Scalar>(
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    c: ArrayViewMut2<T>,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n),
        "gemm shapes: ({m}×{k})·({k2}×{n}) into {:?}",
        c.dim()
    );
    gemm_split(alpha, a, b, beta, None, c, pieces());
}

/// [`matmul_bias_into`](super::matmul_bias_into)'s work, compiled in this crate for each type:
/// split as [`gemm_on_cores`] splits, each block set to its part of `bias` on the thread that
/// then adds its product.
pub(crate) fn gemm_bias_on_cores<T: Scalar>(
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    bias: ArrayView1<T>,
    c: ArrayViewMut2<T>,
) {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert!(
        k == k2 && c.dim() == (m, n) && bias.len() == n,
        "gemm shapes: ({m}×{k})·({k2}×{n}) + bias ({}) into {:?}",
        bias.len(),
        c.dim()
    );
    gemm_split(T::one(), a, b, T::one(), Some(bias), c, pieces());
}

/// How many blocks a product is cut into: one per thread of the pool, at most one per core
/// (more pieces than cores would only queue up behind each other). Adam cuts its updates into
/// as many, at the same points.
pub(crate) fn pieces() -> usize {
    rayon::current_num_threads().min(usable_cores())
}

/// `c = α·a·b + β·c`, or with `bias`, `c = bias (every row) + α·a·b` (β must be 1), cut into
/// `pieces` blocks.
fn gemm_split<T: Scalar>(
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    bias: Option<ArrayView1<T>>,
    mut c: ArrayViewMut2<T>,
    pieces: usize,
) {
    let (m, k) = a.dim();
    let n = b.dim().1;
    let too_small = m * n * k < PARALLEL_MIN_MACS * 2;
    if pieces <= 1 || too_small || (m < 2 * BLOCK_ALIGN && n < 2 * BLOCK_ALIGN) {
        match bias {
            // The bias goes into the block here, on the thread that adds the product.
            Some(bias) => serial_bias(a, b, bias, c),
            None => serial(alpha, a, b, beta, c),
        }
        return;
    }
    let left_pieces = pieces / 2;
    // Split c at a tile boundary, in proportion to the pieces on each side: by rows when c is
    // stored row by row and tall enough, so each thread's block is one contiguous run of memory
    // (a gradient `dW`, whose rows Adam then updates on the same thread: `split_point`), else
    // along its longer side. Even `Linear(256, 128)`'s `dW`, 128 rows: cut by columns, each
    // core would write half of every row that Adam updates on the other (measured slower,
    // benches/README.md).
    let split_rows = (c.strides()[1] == 1 && m >= 4 * BLOCK_ALIGN) || m >= n;
    // A deep sum that the kernel adds up in blocks (`dx = dy·W` through the 784 rows of the
    // last layer's W): cut the sum as well as the columns, so each core reads the rows of `b`
    // it holds.
    if pieces == 2
        && bias.is_none()
        && !split_rows
        && let Some(depth) = atb_block_depth(alpha, &a, &b, &c)
        && k > depth
    {
        split_sum(a, b, beta, c, depth);
        return;
    }
    let len = if split_rows { m } else { n };
    let at = split_point(len, left_pieces, pieces);
    if split_rows {
        let (a_top, a_bottom) = a.split_at(Axis(0), at);
        let (c_top, c_bottom) = c.view_mut().split_at(Axis(0), at);
        join(
            || gemm_split(alpha, a_top, b, beta, bias, c_top, left_pieces),
            || {
                gemm_split(
                    alpha,
                    a_bottom,
                    b,
                    beta,
                    bias,
                    c_bottom,
                    pieces - left_pieces,
                )
            },
        );
    } else {
        let (b_left, b_right) = b.split_at(Axis(1), at);
        let (c_left, c_right) = c.view_mut().split_at(Axis(1), at);
        let (bias_left, bias_right) = match bias {
            Some(bias) => {
                let (left, right) = bias.split_at(Axis(0), at);
                (Some(left), Some(right))
            }
            None => (None, None),
        };
        join(
            || gemm_split(alpha, a, b_left, beta, bias_left, c_left, left_pieces),
            || {
                gemm_split(
                    alpha,
                    a,
                    b_right,
                    beta,
                    bias_right,
                    c_right,
                    pieces - left_pieces,
                )
            },
        );
    }
}

/// Where [`gemm`](super::gemm) cuts `len` rows or columns for `left_pieces` of `pieces` threads: at a tile
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
/// every split costs two wake-ups; inside the pool, [`gemm`](super::gemm)'s `rayon::join` runs one half on
/// the calling thread and lets another pool thread steal the second.
///
/// Why keep them awake: an idle rayon thread yields to the OS 32 times (well under a
/// microsecond each) and then sleeps. A training step has serial stretches longer than that (the loss,
/// gathering the batch, the bias and ReLU passes), so the other thread fell asleep between
/// products, and the next `join` found nobody to steal its second half and ran both halves
/// itself (`benches/join_probe.rs` times a join after a serial stretch; figures in
/// `benches/README.md`). So, as OpenMP's
/// active wait policy does, other pool threads run a *spinner* for the duration of `f` (one
/// each, by `spawn_broadcast`): a loop that takes work as soon as there is any (a half offered
/// by [`join`] on `f`'s thread, else the pool's, `rayon::yield_now`) and otherwise spins. The
/// cost is that those cores stay busy while `f` runs, so the spinners are kept polite:
/// - there are never more of them than the cores the process may use ([`usable_cores`], which
///   respects CPU affinity and cgroup quotas) minus the one `f` runs on: with `--threads 1000`
///   on 2 cores, one thread spins and the other 998 sleep as rayon's idle threads do (999
///   spinners would leave `f`'s thread a sliver of a core, `tests/threads.rs`);
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
        // This thread's joins hand their second half to the spinners directly ([`join`]).
        let _owner = (claimed && spinners > 0).then(Owner::claim);
        f()
    })
}

/// How many threads of this process can run at once: `std::thread::available_parallelism`
/// (the CPUs in the affinity mask, limited by a cgroup CPU quota), read once; 1 if unknown.
pub fn usable_cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A spinner of [`on_pool`]: runs offered halves (`offer.rs`) and pool work as they appear
/// until `done` is set.
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
        // The offer is one load to look at, rayon's queues far more: look at it more often.
        let rayon_turn = nap.is_some() || idle_polls.is_multiple_of(OFFER_POLLS);
        if take_offer() || (rayon_turn && rayon::yield_now() == Some(rayon::Yield::Executed)) {
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
        if idle_polls.is_multiple_of(POLLS_PER_CHECK * OFFER_POLLS) {
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

/// Fruitless polls of rayon's queues between two looks at the clock (and two `sched_yield`s):
/// tens of microseconds, well under [`DESCHEDULED`].
const POLLS_PER_CHECK: u32 = 256;
/// Polls of the offered half (`offer.rs`) per poll of rayon's queues.
const OFFER_POLLS: u32 = 16;
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

/// `rayon::join(a, b)`: `a` runs on this thread and `b`, if another thread is free, on that
/// one; both always run, and a panic in either is passed on once both are done (`a`'s first).
/// Which thread runs which half does not change a single bit of the results.
///
/// Inside [`on_pool`], on the thread that runs the epoch, `b` is handed straight to the
/// spinner (`offer.rs`): one atomic exchange to offer it, one to take it, a flag when it is
/// done, instead of rayon's queue, steal and latch (about a microsecond a join, fifteen joins a
/// step; `tests/join.rs`, figures in `benches/README.md`). Elsewhere it is `rayon::join`, except
/// that when `a` ends while another thread is still running `b`, this thread spins until `b`
/// is done: rayon's waiting thread yields a few dozen times and then sleeps, and waking it
/// again costs more than the wait when the halves end microseconds apart
/// (`benches/join_probe.rs`).
///
/// On a one-thread pool `a` then `b` run right here: called from outside the pool (as
/// [`on_pool`] leaves a one-thread training), `rayon::join` would hand both to the pool's one
/// thread and sleep until it is done, which costs far more than either half of a training step
/// (`benches/head_phases.rs -- 1`, `benches/README.md`).
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if rayon::current_num_threads() == 1 {
        let ra = a();
        return (ra, b());
    }
    if is_owner() {
        return offer_join(a, b);
    }
    rayon_join(a, b)
}

/// [`join`] through rayon, spinning while the other thread finishes `b`.
pub(super) fn rayon_join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let (started, done) = (AtomicBool::new(false), AtomicBool::new(false));
    rayon::join(
        || {
            let out = a();
            // Started and not done: `b` was stolen and runs on another thread right now (had it
            // run on this one, inside `a`, it would be done). Not started: it is most likely
            // still queued here, and `rayon::join` runs it on this thread as soon as we return.
            if started.load(Ordering::Acquire) {
                let since = Instant::now();
                while !done.load(Ordering::Acquire) && since.elapsed() < LONGEST_SPIN {
                    for _ in 0..64 {
                        std::hint::spin_loop();
                    }
                }
            }
            out
        },
        || {
            started.store(true, Ordering::Release);
            let out = b();
            done.store(true, Ordering::Release);
            out
        },
    )
}

/// How long [`join`] spins for the other half before leaving the wait to rayon: far longer
/// than any half of a training step's products.
pub(super) const LONGEST_SPIN: Duration = Duration::from_millis(2);
