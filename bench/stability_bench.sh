#!/usr/bin/env bash
# bench/stability_bench.sh — a deep narrow model at a high learning rate
# (make bench-stability). The lecture: deep models diverge, and smaller
# starting weights for deeper layers help. The same causal LM (L layers,
# C = 64, byte-level fortunes, STEPS steps of 8 × 64 tokens, lr LR, no
# clipping) trained four ways: post-LN with plain N(0, 0.02) init (the
# anchor), post-LN with depth-scaled init, post-LN with DeepNorm, and pre-LN
# with plain init. Records each loss curve (bench/results/stability-<stamp>/)
# and a table in bench/RESULTS.md: the loss at points along the run, the
# largest loss and gradient norm after warm-up, how many steps spiked (loss
# above 1.5 × the lowest before it), skipped (non-finite) updates, the final
# validation loss against the unigram baseline.
set -eu
BUILD=${BUILD:-build}
Z=$BUILD/zeropt
PY=/usr/bin/python3
L=${L:-48}
STEPS=${STEPS:-600}
LR=${LR:-5e-3}
THREADS=${THREADS:-1} # small products: one thread per run, two runs at a time
JOBS=${JOBS:-2}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export HDF5_USE_FILE_LOCKING=FALSE
fix=$("$Z" blas --suggest)
[ -n "$fix" ] && export "${fix?}"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
res=bench/results/stability-$stamp
mkdir -p "$res"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
F=/usr/share/games/fortunes
$PY tests/lib/bytes_corpus.py "$W/corpus.h5" $F/fortunes $F/literature $F/science $F/people $F/wisdom >/dev/null
cat >"$W/deep.ini" <<EOC
[model]
arch = decoder
vocab_size = 262
max_positions = 64
layers = $L
width = 64
heads = 2
gelu = tanh
dropout = 0
attn_dropout = 0
[data]
path = $W/corpus.h5
seq_len = 64
val_batches = 4
[train]
micro_batch = 8
steps = $STEPS
lr = $LR
warmup = 50
clip = 0
eval_every = 0
log_every = 50
[checkpoint]
every = -1
[guard]
max_skips = 1000000
[run]
peak_tflops = 1
EOC
runs=${RUNS:-post-normal post-depth post-deepnorm pre-normal}
n=0
for r in $runs; do
    norm=${r%%-*} init=${r#*-}
    "$Z" train -c "$W/deep.ini" run.dir="$W/$r" model.norm=$norm model.init=$init >"$W/$r.log" 2>&1 &
    n=$((n + 1))
    [ $((n % JOBS)) = 0 ] && wait
done
wait
for r in $runs; do
    [ -f "$W/$r/metrics.jsonl" ] || { tail -3 "$W/$r.log"; exit 1; }
    cp "$W/$r/metrics.jsonl" "$res/$r.jsonl"
done
$PY - "$res" "$stamp" "$(nproc --all) cores, $cpu" "$L" "$STEPS" "$LR" $runs <<'PY'
import json, math, sys
res, stamp, mach, L, steps, lr = sys.argv[1:7]
runs = sys.argv[7:]
steps = int(steps)
pts = [p for p in (1, 50, 100, 200, 300, 400, 600, 1000, 1500, 2000, 3000) if p <= steps]
lines = [f"\n### {stamp} — stability: {L} layers, C = 64, lr {lr}, no clipping — {mach}\n",
         f"Causal LM on byte-level fortunes, {steps} steps of 8 × 64 tokens, warm-up 50, 1 thread per run. "
         "Loss at steps " + ", ".join(map(str, pts)) + "; after warm-up: the largest loss and gradient norm, "
         "steps whose loss exceeds 1.5 × the lowest before it (spikes), updates skipped as non-finite. "
         "Anchor: post-LN, plain init. Curves in " + res + "/.\n",
         "| norm, init | " + " | ".join(f"loss @{p}" for p in pts) + " | max loss | max gnorm | spikes | skipped | val loss (unigram) |",
         "|---|" + "---|" * (len(pts) + 5)]
for r in runs:
    recs = [json.loads(l) for l in open(f"{res}/{r}.jsonl")]
    st = {x["step"]: x for x in recs if "loss" in x}
    val = [x["val_loss"] for x in recs if "val_loss" in x]
    uni = next((x["unigram_entropy"] for x in recs if "unigram_entropy" in x), float("nan"))
    after = [st[s] for s in sorted(st) if s > 50]
    lo, spikes = float("inf"), 0
    for s in sorted(st):
        l = st[s]["loss"]
        if s > 50 and math.isfinite(l) and l > 1.5 * lo:
            spikes += 1
        if math.isfinite(l):
            lo = min(lo, l)
    fin = [x for x in after if math.isfinite(x["loss"])]
    skipped = sum(1 for x in recs if x.get("skipped"))
    ml = max((x["loss"] for x in fin), default=float("nan"))
    mg = max((x["grad_norm"] for x in fin if math.isfinite(x["grad_norm"])), default=float("nan"))
    cells = " | ".join(f"{st[p]['loss']:.3f}" if p in st else "-" for p in pts)
    lines.append(f"| {r.replace('-', ', ')} | {cells} | {ml:.3f} | {mg:.2f} | {spikes} | {skipped} | "
                 f"{val[-1]:.3f} ({uni:.3f}) |")
open("bench/RESULTS.md", "a").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
