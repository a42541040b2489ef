#!/usr/bin/env bash
# Hugging Face interchange. Import: HF-saved BertForMaskedLM and
# GPT2LMHeadModel safetensors (tests/fixtures/hf_*, made by
# tests/ref/make_hf_fixture.py) become zeropt checkpoints whose logits equal
# HF's (measured 2026-12-01: 1.7e-07 relative, tolerance 1.5e-06). Export: the imported checkpoint exported again equals
# HF's own file tensor by tensor (names, shapes, values) with a config.json HF
# reads; models HF has no class for are refused with one line. Published
# layouts: gamma/beta names and sharded files give the same logits; a headless
# BertModel gets an MLM head started as transformers starts one.
# (tests/ref/check_hf_export.py loads exports in transformers itself.)
. "$(dirname "$0")/../lib/lib.sh"
plan 31
$PY -c 'import h5py,sys; f=h5py.File(sys.argv[1]); h5py.File(sys.argv[2],"w")["tokens"]=f["tokens"][()]' \
    tests/fixtures/hf_logits.h5 "$TMP/tokens.h5"
for m in bert gpt2; do
    if ! "$ZEROPT" ckpt import --from tests/fixtures/hf_$m --out "$TMP/$m.h5" --ini "$TMP/$m.ini" >"$TMP/$m.log" 2>&1 ||
        ! "$ZEROPT" ckpt logits "$TMP/$m.h5" --tokens "$TMP/tokens.h5" --out "$TMP/${m}_logits.h5" >>"$TMP/$m.log" 2>&1 ||
        ! "$ZEROPT" ckpt verify "$TMP/$m.h5" >>"$TMP/$m.log" 2>&1 ||
        ! "$ZEROPT" ckpt export "$TMP/$m.h5" --format safetensors --out "$TMP/exp_$m" >>"$TMP/$m.log" 2>&1; then
        notok "$m: import/logits/verify/export: $(tail -2 "$TMP/$m.log" | tr '\n' '|')"
        continue
    fi
    py "$m checks" "$m" "$TMP" <<'PY'
import json, struct, sys
import h5py, numpy as np
m, d = sys.argv[1], sys.argv[2]
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
z = h5py.File(f"{d}/{m}_logits.h5", "r")["logits"][()]
h = h5py.File("tests/fixtures/hf_logits.h5", "r")[f"{m}_logits"][()]
err = np.linalg.norm(z - h) / np.linalg.norm(h)
ok(f"{m}: imported HF model reproduces HF's logits", z.shape == h.shape and err < 1.5e-6, f"rel err {err:.1e}")
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, e = v["data_offsets"]
        out[k] = (v["dtype"], v["shape"], b[8 + n + a:8 + n + e])
    return out
ours, theirs = load(f"{d}/exp_{m}/model.safetensors"), load(f"tests/fixtures/hf_{m}/model.safetensors")
same = ours.keys() == theirs.keys() and all(ours[k] == theirs[k] for k in ours)
ok(f"{m}: export equals HF's own safetensors tensor by tensor", same,
   f"{len(ours)} tensors" + ("" if same else f"; only ours {sorted(set(ours) - set(theirs))[:3]}, "
                                               f"only HF {sorted(set(theirs) - set(ours))[:3]}"))
cfg, ref = json.load(open(f"{d}/exp_{m}/config.json")), json.load(open(f"tests/fixtures/hf_{m}/config.json"))
keys = ["model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
        "intermediate_size", "max_position_embeddings", "type_vocab_size", "hidden_act", "layer_norm_eps",
        "n_embd", "n_layer", "n_head", "n_inner", "n_positions", "activation_function", "layer_norm_epsilon"]
diff = [k for k in keys if k in ref and cfg.get(k) != ref[k]]
ok(f"{m}: exported config.json agrees with HF's", not diff and cfg["architectures"] == ref["architectures"],
   ",".join(diff))
PY
done
# a pre-LN encoder has no BertForMaskedLM equivalent: refused with one line
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science
printf '[model]\nvocab_size = 262\nmax_positions = 16\nlayers = 1\nwidth = 16\nheads = 2\nnorm = pre\n[data]\npath = %s\nseq_len = 16\nval_batches = 0\n[train]\nsteps = 1\n[run]\ndir = %s\npeak_tflops = 1\n' \
    "$TMP/corpus.h5" "$TMP/pre" >"$TMP/pre.ini"
"$ZEROPT" train -c "$TMP/pre.ini" >"$TMP/pre.log" 2>&1 || notok "pre-LN run: $(tail -1 "$TMP/pre.log")"
expect_error "export of a pre-LN encoder refused" "BertForMaskedLM is post-LN" -- \
    "$ZEROPT" ckpt export "$TMP/pre/ckpt" --format safetensors --out "$TMP/exp_pre"
expect_error "import from a directory without config.json" "config.json" -- \
    "$ZEROPT" ckpt import --from "$TMP/nothing" --out "$TMP/x.h5"
# under mpirun, rank 0 writes and commits the file and the side config; both
# ranks succeed and the file is the one a single process writes
timeout -k 5 60 mpirun -q -np 2 "$ZEROPT" ckpt import --from tests/fixtures/hf_bert --out "$TMP/bert2.h5" \
    --ini "$TMP/bert2.ini" >"$TMP/bert2.log" 2>&1 && [ "$(grep -c '^imported' "$TMP/bert2.log")" = 1 ] &&
    "$ZEROPT" ckpt verify "$TMP/bert2.h5" >/dev/null && cmp -s "$TMP/bert.ini" "$TMP/bert2.ini" &&
    ok "import under mpirun -np 2: one commit, one line, a checkpoint verify accepts" ||
    notok "import on 2 ranks: $(tail -3 "$TMP/bert2.log" | tr '\n' '|')"
expect_error "export to an unknown format" "only safetensors" -- \
    "$ZEROPT" ckpt export "$TMP/bert.h5" --format onnx --out "$TMP/exp_x"

# hf_bert as published models ship it (tests/ref/make_hf_variants.py): the
# original release's LayerNorm gamma/beta, sharded with an index, headless
for v in gammabeta sharded; do
    "$ZEROPT" ckpt import --from tests/fixtures/hf_bert_$v --out "$TMP/$v.h5" >"$TMP/$v.log" 2>&1 &&
        "$ZEROPT" ckpt logits "$TMP/$v.h5" --tokens "$TMP/tokens.h5" --out "$TMP/${v}_logits.h5" \
            >>"$TMP/$v.log" 2>&1 || notok "$v: import/logits: $(tail -2 "$TMP/$v.log" | tr '\n' '|')"
done
"$ZEROPT" ckpt import --from tests/fixtures/hf_bert_headless --out "$TMP/headless.h5" \
    >"$TMP/headless.log" 2>&1 && grep -q "MLM head started" "$TMP/headless.log" &&
    "$ZEROPT" ckpt export "$TMP/headless.h5" --format safetensors --out "$TMP/exp_headless" \
        >>"$TMP/headless.log" 2>&1 || notok "headless: import/export: $(tail -2 "$TMP/headless.log" | tr '\n' '|')"
"$ZEROPT" ckpt import --from tests/fixtures/hf_bert --head init --out "$TMP/init.h5" \
    >"$TMP/init.log" 2>&1 && "$ZEROPT" ckpt export "$TMP/init.h5" --format safetensors \
    --out "$TMP/exp_init" >>"$TMP/init.log" 2>&1 || notok "--head init: $(tail -2 "$TMP/init.log")"
py "variants" "$TMP" <<'PY'
import json, struct, sys
import h5py, numpy as np
d = sys.argv[1]
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
h = h5py.File("tests/fixtures/hf_logits.h5", "r")["bert_logits"][()]
for v in ("gammabeta", "sharded"):
    try:
        z = h5py.File(f"{d}/{v}_logits.h5", "r")["logits"][()]
        err = np.linalg.norm(z - h) / np.linalg.norm(h)
    except OSError:
        err = float("inf")
    ok(f"{v}: imported model reproduces HF's logits", err < 1.5e-6, f"rel err {err:.1e}")
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    return {k: np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], np.float32).reshape(v["shape"])
            for k, v in hdr.items() if k != "__metadata__"}
full = load("tests/fixtures/hf_bert/model.safetensors")
for v in ("headless", "init"):
    try:
        ours = load(f"{d}/exp_{v}/model.safetensors")
    except OSError:
        ok(f"{v}: export", False, "no export")
        continue
    enc = [k for k in full if not k.startswith("cls.")]
    same = all(k in ours and np.array_equal(ours[k], full[k]) for k in enc)
    w = ours.get("cls.predictions.transform.dense.weight", np.zeros(1))
    head = (np.all(ours["cls.predictions.transform.LayerNorm.weight"] == 1) and
            np.all(ours["cls.predictions.transform.LayerNorm.bias"] == 0) and
            np.all(ours["cls.predictions.transform.dense.bias"] == 0) and
            np.all(ours["cls.predictions.bias"] == 0) and abs(w.std() - 0.02) < 0.004 and abs(w.mean()) < 0.004)
    ok(f"{v}: the encoder as the file has it, a new MLM head as transformers starts one", same and head,
       f"{len(enc)} encoder tensors equal; transform weight std {w.std():.4f} (init 0.02)")
PY
expect_error "--head require refuses a headless BertModel" "no MLM head" "--head tie" -- \
    "$ZEROPT" ckpt import --from tests/fixtures/hf_bert_headless --head require --out "$TMP/x.h5"
mkdir -p "$TMP/pickle" && cp tests/fixtures/hf_bert/config.json "$TMP/pickle/" && : >"$TMP/pickle/pytorch_model.bin"
expect_error "a folder with only pytorch_model.bin" "only a PyTorch pickle" "safe_serialization=True" -- \
    "$ZEROPT" ckpt import --from "$TMP/pickle" --out "$TMP/x.h5"
mkdir -p "$TMP/badidx" && cp tests/fixtures/hf_bert/config.json "$TMP/badidx/" &&
    printf '{"weight_map": {"bert.embeddings.word_embeddings.weight": "../../etc/passwd"}}' >"$TMP/badidx/model.safetensors.index.json"
expect_error "an index naming a file outside the folder" "is not a file name in the folder" -- \
    "$ZEROPT" ckpt import --from "$TMP/badidx" --out "$TMP/x.h5"

# padded batches (tests/fixtures/hf_pad.h5, tests/ref/make_hf_use_fixture.py):
# right-padded rows of 9, 6 and 3 tokens with transformers' attention mask;
# logits and last hidden states at every position, pads included
for m in bert gpt2; do
    "$ZEROPT" ckpt logits "$TMP/$m.h5" --tokens tests/fixtures/hf_pad.h5 --out "$TMP/${m}_pad.h5" \
        >"$TMP/${m}_pad.log" 2>&1 || notok "$m padded: $(tail -1 "$TMP/${m}_pad.log")"
done
py "padded" "$TMP" <<'PY'
import sys
import h5py, numpy as np
d = sys.argv[1]
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
ref = h5py.File("tests/fixtures/hf_pad.h5", "r")
rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b) if a.shape == b.shape else np.inf
for m in ("bert", "gpt2"):
    try:
        z = h5py.File(f"{d}/{m}_pad.h5", "r")
        el, eh = rel(z["logits"][()], ref[f"{m}_logits"][()]), rel(z["hidden"][()], ref[f"{m}_hidden"][()])
    except (OSError, KeyError):
        el = eh = np.inf
    # without the mask the padded rows differ (the check can fail)
    ok(f"{m}: a padded batch with its attention mask gives transformers' logits and last hidden states",
       el < 1e-5 and eh < 1e-5, f"rel err logits {el:.1e}, hidden {eh:.1e}")
PY
"$PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1]); h5py.File(sys.argv[2],"w")["tokens"]=f["tokens"][()]' \
    tests/fixtures/hf_pad.h5 "$TMP/nomask.h5"
"$ZEROPT" ckpt logits "$TMP/bert.h5" --tokens "$TMP/nomask.h5" --out "$TMP/nomask_out.h5" >/dev/null 2>&1
py "unmasked differs" "$TMP" <<'PY'
import sys
import h5py, numpy as np
z = h5py.File(f"{sys.argv[1]}/nomask_out.h5", "r")["hidden"][1:]  # the padded rows
h = h5py.File("tests/fixtures/hf_pad.h5", "r")["bert_hidden"][1:]
e = np.linalg.norm(z - h) / np.linalg.norm(h)
print(("ok - " if e > 1e-3 else "not ok - ") + f"the padded rows without their mask differ from transformers' by far more than the tolerance (the mask matters)  # rel err {e:.1e}")
PY

# RoBERTa (tests/fixtures/hf_roberta_tok: RobertaForMaskedLM as transformers
# saves it): position ids that skip pads, lm_head.*, roberta. prefix; a batch
# padded with <pad> gives transformers' logits and hidden states; the export
# equals HF's own file tensor by tensor and its config says RobertaForMaskedLM
"$PY" -c 'import h5py,sys; f=h5py.File(sys.argv[1]); g=h5py.File(sys.argv[2],"w"); g["tokens"]=f["roberta_tokens"][()]; g["attention_mask"]=f["roberta_attention_mask"][()]' \
    tests/fixtures/hf_pad.h5 "$TMP/rtok.h5"
"$ZEROPT" ckpt import --from tests/fixtures/hf_roberta_tok --out "$TMP/rob.h5" >"$TMP/rob.log" 2>&1 &&
    "$ZEROPT" ckpt logits "$TMP/rob.h5" --tokens "$TMP/rtok.h5" --out "$TMP/rob_out.h5" >>"$TMP/rob.log" 2>&1 &&
    "$ZEROPT" ckpt export "$TMP/rob.h5" --format safetensors --out "$TMP/exp_rob" >>"$TMP/rob.log" 2>&1 ||
    notok "roberta import/logits/export: $(tail -2 "$TMP/rob.log" | tr '\n' '|')"
# BERT's pooler: a BertModel that ships one keeps it (ckpt logits writes the
# pooled output) and exports it again
"$ZEROPT" ckpt logits "$TMP/headless.h5" --tokens tests/fixtures/hf_pad.h5 --out "$TMP/pool_out.h5" \
    >"$TMP/pool.log" 2>&1 || notok "pooled: $(tail -1 "$TMP/pool.log")"
py "roberta and pooler" "$TMP" <<'PY'
import json, struct, sys
import h5py, numpy as np
d = sys.argv[1]
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
ref = h5py.File("tests/fixtures/hf_pad.h5", "r")
rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b) if a.shape == b.shape else np.inf
try:
    z = h5py.File(f"{d}/rob_out.h5", "r")
    # the fixture keeps the logits of the first 512 vocabulary entries (file size)
    el, eh = rel(z["logits"][..., :512], ref["roberta_logits"][()]), rel(z["hidden"][()], ref["roberta_hidden"][()])
except (OSError, KeyError):
    el = eh = np.inf
ok("roberta: a <pad>-padded batch gives transformers' logits and hidden states (pad-aware positions)",
   el < 1e-5 and eh < 1e-5, f"rel err logits {el:.1e}, hidden {eh:.1e}")
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in hdr.items() if k != "__metadata__"}
try:
    ours, theirs = load(f"{d}/exp_rob/model.safetensors"), load("tests/fixtures/hf_roberta_tok/model.safetensors")
    cfg = json.load(open(f"{d}/exp_rob/config.json"))
except OSError:
    ours, theirs, cfg = {}, {1: 1}, {}
same = ours.keys() == theirs.keys() and all(ours[k] == theirs[k] for k in ours)
ok("roberta: export equals HF's own safetensors tensor by tensor, config RobertaForMaskedLM",
   same and cfg.get("architectures") == ["RobertaForMaskedLM"] and cfg.get("pad_token_id") == 1,
   f"{len(ours)} tensors; only ours {sorted(set(ours) - set(theirs))[:2]}, only HF {sorted(set(theirs) - set(ours))[:2]}")
try:
    p = h5py.File(f"{d}/pool_out.h5", "r")["pooled"][()]
    e = rel(p, ref["bert_pooled"][()])
except (OSError, KeyError):
    e = np.inf
ok("pooler: an imported BertModel's pooled output equals transformers' pooler_output", e < 1e-5, f"rel err {e:.1e}")
src, exp = load("tests/fixtures/hf_bert_headless/model.safetensors"), load(f"{d}/exp_headless/model.safetensors")
pool = [k for k in src if "pooler" in k]
ok("pooler: exported again as the file had it (under BertForMaskedLM's bert. prefix)",
   len(pool) == 2 and all(exp.get("bert." + k) == src[k] for k in pool), ", ".join(pool))
PY

# GPT-2 and RoBERTa as published too: GPT2Model (no prefix, no head: the tied
# head needs nothing) and RobertaModel (with a pooler), and both sharded
for v in gpt2_headless gpt2_sharded; do
    "$ZEROPT" ckpt import --from tests/fixtures/hf_$v --out "$TMP/$v.h5" >"$TMP/$v.log" 2>&1 &&
        "$ZEROPT" ckpt logits "$TMP/$v.h5" --tokens "$TMP/tokens.h5" --out "$TMP/${v}_out.h5" >>"$TMP/$v.log" 2>&1 ||
        notok "$v: $(tail -1 "$TMP/$v.log")"
done
for v in roberta_headless roberta_sharded; do
    "$ZEROPT" ckpt import --from tests/fixtures/hf_$v --out "$TMP/$v.h5" >"$TMP/$v.log" 2>&1 &&
        "$ZEROPT" ckpt logits "$TMP/$v.h5" --tokens "$TMP/rtok.h5" --out "$TMP/${v}_out.h5" >>"$TMP/$v.log" 2>&1 ||
        notok "$v: $(tail -1 "$TMP/$v.log")"
done
py "published gpt2/roberta" "$TMP" <<'PY'
import sys
import h5py, numpy as np
d = sys.argv[1]
ok = lambda n, c, msg="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + msg)
rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b) if a.shape == b.shape else np.inf
def get(v, k):
    try:
        return h5py.File(f"{d}/{v}_out.h5", "r")[k][()]
    except (OSError, KeyError):
        return np.zeros(1)
g = h5py.File("tests/fixtures/hf_logits.h5", "r")["gpt2_logits"][()]
for v in ("gpt2_headless", "gpt2_sharded"):
    e = rel(get(v, "logits"), g)
    ok(f"{v}: imported, gives hf_gpt2's logits", e < 1.5e-6, f"rel err {e:.1e}")
r = h5py.File("tests/fixtures/hf_pad.h5", "r")
e = rel(get("roberta_headless", "hidden"), r["roberta_hidden"][()])
p = get("roberta_headless", "pooled")
ok("roberta_headless: the encoder's hidden states as RobertaForMaskedLM's, its pooler kept",
   e < 1e-5 and p.shape == (5, 32) and np.abs(p).max() > 0, f"rel err {e:.1e}, pooled {p.shape}")
e = max(rel(get("roberta_sharded", "logits")[..., :512], r["roberta_logits"][()]),
        rel(get("roberta_sharded", "hidden"), r["roberta_hidden"][()]))
ok("roberta_sharded: imported from shards, logits and hidden states as transformers'", e < 1e-5, f"rel err {e:.1e}")
PY

# bad files through the whole import: a truncated model.safetensors, a header
# that lies about a tensor's size, a dtype zeropt does not read; one line each
mk() { mkdir -p "$TMP/$1" && cp tests/fixtures/hf_bert/config.json "$TMP/$1/"; }
mk trunc && head -c 20000 tests/fixtures/hf_bert/model.safetensors >"$TMP/trunc/model.safetensors"
expect_error "a truncated model.safetensors" "truncated data" "trunc/model.safetensors" -- \
    "$ZEROPT" ckpt import --from "$TMP/trunc" --out "$TMP/x.h5"
mk lie && mk dtype && "$PY" - tests/fixtures/hf_bert/model.safetensors "$TMP" <<'PY'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", b[:8])[0]
def write(path, edit):
    h = json.loads(b[8:8 + n])
    edit(h["bert.embeddings.word_embeddings.weight"])
    hb = json.dumps(h).encode()
    open(path, "wb").write(struct.pack("<Q", len(hb)) + hb + b[8 + n:])
def short(e):  # the header lies: its bytes are 4 fewer than its shape needs
    e["data_offsets"][1] -= 4
def dtype(e):  # the same bytes called 32-bit integers
    e["dtype"] = "I32"
write(f"{sys.argv[2]}/lie/model.safetensors", short)
write(f"{sys.argv[2]}/dtype/model.safetensors", dtype)
PY
expect_error "a header that lies about a tensor's size" "data size does not match its shape" "word_embeddings" -- \
    "$ZEROPT" ckpt import --from "$TMP/lie" --out "$TMP/x.h5"
expect_error "a dtype zeropt does not read (I32)" "dtype I32" -- \
    "$ZEROPT" ckpt import --from "$TMP/dtype" --out "$TMP/x.h5"
