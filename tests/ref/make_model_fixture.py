#!/usr/bin/env python3
"""Whole-model reference fixture for zeropt, from PyTorch.

Run by developers (not CI), in a virtual environment outside the repository:
    python3 -m venv ~/venv-ref && ~/venv-ref/bin/pip install torch transformers h5py numpy
    ~/venv-ref/bin/python tests/ref/make_model_fixture.py tests/fixtures/model_ref.h5

It builds a small reference transformer in PyTorch that follows zeropt's
parameter layout and names, checks it against Hugging Face's own
BertForMaskedLM (post-LN encoder) and GPT2LMHeadModel (pre-LN decoder) on the
same weights, then writes for four variants (encoder/decoder x pre/post-LN)
the weights, inputs, labels, loss, logits and every parameter gradient; the
same for relative positions (T5 buckets, RoPE, ALiBi) and DeepNorm, whose
position functions come from HF's own T5, LLaMA and BLOOM code (the buckets
and slopes are stored too). It also records HF's parameter counts for
bert-base-uncased and gpt2.
"""
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refmodel import Cfg, alibi_slopes, forward, names, t5_bucket  # noqa: E402

torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)

V, P, TV, L, C, NH, FF = 97, 16, 2, 2, 24, 3, 40
B, T = 2, 11


def cfg_of(arch, norm, **kw):
    gelu = "erf" if arch == "encoder" else "tanh"
    eps = 1e-12 if arch == "encoder" else 1e-5
    return Cfg(arch, norm, gelu, eps, V, P, TV if arch == "encoder" else 0, L, C, NH, FF, **kw)


# Positions and residual schemes beyond the HF-checked four: T5 buckets small
# enough that T = 11 reaches the logarithmic ones and the last (shared table in
# an encoder, one per layer in a decoder), RoPE, ALiBi at a head count that is
# not a power of two (3), DeepNorm's residual weight, sliding windows (with a
# global token and full attention every other layer; with RoPE in a decoder),
# QK-LayerNorm (with RoPE, with ALiBi).
EXTRA = [("encoder", "post", "t5", dict(pos="t5", t5_buckets=8, t5_max_distance=6)),
         ("decoder", "pre", "t5", dict(pos="t5", t5_buckets=6, t5_max_distance=7, t5_shared=False)),
         ("encoder", "post", "rope", dict(pos="rope", rope_base=500.0)),
         ("decoder", "pre", "rope", dict(pos="rope")),
         ("encoder", "pre", "alibi", dict(pos="alibi")),
         ("decoder", "pre", "alibi", dict(pos="alibi")),
         ("encoder", "post", "deepnorm", dict(init="deepnorm")),
         ("encoder", "post", "window", dict(attention="window", window=4, global_tokens=1,
                                            full_every=2)),
         ("decoder", "pre", "window", dict(attention="window", window=3, pos="rope")),
         ("decoder", "pre", "qknorm", dict(qk_norm=True, pos="rope")),
         ("encoder", "post", "qknorm", dict(qk_norm=True, pos="alibi"))]


def write_reference_functions(f):
    """HF's T5 buckets for offsets -1000..1000 and BLOOM's ALiBi slopes for 1..16 heads."""
    g = f.create_group("functions")
    rel = torch.arange(-1000, 1001)
    for bi in (0, 1):
        for nb, md in ((32, 128), (8, 6), (6, 7), (64, 1000)):
            b = t5_bucket(rel, bool(bi), nb, md)
            g[f"t5_bucket_{bi}_{nb}_{md}"] = b.numpy().astype(np.int32)
    for n in range(1, 17):
        g[f"alibi_slopes_{n}"] = alibi_slopes(n).numpy().astype(np.float64)


def init_params(c):
    ps = {}
    for n, shape in names(c):
        if n.endswith("norm.weight"):
            t = 1 + 0.1 * torch.randn(shape)
        elif n.endswith(".bias"):
            t = 0.05 * torch.randn(shape)
        else:
            t = 0.08 * torch.randn(shape)
        ps[n] = t.clone().requires_grad_(True)
    return ps


def make_inputs(arch):
    tokens = torch.randint(5, V, (B, T))
    segments = torch.zeros(B, T, dtype=torch.long)
    mask = torch.ones(B, T, dtype=torch.uint8)
    if arch == "encoder":
        segments[:, T // 2:] = 1
        mask[1, T - 3:] = 0
        tokens[1, T - 3:] = 0
        labels = torch.full((B, T), -100, dtype=torch.long)
        sel = (torch.rand(B, T) < 0.35) & mask.bool()
        sel[0, 1] = True
        labels[sel] = torch.randint(0, V, (int(sel.sum()),))
    else:
        labels = torch.full((B, T), -100, dtype=torch.long)
        labels[:, :-1] = tokens[:, 1:]
    return tokens, segments, mask, labels


def check_against_hf(ps, arch, tokens, segments, mask, labels, ref_logits):
    """Load the same weights into HF's own model and compare logits."""
    import transformers as tf
    sd = {}
    if arch == "encoder":
        cfg = tf.BertConfig(vocab_size=V, hidden_size=C, num_hidden_layers=L, num_attention_heads=NH,
                            intermediate_size=FF, max_position_embeddings=P, type_vocab_size=TV,
                            hidden_dropout_prob=0, attention_probs_dropout_prob=0, hidden_act="gelu",
                            layer_norm_eps=1e-12)
        hf = tf.BertForMaskedLM(cfg).eval()
        e = "bert.embeddings."
        sd[e + "word_embeddings.weight"] = ps["embed.tok.weight"]
        sd[e + "position_embeddings.weight"] = ps["embed.pos.weight"]
        sd[e + "token_type_embeddings.weight"] = ps["embed.seg.weight"]
        sd[e + "LayerNorm.weight"] = ps["embed.norm.weight"]
        sd[e + "LayerNorm.bias"] = ps["embed.norm.bias"]
        for l in range(L):
            p, q = f"blocks.{l:02d}.", f"bert.encoder.layer.{l}."
            for i, nm in enumerate(["query", "key", "value"]):
                sd[q + f"attention.self.{nm}.weight"] = ps[p + "attn.qkv.weight"][i * C:(i + 1) * C]
                sd[q + f"attention.self.{nm}.bias"] = ps[p + "attn.qkv.bias"][i * C:(i + 1) * C]
            pairs = [("attention.output.dense", "attn.proj"), ("attention.output.LayerNorm", "attn.norm"),
                     ("intermediate.dense", "mlp.fc"), ("output.dense", "mlp.proj"),
                     ("output.LayerNorm", "mlp.norm")]
            for a, b in pairs:
                sd[q + a + ".weight"] = ps[p + b + ".weight"]
                sd[q + a + ".bias"] = ps[p + b + ".bias"]
        c = "cls.predictions."
        sd[c + "transform.dense.weight"] = ps["head.transform.weight"]
        sd[c + "transform.dense.bias"] = ps["head.transform.bias"]
        sd[c + "transform.LayerNorm.weight"] = ps["head.transform_norm.weight"]
        sd[c + "transform.LayerNorm.bias"] = ps["head.transform_norm.bias"]
        sd[c + "bias"] = ps["head.bias"]
        sd[c + "decoder.weight"] = ps["embed.tok.weight"]
        sd[c + "decoder.bias"] = ps["head.bias"]
        hf.load_state_dict({k: v.detach() for k, v in sd.items()}, strict=False)
        out = hf(input_ids=tokens, token_type_ids=segments, attention_mask=mask.long()).logits
        got = out.reshape(B * T, V)[(labels.reshape(-1) >= 0)]
    else:
        cfg = tf.GPT2Config(vocab_size=V, n_positions=P, n_embd=C, n_layer=L, n_head=NH, n_inner=FF,
                            resid_pdrop=0, embd_pdrop=0, attn_pdrop=0, layer_norm_epsilon=1e-5,
                            activation_function="gelu_new")
        hf = tf.GPT2LMHeadModel(cfg).eval()
        t = "transformer."
        sd[t + "wte.weight"] = ps["embed.tok.weight"]
        sd[t + "wpe.weight"] = ps["embed.pos.weight"]
        for l in range(L):
            p, q = f"blocks.{l:02d}.", f"transformer.h.{l}."
            pairs = [("ln_1", "attn.norm", False), ("attn.c_attn", "attn.qkv", True),
                     ("attn.c_proj", "attn.proj", True), ("ln_2", "mlp.norm", False),
                     ("mlp.c_fc", "mlp.fc", True), ("mlp.c_proj", "mlp.proj", True)]
            for a, b, conv in pairs:  # HF Conv1D stores [in, out]
                w = ps[p + b + ".weight"]
                sd[q + a + ".weight"] = w.T if conv else w
                sd[q + a + ".bias"] = ps[p + b + ".bias"]
        sd[t + "ln_f.weight"] = ps["head.norm.weight"]
        sd[t + "ln_f.bias"] = ps["head.norm.bias"]
        sd["lm_head.weight"] = ps["embed.tok.weight"]
        hf.load_state_dict({k: v.detach().contiguous() for k, v in sd.items()}, strict=False)
        got = hf(input_ids=tokens).logits.reshape(B * T, V)
    err = ((got - ref_logits).norm() / ref_logits.norm()).item()
    assert err < 1e-5, f"reference model disagrees with HF ({arch}): {err}"
    print(f"  HF {type(hf).__name__} agrees with the reference: rel err {err:.2e}")


def hf_param_counts():
    import transformers as tf
    bert = tf.BertForMaskedLM(tf.BertConfig())  # bert-base-uncased's configuration
    gpt2 = tf.GPT2LMHeadModel(tf.GPT2Config())  # gpt2 (124M)
    count = lambda m: sum(p.numel() for p in m.parameters())
    return count(bert), count(gpt2)


def main(path):
    # HDF5 1.10's object headers (Debian's libhdf5 reads them): smaller than the default's
    with h5py.File(path, "w", libver=("v110", "v110")) as f:
        f.attrs["format"] = "zeropt-model-fixture"
        nb, ng = hf_param_counts()
        f.attrs["hf_bert_base_uncased_params"] = nb
        f.attrs["hf_gpt2_params"] = ng
        print(f"HF parameter counts: bert-base-uncased (MLM) {nb}, gpt2 {ng}")
        write_reference_functions(f)
        base = [(a, n, "", {}) for a, n in
                [("encoder", "post"), ("encoder", "pre"), ("decoder", "pre"), ("decoder", "post")]]
        for arch, norm, tag, kw in base + EXTRA:
            c = cfg_of(arch, norm, **kw)
            gelu, eps = c.gelu, c.eps
            ps = init_params(c)
            tokens, segments, mask, labels = make_inputs(arch)
            loss, logits = forward(ps, c, tokens, labels, segments, mask)
            loss.backward()
            if not tag and (arch, norm) in [("encoder", "post"), ("decoder", "pre")]:
                check_against_hf(ps, arch, tokens, segments, mask, labels, logits.detach())
            g = f.create_group(f"{arch}_{norm}" + (f"_{tag}" if tag else ""))
            for k, v in dict(arch=arch, norm=norm, gelu=gelu, ln_eps=eps, vocab_size=V, max_positions=P,
                             type_vocab_size=TV if arch == "encoder" else 0, layers=L, width=C, heads=NH,
                             ffn=FF, B=B, T=T, positions=c.pos, t5_buckets=c.t5_buckets,
                             t5_max_distance=c.t5_max_distance, t5_shared=int(c.t5_shared),
                             rope_base=c.rope_base, init=c.init, attention=c.attention,
                             window=c.window, global_tokens=c.global_tokens,
                             full_every=c.full_every, qk_norm=int(c.qk_norm)).items():
                g.attrs[k] = v
            def put(name, a):
                g.create_dataset(name, data=a)
            g["tokens"] = tokens.numpy().astype(np.int32)
            g["segments"] = segments.numpy().astype(np.int32)
            g["attn_mask"] = mask.numpy().astype(np.uint8)
            g["labels"] = labels.numpy().astype(np.int32)
            g["loss"] = np.float64(loss.item())
            put("logits", logits.detach().numpy().astype(np.float32))
            for n, p in ps.items():
                put(f"params/{n}", p.detach().numpy().astype(np.float32))
                put(f"grads/{n}", p.grad.numpy().astype(np.float32))
            print(f"  {arch}/{norm} {tag}: loss {loss.item():.6f}, {len(ps)} tensors")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/model_ref.h5")
