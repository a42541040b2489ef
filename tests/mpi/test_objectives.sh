#!/usr/bin/env bash
# The pretraining objectives end to end on a real corpus (fortunes, a
# 512-token BPE, salient spans from tests/lib/add_spans.py): whole-word, span
# and salient-span MLM train on 2 ranks and lower their loss; span masking
# with a linear rate schedule gives the same loss curve on 1, 2 and 4 ranks
# (the masks are a function of the global sample, not of the rank count);
# bad combinations are refused with one line.
. "$(dirname "$0")/../lib/lib.sh"
. "$LIB/corpus.sh"
plan 7
make_corpus 512 || exit 1
$PY "$LIB/add_spans.py" "$TMP/corpus.h5" >"$TMP/spans.log" 2>&1 || bail "add_spans.py: $(tail -1 "$TMP/spans.log")"
cat >"$TMP/mlm.ini" <<EOC
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
path = $TMP/corpus.h5
seq_len = 64
val_batches = 2
[train]
global_batch = 16
steps = 40
lr = 3e-3
warmup = 4
eval_every = 20
log_every = 10
[run]
peak_tflops = 1
EOC
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
run() { # name ranks overrides...
    local name=$1 n=$2
    shift 2
    timeout -k 5 300 mpirun -q -np "$n" "$ZEROPT" train -c "$TMP/mlm.ini" run.dir="$TMP/$name" "$@" \
        >"$TMP/$name.log" 2>&1
}
for scheme in word span salient; do
    if run "$scheme" 2 mask.scheme=$scheme mask.replace_unit=span; then
        py "$scheme trains" "$TMP/$scheme/metrics.jsonl" "$scheme" <<'PY'
import json, sys
from tap import ok
ev = [r for r in map(json.loads, open(sys.argv[1])) if "val_loss" in r]
ok(f"{sys.argv[2]} masking: MLM on 2 ranks lowers the validation loss",
   len(ev) >= 2 and ev[-1]["val_loss"] < ev[0]["val_loss"] - 0.3,
   f"{ev[0]['val_loss']:.3f} -> {ev[-1]['val_loss']:.3f}")
PY
    else
        notok "$scheme masking run failed: $(tail -2 "$TMP/$scheme.log" | tr '\n' '|')"
    fi
done
RANKS="1 2 4"
[ "${ZEROPT_TEST_QUICK:-0}" = 1 ] && RANKS="1 2"
fails=0
for n in $RANKS; do
    run "sched-$n" "$n" mask.scheme=span mask.schedule=linear mask.rate_end=0.4 \
        train.micro_batch=$((16 / n)) || { fails=1; notok "span run on $n ranks failed: $(tail -2 "$TMP/sched-$n.log" | tr '\n' '|')"; }
done
[ $fails = 0 ] && py "rank counts" "$TMP" $RANKS <<'PY'
import json, sys
from tap import ok
d, ranks = sys.argv[1], sys.argv[2:]
curve = lambda n: [r["loss"] for r in map(json.loads, open(f"{d}/sched-{n}/metrics.jsonl")) if "loss" in r and "step" in r]
base = curve(ranks[0])
worst = max(max(abs(a - b) for a, b in zip(base, curve(n))) for n in ranks[1:])
ok(f"span masking with a rate schedule: the same loss curve on {', '.join(ranks)} ranks",
   worst < 2e-6 and len(base) >= 4, f"worst difference {worst:.2e} over {len(base)} logged steps")
PY
[ $fails = 0 ] || notok "span masking at several rank counts (a run failed)"
# refusals, one line each
$PY "$LIB/bytes_corpus.py" "$TMP/bytes.h5" /usr/share/games/fortunes/fortunes >/dev/null || bail "byte corpus"
expect_error "word masking without the corpus's tokenizer" "bytes.h5" "scheme = word" "tokenizer" -- \
    "$ZEROPT" train -c "$TMP/mlm.ini" data.path="$TMP/bytes.h5" model.vocab_size=512 mask.scheme=word run.dir="$TMP/e1"
$PY - "$TMP/corpus.h5" "$TMP/nospans.h5" <<'PY'
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    for k in ("spans", "span_offsets", "val/spans", "val/span_offsets"):
        del f[k]
PY
expect_error "salient masking on a corpus without spans" "nospans.h5" "salient" "/spans" -- \
    "$ZEROPT" train -c "$TMP/mlm.ini" data.path="$TMP/nospans.h5" mask.scheme=salient run.dir="$TMP/e2"
expect_error "replace_mask + replace_random over 1" "replace_mask + replace_random" -- \
    "$ZEROPT" train -c "$TMP/mlm.ini" mask.replace_mask=0.8 mask.replace_random=0.3 run.dir="$TMP/e3"
