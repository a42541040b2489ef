#!/usr/bin/env bash
# bench/quality_bench.sh — the quality classifier against the fasttext package
# in the same run: training seconds and predictions per second (one thread
# each) on the labelled fortunes (tests/lib/fortune_labels.py) repeated to
# 50k lines, and precision@1 of both at the same settings. FT_PY names a
# Python with `fasttext` (default ~/venv-ref/bin/python). Writes
# bench/results/quality-<stamp>.json and a line in bench/RESULTS.md.
#   bash bench/quality_bench.sh      (make bench-quality)
set -eu
. bench/lib.sh
FT_PY=${FT_PY:-$HOME/venv-ref/bin/python}
"$FT_PY" -c "import fasttext" 2>/dev/null ||
    { echo "bench/quality_bench.sh: $FT_PY has no fasttext (pip install fasttext-wheel; FT_PY=...)" >&2; exit 1; }
bench_workdir
bench_threads 1
$PY tests/lib/fortune_labels.py "$W" >/dev/null
for i in $(seq 15); do cat "$W/train.txt"; done >"$W/train15.txt"
sed 's/__label__[a-z]* //' "$W/test.txt" >"$W/t1.txt"
for i in $(seq 75); do cat "$W/t1.txt"; done >"$W/texts.txt"
args="--epoch 5 --word-ngrams 2 --bucket 200000 --dim 50"
t0=$(date +%s.%N)
"$Z" quality train --input "$W/train15.txt" --output "$W/z.bin" $args >/dev/null
t1=$(date +%s.%N)
"$Z" quality predict --model "$W/z.bin" --input "$W/texts.txt" >"$W/zp.txt"
t2=$(date +%s.%N)
zp1=$("$Z" quality test --model "$W/z.bin" --input "$W/test.txt" | awk '/^P@1/ {print $2}')
"$FT_PY" - "$W" "$stamp" "$(nproc --all) cores, $cpu" "$t0" "$t1" "$t2" "$zp1" <<'PY'
import json, sys, time
import fasttext
W, stamp, machine = sys.argv[1:4]
zt, zpred, zp1 = float(sys.argv[5]) - float(sys.argv[4]), float(sys.argv[6]) - float(sys.argv[5]), float(sys.argv[7])
t = time.time()
m = fasttext.train_supervised(f"{W}/train15.txt", epoch=5, wordNgrams=2, bucket=200000, dim=50, thread=1, verbose=0)
ft = time.time() - t
lines = [l.rstrip("\n") + "\n" for l in open(f"{W}/texts.txt")]
t = time.time()
m.f.multilinePredict(lines, 1, 0.0, "strict")  # the whole list in one call: no per-line Python cost
fpred = time.time() - t
fp1 = m.test(f"{W}/test.txt")[1]
n = len(lines)
res = dict(stamp=stamp, machine=machine, lines=n, zeropt=dict(train_s=zt, predict_per_s=n / zpred, p1=zp1),
           fasttext=dict(train_s=ft, predict_per_s=n / fpred, p1=fp1))
json.dump(res, open(f"bench/results/quality-{stamp}.json", "w"), indent=1)
line = (f"\n### {stamp} — quality classifier against fasttext 0.9.2 (one thread each) — {machine}\n\n"
        f"Labelled fortunes x15 (40k lines) for training (dim 50, word bigrams, bucket 200k, 5 epochs); {n} lines predicted "
        f"(zeropt: the `quality predict` command, file in, labels out; fasttext: its multilinePredict over the list, one call).\n\n"
        f"| | train s | predictions/s | P@1 |\n|---|---|---|---|\n"
        f"| zeropt | {zt:.2f} | {n / zpred:.0f} | {zp1:.4f} |\n| fasttext | {ft:.2f} | {n / fpred:.0f} | {fp1:.4f} |\n"
        f"| ratio | {ft / zt:.2f}x faster | {(n / zpred) / (n / fpred):.2f}x | |\n")
open("bench/RESULTS.md", "a").write(line)
print(line)
PY
