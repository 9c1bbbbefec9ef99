#!/usr/bin/env bash
# Issue 14: the per-shape floor (gemm_probe floor) and one-thread AE epochs of two epoch_timing
# builds, alternating, N rounds; share of the floor per round and medians. Run with TWOSTAGE_SIMD=avx2
# on binaries built with MMTEST_FEATURE=fma,avx2,avx to simulate an AVX2 machine (README, Performance).
# Usage: sim_avx2.sh GEMM_PROBE OLD_EPOCH_TIMING NEW_EPOCH_TIMING [N]
# Paths (override by environment): MNIST_DIR, TORCH_PYTHON (a python with torch), TORCH_BASELINE.
HERE=$(cd "$(dirname "$0")" && pwd)
M=${MNIST_DIR:-$HERE/../../../shared/mnist}
PY=${TORCH_PYTHON:-$HERE/../../../torchenv/bin/python}
TB=${TORCH_BASELINE:-$HERE/../../../shared/bench/torch_baseline.py}
G=$1; OLD=$2; NEW=$3; N=${4:-5}
for i in $(seq 1 $N); do
  f=$($G floor | sed -E 's/.*= ([0-9.]+) s per epoch.*/\1/')
  o=$($OLD $M autoencoder 1 0 1 | grep "stage1 epoch" | sed -E 's/.*\(([0-9.]+)s\)/\1/')
  n=$($NEW $M autoencoder 1 0 1 | grep "stage1 epoch" | sed -E 's/.*\(([0-9.]+)s\)/\1/')
  echo "$f $o $n"
done > "${TMPDIR:-/tmp}/sim_avx2.out"
python3 - "${TMPDIR:-/tmp}/sim_avx2.out" <<'PY'
import sys, statistics as st
rows=[tuple(map(float,l.split())) for l in open(sys.argv[1])]
for f,o,n in rows: print(f"floor {f:.3f} s  old {o:.3f} s ({100*f/o:.1f} %)  new {n:.3f} s ({100*f/n:.1f} %)")
print("median floor %.3f, old %.3f (%.1f %% of floor; pairwise median %.1f %%), new %.3f (%.1f %%; pairwise median %.1f %%)" % (
  st.median(r[0] for r in rows), st.median(r[1] for r in rows), 100*st.median(r[0] for r in rows)/st.median(r[1] for r in rows), st.median(100*r[0]/r[1] for r in rows),
  st.median(r[2] for r in rows), 100*st.median(r[0] for r in rows)/st.median(r[2] for r in rows), st.median(100*r[0]/r[2] for r in rows)))
PY
