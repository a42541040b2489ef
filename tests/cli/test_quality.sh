#!/usr/bin/env bash
# The quality classifier against fastText (tests/fixtures/fasttext_*.bin and
# fasttext_ref.json, made by tests/ref/make_fasttext_fixture.py with the
# `fasttext` package) on the labelled fortunes of tests/lib/fortune_labels.py:
# fastText's models load and give its top-2 labels on every test line with
# probabilities within 1e-4 (measured 2026-12-07: identical lists, 6.4e-8);
# zeropt's own training reaches fastText's precision@1 within 1 point at the
# same settings (measured: 0.5881 against 0.5863 (mean of 5 fastText seeds),
# 0.5582 against 0.5591); its .bin reads back to the same predictions and is
# byte-identical run to run. (That fastText loads zeropt's .bin and predicts
# the same is tests/ref/check_fasttext_export.py's, which needs the package:
# 2026-12-07, both settings, identical label lists, 6.5e-8.) Bad files are
# refused with one line. prep with the classifier (--quality) drops made-up
# junk and keeps /quality scores, the best fraction on request; its span
# detector (--spans) writes /spans that salient-span masking trains on.
. "$(dirname "$0")/../lib/lib.sh"
plan 17
F=tests/fixtures
sha=$($PY "$LIB/fortune_labels.py" "$TMP") || bail "fortune_labels.py failed"
want=$($PY -c "import json; print(json.load(open('$F/fasttext_ref.json'))['data_sha256'])")
[ "$sha" = "$want" ] || bail "the labelled fortunes differ from the fixture's (sha256 $sha, fixture $want): Debian's fortunes changed; regenerate with tests/ref/make_fasttext_fixture.py"
sed 's/__label__[a-z]* //' "$TMP/test.txt" >"$TMP/texts.txt"
for m in softmax ova; do
    if "$ZEROPT" quality predict --model $F/fasttext_$m.bin --input "$TMP/texts.txt" --k 2 >"$TMP/pred_$m.txt" 2>"$TMP/err"; then
        py "$m parity" "$F/fasttext_ref.json" "$m" "$TMP/pred_$m.txt" <<'PY'
import json, sys
from tap import ok
ref = json.load(open(sys.argv[1]))["models"][sys.argv[2]]["predictions"]
ours = [l.split() for l in open(sys.argv[3])]
differ = sum(1 for r, o in zip(ref, ours) if [x[0] for x in r] != o[0::2])
worst = max(abs(x[1] - float(p)) for r, o in zip(ref, ours) for x, p in zip(r, o[1::2]))
ok(f"fastText's {sys.argv[2]} model: its top-2 labels on every test line, probabilities within 1e-4",
   len(ours) == len(ref) == 670 and differ == 0 and worst < 1e-4,
   f"{len(ours)} lines, {differ} label lists differ, worst probability difference {worst:.1e}")
PY
    else
        notok "quality predict with fastText's $m model: $(head -1 "$TMP/err")"
    fi
done
p1() { "$ZEROPT" quality test --model "$1" --input "$TMP/test.txt" | awk '/^P@1/ {print $2}'; }
train() { "$ZEROPT" quality train --input "$TMP/train.txt" --output "$@" >/dev/null 2>"$TMP/err"; }
if train "$TMP/a.bin" --epoch 25 && train "$TMP/b.bin" --epoch 25 --word-ngrams 2 --bucket 5000 --dim 12 --lr 0.5; then
    py "precision" "$F/fasttext_ref.json" "$(p1 "$TMP/a.bin")" "$(p1 "$TMP/b.bin")" <<'PY'
import json, sys
from tap import ok
ref = json.load(open(sys.argv[1]))["precision_at_1"]
for name, ours in (("defaults-25", float(sys.argv[2])), ("bigrams", float(sys.argv[3]))):
    theirs = sum(ref[name]["fasttext"]) / len(ref[name]["fasttext"])
    ok(f"zeropt's training ({name}: {ref[name]['settings']}): precision@1 within 1 point of fastText's",
       abs(ours - theirs) < 0.01, f"{ours:.4f} against fastText's {theirs:.4f} (mean of 5 seeds)")
PY
else
    notok "quality train: $(head -1 "$TMP/err")"
    notok "quality train (bigrams): not run"
fi
# zeropt's own file: read back, the same predictions; the same bytes run to run
train "$TMP/c.bin" --epoch 3 --dim 8 --word-ngrams 2 --bucket 3000 --minn 3 --maxn 4 --loss ova &&
    train "$TMP/d.bin" --epoch 3 --dim 8 --word-ngrams 2 --bucket 3000 --minn 3 --maxn 4 --loss ova
if cmp -s "$TMP/c.bin" "$TMP/d.bin"; then ok "training is deterministic: the same .bin bytes twice"; else notok "two trainings gave different .bin files"; fi
"$ZEROPT" quality predict --model "$TMP/c.bin" --input "$TMP/texts.txt" --k 4 >"$TMP/pc.txt" 2>"$TMP/err" &&
    py "round trip" "$TMP/c.bin" <<'PY'
import struct, sys
from tap import ok
b = open(sys.argv[1], "rb").read()
magic, version = struct.unpack_from("<ii", b, 0)
args = struct.unpack_from("<12id", b, 8)
ok("zeropt's .bin: fastText's header (magic, version 12, supervised args)",
   magic == 793712314 and version == 12 and args[0] == 8 and args[5] == 2 and args[6] == 4 and
   args[7] == 3 and args[8] == 3000 and args[9] == 3 and args[10] == 4,
   f"magic {magic}, version {version}, dim {args[0]}, wordNgrams {args[5]}, loss {args[6]}, model {args[7]}")
PY
[ -s "$TMP/pc.txt" ] && [ "$(wc -l <"$TMP/pc.txt")" = 670 ] && ok "zeropt's own model predicts for every line" ||
    notok "zeropt's own model: $(head -1 "$TMP/err")"
head -c 600000 $F/fasttext_softmax.bin >"$TMP/trunc.bin"
expect_error "a truncated .bin" "trunc.bin" "truncated" -- "$ZEROPT" quality predict --model "$TMP/trunc.bin" --input "$TMP/texts.txt"
expect_error "not a fastText file" "texts.txt" "not a fastText model" -- "$ZEROPT" quality test --model "$TMP/texts.txt" --input "$TMP/test.txt"
sed 's/__label__[a-z]* //' "$TMP/train.txt" >"$TMP/nolabels.txt"
expect_error "training text without labels" "nolabels.txt" "no labels" -- "$ZEROPT" quality train --input "$TMP/nolabels.txt" --output "$TMP/x.bin"
# prep with the classifier and the span detector: science fortunes against
# made-up keyword junk; the junk is dropped, the scores and spans are kept,
# and salient-span masking trains on the result
$PY - "$TMP" <<'PY' || bail "mixed corpus"
import random, sys
d, r = sys.argv[1], random.Random(5)
sci = [x.split() for x in open("/usr/share/games/fortunes/science").read().split("\n%\n") if x.split()]
words = [w.lower().strip(".,") for x in sci for w in x]
junk = lambda: " ".join(r.choice(words) for _ in range(r.randint(8, 30))) + " buy cheap click free now"
lab = [f"__label__hq {' '.join(x)}" for x in sci[:400]] + [f"__label__lq {junk()}" for _ in range(400)]
r.shuffle(lab)
open(f"{d}/labelled.txt", "w").write("\n".join(lab) + "\n")
docs = [("S", " ".join(x)) for x in sci[400:]] + [("J", junk()) for _ in range(200)]
r.shuffle(docs)
open(f"{d}/mixed.txt", "w").write("\n%\n".join(t for _, t in docs) + "\n")
open(f"{d}/kinds.txt", "w").write("".join(k for k, _ in docs))
PY
"$ZEROPT" tokenizer train --input "$TMP/mixed.txt" --separator % --vocab-size 400 --output "$TMP/tok.json" >/dev/null 2>&1 &&
    "$ZEROPT" quality train --input "$TMP/labelled.txt" --output "$TMP/q.bin" --epoch 10 --word-ngrams 2 --bucket 10000 --dim 16 >/dev/null 2>&1 &&
    out=$("$ZEROPT" prep --tokenizer "$TMP/tok.json" --input "$TMP/mixed.txt" --separator % --val-fraction 0.1 \
        --output "$TMP/mixed.h5" --quality "$TMP/q.bin" --quality-label hq --quality-min 0.5 --spans 2>&1) ||
    bail "prep with --quality: $(tail -2 <<<"$out" | tr '\n' '|')"
py "prep quality" "$TMP/mixed.h5" "$TMP/kinds.txt" "$out" <<'PY'
import sys, h5py
from tap import ok
f = h5py.File(sys.argv[1])
kinds, out = open(sys.argv[2]).read(), sys.argv[3]
n = len(f["doc_offsets"]) - 1 + len(f["val/doc_offsets"]) - 1
q = list(f["quality"][()]) + list(f["val/quality"][()])
ok("prep --quality-min 0.5: every junk document dropped, every science fortune kept, scores as /quality",
   n == kinds.count("S") and len(q) == n and min(q) >= 0.5 and f"{kinds.count('J')} documents dropped" in out,
   f"{n} kept of {len(kinds)}, lowest score kept {min(q):.3f}")
s = f["spans"][()]
ok("prep --spans: salient spans as /spans and /span_offsets (train and val)",
   len(s) > 100 and "val/spans" in f and f["span_offsets"][-1] == len(s) and (s[:, 0] < s[:, 1]).all(),
   f"{len(s)} spans in {len(f['doc_offsets']) - 1} training documents")
PY
out=$("$ZEROPT" prep --tokenizer "$TMP/tok.json" --input "$TMP/mixed.txt" --separator % --val-fraction 0 \
    --output "$TMP/top.h5" --quality "$TMP/q.bin" --quality-label hq --quality-top 0.25 2>&1)
n=$($PY -c "import h5py, sys; print(len(h5py.File(sys.argv[1])['doc_offsets']) - 1)" "$TMP/top.h5" 2>/dev/null)
[ "$n" = "$(( (425 + 3) / 4 ))" ] && ok "prep --quality-top 0.25: the best quarter kept  # $n of 425" ||
    notok "prep --quality-top 0.25 kept ${n:-?}: $(tail -1 <<<"$out")"
cat >"$TMP/sal.ini" <<EOC
[model]
vocab_size = 400
max_positions = 64
layers = 1
width = 32
heads = 2
[data]
path = $TMP/mixed.h5
seq_len = 64
val_batches = 1
[train]
micro_batch = 8
steps = 5
eval_every = 5
[mask]
scheme = salient
[run]
peak_tflops = 1
EOC
"$ZEROPT" train -c "$TMP/sal.ini" run.dir="$TMP/sal" >"$TMP/sal.log" 2>&1 && grep -q "eval *5 " "$TMP/sal.log" &&
    ok "salient-span masking trains on prep's spans" || notok "salient training: $(tail -2 "$TMP/sal.log" | tr '\n' '|')"
expect_error "prep --quality without its label" "--quality-label" -- \
    "$ZEROPT" prep --tokenizer "$TMP/tok.json" --input "$TMP/mixed.txt" --output "$TMP/x.h5" --quality "$TMP/q.bin"
# prep --clean: Gopher's rules (min_words lowered for fortunes), each counted
out=$("$ZEROPT" prep --tokenizer "$TMP/tok.json" --input /usr/share/games/fortunes/science \
    --input /usr/share/games/fortunes/people --separator % --output "$TMP/clean.h5" --clean \
    --clean-rule min_words=5 2>&1)
py "clean" "$out" "$TMP/clean.h5" <<'PY'
import re, sys, h5py
from tap import ok
out = sys.argv[1]
m = re.search(r"cleaning dropped (\d+) documents:((?: \w+ \d+)+)", out)
kept = len(h5py.File(sys.argv[2])["doc_offsets"]) - 1 + len(h5py.File(sys.argv[2])["val/doc_offsets"]) - 1
rules = dict(zip(m.group(2).split()[::2], map(int, m.group(2).split()[1::2]))) if m else {}
read = int(re.search(r"input file\(s\) of \d+ bytes, (\d+) documents", out).group(1))
ok("prep --clean: every document kept or dropped under one counted rule",
   m and int(m.group(1)) == sum(rules.values()) and int(m.group(1)) + kept == read and len(rules) == 10 and rules["stop_words"] > 0,
   f"{kept} kept, dropped {m.group(1) if m else '?'}: {rules}")
PY
# prep --dedup: 40 exact and 40 near copies (one word changed in 60+-word
# fortunes) of science fortunes appended, all found; originals kept
$PY - "$TMP" <<'PY' || bail "dedup corpus"
import random, sys
d, r = sys.argv[1], random.Random(3)
docs = [" ".join(x.split()) for x in open("/usr/share/games/fortunes/science").read().split("\n%\n") if len(x.split()) >= 60]
near = []
for x in docs[40:80]:
    w = x.split()
    w[len(w) // 2] = "zzzchanged"
    near.append(" ".join(w))
open(f"{d}/dups.txt", "w").write("\n%\n".join(docs + docs[:40] + near) + "\n")
open(f"{d}/ndocs", "w").write(str(len(docs)))
PY
out=$("$ZEROPT" prep --tokenizer "$TMP/tok.json" --input "$TMP/dups.txt" --separator % --val-fraction 0 \
    --output "$TMP/dups.h5" --dedup 2>&1)
kept=$($PY -c "import h5py, sys; print(len(h5py.File(sys.argv[1])['doc_offsets']) - 1)" "$TMP/dups.h5" 2>/dev/null)
grep -q "duplicates dropped: 40 exact, 40 near" <<<"$out" && [ "$kept" = "$(cat "$TMP/ndocs")" ] &&
    ok "prep --dedup: 40 exact and 40 near copies dropped, the originals kept  # $kept documents" ||
    notok "prep --dedup: kept ${kept:-?} of $(cat "$TMP/ndocs"): $(grep duplicates <<<"$out")"

