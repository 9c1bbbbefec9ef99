#!/usr/bin/env bash
# The AE epoch side by side with a peer: twostage, then by default the fastest, JAX's `jit` of a
# `lax.scan` over the epoch (../shared/bench/peers_ae_epoch.py --variant jax-scan, epoch 2,
# compilation excluded), alternating, N rounds, 2 threads each; medians and the ratio.
# PEER_VARIANT picks another row of peers_ae_epoch.py (torch, torch-fused, torch-compile,
# jax-step). TWOSTAGE_SIMD passes through (e.g. TWOSTAGE_SIMD=avx2 on an AVX-512 CPU to stand
# in for an AVX2-only one).
# Usage: bash benches/scripts/peers.sh [N]   (PEER_PYTHON: a python with jax, optax and torch)
# The stage-2 epoch and the whole 1+1 run against JAX as well: benches/scripts/peers_all.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
M=${MNIST_DIR:-$ROOT/../shared/mnist}
PY=${PEER_PYTHON:-$ROOT/../torchenv/bin/python}
PEERS=${PEERS_SCRIPT:-$ROOT/../shared/bench/peers_ae_epoch.py}
BIN=${TWOSTAGE_BIN:-$ROOT/target/release/twostage}
N=${1:-3}
V=${PEER_VARIANT:-jax-scan}
OUT=$(mktemp -d)
ours=(); jax=()
for i in $(seq 1 "$N"); do
  "$BIN" train --threads 2 --data-dir "$M" --stage1-epochs 1 --stage2-epochs 0 \
    --metrics "$OUT/m$i.jsonl" --save "$OUT/m$i.safetensors" > /dev/null
  ours+=("$(python3 -c "import json,sys; print([json.loads(l)['seconds'] for l in open(sys.argv[1]) if '\"seconds\"' in l][0])" "$OUT/m$i.jsonl")")
  jax+=("$("$PY" "$PEERS" --data "$M" --variant "$V" --threads 2 --epochs 2 | sed -n 's/.*epoch 2: .*(\([0-9.]*\)s)/\1/p')")
  echo "round $i: twostage ${ours[-1]} s, $V ${jax[-1]} s"
done
python3 - "${ours[*]}" "${jax[*]}" "$V" <<'PY'
import sys, statistics as st
o = [float(x) for x in sys.argv[1].split()]; j = [float(x) for x in sys.argv[2].split()]
v = sys.argv[3]
print(f"median: twostage {st.median(o):.3f} s, {v} {st.median(j):.3f} s, {v}/twostage {st.median(j)/st.median(o):.2f}x")
PY
rm -rf "$OUT"
