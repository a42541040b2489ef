#!/usr/bin/env bash
# bench/gemm_bench.sh — one GPT-2-small step's products (B·T = 1024 rows)
# through each provider the build has: the BLAS's sgemm, oneDNN's sgemm and
# oneDNN's bf16 matmul (bench/gemm_bench.c), at THREADS threads (default 2).
# Writes bench/results/gemm-<stamp>.jsonl and a table in bench/RESULTS.md
# with the CPU model, its bf16 instructions and the BLAS core; the anchor is
# the BLAS's sgemm in the same run.
#   bash bench/gemm_bench.sh      (make bench-gemm; about a minute)
set -eu
. bench/lib.sh
THREADS=${THREADS:-2}
bench_threads "$THREADS"
isa=$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx512f|avx512_bf16|amx_bf16|amx_tile)$' | tr '\n' ' ')
out=bench/results/gemm-$stamp.jsonl
"$BUILD/bench/gemm_bench" "$THREADS" 1024 | tee "$out" >/dev/null
python3 - "$out" "$stamp" "$(nproc --all) cores, $cpu (flags: ${isa:-no AVX-512})" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
tot = {r["provider"]: r for r in rows if r["bench"] == "gemm_total"}
per = [r for r in rows if r["bench"] == "gemm"]
b = tot["blas"]
provs = [p for p in ("blas", "onednn", "onednn-bf16") if p in tot]
lines = [f"\n### {sys.argv[2]} — a GPT-2-small step's products (B·T = 1024) by provider ({b['threads']} threads) — {sys.argv[3]}, BLAS core {b['blas_core']}\n",
         "GFLOP/s, median of 5 per product; bf16: oneDNN matmul on bf16 inputs converted beforehand, fp32 accumulation "
         "and output. Anchor: the BLAS's sgemm in the same run.\n",
         "| layer | product | m × n × k | " + " | ".join(tot[p]["name"] + ("" if p != "onednn" else " sgemm") for p in provs) + " |",
         "|---|---|---|" + "---|" * len(provs)]
keys = []
for r in per:
    k = (r["layer"], r["product"])
    if k not in keys:
        keys.append(k)
for k in keys:
    rs = {r["provider"]: r for r in per if (r["layer"], r["product"]) == k}
    any_r = next(iter(rs.values()))
    lines.append(f"| {k[0]} | {k[1]} | {any_r['m']} × {any_r['n']} × {any_r['k']} | "
                 + " | ".join(f"{rs[p]['gflops']:.0f}" for p in provs) + " |")
lines.append("| **step** | all 15 | | " + " | ".join(
    f"**{tot[p]['gflops']:.0f}** ({tot[p]['gflops'] / b['gflops']:.2f}×)" for p in provs) + " |")
impls = sorted({r["impl"] for r in per if r["impl"]})
if impls:
    lines.append(f"\noneDNN bf16 implementations chosen: {', '.join(impls)}.")
with open("bench/RESULTS.md", "a") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
