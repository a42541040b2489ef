#!/usr/bin/env python3
"""HF import/export fixtures for zeropt (developer-run; needs torch + transformers).

    ~/venv-ref/bin/python tests/ref/make_hf_fixture.py tests/fixtures

Saves a tiny randomly initialised BertForMaskedLM and GPT2LMHeadModel with
save_pretrained (model.safetensors + config.json) into tests/fixtures/hf_bert
and hf_gpt2, and tests/fixtures/hf_logits.h5 with inputs and HF's logits.
tests/unit/test_hf.c imports them and must reproduce the logits (1e-5), and
its export must equal HF's own files tensor by tensor.
"""
import os
import sys

import h5py
import numpy as np
import torch
import transformers as tf

V, P, L, C, NH, FF, B, T = 83, 24, 2, 16, 2, 36, 2, 9


def main(out):
    torch.manual_seed(5)
    bert = tf.BertForMaskedLM(tf.BertConfig(vocab_size=V, hidden_size=C, num_hidden_layers=L,
                                            num_attention_heads=NH, intermediate_size=FF,
                                            max_position_embeddings=P, type_vocab_size=2,
                                            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)).eval()
    gpt2 = tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=V, n_positions=P, n_embd=C, n_layer=L, n_head=NH,
                                            n_inner=FF, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                            bos_token_id=0, eos_token_id=0)).eval()
    with torch.no_grad():  # non-trivial norms and biases so every mapping is exercised
        for m in (bert, gpt2):
            for n, p in m.named_parameters():
                if "LayerNorm" in n or ".ln_" in n:
                    p.add_(0.1 * torch.randn_like(p))
                elif n.endswith("bias"):
                    p.copy_(0.05 * torch.randn_like(p))
    tokens = torch.randint(5, V, (B, T))
    with h5py.File(os.path.join(out, "hf_logits.h5"), "w") as f:
        f["tokens"] = tokens.numpy().astype(np.int32)
        with torch.no_grad():
            f["bert_logits"] = bert(input_ids=tokens).logits.numpy().astype(np.float32)
            f["gpt2_logits"] = gpt2(input_ids=tokens).logits.numpy().astype(np.float32)
    bert.save_pretrained(os.path.join(out, "hf_bert"), safe_serialization=True)
    gpt2.save_pretrained(os.path.join(out, "hf_gpt2"), safe_serialization=True)
    for d in ("hf_bert", "hf_gpt2"):
        p = os.path.join(out, d, "generation_config.json")
        if os.path.exists(p):
            os.remove(p)
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
