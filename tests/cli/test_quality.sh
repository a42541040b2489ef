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
# refused with one line.
. "$(dirname "$0")/../lib/lib.sh"
plan 10
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
