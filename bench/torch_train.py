#!/usr/bin/env python3
"""PyTorch anchor for `make bench`: the same model (tests/ref/refmodel.py),
fp32, the same threads and batch, AdamW, MLM head at the ~15 % masked rows —
whole training steps timed. Prints one JSON line. With a sixth argument
`bf16` the forward runs under torch.autocast("cpu", bfloat16) (fp32
parameters and optimizer, bf16 matmuls), PyTorch's mixed precision on CPUs.

    python bench/torch_train.py configs/model/tiny.ini T B steps threads [fp32|bf16]
"""
import contextlib
import configparser
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
from refmodel import Cfg, decays, forward, names  # noqa: E402


def main(ini_path, T, B, steps, threads, precision="fp32"):
    torch.set_num_threads(threads)
    ini = configparser.ConfigParser()
    ini.read(ini_path)
    m = ini["model"]
    m.setdefault("ffn", "0")
    if int(m["ffn"]) == 0:
        m["ffn"] = str(4 * int(m["width"]))
    m.setdefault("tied", "true")
    m.setdefault("ln_eps", "1e-12")
    m.setdefault("type_vocab_size", "2")
    c = Cfg.from_ini(ini)
    g = torch.Generator().manual_seed(0)
    ps = {n: (torch.randn(s, generator=g) * 0.02).requires_grad_(True) for n, s in names(c)}
    opt = torch.optim.AdamW([{"params": [ps[n] for n, s in names(c) if decays(n, s)], "weight_decay": 0.01},
                             {"params": [ps[n] for n, s in names(c) if not decays(n, s)], "weight_decay": 0.0}],
                            lr=1e-4)
    times = []
    for s in range(steps):
        tokens = torch.randint(6, c.V, (B, T), generator=g)
        if c.arch == "encoder":
            labels = torch.where(torch.rand(B, T, generator=g) < 0.15, tokens, torch.full_like(tokens, -100))
        else:
            labels = torch.roll(tokens, -1, 1)
        t0 = time.perf_counter()
        opt.zero_grad()
        ctx = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
        with ctx:
            loss, _ = forward(ps, c, tokens, labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(ps.values()), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    t = sorted(times[1:])[len(times[1:]) // 2]
    print(json.dumps({"bench": "torch_train", "config": os.path.basename(ini_path)[:-4], "T": T, "B": B,
                      "step_s": t, "tokens_per_s": B * T / t, "torch": torch.__version__, "threads": threads,
                      "precision": precision}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
         sys.argv[6] if len(sys.argv) > 6 else "fp32")
