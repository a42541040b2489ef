#!/usr/bin/env bash
# bench/prep_bench.sh — data preparation speed on real text (bench/realtext.py:
# the kernel's documentation and Debian's changelogs, ~230 MB):
#   1. tokenizers, one thread: zeropt's byte-level BPE and WordPiece
#      (bench/tok_bench.c) against Hugging Face `tokenizers` (encode_batch,
#      RAYON_NUM_THREADS=1) on the same 20 MB of documents with the same
#      tokenizer.json, token counts compared;
#   2. `zeropt prep` end to end (read, tokenize, spill, write the corpus) at
#      1 and 2 ranks, plain and with --clean --dedup: MB/s of input.
# HF_PY names a Python with `tokenizers` (default $REF_PY, else ~/venv-ref).
# Writes bench/results/prep-<stamp>.json and a section in bench/RESULTS.md.
#   bash bench/prep_bench.sh      (make bench-prep)
set -eu
. bench/lib.sh
HF_PY=${HF_PY:-${REF_PY:-$HOME/venv-ref/bin/python}}
"$HF_PY" -c "import tokenizers" 2>/dev/null ||
    { echo "bench/prep_bench.sh: $HF_PY has no tokenizers (pip install tokenizers; HF_PY=...)" >&2; exit 1; }
bench_workdir
$PY bench/realtext.py "$W"
head -n 4000 "$W/linux-doc.jsonl" >"$W/sample.jsonl"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
for t in gpt2 bert_uncased; do
    "$BUILD/bench/tok_bench" tests/fixtures/hf_tok_$t.json "$W/sample.jsonl" 5 >"$W/z_$t.json"
done
RAYON_NUM_THREADS=1 "$HF_PY" - "$W" <<'PY'
import json, sys, time
from tokenizers import Tokenizer
W = sys.argv[1]
docs = [json.loads(l)["text"] for l in open(f"{W}/sample.jsonl")]
for t in ("gpt2", "bert_uncased"):
    tok = Tokenizer.from_file(f"tests/fixtures/hf_tok_{t}.json")
    s = []
    for k in range(5):
        t0 = time.time(); enc = tok.encode_batch(docs, add_special_tokens=False); s.append(time.time() - t0)
    b = sum(len(d.encode()) for d in docs)
    json.dump(dict(mb_per_s=b / 1e6 / sorted(s)[2], tokens=sum(len(e.ids) for e in enc), bytes=b), open(f"{W}/hf_{t}.json", "w"))
PY
runprep() { # ranks label extra-args...
    local n=$1 label=$2; shift 2
    mpirun -q -np "$n" "$Z" prep --tokenizer tests/fixtures/hf_tok_gpt2.json --format jsonl --input "$W/linux-doc.jsonl" \
        --input "$W/changelogs.jsonl" "$@" --output "$W/c.h5" --stats "$W/prep_${label}_$n.json" >/dev/null
}
for n in 1 2; do
    runprep $n plain
    runprep $n filtered --clean --dedup
done
$PY - "$W" "$stamp" "$(nproc --all) cores, $cpu" <<'PY'
import json, sys
W, stamp, machine = sys.argv[1:4]
L = lambda n: json.load(open(f"{W}/{n}.json"))
tok = {t: dict(zeropt=L(f"z_{t}"), hf=L(f"hf_{t}")) for t in ("gpt2", "bert_uncased")}
prep = {f"{k}_{n}": L(f"prep_{k}_{n}") for k in ("plain", "filtered") for n in (1, 2)}
res = dict(stamp=stamp, machine=machine, tokenizers=tok, prep={k: dict(mb_per_s=v["mb_per_s"], seconds=v["seconds"],
           file_bytes=v["read"]["file_bytes"], documents=v["read"]["documents"], kept=v["written"]["documents"],
           tokens=v["written"]["train_tokens"] + v["written"]["val_tokens"]) for k, v in prep.items()})
json.dump(res, open(f"bench/results/prep-{stamp}.json", "w"), indent=1)
r = lambda t: tok[t]["zeropt"]["mb_per_s"] / tok[t]["hf"]["mb_per_s"]
same = lambda t: "same" if tok[t]["zeropt"]["tokens"] == tok[t]["hf"]["tokens"] else "DIFFERENT"
p = res["prep"]
gb = p["plain_1"]["file_bytes"] / 1e6
line = (f"\n### {stamp} — data preparation on real text — {machine}\n\n"
        f"Tokenizers, one thread, the same {tok['gpt2']['hf']['bytes'] / 1e6:.1f} MB of kernel documentation (4000 pages), "
        f"the same tokenizer.json (median of 5 passes; HF `tokenizers` encode_batch with RAYON_NUM_THREADS=1):\n\n"
        f"| tokenizer | zeropt MB/s | HF tokenizers MB/s | ratio | tokens |\n|---|---|---|---|---|\n"
        + "".join(f"| {t} | {tok[t]['zeropt']['mb_per_s']:.1f} | {tok[t]['hf']['mb_per_s']:.2f} | {r(t):.2f}x | {same(t)} ({tok[t]['zeropt']['tokens']}) |\n" for t in tok)
        + f"\n`zeropt prep` end to end on {gb:.0f} MB (linux-doc pages as JSONL and Debian changelogs, GPT-2-style BPE), input MB/s:\n\n"
        f"| | 1 rank | 2 ranks | speed-up |\n|---|---|---|---|\n"
        + "".join(f"| {k} | {p[k + '_1']['mb_per_s']:.1f} | {p[k + '_2']['mb_per_s']:.1f} | {p[k + '_2']['mb_per_s'] / p[k + '_1']['mb_per_s']:.2f}x |\n"
                  for k in ("plain", "filtered"))
        + f"\n(filtered: --clean --dedup, which kept {p['filtered_1']['kept']} of {p['filtered_1']['documents']} documents.)\n")
open("bench/RESULTS.md", "a").write(line)
print(line)
PY
