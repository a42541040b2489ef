#!/usr/bin/env python3
"""Export parity (developer-run; needs torch + transformers): a zeropt
checkpoint exported to HF safetensors loads in transformers and gives
zeropt's logits within 1e-5 relative.

    ~/venv-ref/bin/python tests/ref/check_hf_export.py build/zeropt CKPT [CKPT ...]

For each checkpoint: `zeropt ckpt export`, `zeropt ckpt logits` on random
tokens, then BertForMaskedLM / GPT2LMHeadModel.from_pretrained on the export.
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np
import torch
import transformers as tf


def check(zeropt, ckpt):
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([zeropt, "ckpt", "export", ckpt, "--format", "safetensors", "--out", d], check=True,
                       stdout=subprocess.DEVNULL)
        cfg = tf.AutoConfig.from_pretrained(d)
        cls = tf.BertForMaskedLM if cfg.model_type == "bert" else tf.GPT2LMHeadModel
        hf = cls.from_pretrained(d).eval()
        T = min(16, cfg.max_position_embeddings if cfg.model_type == "bert" else cfg.n_positions)
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
        return err < 1e-5


if __name__ == "__main__":
    ok = all([check(sys.argv[1], c) for c in sys.argv[2:]])
    sys.exit(0 if ok else 1)
