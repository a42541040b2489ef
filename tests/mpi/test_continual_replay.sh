#!/usr/bin/env bash
# Continual pretraining from a trained zeropt checkpoint ([continual]): a
# tiny MLM encoder trained on corpus A (fortunes: computers, science,
# wisdom) continues on corpus B (debian, definitions, linux: the same
# tokenizer). Checks: the continued run starts from A's weights with fresh
# optimizer state (its step-0 loss on A equals A's final one, its first
# learning rate is the warm-up's); it logs both validation losses; with
# replay of A the A loss rises less than without; L2-SP keeps the weights
# closer to where they started; replay draws the same batches on 1 and 2
# ranks; a run stopped and resumed with replay and L2-SP gives the straight
# run's losses exactly; bad settings are refused with one line.
. "$(dirname "$0")/../lib/lib.sh"
plan 10
src=/usr/share/games/fortunes
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
"$ZEROPT" tokenizer train --input $src/computers --input $src/science --input $src/wisdom \
    --input $src/debian --input $src/definitions --input $src/linux --separator % \
    --vocab-size 512 --output "$TMP/tok.json" >"$TMP/prep.log" 2>&1 &&
    "$ZEROPT" prep --tokenizer "$TMP/tok.json" --input $src/computers --input $src/science \
        --input $src/wisdom --separator % --val-fraction 0.05 --output "$TMP/a.h5" >>"$TMP/prep.log" 2>&1 &&
    "$ZEROPT" prep --tokenizer "$TMP/tok.json" --input $src/debian --input $src/definitions \
        --input $src/linux --separator % --val-fraction 0.05 --output "$TMP/b.h5" >>"$TMP/prep.log" 2>&1 ||
    bail "corpora: $(tail -2 "$TMP/prep.log" | tr '\n' '|')"
cat >"$TMP/a.ini" <<EOC
[model]
arch = encoder
vocab_size = 512
max_positions = 64
layers = 2
width = 64
heads = 2
ffn = 128
dropout = 0
attn_dropout = 0
[data]
path = $TMP/a.h5
seq_len = 64
val_batches = 2
[train]
global_batch = 16
steps = 150
lr = 3e-3
warmup = 10
eval_every = 150
log_every = 50
[run]
peak_tflops = 1
EOC
run() { # name ranks config overrides...
    local name=$1 n=$2 cfg=$3
    shift 3
    timeout -k 5 300 mpirun -q -np "$n" "$ZEROPT" train -c "$cfg" run.dir="$TMP/$name" "$@" \
        >>"$TMP/$name.log" 2>&1 || { notok "$name failed: $(tail -2 "$TMP/$name.log" | tr '\n' '|')"; return 1; }
}
run a 2 "$TMP/a.ini" || exit 1
sed -e "s|^path = .*|path = $TMP/b.h5|" -e 's/^steps = 150/steps = 120/' \
    -e 's/^eval_every = 150/eval_every = 40/' "$TMP/a.ini" >"$TMP/b.ini"
cat >>"$TMP/b.ini" <<EOC
[continual]
init = $TMP/a/ckpt
original = $TMP/a.h5
EOC
run plain 2 "$TMP/b.ini" &&
    run replay 2 "$TMP/b.ini" continual.replay=0.5 &&
    run l2sp 2 "$TMP/b.ini" continual.l2sp=30 || exit 1
py "continual" "$TMP" <<'PY'
import json, sys
import h5py, numpy as np
from tap import ok
d = sys.argv[1]
rec = lambda n: list(map(json.loads, open(f"{d}/{n}/metrics.jsonl")))
ev = lambda n: [r for r in rec(n) if "val_loss" in r]
a_final = ev("a")[-1]["val_loss"]
p = ev("plain")
steps = [r for r in rec("plain") if "lr" in r]
ok("continued from A's checkpoint: step-0 A loss = A's final, fresh warm-up",
   abs(p[0]["val_loss_orig"] - a_final) < 1e-9 and abs(steps[0]["lr"] - 3e-3 / 10) < 1e-12 and
   steps[0]["step"] == 1,
   f"A loss {p[0]['val_loss_orig']:.6f} vs A's final {a_final:.6f}; first lr {steps[0]['lr']:.2e}")
ok("both validation losses logged at every evaluation; the new one falls",
   all("val_loss_orig" in r for r in p) and len(p) == 4 and p[-1]["val_loss"] < p[0]["val_loss"] - 0.2,
   f"B {p[0]['val_loss']:.3f} -> {p[-1]['val_loss']:.3f}, A {p[0]['val_loss_orig']:.3f} -> {p[-1]['val_loss_orig']:.3f}")
rise = lambda n: ev(n)[-1]["val_loss_orig"] - ev(n)[0]["val_loss_orig"]
ok("replay of A (half of each batch): the A loss rises less (or falls more) than without",
   rise("replay") < rise("plain") - 0.02,
   f"A rises {rise('replay'):+.3f} with replay, {rise('plain'):+.3f} without; B ends {ev('replay')[-1]['val_loss']:.3f} vs {p[-1]['val_loss']:.3f}")
def dist(n):
    with h5py.File(f"{d}/{n}/model.h5") as f, h5py.File(f"{d}/a/model.h5") as g:
        return sum(float(((f["model"][k][()] - g["model"][k][()]) ** 2).sum()) for k in f["model"]) ** 0.5
ok("L2-SP keeps the weights closer to where they started",
   dist("l2sp") < 0.8 * dist("plain"),
   f"|w - w0| {dist('l2sp'):.3f} with l2sp = 30, {dist('plain'):.3f} without; A rises {rise('l2sp'):+.3f}")
PY
run r1 1 "$TMP/b.ini" continual.replay=0.25 train.steps=20 train.micro_batch=16 &&
    run r2 2 "$TMP/b.ini" continual.replay=0.25 train.steps=20 &&
    run s2 2 "$TMP/b.ini" continual.replay=0.25 continual.l2sp=5 train.steps=20 &&
    run s2r 2 "$TMP/b.ini" continual.replay=0.25 continual.l2sp=5 train.steps=20 train.stop_at=8 checkpoint.every=4 &&
    run s2r 2 "$TMP/b.ini" continual.replay=0.25 continual.l2sp=5 train.steps=20 checkpoint.every=4 &&
    py "replay ranks" "$TMP" <<'PY'
import json, sys
from tap import ok
d = sys.argv[1]
loss = lambda n: [r["loss"] for r in map(json.loads, open(f"{d}/{n}/metrics.jsonl")) if "loss" in r and "lr" in r]
a, b = loss("r1"), loss("r2")
worst = max(abs(x - y) for x, y in zip(a, b))
ok("replay: the same batches on 1 and 2 ranks", len(a) == 20 and worst < 2e-6, f"worst {worst:.1e}")
s, r = loss("s2"), loss("s2r")
log = open(f"{d}/s2r.log").read()
ok("replay + L2-SP stopped at step 8 and resumed: the straight run's losses exactly",
   s == r and len(s) == 20 and " at step 8," in log, f"{len(r)} steps")
PY
expect_error "replay without the original corpus" "replay" "original" -- \
    "$ZEROPT" train -c "$TMP/a.ini" continual.replay=0.5 run.dir="$TMP/e1"
expect_error "L2-SP without init" "l2sp" "init" -- \
    "$ZEROPT" train -c "$TMP/a.ini" continual.l2sp=1 run.dir="$TMP/e2"
"$ZEROPT" tokenizer train --input $src/debian --separator % --vocab-size 300 --output "$TMP/tok2.json" >/dev/null 2>&1 &&
    "$ZEROPT" prep --tokenizer "$TMP/tok2.json" --input $src/debian --separator % --val-fraction 0.05 \
        --output "$TMP/c.h5" >/dev/null 2>&1
expect_error "an original corpus of another tokenizer" "c.h5" "same tokenizer" -- \
    "$ZEROPT" train -c "$TMP/b.ini" continual.original="$TMP/c.h5" run.dir="$TMP/e3"
expect_error "init that is not a checkpoint" "b.ini" "neither a zeropt checkpoint nor a model.h5" -- \
    "$ZEROPT" train -c "$TMP/b.ini" continual.init="$TMP/b.ini" run.dir="$TMP/e4"
