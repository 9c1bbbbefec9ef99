//! Every kernel compiled for AVX2 + FMA (8 `f32` lanes): the portable bodies again, which the
//! auto-vectoriser now fills wider registers with ([`super::rung_module!`]), and the
//! hand-written `x·Wᵀ` and `dyᵀ·x` kernels of [`super::abt`] and [`super::atb`].
//!
//! Each function may run only on a CPU with these instructions; [`super::on_rung`] checks.

rung_module!("avx2,fma");

pub(crate) use super::abt::sgemm_abt_avx2 as sgemm_abt;
pub(crate) use super::atb::sgemm_atb_avx2 as sgemm_atb;
