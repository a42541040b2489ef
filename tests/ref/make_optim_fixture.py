#!/usr/bin/env python3
"""Optimizer reference fixture for zeropt, from PyTorch.

Developer-run (needs torch; CI never runs it), from the repository root:
    ~/venv-ref/bin/python tests/ref/make_optim_fixture.py tests/fixtures/optim_ref.h5

Writes, for tests/unit/test_optim.c:
  /schedule/<name>   float64 [steps]: the learning rate PyTorch's own schedulers
                     give at every step (warm-up by LinearLR, then LinearLR,
                     CosineAnnealingLR, ConstantLR or a LambdaLR for
                     warmup-stable-decay, chained with SequentialLR), with the
                     schedule's settings as attributes;
  /adamw/...         torch.optim.AdamW on two tensors — one with weight decay,
                     one without (a norm or bias) — over several steps with a
                     gradient scale per step (what clipping applies): the
                     initial values, every step's gradients, learning rate and
                     scale, and the parameters after every step.
"""
import math
import sys

import h5py
import numpy as np
import torch


def schedule(name, steps, warmup, lr, min_lr, decay_frac):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0 / warmup, end_factor=1.0,
                                             total_iters=warmup - 1)
    span = steps - warmup
    if name == "linear":
        after = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=min_lr / lr,
                                                  total_iters=span - 1)
    elif name == "cosine":
        after = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=span - 1, eta_min=min_lr)
    elif name == "constant":
        after = torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)
    else:  # warmup-stable-decay: constant, then linear to min_lr over the last decay_frac
        ndecay = math.ceil(decay_frac * steps)
        start = steps - ndecay

        def wsd(t):  # t counts from the end of warm-up
            s = t + warmup
            if s < start:
                return 1.0
            q = (s - start) / (ndecay - 1) if ndecay > 1 else 1.0
            return (lr + (min_lr - lr) * q) / lr

        after = torch.optim.lr_scheduler.LambdaLR(opt, wsd)
    sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, after], milestones=[warmup])
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(out)


def main(out):
    torch.manual_seed(0)
    with h5py.File(out, "w") as f:
        f.attrs["torch_version"] = str(torch.__version__)
        cfg = dict(steps=60, warmup=6, lr=1e-3, min_lr=1e-4, decay_frac=0.25)
        for name in ["linear", "cosine", "constant", "wsd"]:
            d = f.create_dataset(f"schedule/{name}", data=schedule(name, **cfg))
            for k, v in cfg.items():
                d.attrs[k] = v
        steps, n_decay, n_plain = 8, 48, 16
        b1, b2, eps, wd = 0.9, 0.98, 1e-6, 0.1
        w = torch.nn.Parameter(torch.randn(n_decay) * 0.5)
        b = torch.nn.Parameter(torch.randn(n_plain) * 0.1)
        init = torch.cat([w.detach(), b.detach()]).numpy().astype(np.float32)
        opt = torch.optim.AdamW([{"params": [w], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}],
                                lr=1e-3, betas=(b1, b2), eps=eps)
        grads, lrs, scales, after = [], [], [], []
        for s in range(steps):
            g = (torch.randn(n_decay + n_plain) * (1.0 + s)).float()
            scale = 1.0 if s % 3 else 0.37  # a clipped step every third
            lr = 1e-3 * (0.5 + 0.5 * math.cos(s))
            for group in opt.param_groups:
                group["lr"] = lr
            w.grad, b.grad = (g[:n_decay] * scale).clone(), (g[n_decay:] * scale).clone()
            opt.step()
            grads.append(g.numpy())
            lrs.append(lr)
            scales.append(scale)
            after.append(torch.cat([w.detach(), b.detach()]).numpy())
        a = f.create_group("adamw")
        a.attrs.update(dict(beta1=b1, beta2=b2, eps=eps, weight_decay=wd, n_decay=n_decay, n_plain=n_plain))
        a["init"] = init
        a["grads"] = np.array(grads, np.float32)
        a["lr"] = np.array(lrs)
        a["gscale"] = np.array(scales)
        a["params"] = np.array(after, np.float32)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
