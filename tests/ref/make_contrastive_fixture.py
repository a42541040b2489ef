#!/usr/bin/env python3
"""Reference fixture for sequence contrastive learning beside MLM, from PyTorch
(computed in double, stored as float32 weights and float64-rounded results).

Run by developers (not CI), in a virtual environment outside the repository:
    ~/venv-ref/bin/python tests/ref/make_contrastive_fixture.py tests/fixtures/contrastive_ref.h5

For a small encoder in zeropt's layout (tests/ref/refmodel.py) and a batch of
2P padded sequences whose views pair up as (2i, 2i + 1), it computes
    loss = w_mlm · CE(masked positions) + w_con · InfoNCE(pooled embeddings)
with InfoNCE written plainly from its definition (NT-Xent: every other
embedding of the batch a negative; cosine or dot similarity over
temperature tau), and stores the weights, inputs, both losses and every
parameter gradient, for a few settings: post-LN with mean pooling and
cosine, pre-LN with [CLS] pooling and dot products, contrastive alone.
"""
import os
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refmodel import Cfg, forward, names  # noqa: E402

torch.manual_seed(2024)
torch.set_default_dtype(torch.float64)  # the reference in double: the test measures our fp32 error
V, P, TV, L, C, NH, FF = 53, 16, 2, 2, 24, 3, 40
B, T = 6, 12


def infonce(e, tau, cosine):
    z = F.normalize(e, dim=-1) if cosine else e
    s = z @ z.T / tau
    n = e.shape[0]
    s = s.masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
    partner = torch.arange(n) ^ 1
    return F.cross_entropy(s, partner)


def pool(h, mask, how):
    if how == "cls":
        return h[:, 0]
    m = mask.to(h.dtype)[:, :, None]
    return (h * m).sum(1) / m.sum(1)


VARIANTS = [  # name, norm, pool, similarity, tau, w_mlm, w_con
    ("post_mean_cos", "post", "mean", "cosine", 0.05, 1.0, 0.5),
    ("pre_cls_dot", "pre", "cls", "dot", 2.0, 0.7, 1.0),
    ("post_cls_cos_alone", "post", "cls", "cosine", 0.1, 0.0, 1.0),
]


def main(path):
    with h5py.File(path, "w", libver=("v110", "v110")) as f:
        f.attrs["format"] = "zeropt-contrastive-fixture"
        for name, norm, how, sim, tau, wm, wc in VARIANTS:
            c = Cfg("encoder", norm, "erf", 1e-12, V, P, TV, L, C, NH, FF)
            ps = {}
            for n, shape in names(c):
                t = (1 + 0.1 * torch.randn(shape) if n.endswith("norm.weight") else
                     0.05 * torch.randn(shape) if n.endswith(".bias") else 0.08 * torch.randn(shape))
                ps[n] = t.float().double().clone().requires_grad_(True)  # fp32-representable
            # views as the trainer makes them: two overlapping crops of one text
            lens = torch.tensor([12, 7, 9, 12, 5, 10])
            tokens = torch.zeros(B, T, dtype=torch.long)
            for i in range(0, B, 2):
                text = torch.randint(5, V, (2 * T,))
                for v, start in ((0, 0), (1, 3)):
                    n = int(lens[i + v]) - 1
                    tokens[i + v, 1:n + 1] = text[start:start + n]
            tokens[:, 0] = 2  # [CLS]
            mask = (torch.arange(T)[None] < lens[:, None]).to(torch.uint8)
            tokens[~mask.bool()] = 0
            labels = torch.full((B, T), -100, dtype=torch.long)
            if wm > 0:
                sel = (torch.rand(B, T) < 0.3) & mask.bool()
                sel[:, 0] = False
                sel[0, 1] = True
                labels[sel] = torch.randint(5, V, (int(sel.sum()),))
            segments = torch.zeros(B, T, dtype=torch.long)
            mlm, _, hid = forward(ps, c, tokens, labels, segments, mask, want_hidden=True)
            e = pool(hid, mask, how)
            con = infonce(e, tau, sim == "cosine")
            loss = wm * mlm + wc * con
            loss.backward()
            g = f.create_group(name)
            for k, v in dict(norm=norm, pool=how, similarity=sim, tau=tau, w_mlm=wm, w_con=wc,
                             vocab_size=V, max_positions=P, type_vocab_size=TV, layers=L, width=C,
                             heads=NH, ffn=FF, B=B, T=T, ln_eps=1e-12).items():
                g.attrs[k] = v
            g["tokens"] = tokens.numpy().astype(np.int32)
            g["attn_mask"] = mask.numpy()
            g["labels"] = labels.numpy().astype(np.int32)
            g["mlm_loss"] = np.float64(mlm.item())
            g["con_loss"] = np.float64(con.item())
            g["embeddings"] = e.detach().numpy().astype(np.float32)
            for n, p in ps.items():
                g[f"params/{n}"] = p.detach().numpy().astype(np.float32)
                grad = p.grad if p.grad is not None else torch.zeros_like(p)  # the head, unused
                g[f"grads/{n}"] = grad.numpy().astype(np.float32)
            print(f"  {name}: mlm {mlm.item():.6f}, infonce {con.item():.6f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/contrastive_ref.h5")
