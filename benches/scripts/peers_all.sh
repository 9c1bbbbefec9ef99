#!/usr/bin/env bash
# twostage against its JAX peers (benches/scripts/peers_jax.py), alternating pairs, N rounds,
# 2 threads each, three rows:
#   AE epoch       twostage --stage1-epochs 1 --stage2-epochs 0, the stage1 `seconds` of --metrics
#                  vs `jax ae epoch 2` (compilation excluded)
#   stage-2 epoch  twostage --stage1-epochs 1 --stage2-epochs 1, the stage2 `seconds` (the head
#                  epoch on features computed before its clock starts) vs `jax stage2 head
#                  epoch 2` (compilation and the features excluded)
#   whole 1+1 run  wall of `twostage train --stage1-epochs 1 --stage2-epochs 1 --save FILE`
#                  (process start to exit) vs `jax whole run 1` (process start to the printed
#                  test accuracy, `import jax` and jit compilation included)
# then medians and jax/twostage ratios, JAX's compile-free whole run (run 2, same process),
# the peak RSS of our 1+1 runs, the CPU and TWOSTAGE_SIMD (it passes through, e.g.
# TWOSTAGE_SIMD=avx2 on an AVX-512 CPU to stand in for an AVX2-only one).
# Usage: bash benches/scripts/peers_all.sh [N]
#   (TWOSTAGE_BIN: the binary [target/release/twostage]; PEER_PYTHON: a python with jax, optax)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
M=${MNIST_DIR:-$ROOT/../shared/mnist}
PY=${PEER_PYTHON:-$ROOT/../torchenv/bin/python}
BIN=${TWOSTAGE_BIN:-$ROOT/target/release/twostage}
N=${1:-3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# seconds STAGE FILE: the `seconds` of STAGE's epoch line in a --metrics file.
seconds() {
  python3 -c "import json,sys; print([r['seconds'] for r in map(json.loads, open(sys.argv[2])) if r.get('stage') == sys.argv[1] and 'seconds' in r][0])" "$1" "$2"
}
# jax VARIANT PATTERN: runs peers_jax.py, prints the seconds of the line matching PATTERN.
jax() {
  "$PY" "$HERE/peers_jax.py" --data "$M" --variant "$1" --threads 2 > "$OUT/jax-$1.txt"
  sed -n "s/^$2.*(\([0-9.]*\)s.*/\1/p" "$OUT/jax-$1.txt"
}
train() { "$BIN" train --threads 2 --data-dir "$M" --save "$OUT/m.safetensors" "$@" > /dev/null; }

ae=(); jae=(); s2=(); js2=(); whole=(); jwhole=(); jwarm=(); rss=()
for i in $(seq 1 "$N"); do
  train --stage1-epochs 1 --stage2-epochs 0 --metrics "$OUT/ae.jsonl"
  ae+=("$(seconds stage1 "$OUT/ae.jsonl")")
  jae+=("$(jax ae 'jax ae epoch 2:')")
  train --stage1-epochs 1 --stage2-epochs 1 --metrics "$OUT/s2.jsonl"
  s2+=("$(seconds stage2 "$OUT/s2.jsonl")")
  js2+=("$(jax stage2 'jax stage2 head epoch 2:')")
  /usr/bin/time -f '%e %M' -o "$OUT/time.txt" \
    "$BIN" train --threads 2 --data-dir "$M" --stage1-epochs 1 --stage2-epochs 1 --save "$OUT/w.safetensors" > /dev/null
  read -r wall kb < "$OUT/time.txt"; whole+=("$wall"); rss+=("$kb")
  jwhole+=("$(jax whole 'jax whole run 1:')")
  jwarm+=("$(sed -n 's/^jax whole run 2:.*(\([0-9.]*\)s.*/\1/p' "$OUT/jax-whole.txt")")
  echo "round $i: AE epoch twostage ${ae[-1]} s, jax ${jae[-1]} s;" \
    "stage-2 epoch twostage ${s2[-1]} s, jax ${js2[-1]} s;" \
    "whole 1+1 twostage ${whole[-1]} s (peak RSS ${rss[-1]} KB), jax ${jwhole[-1]} s (compile-free ${jwarm[-1]} s)"
  grep -h 'accuracy\|features' "$OUT/jax-stage2.txt" "$OUT/jax-whole.txt" | sed 's/^/  /'
done
cpu=$(grep -o -m1 avx512f /proc/cpuinfo > /dev/null && echo "AVX-512" || echo "AVX2 only")
python3 - "${ae[*]}" "${jae[*]}" "${s2[*]}" "${js2[*]}" "${whole[*]}" "${jwhole[*]}" "${jwarm[*]}" "${rss[*]}" <<PY
import sys, statistics as st
ae, jae, s2, js2, whole, jwhole, jwarm, rss = ([float(x) for x in a.split()] for a in sys.argv[1:])
m = st.median
print(f"medians of $N rounds, 2 threads, CPU: $cpu, TWOSTAGE_SIMD: ${TWOSTAGE_SIMD:-unset}")
for name, o, j in [("AE epoch", ae, jae), ("stage-2 epoch", s2, js2), ("whole 1+1 run", whole, jwhole)]:
    print(f"  {name:14} twostage {m(o):7.3f} s   jax {m(j):7.3f} s   jax/twostage {m(j)/m(o):5.2f}x")
print(f"  jax whole 1+1 compile-free (2nd run in the process): {m(jwarm):.3f} s, {m(jwarm)/m(whole):.2f}x twostage's")
print(f"  twostage 1+1 peak RSS: median {m(rss)/1024:.0f} MB, max {max(rss)/1024:.0f} MB")
PY
