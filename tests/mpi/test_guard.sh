#!/usr/bin/env bash
# The divergence guard and the collective watchdog, on 2 ranks:
#   - a NaN gradient (ZEROPT_FAULT=nan-grad, step 3) skips that update on
#     every rank: the run ends normally, step 3 is marked skipped, and the
#     weights after step 3 are those after step 2, bit for bit; with
#     [guard] max_skips = 0 it stops with one line instead;
#   - a loss spike (ZEROPT_FAULT=loss-spike: step 20's update at 300 x lr)
#     hurts a run without the guard; with it, the run rewinds to the step-15
#     checkpoint, skips the data through the spike, and ends within 1 % of
#     the validation loss of a run that never saw the bad update; with
#     max_rewinds = 0 the spike ends the run with one line; the spiked
#     path's newer checkpoint is set aside (step_N.h5.rewound), never resumed;
#   - a rank that stalls (ZEROPT_FAULT=stall: rank 1 stops before step 3)
#     turns into an abort within the watchdog's limit, naming the collective,
#     the step and the rank, instead of a hang.
. "$(dirname "$0")/../lib/lib.sh"
plan 7
"$PY" "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null ||
    bail "corpus"
cat >"$TMP/cfg.ini" <<EOC
[model]
arch = decoder
norm = pre
vocab_size = 262
max_positions = 64
layers = 2
width = 48
heads = 3
dropout = 0
attn_dropout = 0
[data]
path = $TMP/corpus.h5
seq_len = 64
val_batches = 2
[train]
micro_batch = 4
global_batch = 8
steps = 40
lr = 3e-3
warmup = 5
eval_every = 20
log_every = 1
[checkpoint]
every = 5
keep_last = 0
[run]
peak_tflops = 1
EOC
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
run() { # name [overrides]: 2 ranks, ZeRO stage 2
    local name=$1; shift
    timeout -k 5 300 mpirun -q -np 2 "$ZEROPT" train -c "$TMP/cfg.ini" run.dir="$TMP/$name" \
        zero.stage=2 "$@" >"$TMP/$name.log" 2>"$TMP/$name.err" ||
        { notok "train $name: $(tail -2 "$TMP/$name.err" | tr '\n' '|')"; return 1; }
}

# NaN: skipped, counted, weights untouched
if ZEROPT_FAULT=nan-grad run nan train.steps=6 checkpoint.every=1; then
    py "skipped update" "$TMP" <<'PY'
import json, sys
import h5py, numpy as np
d = sys.argv[1]
recs = [json.loads(l) for l in open(f"{d}/nan/metrics.jsonl")]
steps = {r["step"]: r for r in recs if "loss" in r}
log = open(f"{d}/nan.log").read()
a, b = h5py.File(f"{d}/nan/ckpt/step_000002.h5"), h5py.File(f"{d}/nan/ckpt/step_000003.h5")
same = all(np.array_equal(a["model"][k][...], b["model"][k][...]) for k in a["model"])
c = h5py.File(f"{d}/nan/ckpt/step_000004.h5")
moved = not all(np.array_equal(b["model"][k][...], c["model"][k][...]) for k in b["model"])
good = (steps[3].get("skipped") == 1 and all("skipped" not in steps[s] for s in (1, 2, 4, 5, 6))
        and np.isfinite(steps[6]["loss"]) and "update skipped on every rank (1 of" in log)
print(("ok" if good and same and moved else "not ok") +
      f" - a NaN gradient skips step 3's update on both ranks: weights after step 3 equal step 2's ({same}), step 4 moves them ({moved}); steps 1-6 logged, step 3 marked skipped")
PY
fi
ZEROPT_FAULT=nan-grad expect_error "max_skips = 0: the NaN stops the run with one line" \
    "step 3: the gradient of" "lower [train] lr" -- \
    mpirun -q -np 2 "$ZEROPT" train -c "$TMP/cfg.ini" run.dir="$TMP/nanstop" guard.max_skips=0 \
    train.steps=5

# a spike: the damage without the guard, the rewind with it
guard="guard.spike_sigma=6 guard.window=8"
run clean && ZEROPT_FAULT=loss-spike run hurt && ZEROPT_FAULT=loss-spike run guarded $guard &&
    py "rewind" "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
def recs(n): return [json.loads(l) for l in open(f"{d}/{n}/metrics.jsonl")]
def val(n): return [r["val_loss"] for r in recs(n) if "val_loss" in r][-1]
def loss(n, s): return [r["loss"] for r in recs(n) if r.get("step") == s and "loss" in r]
clean, hurt, guarded = val("clean"), val("hurt"), val("guarded")
spike = loss("hurt", 21)[0] / loss("hurt", 20)[0]
print(("ok" if spike > 1.5 and hurt > 1.02 * clean else "not ok") +
      f" - the injected spike hurts an unguarded run: step 21's loss {spike:.1f}x step 20's, final val loss {hurt:.4f} vs {clean:.4f}")
rw = [r for r in recs("guarded") if "rewound_to" in r]
log = open(f"{d}/guarded.log").read()
steps = [r["step"] for r in recs("guarded") if "loss" in r and "rewound_to" not in r]
good = (len(rw) == 1 and rw[0]["step"] == 21 and rw[0]["rewound_to"] == 15 and
        "rewound to step 15, skipping 48 training sequences" in log and steps[-1] == 40 and
        abs(guarded - clean) / clean < 0.01)
print(("ok" if good else "not ok") +
      f" - the guard rewinds the spike at step 21 to step 15, skips its data, ends at val loss {guarded:.4f} vs {clean:.4f} clean ({100 * (guarded - clean) / clean:+.2f} %); rewinds {[(r['step'], r['rewound_to']) for r in rw]}")
import h5py, numpy as np
ck = f"{d}/guarded/ckpt"
bad, redo = h5py.File(f"{ck}/step_000020.h5.rewound"), h5py.File(f"{ck}/step_000020.h5")
differ = not all(np.array_equal(bad["model"][k][...], redo["model"][k][...]) for k in bad["model"])
latest = open(f"{ck}/latest").read().strip()
good = ("step_000020.h5 is from the path that spiked: set aside as" in log and differ and
        latest == "step_000040.h5")
print(("ok" if good else "not ok") +
      f" - the spiked path's step-20 checkpoint is set aside as step_000020.h5.rewound at the rewind (never resumed); the replayed step 20 differs from it ({differ}); latest names {latest}")
PY
ZEROPT_FAULT=loss-spike expect_error "max_rewinds = 0: the spike ends the run with one line" \
    "step 21: loss" "after 0 rewinds ([guard] max_rewinds = 0)" -- \
    mpirun -q -np 2 "$ZEROPT" train -c "$TMP/cfg.ini" run.dir="$TMP/norewind" $guard \
    guard.max_rewinds=0 train.steps=25

# a stalled rank: the watchdog aborts the job within its limit
t0=$(date +%s.%N)
ZEROPT_FAULT=stall timeout -k 5 120 mpirun -q -np 2 "$ZEROPT" train -c "$TMP/cfg.ini" \
    run.dir="$TMP/stall" run.collective_timeout=3 train.steps=6 >"$TMP/stall.log" 2>"$TMP/stall.err"
rc=$?
dt=$(echo "$(date +%s.%N) - $t0" | bc)
line=$(grep -m1 "watchdog" "$TMP/stall.err")
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ] && [ "$(echo "$dt < 30" | bc)" = 1 ] &&
    [[ "$line" == *"rank 0: watchdog: blocked"*"at step 3, more than [run] collective_timeout = 3 s"* ]]; then
    ok "a stalled rank: the watchdog aborts in ${dt%.*} s (limit 3 s): $line"
else
    notok "a stalled rank: exit $rc after ${dt%.*} s; stderr: $(head -3 "$TMP/stall.err" | tr '\n' '|')"
fi
