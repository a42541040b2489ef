"""zeropt's transformer written plainly in PyTorch, for the reference scripts.

Same parameter names and layouts as zeropt (src/model_layout.c): a dict of
tensors. make_model_fixture.py checks this module against Hugging Face's own
BertForMaskedLM and GPT2LMHeadModel; train_parity.py trains it.
"""
import math

import torch
import torch.nn.functional as F


class Cfg:
    def __init__(self, arch, norm, gelu, eps, V, P, TV, L, C, NH, FF, tied=True, pos="absolute",
                 t5_buckets=32, t5_max_distance=128, t5_shared=True, rope_base=10000.0,
                 init="normal", attention="full", window=128, global_tokens=0, full_every=0,
                 qk_norm=False):
        self.arch, self.norm, self.gelu, self.eps = arch, norm, gelu, eps
        self.V, self.P, self.TV, self.L, self.C, self.NH, self.FF = V, P, TV, L, C, NH, FF
        self.tied = tied
        self.pos = "absolute" if pos == "learned" else pos  # absolute|t5|rope|alibi
        self.t5_buckets, self.t5_max_distance, self.t5_shared = t5_buckets, t5_max_distance, t5_shared
        self.rope_base, self.init = rope_base, init
        self.attention, self.window, self.global_tokens = attention, window, global_tokens
        self.full_every, self.qk_norm = full_every, qk_norm
        # DeepNorm's residual weight on post-LN blocks
        self.alpha = (2.0 * L) ** 0.25 if init == "deepnorm" else 1.0

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
    out = [("embed.tok.weight", (V, C))]
    if c.pos == "absolute":
        out += [("embed.pos.weight", (P, C))]
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
        if c.qk_norm:
            out += [(p + "attn.q_norm.weight", (C,)), (p + "attn.q_norm.bias", (C,)),
                    (p + "attn.k_norm.weight", (C,)), (p + "attn.k_norm.bias", (C,))]
        if c.pos == "t5" and (l == 0 or not c.t5_shared):
            out += [(p + "attn.rel_bias.weight", (c.t5_buckets, c.NH))]
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


def t5_bucket(rel, bidirectional, buckets, max_distance):
    """T5's bucket of offsets rel = key - query: Hugging Face's own function."""
    from transformers.models.t5.modeling_t5 import T5Attention
    return T5Attention._relative_position_bucket(rel, bidirectional=bidirectional,
                                                 num_buckets=buckets, max_distance=max_distance)


def alibi_slopes(n):
    """ALiBi's per-head slopes, read off Hugging Face's BLOOM (slope x key position)."""
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor
    a = build_alibi_tensor(torch.ones(1, 2, dtype=torch.long), n, torch.float64)
    return a[:, 0, 1].clone()


def rel_bias(c, table, T):
    """[NH, T, T] score bias from offsets j - i (T5 table [buckets, NH], or ALiBi)."""
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    if c.pos == "alibi":
        return (-alibi_slopes(c.NH)[:, None, None] * (j - i).abs()[None].double()).float()
    b = t5_bucket(j - i, c.arch == "encoder", c.t5_buckets, c.t5_max_distance)
    return table[b].permute(2, 0, 1)


def window_mask(c, T, l):
    """[T, T] additive mask of layer l's sliding window (0 where seen), or 0:
    query i sees keys within +-window/2 (causal: the window - 1 before it) and
    the first global_tokens, which see every key."""
    if c.attention != "window" or (c.full_every > 0 and l % c.full_every == 0):
        return 0
    i = torch.arange(T)[:, None]
    j = torch.arange(T)[None, :]
    lo, hi = (c.window - 1, 0) if c.arch == "decoder" else (c.window // 2, c.window // 2)
    see = ((j >= i - lo) & (j <= i + hi)) | (j < c.global_tokens) | (i < c.global_tokens)
    return torch.zeros(T, T).masked_fill(~see, float("-inf"))


def rope(q, k, base):
    """HF's rotary embedding (LLaMA's apply_rotary_pos_emb) on [B, NH, T, hs];
    the angles in double, as zeropt computes them."""
    from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
    T, hs = q.shape[2], q.shape[3]
    inv = 1.0 / (base ** (torch.arange(0, hs, 2, dtype=torch.float64) / hs))
    f = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat([f, f], dim=-1)
    return apply_rotary_pos_emb(q, k, emb.cos().float()[None], emb.sin().float()[None])


def forward(ps, c, tokens, labels, segments=None, mask=None, want_hidden=False):
    """Mean cross-entropy over labelled positions, and the logits of those rows
    (encoder) or of every row (decoder); want_hidden: and the last hidden
    state [B, T, C] (after the final norm of pre-LN models)."""
    B, T = tokens.shape
    C, NH = c.C, c.NH
    act = (lambda x: F.gelu(x, approximate="tanh")) if c.gelu == "tanh" else F.gelu
    ln = lambda x, p: F.layer_norm(x, (C,), ps[p + ".weight"], ps[p + ".bias"], c.eps)
    h = ps["embed.tok.weight"][tokens]
    if c.pos == "absolute":
        h = h + ps["embed.pos.weight"][torch.arange(T)][None]
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

    shared = {}

    def attn(x, p, l):
        qkv = x @ ps[p + "attn.qkv.weight"].T + ps[p + "attn.qkv.bias"]
        q, k, v = qkv.split(C, dim=-1)
        if c.qk_norm:  # QK-LayerNorm over the width, before the heads split and RoPE
            q, k = ln(q, p + "attn.q_norm"), ln(k, p + "attn.k_norm")
        q, k, v = (t.reshape(B, T, NH, hs).transpose(1, 2) for t in (q, k, v))
        if c.pos == "rope":
            q, k = rope(q, k, c.rope_base)
        s = q @ k.transpose(-1, -2) / math.sqrt(hs) + bias + window_mask(c, T, l)
        if c.pos in ("t5", "alibi"):
            if c.pos == "alibi" or not c.t5_shared or "b" not in shared:
                tab = ps.get(p + "attn.rel_bias.weight")
                shared["b"] = rel_bias(c, tab, T)  # T5 shared: block 0's, for every block
            s = s + shared["b"][None]
        y = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        return y @ ps[p + "attn.proj.weight"].T + ps[p + "attn.proj.bias"]

    def ffn(x, p):
        f = act(x @ ps[p + "mlp.fc.weight"].T + ps[p + "mlp.fc.bias"])
        return f @ ps[p + "mlp.proj.weight"].T + ps[p + "mlp.proj.bias"]

    for l in range(c.L):
        p = f"blocks.{l:02d}."
        if c.norm == "pre":
            h = h + attn(ln(h, p + "attn.norm"), p, l)
            h = h + ffn(ln(h, p + "mlp.norm"), p)
        else:
            h = ln(c.alpha * h + attn(h, p, l), p + "attn.norm")
            h = ln(c.alpha * h + ffn(h, p), p + "mlp.norm")
    if c.norm == "pre":
        h = ln(h, "head.norm")
    hidden = h
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
    loss = F.cross_entropy(logits, lab, ignore_index=-100) if lab.numel() else h.sum() * 0
    return (loss, logits, hidden) if want_hidden else (loss, logits)
