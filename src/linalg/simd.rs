//! The kernel ladder: which instruction set the hand-vectorised kernels use, chosen at run time.
//!
//! The crate is compiled for baseline x86-64 (SSE2), so a kernel that wants wider vectors is
//! compiled a second and third time with `#[target_feature]` and picked here, once per call,
//! from the *rung*:
//!
//! | rung | needs | used for |
//! |---|---|---|
//! | `avx512` | AVX-512F | `x·Wᵀ` (`linalg/kernels/abt.rs`), `dyᵀ·x` and `dy·W` (`linalg/kernels/atb.rs`), 16 lanes, Adam, element-wise passes |
//! | `avx2` | AVX2 + FMA | `x·Wᵀ`, `dyᵀ·x`, `dy·W` (8 lanes), Adam, element-wise passes |
//! | `portable` | nothing | `x·Wᵀ`, `dyᵀ·x`, `dy·W` by matrixmultiply, plain Rust loops elsewhere |
//!
//! By default the highest rung the CPU has. The environment variable `TWOSTAGE_SIMD`
//! (`avx512`, `avx2`, `portable`, or `auto`) forces a lower one, so that every path can be
//! tested and measured on a machine that has the higher ones. Asking for a rung the CPU lacks,
//! or for a name that is not a rung, uses the best rung the CPU has (a kernel never runs on a
//! CPU without its instructions), and [`env_problem`] says what was wrong, for the program to
//! tell its user: the library itself never prints.
//!
//! Which copy of a kernel runs for a rung is decided in one place, `on_rung!` in
//! `linalg/kernels/mod.rs`.
//!
//! Every rung computes the same numbers: the `x·Wᵀ`, `dyᵀ·x` and `dy·W` kernels give
//! matrixmultiply's bits on any CPU with FMA (each sum in matrixmultiply's order, in blocks of
//! 256), and Adam and the element-wise passes do the same IEEE operations in the same order on
//! every rung (never a fused multiply-add: Rust does not contract `a·b + c`). So a network
//! trains to the same weights, bit for bit, on every rung and any thread count; the rungs
//! differ in speed only. (On a CPU without FMA, matrixmultiply's own kernels round otherwise,
//! and only the portable rung exists there.)
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

/// What a value of `TWOSTAGE_SIMD` asks for: `Ok(None)` when empty or `auto`; an error naming
/// the problem when it is not a rung or names one this CPU lacks.
pub fn parse_request(value: &str) -> Result<Option<Rung>, String> {
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

/// What is wrong with this process's `TWOSTAGE_SIMD`, if anything, with the rung used instead:
/// `"TWOSTAGE_SIMD=\"avx9000\" is not a rung: …; using avx512"`. [`rung`] falls back silently;
/// a command line prints this as a warning.
pub fn env_problem() -> Option<String> {
    let value = std::env::var_os(ENV)?;
    let problem = parse_request(&value.to_string_lossy()).err()?;
    Some(format!("{problem}; using {}", Rung::best()))
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

/// `TWOSTAGE_SIMD`'s rung if it names one this CPU has, else the best one ([`env_problem`]
/// says why).
fn from_env() -> Rung {
    let requested = std::env::var_os(ENV).map(|value| parse_request(&value.to_string_lossy()));
    match requested {
        Some(Ok(Some(rung))) => rung,
        _ => Rung::best(),
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

/// Whether Adam's AVX2 and AVX-512 copies divide `√v` by `√(1 − β₂ᵗ)` through its `f64`
/// reciprocal rather than by the division: the same bits (`optim/adam/kernel.rs`), a question
/// of speed only. The reciprocal frees the divider where a square root and two divisions a
/// weight are the loop's limit (an Emerald Rapids Xeon: Adam 15–27 % faster); on AMD's CPUs
/// before Zen 5 (family 25 and below) the divider keeps up and the conversions to `f64` and
/// back lengthen each weight's chain instead (Zen 3, AVX2: 0.70 → 0.50 ns a weight dividing,
/// `benches/README.md`; Zen 4 unmeasured), so there it divides. Read once from `cpuid`.
pub fn reciprocal_pays() -> bool {
    static PAYS: OnceLock<bool> = OnceLock::new();
    *PAYS.get_or_init(|| !amd_before_zen5())
}

/// An AMD CPU of family 25 (Zen 3, Zen 4) or below, from `cpuid` leaves 0 and 1.
#[cfg(target_arch = "x86_64")]
fn amd_before_zen5() -> bool {
    use std::arch::x86_64::__cpuid;
    let vendor = __cpuid(0);
    let amd = [vendor.ebx, vendor.edx, vendor.ecx]
        .iter()
        .flat_map(|r| r.to_le_bytes())
        .eq(*b"AuthenticAMD");
    let eax = __cpuid(1).eax;
    // The displayed family: the base family, plus the extended one when the base is 15.
    let base = (eax >> 8) & 0xF;
    let family = if base == 0xF {
        base + ((eax >> 20) & 0xFF)
    } else {
        base
    };
    amd && family <= 25
}

#[cfg(not(target_arch = "x86_64"))]
fn amd_before_zen5() -> bool {
    false
}

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
    fn requests_parse_or_say_what_is_wrong() {
        assert_eq!(parse_request(""), Ok(None));
        assert_eq!(parse_request(" auto "), Ok(None));
        assert_eq!(parse_request("portable"), Ok(Some(Rung::Portable)));
        let problem = parse_request("avx9000").unwrap_err();
        assert!(
            problem.contains("TWOSTAGE_SIMD=\"avx9000\" is not a rung"),
            "{problem}"
        );
        for rung in Rung::ALL {
            match parse_request(rung.name()) {
                Ok(got) => assert!(rung.supported() && got == Some(rung)),
                Err(problem) => {
                    assert!(!rung.supported(), "{problem}");
                    assert!(problem.contains("asks for instructions this CPU lacks"));
                }
            }
        }
    }

    /// `cpuid`'s vendor and family, as Linux reads them too.
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn the_cpu_family_is_the_one_linux_reports() {
        let info = std::fs::read_to_string("/proc/cpuinfo").expect("/proc/cpuinfo on Linux");
        let field = |name: &str| {
            info.lines()
                .find(|l| l.split(':').next().map(str::trim) == Some(name))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
                .unwrap_or_else(|| panic!("no {name} in /proc/cpuinfo"))
        };
        let family: u32 = field("cpu family").parse().expect("a number");
        let expected = field("vendor_id") == "AuthenticAMD" && family <= 25;
        assert_eq!(amd_before_zen5(), expected, "family {family}");
        assert_eq!(reciprocal_pays(), !expected);
    }

    #[test]
    fn the_current_rung_is_supported() {
        assert!(rung().supported());
    }
}
