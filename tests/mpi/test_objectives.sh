#!/usr/bin/env bash
# The pretraining objectives end to end on a real corpus (fortunes, a
# 512-token BPE, salient spans from tests/lib/add_spans.py): whole-word, span
# and salient-span MLM train on 2 ranks and lower their loss; span masking
# with a linear rate schedule gives the same loss curve on 1, 2 and 4 ranks
# (the masks are a function of the global sample, not of the rank count);
# sequence contrastive learning: the loss and gradients through the
# cross-rank gather equal PyTorch's (tests/unit/test_contrastive under
# mpirun), MLM + contrastive trains and lowers InfoNCE, the same curve with
# gradient accumulation (the GradCache pass) on 1 rank as without it on 2,
# `zeropt eval` reports retrieval recall; sequence-length warm-up keeps the
# token budget, agrees across rank counts and resumes inside the warm-up
# exactly; bad combinations are refused with one line.
. "$(dirname "$0")/../lib/lib.sh"
. "$LIB/corpus.sh"
plan 16
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
# contrastive: the gather against PyTorch (rank 0 prints one TAP line)
out=$(timeout -k 5 120 mpirun -q -np 2 "$(dirname "$ZEROPT")/tests/test_contrastive" 2>&1)
line=$(grep -m1 -E '^(not )?ok - ' <<<"$out")
if [ -n "$line" ]; then echo "$line"; else notok "test_contrastive under mpirun -np 2: $(tail -2 <<<"$out" | tr '\n' '|')"; fi
con() { # name ranks overrides...
    local name=$1 n=$2
    shift 2
    timeout -k 5 300 mpirun -q -np "$n" "$ZEROPT" train -c "$TMP/mlm.ini" run.dir="$TMP/$name" \
        data.packing=pad objective.contrastive=1.0 objective.temperature=0.1 \
        objective.retrieval_pairs=64 "$@" >"$TMP/$name.log" 2>&1
}
if con con 2 train.steps=60 train.eval_every=30; then
    py "contrastive trains" "$TMP/con/metrics.jsonl" <<'PY'
import json, sys
from tap import ok
rs = list(map(json.loads, open(sys.argv[1])))
c = [r["con_loss"] for r in rs if "con_loss" in r]
ev = [r for r in rs if "recall_1" in r]
first, last = sum(c[:10]) / 10, sum(c[-10:]) / 10
ok("MLM + contrastive on 2 ranks: InfoNCE falls, MLM and retrieval logged",
   len(c) == 60 and last < first - 0.1 and len(ev) == 3 and all("val_acc" in r for r in ev),
   f"InfoNCE {first:.3f} -> {last:.3f}; recall@1 {ev[0]['recall_1']:.3f} -> {ev[-1]['recall_1']:.3f}")
PY
else
    notok "contrastive run failed: $(tail -2 "$TMP/con.log" | tr '\n' '|')"
fi
# the same global batch as 1 rank x 2 micro-batches (the forward-only pass
# first), as 2 ranks x 1 at ZeRO-3 and as 2 ranks x 2 at ZeRO-2, dropout on
if con ga1 1 train.micro_batch=8 model.dropout=0.1 train.steps=20 &&
    con ga2 2 train.micro_batch=8 model.dropout=0.1 train.steps=20 zero.stage=3 &&
    con ga3 2 train.micro_batch=4 model.dropout=0.1 train.steps=20 zero.stage=2; then
    py "gradcache" "$TMP" <<'PY'
import json, sys
from tap import ok
d = sys.argv[1]
curve = lambda n: [r["loss"] for r in map(json.loads, open(f"{d}/{n}/metrics.jsonl")) if "con_loss" in r]
a, b, c = curve("ga1"), curve("ga2"), curve("ga3")
worst = max(max(abs(x - y) for x, y in zip(a, o)) for o in (b, c))
ok("contrastive: 1 rank x 2 micro-batches = 2 ranks x 1 (ZeRO-3) = 2 ranks x 2 (ZeRO-2)",
   len(a) == len(b) == len(c) == 20 and worst < 2e-5, f"worst difference {worst:.2e} over {len(a)} steps")
PY
else
    notok "contrastive accumulation runs failed: $(tail -2 "$TMP/ga1.log" "$TMP/ga2.log" | tr '\n' '|')"
fi
if timeout -k 5 120 mpirun -q -np 2 "$ZEROPT" eval -c "$TMP/mlm.ini" --model "$TMP/con/model.h5" \
    data.packing=pad objective.retrieval_pairs=64 >"$TMP/eval.json" 2>"$TMP/eval.err"; then
    py "eval retrieval" "$TMP/eval.json" "$TMP/con/metrics.jsonl" <<'PY'
import json, math, sys
from tap import ok
e = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
last = [r for r in map(json.loads, open(sys.argv[2])) if "recall_1" in r][-1]
ok("zeropt eval: perplexity and retrieval recall@1/@10 of the trained model",
   abs(e["recall_1"] - last["recall_1"]) < 1e-12 and e["retrieval_pairs"] == 64 and
   abs(e["val_ppl"] - math.exp(e["val_loss"])) < 1e-6 * e["val_ppl"],
   f"recall@1 {e['recall_1']:.3f} (training's last eval {last['recall_1']:.3f}), @10 {e['recall_10']:.3f}")
PY
else
    notok "zeropt eval failed: $(tail -2 "$TMP/eval.err" | tr '\n' '|')"
fi
# sequence-length warm-up: 1 and 2 ranks agree; a run stopped inside the
# warm-up and resumed gives the straight run's losses exactly
cur() { # name ranks overrides...
    local name=$1 n=$2
    shift 2
    timeout -k 5 300 mpirun -q -np "$n" "$ZEROPT" train -c "$TMP/mlm.ini" run.dir="$TMP/$name" \
        curriculum.seq_start=16 curriculum.seq_steps=20 "$@" >>"$TMP/$name.log" 2>&1
}
if cur cur1 1 train.micro_batch=16 && cur cur2 2 && cur cur2r 2 train.stop_at=9 checkpoint.every=3 &&
    cur cur2r 2 checkpoint.every=3; then
    py "curriculum" "$TMP" <<'PY'
import json, sys
from tap import ok
d = sys.argv[1]
rec = lambda n: [r for r in map(json.loads, open(f"{d}/{n}/metrics.jsonl")) if "loss" in r and "step" in r]
a, b, r = rec("cur1"), rec("cur2"), rec("cur2r")
lens = [x.get("seq_len", 64) for x in b]
worst = max(abs(x["loss"] - y["loss"]) for x, y in zip(a, b))
budget = 40 * 16 * 64
ok("sequence-length warm-up: lengths 16 -> 64, the token budget kept, 1 rank = 2 ranks",
   lens[0] == 16 and lens == sorted(lens) and lens[-1] == 64 and len(b) > 40 and
   b[-1]["tokens"] >= budget > b[-2]["tokens"] and worst < 2e-6,
   f"{len(b)} steps for {budget} tokens; lengths {lens[0]}..{lens[-1]}; worst difference {worst:.1e}")
resumed = "resume: " in open(f"{d}/cur2r.log").read() and " at step 9," in open(f"{d}/cur2r.log").read()
same = [x["loss"] for x in r] == [x["loss"] for x in b] and [x["step"] for x in r][8:10] == [9, 10]
ok("stopped at step 9 inside the warm-up and resumed: the straight run's losses exactly",
   same and resumed, f"{len(r)} steps, resumed: {resumed}")
PY
else
    notok "curriculum runs failed: $(tail -2 "$TMP"/cur*.log | tr '\n' '|')"
    notok "curriculum resume (runs failed)"
fi
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
expect_error "contrastive on a decoder" "contrastive" "MLM encoder" -- \
    "$ZEROPT" train -c "$TMP/mlm.ini" model.arch=decoder objective.contrastive=1 run.dir="$TMP/e4"
expect_error "contrastive with an odd global batch" "global_batch = 15" "pairs" -- \
    "$ZEROPT" train -c "$TMP/mlm.ini" train.global_batch=15 train.micro_batch=15 objective.contrastive=1 run.dir="$TMP/e5"
expect_error "sequence-length warm-up longer than seq_len" "seq_start = 100" "seq_len = 64" -- \
    "$ZEROPT" train -c "$TMP/mlm.ini" curriculum.seq_start=100 curriculum.seq_steps=5 run.dir="$TMP/e6"
