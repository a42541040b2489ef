#!/usr/bin/env python3
"""bench/profile_table.py — a per-kernel share table from `perf script` output.

Reads the samples of a 1-thread `zeropt train` run recorded with
`perf record --call-graph dwarf` (one thread, so every sample's call chain
reaches the model code that asked for the work) and prints, for the samples
inside trainer_step, the share of each (model op, kernel) pair beside the
FLOPs and bytes that pair moves per step by its shapes, and the rates those
imply at the measured step time.

  perf script -F tid,ip,sym | profile_table.py --arch decoder --layers 12 --width 768 \
      --ffn 3072 --heads 12 --vocab 50257 --batch 4 --seq 256 --step-s 15.2 [--json out.json]

The FLOP and byte counts are the ideal ones (each operand read once, each
result written once; accumulating outputs read and written), fp32.
"""
import argparse
import json
import re
import sys
from collections import Counter

OPS = {  # inlined or not, the model function a kernel was called from
    "embed_forward": "embedding", "embed_backward": "embedding",
    "attn_forward": "attention block", "attn_backward": "attention block",
    "ffn_forward": "FFN block", "ffn_backward": "FFN block",
    "head_forward": "LM head + loss", "head_backward": "LM head + loss",
    "block_pre_forward": "block (norms, residual)", "block_pre_backward": "block (norms, residual)",
    "block_post_forward": "block (norms, residual)", "block_post_backward": "block (norms, residual)",
    "resid_fwd": "block (norms, residual)", "resid_branch_bwd": "block (norms, residual)",
}


def samples(stream):
    """Yield each sample's frames, leaf first, as symbol names."""
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if line.startswith("\t") or line.startswith(" "):
            parts = line.strip().split(None, 1)
            sym = parts[1] if len(parts) > 1 else "?"
            sym = re.sub(r" \(.*\)$", "", sym)  # "(dso)" or "(inlined)"
            frames.append(sym)
    if frames:
        yield frames


def base(sym):
    return re.sub(r"\.(constprop|isra|part|cold|_omp_fn)[.0-9a-z_]*$", "", sym.split("+")[0])


def classify(frames):
    """(in_step, op, kernel) of one sample."""
    syms = [base(s) for s in frames]
    in_step = "trainer_step" in syms
    kern = next((i for i, s in enumerate(syms) if s.startswith("k_")), None)
    # the outermost of the kernels on the chain (k_exp_shift inlined into
    # k_attention_fwd, OpenMP's outlined body under its kernel: the kernel)
    i = kern
    while i is not None and i + 1 < len(syms) and (syms[i + 1].startswith(("k_", "GOMP_", "gomp_"))):
        i += 1
        if syms[i].startswith("k_"):
            kern = i
    if kern is None:
        leaf = syms[0] if syms else "?"
        if any(s.startswith(("zero_", "comm_", "PMPI", "MPI_")) for s in syms):
            what = "ZeRO / MPI"
        elif any(s.startswith(("batch_", "data_", "sampler", "obj_", "mlm_", "clm_")) for s in syms):
            what = "batch (data, masking)"
        elif "clear_page" in leaf or "page_fault" in " ".join(syms):
            what = "page faults (first touch)"
        else:
            what = "other (" + leaf + ")"
        return in_step, what, ""
    kname = syms[kern]
    op = next((OPS[s] for s in syms[kern + 1:] if s in OPS), None)
    if op is None:
        op = "optimizer" if kname in ("k_adamw", "k_sumsq") else "other"
    if kname in ("k_zero", "k_accum") and op == "other":
        op = "ZeRO / MPI"
    return in_step, op, kname


def costs(a):
    """{(op, kernel): (flops, bytes)} per step, fp32, by the shapes."""
    N, C, F, V, L, T, B, H = a.batch * a.seq, a.width, a.ffn, a.vocab, a.layers, a.seq, a.batch, a.heads
    Nh = N if a.arch == "decoder" else int(round(N * a.mask_rate))  # MLM: head on the masked rows
    f4 = 4
    def mm(M, K, Nn):  # y[M,Nn] = x[M,K]·W[Nn,K]ᵀ: read x, W, write y
        return 2 * M * K * Nn, f4 * (M * K + K * Nn + M * Nn)
    def mm_bwd(M, K, Nn):  # dx += dy·W, dW += dyᵀ·x: dy twice, W and x once, dx and dW read+written
        return 4 * M * K * Nn, f4 * (2 * M * Nn + Nn * K + M * K + 2 * M * K + 2 * Nn * K)
    c = Counter()
    def add(key, fl, by):
        old = c.get(key, (0, 0))
        c[key] = (old[0] + fl, old[1] + by)
    for _ in range(L):
        for (M, K, Nn) in [(N, C, 3 * C), (N, C, C)]:
            add(("attention block", "k_matmul_fwd"), *mm(M, K, Nn))
            add(("attention block", "k_matmul_bwd"), *mm_bwd(M, K, Nn))
        for (M, K, Nn) in [(N, C, F), (N, F, C)]:
            add(("FFN block", "k_matmul_fwd"), *mm(M, K, Nn))
            add(("FFN block", "k_matmul_bwd"), *mm_bwd(M, K, Nn))
        # S = q kᵀ and y = P v per head: 2·2·B·H·T·T·hs forward, twice that backward;
        # bytes: qkv and y once, P [B,H,T,T] written and read
        att = 2 * 2 * B * T * T * C
        add(("attention block", "k_attention_fwd"), att, f4 * (3 * N * C + N * C + B * H * T * T))
        add(("attention block", "k_attention_bwd"), 2 * att, f4 * (3 * N * C * 2 + N * C + B * H * T * T))
        add(("FFN block", "k_gelu_fwd"), 20 * N * F, f4 * 2 * N * F)
        add(("FFN block", "k_gelu_bwd"), 30 * N * F, f4 * 4 * N * F)
        add(("block (norms, residual)", "k_layernorm_fwd"), 2 * 8 * N * C, 2 * f4 * 2 * N * C)
        add(("block (norms, residual)", "k_layernorm_bwd"), 2 * 12 * N * C, 2 * f4 * 4 * N * C)
    add(("LM head + loss", "k_matmul_fwd"), *mm(Nh, C, V))
    add(("LM head + loss", "k_matmul_bwd"), *mm_bwd(Nh, C, V))
    add(("LM head + loss", "k_xent_fwd"), 4 * Nh * V, f4 * 2 * Nh * V)
    add(("LM head + loss", "k_xent_bwd"), 2 * Nh * V, f4 * 2 * Nh * V)
    return c


def main():
    p = argparse.ArgumentParser()
    for k in ["layers", "width", "ffn", "heads", "vocab", "batch", "seq"]:
        p.add_argument("--" + k, type=int, required=True)
    p.add_argument("--arch", choices=["encoder", "decoder"], required=True)
    p.add_argument("--mask-rate", type=float, default=0.15)
    p.add_argument("--params", type=float, default=0, help="parameter count (AdamW bytes)")
    p.add_argument("--step-s", type=float, required=True, help="median 1-thread step time")
    p.add_argument("--title", default="")
    p.add_argument("--json")
    a = p.parse_args()
    cnt, total, outside = Counter(), 0, 0
    for fr in samples(sys.stdin):
        in_step, op, k = classify(fr)
        if not in_step:
            outside += 1
            continue
        cnt[(op, k)] += 1
        total += 1
    if total == 0:
        sys.exit("profile_table: no samples inside trainer_step (recorded with --call-graph dwarf?)")
    cost = costs(a)
    if a.params:
        cost[("optimizer", "k_adamw")] = (10 * a.params, 28 * a.params)
        cost[("optimizer", "k_sumsq")] = (2 * a.params, 4 * a.params)  # the gradient norm
    rows = []
    for key in sorted(set(cnt) | set(cost), key=lambda k: -cnt.get(k, 0)):
        share = cnt.get(key, 0) / total
        fl, by = cost.get(key, (0, 0))
        t = share * a.step_s
        rows.append({"op": key[0], "kernel": key[1] or "-", "share": share, "seconds": t,
                     "gflop": fl / 1e9, "gbyte": by / 1e9,
                     "gflops": fl / t / 1e9 if t > 0 and fl else None,
                     "gbps": by / t / 1e9 if t > 0 and by else None})
    print(f"{a.title}: {total} samples in steps ({outside} outside: start-up, saves), "
          f"{a.step_s:.2f} s per step at 1 thread")
    print(f"| op | kernel | share | s/step | GFLOP/step | GB/step | GFLOP/s | GB/s |")
    print(f"|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        if r["share"] < 0.002 and not r["gflop"]:
            continue
        rate = f"{r['gflops']:.1f}" if r["gflops"] else ""
        bw = f"{r['gbps']:.1f}" if r["gbps"] else ""
        print(f"| {r['op']} | {r['kernel']} | {100 * r['share']:.1f} % | {r['seconds']:.3f} | "
              f"{r['gflop']:.1f} | {r['gbyte']:.2f} | {rate} | {bw} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"title": a.title, "step_s": a.step_s, "samples": total, "rows": rows}, f)


if __name__ == "__main__":
    main()
