#!/usr/bin/env bash
# A model with more units than any fixed table of requests — 82 (80 thin
# blocks, the embeddings, the head) — trains at every ZeRO stage on 2 ranks
# with ZEROPT_FAULT=comm-slow: MPI_Test never reports completion (MPI allows
# that), so every reduction and prefetch completes only when zeropt waits
# for it, the worst case for the requests it keeps in flight. Each curve
# equals the same model's at stage 0 without the fault (gradient
# accumulation 2, overlap on); measured 2026-12-01: identical to the printed
# precision, tolerance 2e-07 as in test_zero.
. "$(dirname "$0")/../lib/lib.sh"
plan 5
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null ||
    bail "byte corpus"
cat >"$TMP/cfg.ini" <<EOC
[model]
vocab_size = 262
max_positions = 16
layers = 80
width = 16
heads = 2
ffn = 32
[data]
path = $TMP/corpus.h5
seq_len = 16
val_batches = 1
[train]
micro_batch = 2
global_batch = 8
steps = 4
warmup = 2
EOC
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
run() { # name stage [env...]
    local name=$1 st=$2; shift 2
    env "$@" timeout -k 5 120 mpirun -q -np 2 "$ZEROPT" train -c "$TMP/cfg.ini" zero.stage=$st \
        checkpoint.every=-1 run.peak_tflops=1 run.dir="$TMP/$name" >"$TMP/$name.log" 2>&1
}
run ref 0 || bail "reference run (stage 0, no fault): $(tail -2 "$TMP/ref.log" | tr '\n' '|')"
units=$(sed -n 's/.*parameters, \([0-9]*\) units.*/\1/p' "$TMP/ref.log")
[ "${units:-0}" -ge 80 ] && ok "the model has $units units (>= 80)" || notok "units: '$units'"
for st in 0 1 2 3; do
    if ! run slow$st $st ZEROPT_FAULT=comm-slow; then
        notok "stage $st under comm-slow: $(grep -m2 -E 'rank|rror' "$TMP/slow$st.log" | tr '\n' '|')"
        continue
    fi
    py "stage $st curve" "$TMP" "$st" <<'PY'
import json, sys
from tap import ok
d, st = sys.argv[1], sys.argv[2]
curve = lambda run, k: [r[k] for r in map(json.loads, open(f"{d}/{run}/metrics.jsonl")) if k in r]
a, b = curve("ref", "loss") + curve("ref", "val_loss"), curve(f"slow{st}", "loss") + curve(f"slow{st}", "val_loss")
rel = max(abs(x - y) / abs(x) for x, y in zip(a, b)) if len(a) == len(b) == 6 else 1.0
ok(f"stage {st}: 82 units, 2 ranks, comm-slow: trains 4 steps, curve equals stage 0's", rel < 2e-7,
   f"max rel diff {rel:.1e} over 4 steps and 2 evaluations")
PY
done
