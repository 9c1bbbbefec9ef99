#!/usr/bin/env bash
# PyTorch (torch_baseline.py) and twostage alternating, 2 threads: N1 pairs of 1 + 1 epoch runs and
# N5 pairs of default 5 + 5 runs; medians, ratio of medians, pairwise ratios, peak RSS.
# Usage: measure.sh TWOSTAGE_BINARY OUTDIR [N1] [N5]   (TWOSTAGE_SIMD and PyTorch env pass through)
# Paths (override by environment): MNIST_DIR, TORCH_PYTHON (a python with torch), TORCH_BASELINE.
HERE=$(cd "$(dirname "$0")" && pwd)
M=${MNIST_DIR:-$HERE/../../../shared/mnist}
PY=${TORCH_PYTHON:-$HERE/../../../torchenv/bin/python}
TB=${TORCH_BASELINE:-$HERE/../../../shared/bench/torch_baseline.py}
set -u
BIN=$1; OUT=$2; N1=${3:-5}; N5=${4:-2}
mkdir -p $OUT
for i in $(seq 1 $N1); do
  /usr/bin/time -f "WALL %e RSS_KB %M" $PY $TB --data $M --e1 1 --e2 1 --threads 2 > $OUT/torch11-$i.txt 2>&1
  /usr/bin/time -f "WALL %e RSS_KB %M" $BIN train --threads 2 --data-dir $M --stage1-epochs 1 --stage2-epochs 1 --metrics $OUT/ours11-$i.jsonl --save $OUT/ours11.safetensors > $OUT/ours11-$i.txt 2>&1
done
for i in $(seq 1 $N5); do
  /usr/bin/time -f "WALL %e RSS_KB %M" $PY $TB --data $M --threads 2 > $OUT/torch55-$i.txt 2>&1
  /usr/bin/time -f "WALL %e RSS_KB %M" $BIN train --threads 2 --data-dir $M --metrics $OUT/ours55-$i.jsonl --save $OUT/ours55.safetensors > $OUT/ours55-$i.txt 2>&1
done
python3 - "$OUT" "$N1" "$N5" <<'PY'
import sys, re, json, statistics as st
out, n1, n5 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def torch_epochs(path):
    t = open(path).read()
    ae = [float(x) for x in re.findall(r'stage1-ae epoch \d+: loss [\d.]+ \(([\d.]+)s\)', t)]
    s2 = [float(x) for x in re.findall(r'stage2 epoch \d+: loss [\d.]+ \(([\d.]+)s\)', t)]
    wall = float(re.findall(r'WALL ([\d.]+)', t)[0]); rss = int(re.findall(r'RSS_KB (\d+)', t)[0])
    return ae, s2, wall, rss
def ours(path_jsonl, path_txt):
    ae, s2 = [], []
    for l in open(path_jsonl):
        r = json.loads(l)
        if 'seconds' in r:
            (ae if r['stage'] == 'stage1' else s2).append(r['seconds'])
    t = open(path_txt).read()
    return ae, s2, float(re.findall(r'WALL ([\d.]+)', t)[0]), int(re.findall(r'RSS_KB (\d+)', t)[0])
rows = {'ae': [], 's2': [], 'run11': [], 'run55': []}
for i in range(1, n1 + 1):
    ta, ts, tw, _ = torch_epochs(f'{out}/torch11-{i}.txt'); oa, os_, ow, _ = ours(f'{out}/ours11-{i}.jsonl', f'{out}/ours11-{i}.txt')
    rows['ae'].append((ta[0], oa[0])); rows['s2'].append((ts[0], os_[0])); rows['run11'].append((tw, ow))
for i in range(1, n5 + 1):
    _, _, tw, trss = torch_epochs(f'{out}/torch55-{i}.txt'); _, _, ow, orss = ours(f'{out}/ours55-{i}.jsonl', f'{out}/ours55-{i}.txt')
    rows['run55'].append((tw, ow)); print(f'run55 pair {i}: rss torch {trss//1024} MB ours {orss//1024} MB')
for k, pairs in rows.items():
    if not pairs: continue
    t = st.median(p[0] for p in pairs); o = st.median(p[1] for p in pairs)
    ratios = ', '.join(f'{a/b:.2f}' for a, b in pairs)
    print(f'{k}: torch median {t:.3f}s, ours median {o:.3f}s, ratio of medians {t/o:.2f}x (pairs {ratios})')
PY
