#!/usr/bin/env bash
# Two twostage binaries alternating (A then B), 1 + 1 epoch runs at 2 threads: AE and stage-2 epoch seconds.
# Usage: oldnew.sh A B N OUTDIR
# Paths (override by environment): MNIST_DIR, TORCH_PYTHON (a python with torch), TORCH_BASELINE.
HERE=$(cd "$(dirname "$0")" && pwd)
M=${MNIST_DIR:-$HERE/../../../shared/mnist}
PY=${TORCH_PYTHON:-$HERE/../../../torchenv/bin/python}
TB=${TORCH_BASELINE:-$HERE/../../../shared/bench/torch_baseline.py}
A=$1; B=$2; N=${3:-5}; OUT=$4
mkdir -p $OUT
for i in $(seq 1 $N); do
  for which in A B; do
    bin=$A; [ $which = B ] && bin=$B
    $bin train --threads 2 --data-dir $M --stage1-epochs 1 --stage2-epochs 1 --metrics $OUT/$which-$i.jsonl --save $OUT/$which.safetensors > /dev/null 2>&1
  done
done
python3 - $OUT $N <<'PY'
import sys, json, statistics as st
out, n = sys.argv[1], int(sys.argv[2])
def secs(p):
    r = [json.loads(l) for l in open(p) if 'seconds' in l]
    return r[0]['seconds'], r[1]['seconds']
a = [secs(f'{out}/A-{i}.jsonl') for i in range(1, n+1)]; b = [secs(f'{out}/B-{i}.jsonl') for i in range(1, n+1)]
print('AE  A', [x[0] for x in a], 'median', st.median(x[0] for x in a))
print('AE  B', [x[0] for x in b], 'median', st.median(x[0] for x in b))
print('S2  A median', st.median(x[1] for x in a), ' B median', st.median(x[1] for x in b))
print('pairwise AE B/A', [round(y[0]/x[0],3) for x, y in zip(a, b)])
PY
