#!/usr/bin/env bash
# Training on padded documents ([data] packing = pad): one fortune per
# sample, cut to seq_len and padded, with an attention mask. MLM and causal
# LM both learn (the loss falls); the same global batch on 1 and 2 ranks
# (ZeRO stage 2) gives the same loss and validation curve, as packed runs do
# (tests/mpi/test_train_mpi.sh); a padded run differs from a packed one (the
# samples are documents, not windows); replay with padding is refused.
. "$(dirname "$0")/../lib/lib.sh"
plan 6
"$PY" "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null ||
    bail "corpus"
for arch in encoder decoder; do
    cat >"$TMP/$arch.ini" <<EOC
[model]
arch = $arch
norm = $([ $arch = encoder ] && echo post || echo pre)
vocab_size = 262
max_positions = 64
layers = 2
width = 32
heads = 2
dropout = 0
attn_dropout = 0
[data]
path = $TMP/corpus.h5
seq_len = 64
packing = pad
mask_rate = 0.3
val_batches = 1
[train]
micro_batch = 4
global_batch = 8
steps = 40
lr = 3e-3
warmup = 5
eval_every = 20
log_every = 1
[run]
peak_tflops = 1
EOC
done
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
run() { # name cfg ranks [overrides]
    local name=$1 cfg=$2 n=$3; shift 3
    timeout -k 5 300 mpirun -q -np "$n" "$ZEROPT" train -c "$TMP/$cfg.ini" run.dir="$TMP/$name" "$@" \
        >"$TMP/$name.log" 2>&1 || { notok "train $name on $n ranks: $(tail -2 "$TMP/$name.log" | tr '\n' '|')"; return 1; }
}
run mlm1 encoder 1 && run mlm2 encoder 2 zero.stage=2 && run clm1 decoder 1 &&
    run packed encoder 1 data.packing=pack || exit 1
py "padded curves" "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
ok = lambda n, c, m="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + m)
def rows(name):
    return [json.loads(l) for l in open(f"{d}/{name}/metrics.jsonl")]
def losses(name, key="loss"):
    return [r[key] for r in rows(name) if key in r]
for name, what in (("mlm1", "MLM"), ("clm1", "causal LM")):
    l = losses(name)
    first, last = sum(l[:5]) / 5, sum(l[-5:]) / 5
    ok(f"padded {what} learns", len(l) == 40 and last < first - 0.5, f"{first:.3f} -> {last:.3f}")
a, b = losses("mlm1"), losses("mlm2")
rel = max(abs(x - y) / abs(x) for x, y in zip(a, b))
va, vb = losses("mlm1", "val_loss"), losses("mlm2", "val_loss")
vrel = max(abs(x - y) / abs(x) for x, y in zip(va, vb)) if va and len(va) == len(vb) else 1
ok("padded: 2 ranks at ZeRO stage 2 give the 1-rank loss and validation curves",
   len(a) == len(b) == 40 and rel < 9e-8 and vrel < 9e-8, f"max rel {rel:.1e}, validation {vrel:.1e}")
import math
ok("padded: validation on padded held-out documents", len(va) >= 2 and all(math.isfinite(v) for v in va),
   ", ".join(f"{v:.3f}" for v in va))
p = losses("packed")
ok("padded samples are documents: a different curve from packed windows", abs(p[0] - a[0]) > 1e-4,
   f"step 1: {a[0]:.4f} padded, {p[0]:.4f} packed")
PY
expect_error "packing = pad with replay refused" "store no attention masks" -- \
    "$ZEROPT" train -c "$TMP/encoder.ini" train.replay="$TMP/x.h5"
