#!/usr/bin/env bash
# bench/run.sh — runs the benchmarks, keeps their JSON in bench/results/ and
# appends a summary to bench/RESULTS.md (date, machine, ratios).
set -eu
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
# PASSIVE: spinning OpenMP threads would starve the BLAS threads (src/main.c)
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
machine="$(nproc) cores, $cpu"
out=bench/results/model-$stamp.jsonl
"$BUILD/bench/bench_model" "$THREADS" | tee "$out"
python3 - "$out" "$stamp" "$machine" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sg = rows[0]
lines = [f"\n### {sys.argv[2]} — model forward+backward (CPU, {sg['threads']} threads) — {sys.argv[3]}\n",
         f"sgemm (OpenBLAS, same run): {sg['gflops_1024']:.0f} GFLOP/s at 1024³, {sg['gflops_2048']:.0f} at 2048³\n",
         "| config | T | B | params | step s | tokens/s | model GFLOP/s | fraction of sgemm | executed fraction |",
         "|---|---|---|---|---|---|---|---|---|"]
for r in rows[1:]:
    lines.append(f"| {r['config']} | {r['T']} | {r['B']} | {r['params']/1e6:.1f}M | {r['step_s']:.3f} | "
                 f"{r['tokens_per_s']:.0f} | {r['model_gflops']:.1f} | {r['frac_of_sgemm']:.3f} | "
                 f"{r['exec_frac_of_sgemm']:.3f} |")
with open("bench/RESULTS.md", "a") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
