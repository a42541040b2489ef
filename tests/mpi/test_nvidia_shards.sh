#!/usr/bin/env bash
# NVIDIA DeepLearningExamples BERT shards in (zeropt prep --format
# nvidia-bert, src/prep/bertshard.c): synthetic shards built the way
# create_pretraining_data.py builds them ([CLS] A [SEP] B [SEP], 15% of the
# tokens masked 80/10/10, positions and ids zero-padded) import into a
# corpus whose documents are the original "A [SEP] B", in order, with their
# row as provenance; the same corpus at 1 and 2 ranks with the rows split
# into ranges; --dedup finds the repeated samples by their ids; an MLM
# trains on it with one sample per window (packing = pad); damaged shards
# and text-only options are refused with one line.
. "$(dirname "$0")/../lib/lib.sh"
plan 7
TOK=tests/fixtures/hf_tok_bert_uncased.json
$PY - "$TMP" <<'PY' || bail "writing the shards failed"
import sys, json, h5py, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(3)
S, P, CLS, SEP, MASK, V = 64, 10, 2, 3, 4, 6000
docs = []
for shard in range(2):
    N = 300
    ids = np.zeros((N, S), np.int32); mask = np.zeros((N, S), np.int8); seg = np.zeros((N, S), np.int8)
    pos = np.zeros((N, P), np.int32); mid = np.zeros((N, P), np.int32)
    for r in range(N):
        if shard == 1 and r >= 280:         # 20 repeats of shard 0's samples
            a, b = docs[r - 280]
        else:
            a = list(rng.integers(999, V, rng.integers(5, 25))); b = list(rng.integers(999, V, rng.integers(5, 30)))
        docs.append((a, b))
        seq = [CLS] + a + [SEP] + b + [SEP]
        L = len(seq)
        ids[r, :L] = seq; mask[r, :L] = 1; seg[r, len(a) + 2:L] = 1
        cand = [i for i in range(1, L) if seq[i] not in (CLS, SEP)]
        m = sorted(rng.choice(cand, min(P, max(1, round(0.15 * L))), replace=False))
        for j, p in enumerate(m):
            pos[r, j] = p; mid[r, j] = seq[p]
            u = rng.random()
            ids[r, p] = MASK if u < 0.8 else rng.integers(999, V) if u < 0.9 else seq[p]
    with h5py.File(f"{d}/shard{shard}.hdf5", "w") as f:
        for k, v in dict(input_ids=ids, input_mask=mask, segment_ids=seg, masked_lm_positions=pos,
                         masked_lm_ids=mid, next_sentence_labels=np.zeros(N, np.int8)).items():
            f.create_dataset(k, data=v, compression="gzip")
json.dump([[int(x) for x in a] + [SEP] + [int(x) for x in b] for a, b in docs], open(f"{d}/docs.json", "w"))
PY
prep() { local n=$1; shift; timeout -k 5 120 mpirun -q -np "$n" "$ZEROPT" prep --tokenizer "$TOK" --format nvidia-bert \
    --input "$TMP/shard0.hdf5" --input "$TMP/shard1.hdf5" "$@"; }
prep 1 --val-fraction 0 --output "$TMP/n1.h5" >"$TMP/n1.log" 2>&1 &&
    prep 2 --val-fraction 0 --chunk-bytes 4K --output "$TMP/n2.h5" >"$TMP/n2.log" 2>&1 ||
    bail "prep --format nvidia-bert: $(tail -2 "$TMP/n1.log" "$TMP/n2.log" | tr '\n' '|')"
py "import" "$TMP" <<'PY'
import sys, json, h5py, numpy as np
from tap import ok
d = sys.argv[1]
want = json.load(open(f"{d}/docs.json"))
f = h5py.File(f"{d}/n1.h5")
t, o = f["tokens"][()], f["doc_offsets"][()]
got = [list(map(int, t[o[i]:o[i + 1]])) for i in range(len(o) - 1)]
prov = f["provenance"][()]
ok("NVIDIA shards: every sample's original tokens restored, [CLS] and the final [SEP] dropped, in order, rows as provenance",
   got == want and list(prov[:, 1]) == list(range(1, 301)) * 2 and list(prov[:, 0]) == [0] * 300 + [1] * 300
   and f.attrs["tokenizer"] in (b"wordpiece", "wordpiece"),
   f"{sum(a == b for a, b in zip(got, want))} of {len(want)} samples")
PY
cmp -s "$TMP/n1.h5" "$TMP/n2.h5" && ok "the same corpus at 1 rank and at 2 ranks reading ranges of rows  # $(grep -o '[0-9]* unit(s)' "$TMP/n2.log")" ||
    notok "NVIDIA import differs between 1 and 2 ranks"
out=$(prep 2 --val-fraction 0 --dedup --output "$TMP/d.h5" 2>&1)
grep -q "duplicates dropped: 20 exact" <<<"$out" && grep -q "580 documents kept" <<<"$out" &&
    ok "--dedup on token ids: the 20 repeated samples dropped" || notok "dedup of NVIDIA samples: $(grep -E 'duplicates|kept' <<<"$out" | tr '\n' '|')"
cat >"$TMP/m.ini" <<EOC
[model]
vocab_size = 6000
max_positions = 64
layers = 1
width = 32
heads = 2
[data]
path = $TMP/n1.h5
seq_len = 64
packing = pad
[train]
micro_batch = 8
steps = 6
[run]
peak_tflops = 1
EOC
prep 1 --output "$TMP/n1.h5" >/dev/null 2>&1 # with a validation split
timeout -k 5 300 mpirun -q -np 2 "$ZEROPT" train -c "$TMP/m.ini" run.dir="$TMP/run" >"$TMP/train.log" 2>&1 &&
    ok "MLM trains on the imported samples, one per window (packing = pad)" || notok "training: $(tail -2 "$TMP/train.log" | tr '\n' '|')"
$PY -c "
import h5py, sys
with h5py.File(sys.argv[1], 'a') as f:
    f['masked_lm_positions'][5, 0] = 99
" "$TMP/shard1.hdf5"
expect_error "a masked position outside its sample" "shard1.hdf5: row 5" "outside" -- \
    "$ZEROPT" prep --tokenizer "$TOK" --format nvidia-bert --input "$TMP/shard1.hdf5" --output "$TMP/bad.h5"
$PY -c "
import h5py, sys
with h5py.File(sys.argv[1], 'a') as f:
    del f['masked_lm_ids']
" "$TMP/shard0.hdf5"
expect_error "a shard without masked_lm_ids, under 2 ranks" "shard0.hdf5: no /masked_lm_ids" -- \
    mpirun -q -np 2 "$ZEROPT" prep --tokenizer "$TOK" --format nvidia-bert --input "$TMP/shard0.hdf5" --output "$TMP/bad.h5"
expect_error "--clean with NVIDIA shards" "--clean and --quality work on text" -- \
    "$ZEROPT" prep --tokenizer "$TOK" --format nvidia-bert --clean --input "$TMP/shard0.hdf5" --output "$TMP/bad.h5"
