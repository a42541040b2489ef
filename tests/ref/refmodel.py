"""zeropt's transformer written plainly in PyTorch, for the reference scripts.

Same parameter names and layouts as zeropt (src/model_layout.c): a dict of
tensors. make_model_fixture.py checks this module against Hugging Face's own
BertForMaskedLM and GPT2LMHeadModel; train_parity.py trains it.
"""
import math

import torch
import torch.nn.functional as F


class Cfg:
    def __init__(self, arch, norm, gelu, eps, V, P, TV, L, C, NH, FF, tied=True):
        self.arch, self.norm, self.gelu, self.eps = arch, norm, gelu, eps
        self.V, self.P, self.TV, self.L, self.C, self.NH, self.FF = V, P, TV, L, C, NH, FF
        self.tied = tied

    @staticmethod
    def from_ini(ini):
        """From zeropt's resolved config (configparser)."""
        m = ini["model"]
        arch = m["arch"]
        return Cfg(arch, m["norm"], m["gelu"], float(m["ln_eps"]), int(m["vocab_size"]),
                   int(m["max_positions"]), int(m["type_vocab_size"]) if arch == "encoder" else 0,
                   int(m["layers"]), int(m["width"]), int(m["heads"]), int(m["ffn"]),
                   m["tied"] == "true")


def names(c):
    """zeropt's tensors in unit order, with shapes."""
    V, P, TV, L, C, FF = c.V, c.P, c.TV, c.L, c.C, c.FF
    out = [("embed.tok.weight", (V, C)), ("embed.pos.weight", (P, C))]
    if c.arch == "encoder":
        if TV > 0:
            out += [("embed.seg.weight", (TV, C))]
        out += [("embed.norm.weight", (C,)), ("embed.norm.bias", (C,))]
    for l in range(L):
        p = f"blocks.{l:02d}."
        out += [(p + "attn.norm.weight", (C,)), (p + "attn.norm.bias", (C,)),
                (p + "attn.qkv.weight", (3 * C, C)), (p + "attn.qkv.bias", (3 * C,)),
                (p + "attn.proj.weight", (C, C)), (p + "attn.proj.bias", (C,)),
                (p + "mlp.norm.weight", (C,)), (p + "mlp.norm.bias", (C,)),
                (p + "mlp.fc.weight", (FF, C)), (p + "mlp.fc.bias", (FF,)),
                (p + "mlp.proj.weight", (C, FF)), (p + "mlp.proj.bias", (C,))]
    if c.norm == "pre":
        out += [("head.norm.weight", (C,)), ("head.norm.bias", (C,))]
    if c.arch == "encoder":
        out += [("head.transform.weight", (C, C)), ("head.transform.bias", (C,)),
                ("head.transform_norm.weight", (C,)), ("head.transform_norm.bias", (C,)),
                ("head.bias", (V,))]
    if not c.tied:
        out += [("head.decoder.weight", (V, C))]
    return out


def decays(name, shape):
    """zeropt's weight-decay rule: matrices and embeddings, not norms or biases."""
    return len(shape) == 2


def forward(ps, c, tokens, labels, segments=None, mask=None):
    """Mean cross-entropy over labelled positions, and the logits of those rows
    (encoder) or of every row (decoder)."""
    B, T = tokens.shape
    C, NH = c.C, c.NH
    act = (lambda x: F.gelu(x, approximate="tanh")) if c.gelu == "tanh" else F.gelu
    ln = lambda x, p: F.layer_norm(x, (C,), ps[p + ".weight"], ps[p + ".bias"], c.eps)
    h = ps["embed.tok.weight"][tokens] + ps["embed.pos.weight"][torch.arange(T)][None]
    if c.arch == "encoder":
        if c.TV > 0:
            seg = segments if segments is not None else torch.zeros_like(tokens)
            h = h + ps["embed.seg.weight"][seg]
        h = ln(h, "embed.norm")
    hs = C // NH
    if c.arch == "encoder":
        keymask = mask if mask is not None else torch.ones(B, T, dtype=torch.uint8)
        bias = torch.zeros(B, 1, T, T).masked_fill(~keymask.bool()[:, None, None, :], float("-inf"))
    else:
        bias = torch.zeros(T, T).masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))

    def attn(x, p):
        qkv = x @ ps[p + "attn.qkv.weight"].T + ps[p + "attn.qkv.bias"]
        q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in qkv.split(C, dim=-1))
        s = q @ k.transpose(-1, -2) / math.sqrt(hs) + bias
        y = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        return y @ ps[p + "attn.proj.weight"].T + ps[p + "attn.proj.bias"]

    def ffn(x, p):
        f = act(x @ ps[p + "mlp.fc.weight"].T + ps[p + "mlp.fc.bias"])
        return f @ ps[p + "mlp.proj.weight"].T + ps[p + "mlp.proj.bias"]

    for l in range(c.L):
        p = f"blocks.{l:02d}."
        if c.norm == "pre":
            h = h + attn(ln(h, p + "attn.norm"), p)
            h = h + ffn(ln(h, p + "mlp.norm"), p)
        else:
            h = ln(h + attn(h, p), p + "attn.norm")
            h = ln(h + ffn(h, p), p + "mlp.norm")
    if c.norm == "pre":
        h = ln(h, "head.norm")
    h = h.reshape(B * T, C)
    lab = labels.reshape(-1)
    W = ps["embed.tok.weight"] if c.tied else ps["head.decoder.weight"]
    if c.arch == "encoder":
        rows = (lab >= 0).nonzero().squeeze(1)
        t = act(h[rows] @ ps["head.transform.weight"].T + ps["head.transform.bias"])
        t = ln(t, "head.transform_norm")
        logits = t @ W.T + ps["head.bias"]
        lab = lab[rows]
    else:
        logits = h @ W.T
    return F.cross_entropy(logits, lab, ignore_index=-100), logits
