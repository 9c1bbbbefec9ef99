//! The kernel ladder: which instruction set the hand-vectorised kernels use, chosen at run time.
//!
//! The crate is compiled for baseline x86-64 (SSE2), so a kernel that wants wider vectors is
//! compiled a second and third time with `#[target_feature]` and picked here, once per call,
//! from the *rung*:
//!
//! | rung | needs | used for |
//! |---|---|---|
//! | `avx512` | AVX-512F | `x·Wᵀ` (`linalg/abt.rs`, 16 lanes), `dyᵀ·x` (`linalg/atb.rs`, matrixmultiply's bits), Adam, element-wise passes |
//! | `avx2` | AVX2 + FMA | `x·Wᵀ` (8 lanes), `dyᵀ·x` (8 lanes), Adam, element-wise passes |
//! | `portable` | nothing | `x·Wᵀ`, `dyᵀ·x` by matrixmultiply, plain Rust loops elsewhere |
//!
//! By default the highest rung the CPU has. The environment variable `TWOSTAGE_SIMD`
//! (`avx512`, `avx2`, `portable`, or `auto`) forces a lower one, so that every path can be
//! tested and measured on a machine that has the higher ones. Asking for a rung the CPU lacks,
//! or for a name that is not a rung, prints a warning on stderr and uses the best rung the CPU
//! has: a kernel never runs on a CPU without its instructions.
//!
//! Only the forward product `x·Wᵀ` sums in a rung-dependent order (16 or 8 lanes, or
//! matrixmultiply's order), so weights trained on different rungs differ in their last bits.
//! Adam and the element-wise passes do the same IEEE operations in the same order on every rung
//! (never a fused multiply-add: Rust does not contract `a·b + c`), so they agree bit for bit;
//! the `dyᵀ·x` kernels give matrixmultiply's bits on any CPU with FMA.
//! Within one rung, results never depend on the thread count.
//!
//! Off x86-64 only the portable rung exists. matrixmultiply, which does every other product,
//! picks its own kernels by CPU feature whatever the rung.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that forces a rung.
pub const ENV: &str = "TWOSTAGE_SIMD";

/// One rung of the ladder, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rung {
    /// Plain Rust, compiled for the target's baseline (SSE2 on x86-64).
    Portable,
    /// AVX2 and FMA: 8 `f32` lanes, 16 vector registers.
    Avx2,
    /// AVX-512F: 16 `f32` lanes, 32 vector registers.
    Avx512,
}

impl Rung {
    /// Every rung, lowest first.
    pub const ALL: [Rung; 3] = [Rung::Portable, Rung::Avx2, Rung::Avx512];

    /// The name `TWOSTAGE_SIMD` takes.
    pub fn name(self) -> &'static str {
        match self {
            Rung::Portable => "portable",
            Rung::Avx2 => "avx2",
            Rung::Avx512 => "avx512",
        }
    }

    /// The rung called `name`, if any.
    pub fn from_name(name: &str) -> Option<Rung> {
        Rung::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Whether this CPU can run this rung's kernels.
    pub fn supported(self) -> bool {
        match self {
            Rung::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Rung::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            Rung::Avx512 => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The highest rung this CPU supports.
    pub fn best() -> Rung {
        Rung::ALL
            .into_iter()
            .rev()
            .find(|r| r.supported())
            .unwrap_or(Rung::Portable)
    }

    /// Every rung this CPU supports, lowest first.
    pub fn supported_rungs() -> Vec<Rung> {
        Rung::ALL.into_iter().filter(|r| r.supported()).collect()
    }

    fn code(self) -> u8 {
        self as u8 + 1
    }

    fn from_code(code: u8) -> Option<Rung> {
        Rung::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }
}

impl std::fmt::Display for Rung {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `TWOSTAGE_SIMD` asks for: `Ok(None)` when unset, empty or `auto`; an error naming the
/// problem when the value is not a rung or names one this CPU lacks. A command line can call
/// this to refuse such a value outright; [`rung`] warns and falls back instead.
pub fn requested() -> Result<Option<Rung>, String> {
    let Some(value) = std::env::var_os(ENV) else {
        return Ok(None);
    };
    let value = value.to_string_lossy();
    let value = value.trim();
    if value.is_empty() || value == "auto" {
        return Ok(None);
    }
    let Some(rung) = Rung::from_name(value) else {
        return Err(format!(
            "{ENV}={value:?} is not a rung: use avx512, avx2, portable or auto"
        ));
    };
    if !rung.supported() {
        return Err(format!(
            "{ENV}={value} asks for instructions this CPU lacks (it supports {})",
            Rung::supported_rungs()
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(Some(rung))
}

/// 0 until the first call to [`rung`] or [`set_rung`], then the rung's code.
static CURRENT: AtomicU8 = AtomicU8::new(0);

/// The rung the kernels use: `TWOSTAGE_SIMD`'s if the CPU has it, else the best one. Always a
/// rung this CPU supports; the kernels' `unsafe` calls rely on that.
#[inline]
pub fn rung() -> Rung {
    match Rung::from_code(CURRENT.load(Ordering::Relaxed)) {
        Some(rung) => rung,
        None => {
            let rung = *FROM_ENV.get_or_init(from_env);
            // A racing `set_rung` wins: only replace the "unset" code.
            let _ = CURRENT.compare_exchange(0, rung.code(), Ordering::Relaxed, Ordering::Relaxed);
            Rung::from_code(CURRENT.load(Ordering::Relaxed)).unwrap_or(rung)
        }
    }
}

static FROM_ENV: OnceLock<Rung> = OnceLock::new();

fn from_env() -> Rung {
    match requested() {
        Ok(Some(rung)) => rung,
        Ok(None) => Rung::best(),
        Err(problem) => {
            let best = Rung::best();
            eprintln!("twostage: warning: {problem}; using {best}");
            best
        }
    }
}

/// Switches every kernel to `rung`, for benches and tests that compare rungs in one process.
/// Not while something computes: a product or an epoch that straddles the switch mixes rungs
/// (still correct, but no longer bit-identical to either). Refuses a rung the CPU lacks.
pub fn set_rung(rung: Rung) -> Result<(), String> {
    if !rung.supported() {
        return Err(format!("this CPU cannot run the {rung} rung"));
    }
    CURRENT.store(rung.code(), Ordering::Relaxed);
    Ok(())
}

/// Defines `fn $name(rung, …)` three times over, from one body: as written (the portable
/// rung), and compiled with AVX2 + FMA and with AVX-512F enabled, so the compiler's
/// auto-vectoriser uses 8- or 16-lane registers. The function runs the copy for `rung` (callers
/// pass [`rung()`]; tests pass each rung in turn), or the portable one if the CPU lacks `rung`.
/// For loops whose result does not depend on the vector width (element-wise arithmetic, or sums
/// whose order the body fixes itself), so every rung gives the same bits.
macro_rules! ladder {
    (
        $(#[$attr:meta])*
        $vis:vis fn $name:ident $(<$g:ident: $bound:path>)? ($($arg:ident: $ty:ty),* $(,)?)
        $(-> $ret:ty)? $body:block
    ) => {
        $(#[$attr])*
        $vis fn $name $(<$g: $bound>)? (
            rung: $crate::linalg::simd::Rung,
            $($arg: $ty),*
        ) $(-> $ret)? {
            #[inline(always)]
            fn portable $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2 $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? {
                portable($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            fn avx512 $(<$g: $bound>)? ($($arg: $ty),*) $(-> $ret)? {
                portable($($arg),*)
            }
            #[cfg(target_arch = "x86_64")]
            if rung == $crate::linalg::simd::Rung::Avx512 && rung.supported() {
                // SAFETY: the CPU has AVX-512F (checked just above).
                return unsafe { avx512($($arg),*) };
            } else if rung == $crate::linalg::simd::Rung::Avx2 && rung.supported() {
                // SAFETY: the CPU has AVX2 and FMA (checked just above).
                return unsafe { avx2($($arg),*) };
            }
            let _ = rung;
            portable($($arg),*)
        }
    };
}
pub(crate) use ladder;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order_is_lowest_first() {
        for rung in Rung::ALL {
            assert_eq!(Rung::from_name(rung.name()), Some(rung));
            assert_eq!(Rung::from_code(rung.code()), Some(rung));
        }
        assert_eq!(Rung::from_name("sse2"), None);
        assert_eq!(Rung::from_code(0), None);
        assert!(Rung::Portable < Rung::Avx2 && Rung::Avx2 < Rung::Avx512);
        assert!(Rung::Portable.supported());
        assert!(Rung::best().supported());
        assert!(Rung::supported_rungs().contains(&Rung::best()));
    }

    #[test]
    fn the_current_rung_is_supported() {
        assert!(rung().supported());
    }
}
