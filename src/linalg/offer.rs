//! The hand-off of half a [`join`](super::join) from the thread that runs an
//! [`on_pool`](super::on_pool) epoch (the *owner*) to the spinner on the other core: one atomic
//! slot instead of rayon's queue, steal and latch. The owner puts the second half in the slot,
//! runs the first, then takes the second back if no spinner took it, or waits for its done flag.

use std::any::Any;
use std::cell::{Cell, UnsafeCell};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use std::time::Instant;

use super::parallel::{LONGEST_SPIN, rayon_join};

thread_local! {
    /// Whether this thread runs the [`on_pool`](super::on_pool) that has the spinners: its
    /// [`join`](super::join)s offer their second half in [`OFFER`] instead of through rayon.
    static OWNER: Cell<bool> = const { Cell::new(false) };
}

/// The half of a [`join`](super::join) that the owner offers to the spinners: at most one at a
/// time, since the owner waits for each before it offers the next (a join inside the first
/// half of another, with the slot still full, goes through rayon).
static OFFER: AtomicPtr<Offer> = AtomicPtr::new(null_mut());

/// Makes this thread the [`OWNER`] until dropped.
pub(super) struct Owner;

impl Owner {
    pub(super) fn claim() -> Owner {
        OWNER.set(true);
        Owner
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        OWNER.set(false);
    }
}

/// One offered half of a [`join`](super::join), on the owner's stack: `run(data)` runs it and
/// keeps its result in `data`. A spinner takes it out of [`OFFER`], runs it, and sets `state`
/// to [`DONE`]; the owner does not return before then, so `data` outlives the run.
struct Offer {
    run: unsafe fn(*mut ()),
    data: *mut (),
    state: AtomicU8,
    /// Where the spinner leaves a panic of the half it ran, for the owner to resume.
    panic: UnsafeCell<Option<Box<dyn Any + Send>>>,
}

impl Offer {
    /// The offer of `half`, its `run` the one for its type.
    fn of<B: FnOnce() -> RB, RB>(half: &mut Half<B, RB>) -> Offer {
        Offer {
            run: run_half::<B, RB>,
            data: (half as *mut Half<B, RB>).cast(),
            state: AtomicU8::new(RUNNING),
            panic: UnsafeCell::new(None),
        }
    }
}

const RUNNING: u8 = 0;
const DONE: u8 = 1;

/// The closure of an offered half and, once it ran, its result.
struct Half<B, RB> {
    f: Option<B>,
    out: Option<RB>,
}

/// Runs the [`Half`] at `data`.
///
/// # Safety
/// `data` points to a live `Half<B, RB>` that nothing else touches meanwhile.
unsafe fn run_half<B: FnOnce() -> RB, RB>(data: *mut ()) {
    // SAFETY: the caller's contract.
    let half = unsafe { &mut *data.cast::<Half<B, RB>>() };
    if let Some(f) = half.f.take() {
        half.out = Some(f());
    }
}

/// Takes the offered half, if there is one, runs it here and marks it done; whether it did.
pub(super) fn take_offer() -> bool {
    let offer = OFFER.load(Ordering::Acquire);
    if offer.is_null()
        || OFFER
            .compare_exchange(offer, null_mut(), Ordering::AcqRel, Ordering::Acquire)
            .is_err()
    {
        return false;
    }
    // SAFETY: taken out of OFFER by this thread alone (the exchange), so its owner waits in
    // `offer_join` for DONE and keeps `offer` and its data alive until then.
    let offer = unsafe { &*offer };
    // SAFETY: `data` is the `Half` the owner made for this `run`; only this thread runs it.
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { (offer.run)(offer.data) }));
    if let Err(panic) = outcome {
        // SAFETY: the owner reads `panic` only after it sees DONE, stored below.
        unsafe { *offer.panic.get() = Some(panic) };
    }
    offer.state.store(DONE, Ordering::Release);
    true
}

/// Whether this thread is the [`OWNER`].
pub(super) fn is_owner() -> bool {
    OWNER.get()
}

/// [`join`](super::join) on the [`OWNER`]: `b` offered to the spinners in [`OFFER`], `a` run
/// here; then `b` taken back and run here if no spinner took it, else its end awaited. A
/// spinner polls the offer more often than rayon's queues, and the hand-off is one exchange
/// each way, where rayon's steal and latch cost about a microsecond a join (`benches/README.md`,
/// eleventh session).
pub(super) fn offer_join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let mut half = Half {
        f: Some(b),
        out: None,
    };
    let offer = Offer::of(&mut half);
    let offered = (&raw const offer).cast_mut();
    if OFFER
        .compare_exchange(null_mut(), offered, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // An earlier offer is still waiting (a join inside `a` of a join, with more than one
        // spinner): through rayon, where the other spinners look too.
        let b = half.f.take().expect("the half was not offered");
        return rayon_join(a, b);
    }
    // `a` may panic; `b` must be finished or taken back before this frame unwinds.
    let ra = catch_unwind(AssertUnwindSafe(a));
    let taken_back = OFFER
        .compare_exchange(offered, null_mut(), Ordering::AcqRel, Ordering::Acquire)
        .is_ok();
    if !taken_back {
        let since = Instant::now();
        let mut spins = 0_u32;
        while offer.state.load(Ordering::Acquire) != DONE {
            spins += 1;
            // A look at the clock costs more than a look at the flag: one every 64.
            if !spins.is_multiple_of(64) || since.elapsed() < LONGEST_SPIN {
                std::hint::spin_loop();
            } else {
                // The spinner running `b` lost its core: let it have this one.
                std::thread::yield_now();
            }
        }
    }
    // Both halves always run, as with `rayon::join`: one taken back runs here, a panic in `a`
    // notwithstanding. A panic is then passed on, `a`'s first.
    let rb = if taken_back {
        let b = half.f.take().expect("a half taken back has not run");
        catch_unwind(AssertUnwindSafe(b))
    } else {
        match offer.panic.into_inner() {
            Some(panic) => Err(panic),
            None => Ok(half.out.expect("a spinner ran the half")),
        }
    };
    match (ra, rb) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(panic), _) | (Ok(_), Err(panic)) => resume_unwind(panic),
    }
}
