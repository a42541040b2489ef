#!/usr/bin/env bash
# bench/stability_bench.sh — a deep narrow model at a high learning rate
# (make bench-stability). The lecture: deep models diverge; smaller starting
# weights for deeper layers and warm-up help. The same causal LM (L layers,
# C = WIDTH, byte-level fortunes, STEPS steps of 8 × 64 tokens, lr LR with
# WARMUP linear warm-up steps then linear decay, no clipping) trained several
# ways, RUNS naming each as NORM-INIT or NORM-INIT-wWARMUP: by default
# post-LN with plain N(0, 0.02) init (the anchor), depth-scaled init and
# DeepNorm, pre-LN with plain and depth-scaled init, and plain post-LN with a
# 300-step warm-up. Records each loss curve (bench/results/stability-<stamp>/)
# and a table in bench/RESULTS.md: the loss at points along the run, the
# largest loss and gradient norm after warm-up, how many steps spiked (loss
# above 1.5 × the lowest before it), skipped (non-finite) updates, the final
# validation loss against the unigram baseline.
set -eu
. bench/lib.sh
L=${L:-48}
STEPS=${STEPS:-600}
LR=${LR:-1e-3}
WARMUP=${WARMUP:-50}
WIDTH=${WIDTH:-64}
SEED=${SEED:-1234} # [train] seed: the init and the data order
THREADS=${THREADS:-1} # small products: one thread per run, two runs at a time
JOBS=${JOBS:-2}
bench_threads "$THREADS"
export HDF5_USE_FILE_LOCKING=FALSE
bench_workdir
res=bench/results/stability-$stamp
mkdir -p "$res"
bench_bytes_corpus "$W/corpus.h5"
cat >"$W/deep.ini" <<EOC
[model]
arch = decoder
vocab_size = 262
max_positions = 64
layers = $L
width = $WIDTH
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
seed = $SEED
steps = $STEPS
lr = $LR
warmup = $WARMUP
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
# a run is NORM-INIT or NORM-INIT-wWARMUP (warm-up steps; WARMUP by default)
runs=${RUNS:-post-normal post-depth post-deepnorm pre-normal pre-depth post-normal-w300}
n=0
for r in $runs; do
    norm=${r%%-*} rest=${r#*-} init=${rest%%-*} warm=$WARMUP
    [ "$rest" != "$init" ] && warm=${rest#*-w}
    "$Z" train -c "$W/deep.ini" run.dir="$W/$r" model.norm=$norm model.init=$init \
        train.warmup="$warm" >"$W/$r.log" 2>&1 &
    n=$((n + 1))
    [ $((n % JOBS)) = 0 ] && wait
done
wait
for r in $runs; do
    [ -f "$W/$r/metrics.jsonl" ] || { tail -3 "$W/$r.log"; exit 1; }
    cp "$W/$r/metrics.jsonl" "$res/$r.jsonl"
done
$PY - "$res" "$stamp" "$(nproc --all) cores, $cpu" "$L" "$STEPS" "$LR" "$WARMUP" "$WIDTH" "$SEED" $runs <<'PY'
import json, math, sys
res, stamp, mach, L, steps, lr, warm0, width, seed = sys.argv[1:10]
runs = sys.argv[10:]
steps = int(steps)
pts = [p for p in (1, 50, 100, 200, 300, 400, 600, 1000, 1500, 2000, 3000) if p <= steps]
lines = [f"\n### {stamp} — stability: {L} layers, C = {width}, lr {lr}, seed {seed}, no clipping — {mach}\n",
         f"Causal LM on byte-level fortunes, {steps} steps of 8 × 64 tokens, linear warm-up {warm0} steps "
         "unless the run names another (-wN), then linear decay; 1 thread per run. "
         "Loss at steps " + ", ".join(map(str, pts)) + "; after warm-up: the largest loss and gradient norm, "
         "steps whose loss exceeds 1.5 × the lowest before it (spikes), updates skipped as non-finite. "
         "Anchor: post-LN, plain init. Curves in " + res + "/.\n",
         "| norm, init, warm-up | " + " | ".join(f"loss @{p}" for p in pts) + " | max loss | max gnorm | spikes | skipped | val loss (unigram) |",
         "|---|" + "---|" * (len(pts) + 5)]
for r in runs:
    parts = r.split("-")
    warm = int(parts[2][1:]) if len(parts) > 2 else int(warm0)
    recs = [json.loads(l) for l in open(f"{res}/{r}.jsonl")]
    st = {x["step"]: x for x in recs if "loss" in x}
    val = [x["val_loss"] for x in recs if "val_loss" in x]
    uni = next((x["unigram_entropy"] for x in recs if "unigram_entropy" in x), float("nan"))
    after = [st[s] for s in sorted(st) if s > warm]
    lo, spikes = float("inf"), 0
    for s in sorted(st):
        l = st[s]["loss"]
        if s > warm and math.isfinite(l) and l > 1.5 * lo:
            spikes += 1
        if math.isfinite(l):
            lo = min(lo, l)
    fin = [x for x in after if math.isfinite(x["loss"])]
    skipped = sum(1 for x in recs if x.get("skipped"))
    ml = max((x["loss"] for x in fin), default=float("nan"))
    mg = max((x["grad_norm"] for x in fin if math.isfinite(x["grad_norm"])), default=float("nan"))
    cells = " | ".join(f"{st[p]['loss']:.3f}" if p in st else "-" for p in pts)
    lines.append(f"| {parts[0]}, {parts[1]}, {warm} | {cells} | {ml:.3f} | {mg:.2f} | {spikes} | {skipped} | "
                 f"{val[-1]:.3f} ({uni:.3f}) |")
open("bench/RESULTS.md", "a").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
