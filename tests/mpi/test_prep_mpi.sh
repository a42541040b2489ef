#!/usr/bin/env bash
# zeropt prep on many ranks (src/prep/prep.c): the same input gives the same
# corpus, byte for byte, at 1, 2 and 4 ranks, with files read in ranges
# (--chunk-bytes) by separator, blank-line and JSONL readers, cleaning,
# dedup, spans and the quality classifier on; the same as one rank reading
# each file whole. Planted duplicates (exact, near at known Jaccard levels,
# far) are found across ranks with recall >= 0.95 and no false merge below
# threshold - 0.1. Shards (--shard-tokens) and their index are the same at
# every rank count, hold the single file's documents in order, and training
# on the index gives the single file's loss curve exactly. Provenance rows
# point at each document's first line; --stats JSON accounts for every
# document. A bad input stops every rank with one line and leaves nothing.
. "$(dirname "$0")/../lib/lib.sh"
plan 12
F=/usr/share/games/fortunes
TOK=tests/fixtures/tokenizer_small.json
run() { local n=$1; shift; timeout -k 5 300 mpirun -q -np "$n" --oversubscribe "$ZEROPT" prep "$@"; }

# inputs: fortunes with repeats (exact duplicates across files and ranges),
# planted near and far copies, a blank-line text and JSONL
cat $F/science $F/computers >"$TMP/a.txt"
$PY - "$TMP" <<'PY' || bail "planting duplicates failed"
import random, sys, json
d = sys.argv[1]
rng = random.Random(5)
W, K = 120, 5
def shingles(w): return {tuple(w[i:i + K]) for i in range(len(w) - K + 1)}
base = [[f"w{rng.randrange(20000)}" for _ in range(W)] for _ in range(300)]
docs, truth = [], []   # truth: (copy index in docs, original index, jaccard)
for b in base: docs.append(" ".join(b))
for c in range(240):
    edits = 0 if c < 40 else 1 + c % 4 if c < 160 else 10 + c % 7
    w = list(base[c])
    for e in range(edits):
        w[(e * W) // (edits + 1) + rng.randrange(5)] = f"x{c}_{e}"
    j = len(shingles(w) & shingles(base[c])) / len(shingles(w) | shingles(base[c]))
    truth.append((len(docs), c, j))
    docs.append(" ".join(w))
order = list(range(len(docs)))       # copies after their originals, spread out
with open(f"{d}/planted.txt", "w") as f:
    for t in docs: f.write(t + "\n%\n")
json.dump(truth, open(f"{d}/truth.json", "w"))
with open(f"{d}/c.jsonl", "w") as f:
    for i in range(600):
        f.write(json.dumps({"text": " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "word"]) for _ in range(20 + i % 30)), "id": i}) + "\n")
PY
cat /usr/share/common-licenses/GPL-3 /usr/share/common-licenses/Apache-2.0 >"$TMP/b.txt"
common=(--tokenizer "$TOK" --separator % --clean --clean-rule min_words=5 --dedup --spans --val-fraction 0.05)
for n in 1 2 4; do
    run $n "${common[@]}" --input "$TMP/a.txt" --input "$TMP/planted.txt" --input $F/science --chunk-bytes 20K \
        --output "$TMP/t$n.h5" --stats "$TMP/t$n.json" >"$TMP/t$n.log" 2>&1 || bail "prep on $n ranks: $(tail -2 "$TMP/t$n.log" | tr '\n' '|')"
done
run 1 "${common[@]}" --input "$TMP/a.txt" --input "$TMP/planted.txt" --input $F/science --output "$TMP/whole.h5" >/dev/null 2>&1 ||
    bail "prep reading whole files failed"
cmp -s "$TMP/t1.h5" "$TMP/t2.h5" && cmp -s "$TMP/t1.h5" "$TMP/t4.h5" &&
    ok "separator text, cleaning, dedup and spans: the same corpus, byte for byte, at 1, 2 and 4 ranks  # $(grep -o '[0-9]* unit(s)' "$TMP/t4.log")" ||
    notok "separator text: the corpora differ between rank counts"
cmp -s "$TMP/t1.h5" "$TMP/whole.h5" && ok "files read in 20 KB ranges give the bytes of files read whole" ||
    notok "ranges and whole files give different corpora"
for n in 1 2 4; do
    run $n --tokenizer "$TOK" --input "$TMP/b.txt" --chunk-bytes 3K --output "$TMP/b$n.h5" >/dev/null 2>&1 &&
        run $n --tokenizer "$TOK" --format jsonl --input "$TMP/c.jsonl" --chunk-bytes 4K --dedup --output "$TMP/c$n.h5" >/dev/null 2>&1 ||
        bail "blank-line or JSONL prep on $n ranks failed"
done
run 1 --tokenizer "$TOK" --input "$TMP/b.txt" --output "$TMP/bw.h5" >/dev/null 2>&1
cmp -s "$TMP/b1.h5" "$TMP/b2.h5" && cmp -s "$TMP/b1.h5" "$TMP/b4.h5" && cmp -s "$TMP/b1.h5" "$TMP/bw.h5" &&
    cmp -s "$TMP/c1.h5" "$TMP/c2.h5" && cmp -s "$TMP/c1.h5" "$TMP/c4.h5" &&
    ok "blank-line text in 3 KB ranges and JSONL in 4 KB ranges: byte-identical at 1, 2 and 4 ranks" ||
    notok "blank-line or JSONL corpora differ between rank counts"

for n in 1 2 4; do
    run $n --tokenizer "$TOK" --separator % --dedup --input "$TMP/planted.txt" --chunk-bytes 16K --output "$TMP/p$n.h5" \
        >"$TMP/p$n.log" 2>&1 || bail "dedup on $n ranks: $(tail -1 "$TMP/p$n.log")"
done
cmp -s "$TMP/p1.h5" "$TMP/p2.h5" && cmp -s "$TMP/p1.h5" "$TMP/p4.h5" || notok "planted duplicates: the result differs between rank counts"
py "planted duplicates" "$TMP" <<'PY'
import sys, json, h5py, numpy as np
from tap import ok
d = sys.argv[1]
truth = json.load(open(f"{d}/truth.json"))
f = h5py.File(f"{d}/p4.h5")
prov = np.concatenate([f["provenance"][()], f["val/provenance"][()]])
# planted document k starts on line 2k + 1 of planted.txt
kept = {(int(r[1]) - 1) // 2 for r in prov}
near = [t for t in truth if t[2] >= 0.8 and t[2] < 1]
exact = [t for t in truth if t[2] == 1]
far = [t for t in truth if t[2] < 0.7]
rec = sum(t[0] not in kept for t in near) / len(near)
ok("planted duplicates (16 KB ranges on 1, 2, 4 ranks: the same corpus): exact copies all dropped, near ones (Jaccard >= 0.8) with recall >= 0.95, none below 0.7 merged, no original lost",
   all(t[0] not in kept for t in exact) and rec >= 0.95 and all(t[0] in kept for t in far) and all(k in kept for k in range(300)),
   f"exact {sum(t[0] not in kept for t in exact)}/{len(exact)}, near {rec:.3f} of {len(near)}, far merged {sum(t[0] not in kept for t in far)}/{len(far)}")
PY

py "provenance and stats" "$TMP" <<'PY'
import sys, json, h5py, numpy as np
from tap import ok
d = sys.argv[1]
f = h5py.File(f"{d}/t2.h5")
src = [s.decode() for s in f["sources"][()]]
bad, rows = 0, 0
for split in ("", "val/"):
    for s, line, off in f[split + "provenance"][()]:
        data = open(src[s], "rb").read()
        rows += 1
        # the line number and the offset agree, the offset is a line start, and not a separator
        bad += not (data[:off].count(b"\n") + 1 == line and (off == 0 or data[off - 1:off] == b"\n")
                    and not data[off:].startswith(b"%\n"))
n = len(f["doc_offsets"]) - 1 + len(f["val/doc_offsets"]) - 1
ok("provenance: every document's source, first line and byte offset agree with its file", bad == 0 and rows == n,
   f"{rows} rows, {bad} wrong")
st = [json.load(open(f"{d}/t{n}.json")) for n in (1, 2, 4)]
drop = lambda s: sum(s["dropped"]["cleaning"].values()) + s["dropped"]["exact_duplicates"] + s["dropped"]["near_duplicates"] + s["dropped"]["no_tokens"]
strip = lambda s: {k: v for k, v in s.items() if k not in ("seconds", "seconds_reading", "mb_per_s", "ranks", "output")}
w = st[0]["written"]
ok("--stats JSON: documents read = written + dropped by each rule, the same at 1, 2 and 4 ranks",
   st[0]["read"]["documents"] == w["documents"] + drop(st[0]) and strip(st[0]) == strip(st[1]) == strip(st[2])
   and w["train_tokens"] == len(f["tokens"]) and st[2]["ranks"] == 4,
   f"{st[0]['read']['documents']} read = {w['documents']} + {drop(st[0])}")
PY

# shards
for n in 1 2 4; do
    mkdir -p "$TMP/s$n"
    run $n "${common[@]}" --input "$TMP/a.txt" --input "$TMP/planted.txt" --input $F/science --chunk-bytes 20K \
        --shard-tokens 40K --output "$TMP/s$n/set.h5" >"$TMP/s$n.log" 2>&1 || bail "sharded prep on $n ranks: $(tail -1 "$TMP/s$n.log")"
done
same=1
for f in "$TMP"/s1/*; do b=$(basename "$f"); cmp -s "$f" "$TMP/s2/$b" && cmp -s "$f" "$TMP/s4/$b" || same=0; done
[ $same = 1 ] && [ "$(ls "$TMP/s1" | wc -l)" -gt 3 ] && [ "$(ls "$TMP/s1" | wc -l)" = "$(ls "$TMP/s4" | wc -l)" ] &&
    ok "shards and index: the same files at 1, 2 and 4 ranks  # $(ls "$TMP/s1" | wc -l) files" ||
    notok "sharded output differs between rank counts"
py "shards" "$TMP" <<'PY'
import sys, h5py, numpy as np
from tap import ok
d = sys.argv[1]
one = h5py.File(f"{d}/t1.h5")
ix = h5py.File(f"{d}/s1/set.h5")
names = [s.decode() for s in ix["shards"][()]]
good = ix.attrs["format"] in (b"zeropt-corpus-set", "zeropt-corpus-set")
for split in ("", "val/"):
    toks, offs, spans = [], [0], 0
    for i, nm in enumerate(names):
        s = h5py.File(f"{d}/s1/{nm}")
        t = s[split + "tokens"][()]
        good &= len(t) == ix[split + "n_tokens"][i] and len(s[split + "doc_offsets"]) - 1 == ix[split + "n_docs"][i]
        toks.append(t)
        offs += list(s[split + "doc_offsets"][1:] + offs[-1])
        spans += len(s[split + "spans"])
    good &= np.array_equal(np.concatenate(toks), one[split + "tokens"][()]) and np.array_equal(offs, one[split + "doc_offsets"][()])
    good &= spans == len(one[split + "spans"])
sizes = ix["n_tokens"][()] + ix["val/n_tokens"][()]
longest = max(np.diff(one["doc_offsets"][()]).max(), np.diff(one["val/doc_offsets"][()]).max())
ok("the shards hold the single file's documents, spans and split, in order; the index counts them; each but the last holds at least 40K tokens less one document",
   good and sizes[:-1].min() >= 40000 - longest, f"{len(names)} shards of {sizes.min()}-{sizes.max()} tokens, longest document {longest}")
PY
cat >"$TMP/m.ini" <<EOC
[model]
vocab_size = 1000
max_positions = 64
layers = 1
width = 32
heads = 2
[data]
path = $TMP/t1.h5
seq_len = 64
val_batches = 2
[train]
micro_batch = 4
steps = 8
eval_every = 4
[mask]
scheme = salient
[run]
peak_tflops = 1
EOC
for c in one:t1.h5 set:s1/set.h5; do
    timeout -k 5 300 mpirun -q -np 2 "$ZEROPT" train -c "$TMP/m.ini" data.path="$TMP/${c#*:}" run.dir="$TMP/r${c%%:*}" \
        >"$TMP/r${c%%:*}.log" 2>&1 || bail "training on $c: $(tail -2 "$TMP/r${c%%:*}.log" | tr '\n' '|')"
done
py "train on shards" "$TMP" <<'PY'
import sys, json
from tap import ok
d = sys.argv[1]
rows = lambda r: [(x["step"], x.get("loss"), x.get("val_loss")) for x in map(json.loads, open(f"{d}/r{r}/metrics.jsonl")) if "loss" in x or "val_loss" in x]
a, b = rows("one"), rows("set")
ok("training through the shard index (salient masking, 2 ranks) gives the single file's losses exactly",
   a == b and sum(r[1] is not None for r in a) == 8 and sum(r[2] is not None for r in a) >= 2, f"{len(a)} rows; last {a[-1:]} / {b[-1:]}")
PY

# errors: one line, every rank down, nothing left behind
mv "$TMP/s1/set-00002.h5" "$TMP/s1/gone.h5"
expect_error "training on an index whose shard is missing" "set-00002.h5" "missing" -- \
    mpirun -q -np 2 "$ZEROPT" train -c "$TMP/m.ini" data.path="$TMP/s1/set.h5" run.dir="$TMP/rbad"
expect_error "a missing input under 2 ranks" "cannot open" "$TMP/nope.txt" -- \
    mpirun -q -np 2 "$ZEROPT" prep --tokenizer "$TOK" --input "$TMP/a.txt" --input "$TMP/nope.txt" --output "$TMP/bad.h5"
ls "$TMP"/bad.h5* >/dev/null 2>&1 && notok "a failed prep left $(ls -d "$TMP"/bad.h5*)" ||
    ok "a failed prep leaves no output and no intermediate files"
