#!/usr/bin/env python3
"""Export parity (developer-run; needs torch + transformers): a zeropt
checkpoint exported to HF safetensors loads in transformers and gives
zeropt's logits within 1e-5 relative.

    ~/venv-ref/bin/python tests/ref/check_hf_export.py build/zeropt CKPT[=TOKENIZER] ...

For each checkpoint: `zeropt ckpt export` (with --tokenizer TOKENIZER when
given), `zeropt ckpt logits` on random tokens, then BertForMaskedLM /
GPT2LMHeadModel.from_pretrained on the export; when the export has a
tokenizer (given, or the one the checkpoint's corpus stores), AutoTokenizer
must load it and give zeropt's ids, and AutoModelForMaskedLM /
AutoModelForCausalLM must load the folder.
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import transformers as tf


def check(zeropt, arg):
    ckpt, _, tokenizer = arg.partition("=")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([zeropt, "ckpt", "export", ckpt, "--format", "safetensors", "--out", d] +
                       (["--tokenizer", tokenizer] if tokenizer else []), check=True, stdout=subprocess.DEVNULL)
        cfg = tf.AutoConfig.from_pretrained(d)
        cls = {"bert": tf.BertForMaskedLM, "roberta": tf.RobertaForMaskedLM}.get(cfg.model_type, tf.GPT2LMHeadModel)
        hf = cls.from_pretrained(d).eval()
        T = min(16, cfg.n_positions if cfg.model_type == "gpt2" else cfg.max_position_embeddings - 2)
        tokens = torch.randint(0, cfg.vocab_size, (3, T), generator=torch.Generator().manual_seed(1))
        with h5py.File(os.path.join(d, "tokens.h5"), "w") as f:
            f["tokens"] = tokens.numpy().astype(np.int32)
        subprocess.run([zeropt, "ckpt", "logits", ckpt, "--tokens", os.path.join(d, "tokens.h5"), "--out",
                        os.path.join(d, "logits.h5")], check=True, stdout=subprocess.DEVNULL)
        z = h5py.File(os.path.join(d, "logits.h5"), "r")["logits"][()]
        with torch.no_grad():
            h = hf(input_ids=tokens).logits.numpy()
        err = np.linalg.norm(h - z) / np.linalg.norm(z)
        print(f"{ckpt}: {cls.__name__} on the export vs zeropt: rel err {err:.2e}",
              "ok" if err < 1e-5 else "FAIL")
        good = err < 1e-5
        if os.path.exists(os.path.join(d, "tokenizer.json")):  # AutoTokenizer and the Auto model classes
            tok = tf.AutoTokenizer.from_pretrained(d)
            auto = (tf.AutoModelForCausalLM if cfg.model_type == "gpt2" else tf.AutoModelForMaskedLM).from_pretrained(d)
            text = "Résumé: the café's 3 λ-calculus papers, 日本語 too."
            ids = tok(text)["input_ids"]
            ours = subprocess.run([zeropt, "tokenizer", "encode", "--tokenizer", os.path.join(d, "tokenizer.json"),
                                   "--text", text], check=True, capture_output=True, text=True).stdout.split()
            want = [int(x) for x in ours]
            if cfg.model_type != "gpt2":
                want = [tok.cls_token_id] + want + [tok.sep_token_id]
            same = ids == want and type(auto).__name__ == cls.__name__
            print(f"{ckpt}: AutoTokenizer on the export gives zeropt's ids, {type(auto).__name__} loads:",
                  "ok" if same else f"FAIL {ids} vs {want}")
            good = good and same
        return good


if __name__ == "__main__":
    ok = all([check(sys.argv[1], c) for c in sys.argv[2:]])
    sys.exit(0 if ok else 1)
