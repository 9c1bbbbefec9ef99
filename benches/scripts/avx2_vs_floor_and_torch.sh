#!/usr/bin/env bash
# The two AVX2 targets of an autoencoder epoch on whatever machine this is, in one command:
#   1. one-thread AE epoch as a share of matrixmultiply's one-thread floor (gemm_probe floor), ≥ 60 %;
#   2. two-thread AE epoch against PyTorch's on the same machine, ≥ 5×;
# and, to tell whether 2. is reachable at all here, the ceiling: the fastest two-thread epoch
# the parts allow (gemm_probe ceiling: every product at its best one-thread speed split
# perfectly over two cores, plus Adam alone; nothing else) and PyTorch's epoch over it.
# On an AVX2-only CPU (a Zen 3, say) it uses ordinary release builds. On a CPU with AVX-512 it
# simulates an AVX2 machine (README, Performance): matrixmultiply built with
# MMTEST_FEATURE=fma,avx2,avx, our kernels forced with TWOSTAGE_SIMD=avx2, PyTorch limited with
# ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2. N rounds, each
# alternating the floor, a one-thread epoch, PyTorch's 1 + 1 run and ours; medians at the end.
# Usage: benches/scripts/avx2_vs_floor_and_torch.sh [N]   (from the repository root)
# Paths (override by environment): MNIST_DIR, TORCH_PYTHON (a python with torch), TORCH_BASELINE.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
M=${MNIST_DIR:-$ROOT/../shared/mnist}
PY=${TORCH_PYTHON:-$ROOT/../torchenv/bin/python}
TB=${TORCH_BASELINE:-$ROOT/../shared/bench/torch_baseline.py}
N=${1:-5}
OUT=${TMPDIR:-/tmp}/avx2-vs-floor-$$
mkdir -p "$OUT"
if grep -qw avx512f /proc/cpuinfo; then
  MODE="simulated AVX2 on an AVX-512 CPU"
  export MMTEST_FEATURE=fma,avx2,avx TWOSTAGE_SIMD=avx2
  export ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${TMPDIR:-/tmp}/avx2-vs-floor-fma-target}
else
  MODE="AVX2 CPU, ordinary builds"
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
fi
echo "$MODE: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
(cd "$ROOT" && cargo build --release --bin twostage --bench epoch_timing --bench gemm_probe 2>&1 | tail -1)
BIN=$CARGO_TARGET_DIR/release/twostage
newest() { ls -t "$CARGO_TARGET_DIR"/release/deps/"$1"-* | grep -v '\.d$' | head -1; }
ET=$(newest epoch_timing); GP=$(newest gemm_probe)
for i in $(seq 1 "$N"); do
  floor=$("$GP" floor | sed -E 's/.*= ([0-9.]+) s per epoch.*/\1/')
  ceiling=$("$GP" ceiling | sed -E 's/.*= ([0-9.]+) s per epoch.*/\1/')
  one=$("$ET" "$M" autoencoder 1 0 1 | grep "stage1 epoch" | sed -E 's/.*\(([0-9.]+)s\)/\1/')
  "$PY" "$TB" --data "$M" --e1 1 --e2 1 --threads 2 > "$OUT/torch-$i.txt" 2>&1
  torch=$(grep -E 'stage1-ae epoch' "$OUT/torch-$i.txt" | sed -E 's/.*\(([0-9.]+)s\)/\1/')
  "$BIN" train --threads 2 --data-dir "$M" --stage1-epochs 1 --stage2-epochs 1 \
    --metrics "$OUT/ours-$i.jsonl" --save "$OUT/ours-$i.safetensors" > "$OUT/ours-$i.txt" 2>&1
  ours=$(python3 -c "import json,sys; print([json.loads(l)['seconds'] for l in open(sys.argv[1]) if '\"seconds\"' in l][0])" "$OUT/ours-$i.jsonl")
  echo "$floor $one $torch $ours $ceiling" | tee -a "$OUT/rounds.txt"
done
python3 - "$OUT/rounds.txt" <<'PY'
import sys, statistics as st
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
f, o, t, w, c = (st.median(r[k] for r in rows) for k in range(5))
share = [100 * r[0] / r[1] for r in rows]; ratio = [r[2] / r[3] for r in rows]
print(f"1. one thread: floor {f:.3f} s, AE epoch {o:.3f} s = {100*f/o:.1f} % of matrixmultiply "
      f"(pairwise {st.median(share):.1f} %, {min(share):.1f}-{max(share):.1f}); target >= 60 %")
print(f"2. two threads: PyTorch AE epoch {t:.3f} s, ours {w:.3f} s = {t/w:.2f}x "
      f"(pairwise {st.median(ratio):.2f}x, {min(ratio):.2f}-{max(ratio):.2f}); target >= 5x")
cap = [r[2] / r[4] for r in rows]
print(f"   ceiling: the parts allow a two-thread epoch of {c:.3f} s at best "
      f"({min(r[4] for r in rows):.3f}-{max(r[4] for r in rows):.3f}), so at most {t/c:.2f}x PyTorch "
      f"(pairwise {st.median(cap):.2f}x, {min(cap):.2f}-{max(cap):.2f})")
PY
echo "(runs kept in $OUT)"
