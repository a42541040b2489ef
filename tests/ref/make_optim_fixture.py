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
  /states/...        a matrix w [48, 96] with weight decay and a vector b [96]
                     without, 8 steps of gradients, learning rates and scales,
                     and the parameters after every step of
      lamb           LAMB by its published rule as NVIDIA's FusedLAMB runs it
                     (bias correction, u = m^/(sqrt(v^) + eps) + wd w, trust
                     ratio |w|/|u| on the tensors that decay), in torch;
      adafactor      torch.optim.Adafactor (w with weight decay, b without);
      adafactor_m    the same with momentum (beta1 = adafactor_beta1, Shazeer &
                     Stern 2018): torch.optim.Adafactor's own update u of each
                     step (fed the momentum run's parameters, in float64),
                     then m = beta1 m + (1 - beta1) u, w = w (1 - lr wd) - m;
      adam8bit       AdamW with bitsandbytes' block-wise 8-bit states (blocks
                     of 2048 from the tensor's start, one absmax each, the
                     signed dynamic map for m and the unsigned one for v,
                     nearest code, ties to the lower; b, under 4096 elements,
                     keeps fp32 states), a numpy reference quantizer; the two
                     code tables are stored too;
      adambf16       AdamW with m and v rounded to bf16 stochastically with
                     zeropt's counter-based bits after every update, in numpy
                     float32 (the step uses the unrounded m, v);
      adafactor_m8bit, adafactor_mbf16
                     adafactor_m with its momentum kept as 8-bit states (the
                     reference quantizer, w only) or bf16 ones (stochastic
                     rounding as adambf16's) after every step.
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


def dynamic_map(signed):
    """bitsandbytes' dynamic map (7 exponent bits), in float64, rounded once."""
    d = []
    for i in range(7):
        k = 2 ** i if signed else 2 ** (i + 1)
        step = 0.9 / k
        for j in range(k):
            mid = ((0.1 + j * step) + (0.1 + (j + 1) * step)) / 2.0
            d.append(10.0 ** (i - 6) * mid)
            if signed:
                d.append(-(10.0 ** (i - 6)) * mid)
    d += [0.0, 1.0]
    assert len(d) == 256
    return np.array(sorted(d), np.float64).astype(np.float32)


def quantize(x, code):
    """Blocks of 2048 from element 0: absmax per block, nearest code index."""
    q = np.zeros(x.size, np.uint8)
    a = np.zeros((x.size + 2047) // 2048, np.float32)
    for b in range(a.size):
        blk = x[b * 2048:(b + 1) * 2048]
        am = np.float32(np.max(np.abs(blk)))
        a[b] = am
        y = blk / am if am > 0 else np.zeros_like(blk)
        q[b * 2048:b * 2048 + blk.size] = np.argmin(np.abs(code[None, :] - y[:, None]), axis=1)
    return q, a


def dequantize(q, a, code):
    return (code[q] * np.repeat(a, 2048)[:q.size]).astype(np.float32)


def states(f):
    g = f.create_group("states")
    torch.manual_seed(1)
    R, C, steps = 48, 96, 8
    b1, b2, eps, wd = 0.9, 0.98, 1e-6, 0.1
    w0 = (torch.randn(R, C) * 0.05).float()
    bias0 = (torch.randn(C) * 0.1).float()
    grads, lrs, scales = [], [], []
    for s in range(steps):
        grads.append((torch.randn(R * C + C) * (1.0 + 0.3 * s) * 0.01).float())
        scales.append(1.0 if s % 3 else 0.37)
        lrs.append(2e-3 * (0.5 + 0.5 * math.cos(s)))
    g.attrs.update(dict(beta1=b1, beta2=b2, eps=eps, weight_decay=wd, rows=R, cols=C))
    g["init"] = torch.cat([w0.flatten(), bias0]).numpy()
    g["grads"] = torch.stack(grads).numpy()
    g["lr"] = np.array(lrs)
    g["gscale"] = np.array(scales)

    def flat(w, b):
        return torch.cat([w.detach().flatten(), b.detach()]).numpy().astype(np.float32)

    # LAMB, the published rule (FusedLAMB's defaults)
    w, b = w0.clone(), bias0.clone()
    st = {"w": [torch.zeros_like(w), torch.zeros_like(w)], "b": [torch.zeros_like(b), torch.zeros_like(b)]}
    after = []
    for s in range(steps):
        gg = grads[s] * scales[s]
        t = s + 1
        new = {}
        for name, p, gr, decay in (("w", w, gg[:R * C].view(R, C), wd), ("b", b, gg[R * C:], 0.0)):
            m, v = st[name]
            m.mul_(b1).add_(gr, alpha=1 - b1)
            v.mul_(b2).addcmul_(gr, gr, value=1 - b2)
            u = (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps) + decay * p
            wn, un = p.norm().item(), u.norm().item()
            ratio = wn / un if decay != 0 and wn > 0 and un > 0 else 1.0
            new[name] = p - lrs[s] * ratio * u
        w, b = new["w"], new["b"]
        after.append(flat(w, b))
    g["lamb"] = np.array(after)

    # Adafactor: torch's own
    w = torch.nn.Parameter(w0.clone())
    b = torch.nn.Parameter(bias0.clone())
    opt = torch.optim.Adafactor([{"params": [w], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}],
                                lr=lrs[0])
    after = []
    for s in range(steps):
        gg = grads[s] * scales[s]
        for group in opt.param_groups:
            group["lr"] = lrs[s]
        w.grad, b.grad = gg[:R * C].view(R, C).clone(), gg[R * C:].clone()
        opt.step()
        after.append(flat(w, b))
    g["adafactor"] = np.array(after)

    # Adafactor with momentum: torch's update, then the momentum over it (float64);
    # encode(m, t) gives the momentum as the state keeps it after step t (the
    # step itself takes the unencoded m, as zeropt's kernel does)
    ab1 = 0.9
    g.attrs["adafactor_beta1"] = ab1

    def adafactor_momentum(encode):
        w = torch.nn.Parameter(w0.clone().double())
        b = torch.nn.Parameter(bias0.clone().double())
        opt = torch.optim.Adafactor([{"params": [w], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}],
                                    lr=lrs[0])
        pw, pb = w0.clone().double(), bias0.clone().double()
        mw, mb = torch.zeros_like(pw), torch.zeros_like(pb)
        after = []
        for s in range(steps):
            gg = (grads[s] * scales[s]).double()
            for group in opt.param_groups:
                group["lr"] = lrs[s]
            with torch.no_grad():
                w.copy_(pw), b.copy_(pb)
            w.grad, b.grad = gg[:R * C].view(R, C).clone(), gg[R * C:].clone()
            opt.step()
            keep = 1 - lrs[s] * wd
            uw, ub = pw * keep - w.detach(), pb - b.detach()  # torch's update alpha*u
            mw, mb = ab1 * mw + (1 - ab1) * uw, ab1 * mb + (1 - ab1) * ub
            pw, pb = pw * keep - mw, pb - mb
            after.append(flat(pw, pb))
            m = encode(np.concatenate([mw.flatten().numpy(), mb.numpy()]), s + 1)
            mw, mb = torch.from_numpy(m[:R * C]).view(R, C), torch.from_numpy(m[R * C:])
        return np.array(after)

    g["adafactor_m"] = adafactor_momentum(lambda m, t: m)

    # AdamW with 8-bit block-wise states (numpy, float32 throughout)
    cs, cu = dynamic_map(True), dynamic_map(False)
    g["code_signed"], g["code_unsigned"] = cs, cu
    p = g["init"][()].astype(np.float32)
    n = R * C
    qm, am = quantize(np.zeros(n, np.float32), cs)
    qv, av = quantize(np.zeros(n, np.float32), cu)
    mb, vb = np.zeros(C, np.float32), np.zeros(C, np.float32)
    after = []
    f32 = np.float32
    for s in range(steps):
        gg = (grads[s].numpy() * f32(scales[s])).astype(np.float32)
        t = s + 1
        step = f32(lrs[s] / (1 - b1 ** t))
        rbc2 = f32(1.0 / math.sqrt(1 - b2 ** t))
        B1, B2, EPS = f32(b1), f32(b2), f32(eps)
        m = dequantize(qm, am, cs)
        v = dequantize(qv, av, cu)
        gw = gg[:n]
        m = B1 * m + (f32(1) - B1) * gw
        v = B2 * v + (f32(1) - B2) * gw * gw
        keep = f32(1 - lrs[s] * wd)
        p[:n] = p[:n] * keep - step * m / (np.sqrt(v) * rbc2 + EPS)
        qm, am = quantize(m, cs)
        qv, av = quantize(v, cu)
        gb = gg[n:]
        mb = B1 * mb + (f32(1) - B1) * gb
        vb = B2 * vb + (f32(1) - B2) * gb * gb
        p[n:] = p[n:] - step * mb / (np.sqrt(vb) * rbc2 + EPS)
        after.append(p.copy())
    g["adam8bit"] = np.array(after)

    # AdamW with bf16 states: numpy float32 in the kernel's order, m and v
    # rounded stochastically to bf16 after every update with zeropt's
    # counter-based bits (kernels/rng.h: element i of unit 0, step t, state k
    # under [train] seed = 1234); nearest-even rounding checked against torch's
    M64 = (1 << 64) - 1

    def mix(x):
        x = (x + 0x9E3779B97F4A7C15) & M64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
        return x ^ (x >> 31)

    def child(seed, tag):
        return mix(seed ^ mix((tag + 0x632BE59BD9B4E019) & M64))

    def bits16(seed, n):
        i = np.arange(n, dtype=np.uint64)
        with np.errstate(over="ignore"):
            x = np.uint64(seed) ^ (i * np.uint64(0xD1B54A32D192ED03))
            x = x + np.uint64(0x9E3779B97F4A7C15)
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            x = x ^ (x >> np.uint64(31))
        return x >> np.uint64(48)

    def bf16_rne(x):
        u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
        u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16 << 16
        r = u.astype(np.uint32).view(np.float32)
        t = torch.from_numpy(x.astype(np.float32)).to(torch.bfloat16).float().numpy()
        assert np.array_equal(r, t), "bf16 rounding differs from torch's"
        return r

    def bf16_sr(x, seed):
        u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
        u = (u + bits16(seed, x.size)) >> np.uint64(16) << np.uint64(16)
        return u.astype(np.uint32).view(np.float32)

    bf16_rne(np.array(grads[0].numpy()))  # the nearest-even encoder, against torch
    sroot = child(1234, 0xB16)
    p = g["init"][()].astype(np.float32)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    after = []
    for s in range(steps):
        gg = (grads[s].numpy() * f32(scales[s])).astype(np.float32)
        t = s + 1
        step = f32(lrs[s] / (1 - b1 ** t))
        rbc2 = f32(1.0 / math.sqrt(1 - b2 ** t))
        B1, B2, EPS = f32(b1), f32(b2), f32(eps)
        m = B1 * m + (f32(1) - B1) * gg
        v = B2 * v + (f32(1) - B2) * gg * gg
        keep = np.concatenate([np.full(n, f32(1 - lrs[s] * wd)), np.ones(C, np.float32)])
        p = p * keep - step * m / (np.sqrt(v) * rbc2 + EPS)
        m = bf16_sr(m, child(child(sroot, t * 2 + 0), 0))
        v = bf16_sr(v, child(child(sroot, t * 2 + 1), 0))
        after.append(p.copy())
    g["adambf16"] = np.array(after)

    # Adafactor's momentum kept in 8 bits (w's, blocks of 2048 from its start,
    # the signed map; b, under 4096 elements, stays unencoded) and in bf16
    # (stochastic rounding with the bits of state 0 of unit 0 at step t)
    def m8(m, t):
        q, a = quantize(m[:n].astype(np.float32), cs)
        return np.concatenate([dequantize(q, a, cs).astype(np.float64), m[n:]])

    def m16(m, t):
        return bf16_sr(m.astype(np.float32), child(child(sroot, t * 2 + 0), 0)).astype(np.float64)

    g["adafactor_m8bit"] = adafactor_momentum(m8)
    g["adafactor_mbf16"] = adafactor_momentum(m16)
    for k in ("adafactor_m8bit", "adafactor_mbf16"):  # how far the encoding moves w
        d = np.abs(g[k][()] - g["adafactor_m"][()]).max() / np.abs(g["adafactor_m"][()]).max()
        print(f"{k}: {d:.2e} from fp32 momentum (max abs, relative)")


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
        states(f)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
