#!/usr/bin/env python3
"""Convergence parity: train zeropt's model in PyTorch on zeropt's own batches.

Developer-run (needs torch; CI never runs it):
    build/zeropt train -c tests/fixtures/parity_mlm.ini train.dump_batches=/tmp/dump.h5
    ~/venv-ref/bin/python tests/ref/train_parity.py /tmp/dump.h5 tests/fixtures/parity_mlm.h5

The dump holds zeropt's initial parameters, the resolved config and every
masked batch; this script trains the same model from the same weights on the
same batches with the same AdamW (decoupled decay on matrices and embeddings
only), warm-up + decay schedule and global-norm clipping, and writes a
fixture: the dump's content (compressed) plus PyTorch's per-step loss
(/torch_loss). tests/cli/test_parity.sh replays the fixture in zeropt and
compares the curves.
"""
import configparser
import math
import os
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refmodel import Cfg, decays, forward, names  # noqa: E402


def lr_at(t, s):
    """zeropt's schedule (src/optim.c lr_at)."""
    lr, mn, warm, steps = float(t["lr"]), float(t["min_lr"]), int(t["warmup"]), int(t["steps"])
    if warm > 0 and s < warm:
        return lr * (s + 1) / warm
    span = steps - warm
    prog = min(1.0, (s - warm) / (span - 1) if span > 1 else 1.0)
    sched = t["schedule"]
    if sched == "constant":
        return lr
    if sched == "cosine":
        return mn + (lr - mn) * 0.5 * (1 + math.cos(math.pi * prog))
    if sched == "wsd":
        nd = math.ceil(float(t["decay_frac"]) * steps)
        start = steps - nd
        if s < start or nd <= 0:
            return lr
        q = (s - start) / (nd - 1) if nd > 1 else 1.0
        return lr + (mn - lr) * q
    return lr + (mn - lr) * prog


def main(dump, out):
    torch.set_default_dtype(torch.float32)
    with h5py.File(dump, "r") as f:
        text = f.attrs["config"]
        text = text.decode() if isinstance(text, bytes) else text
        ini = configparser.ConfigParser()
        ini.read_string(text)
        c = Cfg.from_ini(ini)
        t = ini["train"]
        ps = {n: torch.tensor(np.array(f["init/" + n]), requires_grad=True) for n, _ in names(c)}
        tokens = torch.tensor(np.array(f["tokens"]), dtype=torch.long)
        labels = torch.tensor(np.array(f["labels"]), dtype=torch.long)
        init = {n: np.array(f["init/" + n]) for n, _ in names(c)}
    assert float(ini["model"]["dropout"]) == 0 and float(ini["model"]["attn_dropout"]) == 0, \
        "parity needs dropout = 0 (PyTorch's RNG is not zeropt's)"
    steps = tokens.shape[0]
    groups = [{"params": [ps[n] for n, s in names(c) if decays(n, s)], "weight_decay": float(t["weight_decay"])},
              {"params": [ps[n] for n, s in names(c) if not decays(n, s)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=float(t["lr"]), betas=(float(t["beta1"]), float(t["beta2"])),
                            eps=float(t["eps"]))
    clip = float(t["clip"])
    losses = []
    for s in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(t, s)
        opt.zero_grad()
        loss, _ = forward(ps, c, tokens[s], labels[s])
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(list(ps.values()), clip)
        opt.step()
        losses.append(loss.item())
        if s % 20 == 0 or s == steps - 1:
            print(f"step {s + 1:4d} loss {loss.item():.5f}")
    with h5py.File(out, "w") as f:
        f.attrs["config"] = text
        f.attrs["format"] = "zeropt-parity-fixture"
        for n, a in init.items():
            f.create_dataset("init/" + n, data=a, compression="gzip", compression_opts=9)
        f.create_dataset("tokens", data=tokens.numpy().astype(np.int32), compression="gzip", compression_opts=9)
        f.create_dataset("labels", data=labels.numpy().astype(np.int32), compression="gzip", compression_opts=9)
        f["torch_loss"] = np.array(losses, dtype=np.float64)
    print(f"wrote {out}: {steps} steps, final loss {losses[-1]:.5f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
