#!/usr/bin/env bash
# Continual pretraining, the README's recipe end to end: import a published
# BERT (tests/fixtures/hf_bert_tok: transformers' save_pretrained with its
# WordPiece tokenizer), prep a new corpus with the model's own tokenizer,
# train from the import with a fresh warm-up, export with the tokenizer, use
# the export. The checks: the run starts from the imported weights (it moves
# them a little, where a fresh init is unrelated), the loss falls, the export
# carries a tokenizer that gives the original's ids, and fill-mask and
# export → import give back the trained tensors.
. "$(dirname "$0")/../lib/lib.sh"
plan 8
F=tests/fixtures/hf_bert_tok
export OMP_NUM_THREADS=1
"$ZEROPT" ckpt import --from $F --out "$TMP/start.h5" --ini "$TMP/model.ini" >"$TMP/log" 2>&1 &&
    "$ZEROPT" prep --tokenizer $F/tokenizer.json --input /usr/share/games/fortunes/science --separator % \
        --val-fraction 0.1 --output "$TMP/corpus.h5" >>"$TMP/log" 2>&1 ||
    bail "import and prep: $(tail -2 "$TMP/log" | tr '\n' '|')"
cat >"$TMP/continual.ini" <<EOF
include = model.ini
[data]
path = $TMP/corpus.h5
seq_len = 32
val_batches = 1
[train]
micro_batch = 16
steps = 30
lr = 1e-3
warmup = 10
eval_every = 30
log_every = 10
[run]
dir = $TMP/run
peak_tflops = 1
[checkpoint]
resume = $TMP/start.h5
EOF
timeout -k 5 300 "$ZEROPT" train -c "$TMP/continual.ini" >"$TMP/train.log" 2>&1 &&
    ok "train from the import: $(grep -m1 -i 'resum.*step\|resum.*from' "$TMP/train.log" | cut -c1-120)" ||
    bail "train: $(tail -3 "$TMP/train.log" | tr '\n' '|')"
"$ZEROPT" ckpt export "$TMP/run/ckpt" --format safetensors --out "$TMP/exp" >"$TMP/exp.log" 2>&1 &&
    [ -s "$TMP/exp/tokenizer.json" ] && [ -s "$TMP/exp/tokenizer_config.json" ] &&
    [ -s "$TMP/exp/special_tokens_map.json" ] &&
    ok "export writes the tokenizer the corpus stores: $(cut -c1-150 "$TMP/exp.log")" ||
    notok "export: $(tail -2 "$TMP/exp.log" | tr '\n' '|')"
"$ZEROPT" ckpt import --from "$TMP/exp" --out "$TMP/back.h5" >/dev/null 2>&1
"$ZEROPT" fill-mask "$TMP/exp" --text "The [MASK] of the universe." --json >"$TMP/fill.json" 2>"$TMP/fill.err" ||
    notok "fill-mask on the export: $(tail -1 "$TMP/fill.err")"
text="Résumé: the café's 3 λ-calculus papers, 日本語 too."
a=$("$ZEROPT" tokenizer encode --tokenizer $F/tokenizer.json --text "$text" 2>&1)
b=$("$ZEROPT" tokenizer encode --tokenizer "$TMP/exp/tokenizer.json" --text "$text" 2>&1)
[ -n "$a" ] && [ "$a" = "$b" ] && ok "the exported tokenizer.json gives the original's ids  # $a" ||
    notok "exported tokenizer: '$a' vs '$b'"
py "continual checks" "$TMP" <<'PY'
import json, sys
import h5py, numpy as np
d = sys.argv[1]
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
start = h5py.File(f"{d}/start.h5", "r")["model"]
latest = open(f"{d}/run/ckpt/latest").read().strip()
end = h5py.File(f"{d}/run/ckpt/{latest}", "r")["model"]
names = [n for n in start if n in end]
num = sum(float(np.sum((end[n][()] - start[n][()]) ** 2)) for n in names)
den = sum(float(np.sum(start[n][()] ** 2)) for n in names)
drift = (num / den) ** 0.5
ok("the run continues from the imported weights (moved, not replaced)", 0 < drift < 0.6,
   f"relative change {drift:.4f} over {len(names)} tensors (an unrelated init of the same scale: ~1.4)")
steps = [json.loads(l) for l in open(f"{d}/run/metrics.jsonl") if '"loss"' in l and '"step"' in l]
train = [s for s in steps if "val_loss" not in s and s.get("event", "step") == "step"]
first, last = train[0]["loss"], train[-1]["loss"]
ok("the loss falls on the new corpus", last < first - 0.3, f"{first:.3f} -> {last:.3f} over {train[-1]['step']} steps")
lrs = [s["lr"] for s in train if "lr" in s]
ok("a fresh warm-up: the learning rate starts low and rises", len(lrs) > 1 and lrs[0] < lrs[1],
   ", ".join(f"{x:.1e}" for x in lrs[:3]))
back = h5py.File(f"{d}/back.h5", "r")["model"]
same = all(np.array_equal(back[n][()], end[n][()]) for n in end)
ok("export -> import gives the trained tensors bit for bit", same, f"{len(list(end))} tensors")
f = json.load(open(f"{d}/fill.json"))
ok("fill-mask on the export answers with 5 guesses", len(f["masks"]) == 1 and len(f["masks"][0]["ids"]) == 5,
   " ".join(f["masks"][0]["tokens"]))
PY
