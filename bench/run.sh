#!/usr/bin/env bash
# bench/run.sh — runs the benchmarks, keeps their JSON in bench/results/ and
# appends a summary to bench/RESULTS.md (date, machine, ratios).
#   bash bench/run.sh         everything (make bench): model steps, the GEMM
#                             providers (gemm_bench.sh), training vs PyTorch,
#                             and, where REF_PY names a Python with tokenizers
#                             and fasttext, data preparation (prep_bench.sh:
#                             tokenizers vs HF, prep MB/s) and the quality
#                             classifier vs fasttext (quality_bench.sh)
#   bash bench/run.sh ckpt    checkpoint write/read against dd only (make bench-ckpt)
set -eu
what=${1:-all}
BUILD=${BUILD:-build}
THREADS=${THREADS:-2}
# the wait policy zeropt picks for these threads (src/main.c), for the bench
# binaries too, unless one is set
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
w=$([ -n "${OMP_WAIT_POLICY:-}${GOMP_SPINCOUNT:-}" ] || "$BUILD/zeropt" blas --wait)
if [ -n "$w" ]; then export "${w?}"; fi
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
machine="$(nproc) cores, $cpu"
out=bench/results/model-$stamp.jsonl
tout=bench/results/train-$stamp.jsonl
if [ "$what" = ckpt ]; then
    bash bench/ckpt_bench.sh "$tout"
else
    "$BUILD/bench/bench_model" "$THREADS" | tee "$out"
    BUILD=$BUILD bash bench/gemm_bench.sh
    bash bench/train_bench.sh "$tout"
    REF_PY=${REF_PY:-$HOME/venv-ref/bin/python}
    if "$REF_PY" -c "import tokenizers, fasttext" 2>/dev/null; then
        HF_PY=$REF_PY BUILD=$BUILD bash bench/prep_bench.sh
        FT_PY=$REF_PY BUILD=$BUILD bash bench/quality_bench.sh
    else
        echo "bench/run.sh: data benchmarks skipped: $REF_PY lacks tokenizers or fasttext (REF_PY=...)"
    fi
fi
[ -f "$out" ] && python3 - "$out" "$stamp" "$machine" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sg = rows[0]
core = f"BLAS core {sg.get('blas_core', '?')} ({sg.get('core_isa', '?')}) on a CPU with {sg.get('cpu_isa', '?')}"
lines = [f"\n### {sys.argv[2]} — model forward+backward (CPU, {sg['threads']} threads) — {sys.argv[3]}, {core}\n",
         f"sgemm ({sg.get('sgemm', 'the BLAS')}; BLAS {sg.get('blas', '?').split(' NO_')[0]}; same run): {sg['gflops_1024']:.0f} GFLOP/s at 1024³, {sg['gflops_2048']:.0f} at 2048³"
         + (f" — note: {sg['advice']}" if sg.get("advice") else "") + "\n",
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

python3 - "$tout" "$stamp" "$machine" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
kinds = {r["bench"] for r in rows}
out = [f"\n### {sys.argv[2]} — {'training steps, ZeRO stages, checkpoints' if 'train_vs_torch' in kinds else 'checkpoints'} — {sys.argv[3]}\n"]
if "train_vs_torch" in kinds:
    out += ["Whole training steps (data loading included), 1 rank, same model, batch and threads in PyTorch "
            "(bench/torch_train.py, fp32; its timing excludes batch creation):\n",
            "| config | T | B | zeropt tokens/s | PyTorch tokens/s | ratio |", "|---|---|---|---|---|---|"]
for r in rows:
    if r["bench"] != "train_vs_torch":
        continue
    z = r["B"] * r["T"] / r["zeropt_step_s"]
    t = r["B"] * r["T"] / r["torch_step_s"] if r["torch_step_s"] else None
    out.append(f"| {r['config']} | {r['T']} | {r['B']} | {z:.0f} | {t:.0f} | {z / t:.2f} |" if t else
               f"| {r['config']} | {r['T']} | {r['B']} | {z:.0f} | n/a | n/a |")
if "zero_stage" in kinds:
    out += ["\nZeRO stages on 2 ranks (1 thread each), T = 128, micro-batch 8: step time with overlap (and without), "
            "bytes each rank sends per step, share of communication time hidden behind compute, model-state bytes "
            "and peak RSS per rank:\n",
            "| config | stage | step s | step s, no overlap | MB sent/step | hidden | model state MB | peak RSS MB |",
            "|---|---|---|---|---|---|---|---|"]
for r in rows:
    if r["bench"] != "zero_stage":
        continue
    h = r["hidden_fraction"]
    out.append(f"| {r['config']} | {r['stage']} | {r['step_s']:.3f} | {r['step_s_no_overlap']:.3f} | "
               f"{r['comm_bytes'] / 1e6:.1f} | {'n/a' if h is None else f'{100 * h:.0f} %'} | "
               f"{r['model_state_bytes'] / 1e6:.1f} | {r['peak_rss_bytes'] / 1e6:.0f} |")
for r in rows:
    if r["bench"] == "checkpoint":
        dd, idle, w = r["dd_fsync_mb_s"], r["dd_fsync_idle_mb_s"], r["write_mb_s"]
        out.append(f"{'' if out[-1].endswith(chr(10)) else chr(10)}Checkpoint of base ({r['mb']:.0f} MB: params + Adam m, v) on 2 ranks (bench/ckpt_bench.sh; "
                   f"medians of saves 2.. and dd runs 2..): write {w:.0f} MB/s with checkpoint.io=direct "
                   f"(saves {', '.join(f'{x:.0f}' for x in r['write_mb_s_all'])}), {r['hdf5_write_mb_s']:.0f} MB/s "
                   f"with io=hdf5 (collective H5Dwrite); read {r['read_mb_s']:.0f} / {r['hdf5_read_mb_s']:.0f} MB/s. "
                   f"dd bs=1M conv=fsync on the same disk: {dd:.0f} MB/s back to back, {idle:.0f} MB/s after 3 s idle. "
                   f"**Write at {100 * w / dd:.0f} % of dd** back to back ({100 * w / idle:.0f} % of dd after idle); "
                   f"target 70 %.")
        if "stall_fraction" in r:
            out.append(f"Asynchronous saves (checkpoint.async, the default; 12 steps saving every 3): training "
                       f"stalled {r['async_stall_s']:.3f} s per save (median; saves "
                       f"{', '.join(f'{x:.3f}' for x in r['async_stall_s_all'])} s) against a step of "
                       f"{r['step_s']:.2f} s: **{100 * r['stall_fraction']:.1f} % of a step** (target <= 5 %); "
                       f"the background write ran at {', '.join(f'{x:.0f}' for x in r['async_write_mb_s_all'])} MB/s; "
                       f"the step that overlaps it took {r['overlap_step_s']:.2f} s, "
                       f"{100 * r['overlap_slowdown']:+.0f} % (the writer threads share this machine's 2 cores "
                       f"with the 2 ranks).")
with open("bench/RESULTS.md", "a") as f:
    f.write("\n".join(out) + "\n")
print("\n".join(out))
PY
