#!/usr/bin/env bash
# Hugging Face interchange. Import: HF-saved BertForMaskedLM and
# GPT2LMHeadModel safetensors (tests/fixtures/hf_*, made by
# tests/ref/make_hf_fixture.py) become zeropt checkpoints whose logits equal
# HF's (measured 2026-12-01: 1.7e-07 relative, tolerance 1.5e-06). Export: the imported checkpoint exported again equals
# HF's own file tensor by tensor (names, shapes, values) with a config.json HF
# reads; models HF has no class for are refused with one line.
# (tests/ref/check_hf_export.py loads exports in transformers itself.)
. "$(dirname "$0")/../lib/lib.sh"
plan 10
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
