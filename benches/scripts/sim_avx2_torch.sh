#!/usr/bin/env bash
# PyTorch limited to AVX2 and two twostage binaries (old, new; avx2 rung) alternating, 1 + 1 runs at
# T threads, N rounds: AE and stage-2 epochs and wall time, medians and ratios.
# Usage: sim_avx2_torch.sh OLD NEW N OUTDIR [T]
# Paths (override by environment): MNIST_DIR, TORCH_PYTHON (a python with torch), TORCH_BASELINE.
HERE=$(cd "$(dirname "$0")" && pwd)
M=${MNIST_DIR:-$HERE/../../../shared/mnist}
PY=${TORCH_PYTHON:-$HERE/../../../torchenv/bin/python}
TB=${TORCH_BASELINE:-$HERE/../../../shared/bench/torch_baseline.py}
OLD=$1; NEW=$2; N=${3:-4}; OUT=$4; T=${5:-2}
mkdir -p $OUT
for i in $(seq 1 $N); do
  ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2 /usr/bin/time -f "WALL %e" $PY $TB --data $M --e1 1 --e2 1 --threads $T > $OUT/torch-$i.txt 2>&1
  for w in old new; do b=$OLD; [ $w = new ] && b=$NEW
    TWOSTAGE_SIMD=avx2 /usr/bin/time -f "WALL %e" $b train --threads $T --data-dir $M --stage1-epochs 1 --stage2-epochs 1 --metrics $OUT/$w-$i.jsonl --save $OUT/$w-$i.safetensors > $OUT/$w-$i.txt 2>&1
  done
done
python3 - $OUT $N <<'PY'
import sys, re, json, statistics as st
out, n = sys.argv[1], int(sys.argv[2])
def torch(i):
    t=open(f'{out}/torch-{i}.txt').read()
    ae=float(re.findall(r'stage1-ae epoch \d+: loss [\d.]+ \(([\d.]+)s\)',t)[0]); s2=float(re.findall(r'stage2 epoch \d+: loss [\d.]+ \(([\d.]+)s\)',t)[0]); w=float(re.findall(r'WALL ([\d.]+)',t)[0]); return ae,s2,w
def ours(w,i):
    r=[json.loads(l) for l in open(f'{out}/{w}-{i}.jsonl') if '"seconds"' in l]
    t=open(f'{out}/{w}-{i}.txt').read(); return r[0]['seconds'], r[1]['seconds'], float(re.findall(r'WALL ([\d.]+)',t)[0])
T=[torch(i) for i in range(1,n+1)]; O=[ours('old',i) for i in range(1,n+1)]; N=[ours('new',i) for i in range(1,n+1)]
for k,name in enumerate(['AE epoch','stage-2 epoch','1+1 wall']):
    t=st.median(x[k] for x in T); o=st.median(x[k] for x in O); nn=st.median(x[k] for x in N)
    print(f"{name}: torch {t:.3f}  old {o:.3f} ({t/o:.2f}x)  new {nn:.3f} ({t/nn:.2f}x)  pairs new {[round(a[k]/b[k],2) for a,b in zip(T,N)]}")
PY
