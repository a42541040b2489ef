#!/usr/bin/env bash
# Using a model: fill-mask, generate and embed on HF folders saved by
# transformers with their tokenizers (tests/fixtures/hf_bert_tok, hf_gpt2_tok,
# made by tests/ref/make_hf_use_fixture.py) must give what transformers gave
# (tests/fixtures/hf_use_ref.json): the same top-5 ids and probabilities for
# every [MASK], the same greedy continuation, the same CLS and mean-pooled
# embeddings (texts padded in one batch with the attention mask). Sampling is
# a pure function of the seed; bad requests get one line each.
. "$(dirname "$0")/../lib/lib.sh"
plan 20
F=tests/fixtures
REF=$F/hf_use_ref.json

# fill-mask: every text of the reference, one call
args=()
while IFS= read -r t; do args+=(--text "$t"); done < <($PY -c 'import json,sys
for x in json.load(open(sys.argv[1]))["bert"]["fill_mask"]: print(x["text"])' $REF)
"$ZEROPT" fill-mask $F/hf_bert_tok "${args[@]}" --json >"$TMP/fill.jsonl" 2>"$TMP/fill.err" ||
    notok "fill-mask ran: $(tail -1 "$TMP/fill.err")"
py "fill-mask checks" "$TMP/fill.jsonl" $REF <<'PY'
import json, sys
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
got = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))["bert"]["fill_mask"]
ok("fill-mask: the text's ids equal HF's ([CLS] … [SEP])", len(got) == len(ref) and
   all(g["ids"] == r["ids"] for g, r in zip(got, ref)), f"{len(got)} of {len(ref)} texts")
pairs = [(gm, rm) for g, r in zip(got, ref) for gm, rm in zip(g["masks"], r["masks"])]
n = sum(len(r["masks"]) for r in ref)
ok("fill-mask: top-5 ids and positions equal transformers' for every mask",
   len(pairs) == n and all(gm["ids"] == rm["ids"] and gm["position"] == rm["position"] for gm, rm in pairs),
   f"{n} masks")
worst = max(abs(a - b) / b for gm, rm in pairs for a, b in zip(gm["scores"], rm["scores"]))
ok("fill-mask: probabilities within 1e-5 relative", worst < 1e-5, f"worst {worst:.1e}")
ok("fill-mask: tokens named as HF names them", all(gm["tokens"] == rm["tokens"] for gm, rm in pairs))
PY

# generate: greedy continuations of every prompt
: >"$TMP/gen.jsonl"
$PY -c 'import json,sys
for x in json.load(open(sys.argv[1]))["gpt2"]["generate"]: print(x["prompt"])' $REF |
    while IFS= read -r p; do
        "$ZEROPT" generate $F/hf_gpt2_tok --prompt "$p" --max-new 24 --json >>"$TMP/gen.jsonl" 2>>"$TMP/gen.err"
    done
py "generate checks" "$TMP/gen.jsonl" $REF <<'PY'
import json, sys
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
got = [json.loads(l) for l in open(sys.argv[1])]
ref = json.load(open(sys.argv[2]))["gpt2"]["generate"]
ok("generate: prompt ids equal HF's", len(got) == len(ref) and
   all(g["prompt_ids"] == r["prompt_ids"] for g, r in zip(got, ref)), f"{len(got)} prompts")
same = [g["new_ids"] == r["new_ids"] for g, r in zip(got, ref)]
ok("generate: greedy continuations equal transformers' generate()", len(same) == len(ref) and all(same),
   f"{sum(same)} of {len(ref)} prompts, 24 tokens each")
ok("generate: text decodes as HF decodes", all(g["text"] == r["text"] for g, r in zip(got, ref)))
PY

# embed: CLS (the encoder default) and mean pooling, all sentences in one padded batch
$PY -c 'import json,sys
for x in json.load(open(sys.argv[1]))["bert"]["embed"]["sentences"]: print(x)' $REF >"$TMP/sent.txt"
for k in bert gpt2; do
    for pool in cls mean; do
        "$ZEROPT" embed $F/hf_${k}_tok --input "$TMP/sent.txt" --pool $pool --out "$TMP/${k}_$pool.h5" \
            >>"$TMP/emb.log" 2>&1 || notok "embed $k $pool: $(tail -1 "$TMP/emb.log")"
    done
done
"$ZEROPT" embed $F/hf_bert_tok --input "$TMP/sent.txt" --pool mean --batch 1 --out "$TMP/bert_mean1.h5" \
    >>"$TMP/emb.log" 2>&1
py "embed checks" "$TMP" $REF <<'PY'
import json, sys
import h5py, numpy as np
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
d, ref = sys.argv[1], json.load(open(sys.argv[2]))
worst = {}
for k in ("bert", "gpt2"):
    for pool in ("cls", "mean"):
        z = h5py.File(f"{d}/{k}_{pool}.h5", "r")["embeddings"][()]
        h = np.array(ref[k]["embed"][pool], dtype=np.float64)
        worst[f"{k} {pool}"] = np.abs(z - h).max() / np.abs(h).max() if z.shape == h.shape else np.inf
ok("embed: BERT CLS and mean embeddings (padded batch, attention mask) within 1e-5 of transformers",
   max(worst["bert cls"], worst["bert mean"]) < 1e-5, f"{worst['bert cls']:.1e}, {worst['bert mean']:.1e}")
ok("embed: GPT-2 mean embeddings within 1e-5 of transformers", worst["gpt2 mean"] < 1e-5 and
   worst["gpt2 cls"] < 1e-5, f"{worst['gpt2 mean']:.1e}")
a = h5py.File(f"{d}/bert_mean.h5", "r")["embeddings"][()]
b = h5py.File(f"{d}/bert_mean1.h5", "r")["embeddings"][()]
e = np.abs(a - b).max()
ok("embed: a text's vector does not depend on its batch (padded 5 vs alone)", e < 1e-6, f"max diff {e:.1e}")
PY

# sampling: the same seed gives the same text, another seed another; top-k 1 is greedy
G=(generate $F/hf_gpt2_tok --prompt "Hello" --max-new 16 --ignore-eos --json)
a=$("$ZEROPT" "${G[@]}" --temperature 1.0 --top-p 0.9 --seed 3 2>&1)
b=$("$ZEROPT" "${G[@]}" --temperature 1.0 --top-p 0.9 --seed 3 2>&1)
c=$("$ZEROPT" "${G[@]}" --temperature 1.0 --top-p 0.9 --seed 4 2>&1)
g=$("$ZEROPT" "${G[@]}" 2>&1 | sed 's/,"token_ms.*//')
k1=$("$ZEROPT" "${G[@]}" --temperature 0.7 --top-k 1 --seed 9 2>&1 | sed 's/,"token_ms.*//')
strip() { sed 's/,"token_ms.*//' <<<"$1"; }
[ "$(strip "$a")" = "$(strip "$b")" ] && [ "$(strip "$a")" != "$(strip "$c")" ] && [ "$k1" = "$g" ] &&
    [ "$(strip "$a")" != "$g" ] &&
    ok "sampling: same seed same tokens, another seed others, top-k 1 = greedy" ||
    notok "sampling: a=$(strip "$a") c=$(strip "$c") greedy=$g k1=$k1"

expect_error "generate with an encoder refused" "causal decoder" -- \
    "$ZEROPT" generate $F/hf_bert_tok --prompt "hello"
expect_error "fill-mask with a decoder refused" "needs a masked-LM encoder" -- \
    "$ZEROPT" fill-mask $F/hf_gpt2_tok --text "hello <mask>"
expect_error "fill-mask on a text without a mask" "has no mask token" -- \
    "$ZEROPT" fill-mask $F/hf_bert_tok --text "no mask here"

# from a checkpoint: the imported model with the folder's tokenizer gives the same continuation
"$ZEROPT" ckpt import --from $F/hf_gpt2_tok --out "$TMP/g.h5" >"$TMP/imp.log" 2>&1 &&
    [ "$("$ZEROPT" generate "$TMP/g.h5" --tokenizer $F/hf_gpt2_tok/tokenizer.json --prompt "Hello" --max-new 12)" = \
      "$("$ZEROPT" generate $F/hf_gpt2_tok --prompt "Hello" --max-new 12)" ] &&
    ok "generate from an imported checkpoint with --tokenizer equals the HF folder's" ||
    notok "generate from a checkpoint: $(tail -1 "$TMP/imp.log")"
expect_error "a checkpoint whose corpus is unknown and no --tokenizer: one line" "pass --tokenizer" -- \
    "$ZEROPT" generate "$TMP/g.h5" --prompt "Hello"
# the cache changes nothing: sampled continuations with and without it are the same tokens
S=(generate $F/hf_gpt2_tok --prompt "Translations for the" --max-new 30 --ignore-eos --temperature 1 --seed 5 --json)
[ "$("$ZEROPT" "${S[@]}" | sed 's/,"token_ms.*//')" = "$("$ZEROPT" "${S[@]}" --no-cache | sed 's/,"token_ms.*//')" ] &&
    ok "generate --no-cache (the whole prefix every token) samples the same 30 tokens" ||
    notok "generate with and without the KV cache differ"

# RoBERTa: <mask> (with lstrip, as roberta-base), <s> … </s>, <pad>-padded embedding batches
args=()
while IFS= read -r t; do args+=(--text "$t"); done < <($PY -c 'import json,sys
for x in json.load(open(sys.argv[1]))["roberta"]["fill_mask"]: print(x["text"])' $REF)
"$ZEROPT" fill-mask $F/hf_roberta_tok "${args[@]}" --json >"$TMP/rfill.jsonl" 2>"$TMP/rfill.err" ||
    notok "roberta fill-mask ran: $(tail -1 "$TMP/rfill.err")"
for pool in cls mean; do
    "$ZEROPT" embed $F/hf_roberta_tok --input "$TMP/sent.txt" --pool $pool --out "$TMP/rob_$pool.h5" \
        >>"$TMP/emb.log" 2>&1 || notok "roberta embed $pool: $(tail -1 "$TMP/emb.log")"
done
py "roberta use" "$TMP" $REF <<'PY'
import json, sys
import h5py, numpy as np
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
d, ref = sys.argv[1], json.load(open(sys.argv[2]))["roberta"]
got = [json.loads(l) for l in open(f"{d}/rfill.jsonl")]
pairs = [(gm, rm) for g, r in zip(got, ref["fill_mask"]) for gm, rm in zip(g["masks"], r["masks"])]
worst = max([abs(a - b) / b for gm, rm in pairs for a, b in zip(gm["scores"], rm["scores"])] or [1])
ok("roberta fill-mask: ids, top-5 and probabilities equal transformers'",
   len(got) == len(ref["fill_mask"]) and all(g["ids"] == r["ids"] for g, r in zip(got, ref["fill_mask"])) and
   len(pairs) == sum(len(r["masks"]) for r in ref["fill_mask"]) and all(gm["ids"] == rm["ids"] for gm, rm in pairs)
   and worst < 1e-5, f"{len(pairs)} masks, worst probability {worst:.1e}")
w = 0
for pool in ("cls", "mean"):
    z = h5py.File(f"{d}/rob_{pool}.h5", "r")["embeddings"][()]
    h = np.array(ref["embed"][pool])
    w = max(w, np.abs(z - h).max() / np.abs(h).max() if z.shape == h.shape else np.inf)
ok("roberta embed: CLS and mean embeddings of a <pad>-padded batch within 1e-5", w < 1e-5, f"{w:.1e}")
PY
expect_error "embed --pool pooler on a model without one" "has no pooler" -- \
    "$ZEROPT" embed $F/hf_bert_tok --text "hello" --pool pooler
