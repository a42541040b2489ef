#!/usr/bin/env bash
# tests/gpu/run.sh — every check that needs a GPU, in one run on a GPU
# machine (under 5 minutes on an H100), ending with one table:
#   1. the binaries: built here when this machine has the project's Debian
#      toolchain (make CUDA=1), else unpacked from .gpu/bundle.tar.xz, made
#      beforehand on the build machine by tests/gpu/bundle.sh and carried
#   2. every CUDA kernel against the CPU backend on fresh random inputs with
#      odd sizes (tests/gpu/test_cuda_kernels: relative error in norm, fp32
#      < 1e-5, bf16 products < 1e-2)
#   3. training, bf16, 1 rank: the loss curve on the GPU against the CPU's
#      (max relative difference per step < 2e-2 over 40 steps)
#   4. 2 ranks sharing the GPU (MPI for the tensors: NCCL refuses a shared
#      device), against 2 CPU ranks
#   5. a checkpoint written on the GPU resumed on the CPU, and the other way
#   6. the benchmark: GPT-2 124M (T = 1024) and BERT-base (T = 512),
#      tokens/s and MFU against the card's dense bf16 peak (BF16_TFLOPS,
#      default 989: H100/H200 SXM)
# A dry run without a GPU (checks this script): ZEROPT_GPU_DEVICE=loopback
# runs the device path on the CPU, ZEROPT_GPU_BENCH=0 skips the benchmark.
# Each stage runs even when an earlier one failed, so one GPU session
# yields every answer. Files land in $OUT (the device tool's folder) or
# /tmp/gpu-out: table.txt, kernels.txt and each run's log.
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
W=$(mktemp -d)
T0=$SECONDS
TABLE="$OUT/table.txt"
: >"$TABLE"
row() { printf '%-58s %s\n' "$1" "$2" | tee -a "$TABLE"; }
# the device tool gives a command 10 minutes: stages that would start after
# BUDGET seconds are listed as not run (the table so far is in $OUT already)
BUDGET=${GPU_BUDGET_S:-480}
left() { [ $((SECONDS - T0)) -lt "$BUDGET" ] || { row "$1" "not run: past the ${BUDGET} s budget"; return 1; }; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-4}
PEAK=${BF16_TFLOPS:-989}
DEV=${ZEROPT_GPU_DEVICE:-cuda}

card=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)
row "card" "$card"

# ---- 1. binaries ------------------------------------------------------------
CORPUS=""
if [ -f .gpu/bundle.tar.xz ]; then
    mkdir -p "$W/b" && tar -C "$W/b" -xJf .gpu/bundle.tar.xz
    R="$W/b/root"
    ARCH=x86_64-linux-gnu
    cudalibs=""
    for lib in libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libnccl.so.2; do
        f=$(find /usr/local/cuda/ /usr/local/cuda/targets /usr/lib/$ARCH /opt /usr/local/lib \
            -name "$lib" 2>/dev/null | head -1)
        [ -z "$f" ] && f=$(python3 -c "import nvidia, glob, os
for p in nvidia.__path__:
    g = glob.glob(os.path.join(p, '*', 'lib', '$lib'))
    if g: print(g[0]); break" 2>/dev/null)
        [ -n "$f" ] && cudalibs="$cudalibs:$(dirname "$f")" || echo "# not found: $lib"
    done
    export LD_LIBRARY_PATH="$R/lib/$ARCH$cudalibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export OPAL_PREFIX="$R" PMIX_INSTALL_PREFIX="$R/lib/$ARCH/pmix2" OMPI_MCA_plm_rsh_agent=sh
    export PATH="$R/bin:$PATH"
    Z="$R/bin/zeropt" K="$R/bin/test_cuda_kernels" MPIRUN="$R/bin/mpirun" CORPUS="$R/corpus.h5"
    row "binaries" "bundle of $(cat "$R/REVISION" | cut -c1-12) (tests/gpu/bundle.sh)"
elif make -j"$(nproc)" CUDA=1 DNNL=0 cuda-bin >"$OUT/build.log" 2>&1; then
    Z=build-nodnnl-cuda/zeropt K=build-nodnnl-cuda/tests/gpu/test_cuda_kernels MPIRUN=mpirun
    row "binaries" "built here (make CUDA=1 DNNL=0)"
else
    row "binaries" "FAILED: no bundle and no build (tail of $OUT/build.log below)"
    tail -5 "$OUT/build.log"
    exit 1
fi
if [ -z "$CORPUS" ]; then
    CORPUS="$W/corpus.h5"
    python3 tests/lib/bytes_corpus.py "$CORPUS" tests/fixtures/tokenizer_corpus.txt >/dev/null ||
        row "corpus" "FAILED (needs h5py)"
fi
"$Z" blas >/dev/null 2>&1 || { row "zeropt runs" "FAILED: $("$Z" blas 2>&1 | tail -1)"; exit 1; }

# ---- 2. kernels -------------------------------------------------------------
timeout 90 "$K" >"$OUT/kernels.txt" 2>&1
rc=$?
okn=$(grep -c '^ok' "$OUT/kernels.txt") bad=$(grep -c '^not ok' "$OUT/kernels.txt")
row "kernels against the CPU backend" "$okn ok, $bad not ok (exit $rc)"
grep '^not ok' "$OUT/kernels.txt" | head -10 | sed 's/^/    /' | tee -a "$TABLE"

# ---- 3-5. training ----------------------------------------------------------
cat >"$W/tiny.ini" <<EOC
[model]
vocab_size = 262
max_positions = 64
layers = 2
width = 64
heads = 2
ffn = 256
[data]
path = $CORPUS
seq_len = 64
val_batches = 2
[train]
micro_batch = 8
global_batch = 16
steps = 40
lr = 2e-3
warmup = 5
precision = bf16
eval_every = 20
[run]
peak_tflops = $PEAK
EOC
train() { # name ranks overrides...
    local name=$1 n=$2; shift 2
    if [ "$n" = 1 ]; then
        timeout 90 "$Z" train -c "$W/tiny.ini" run.dir="$W/$name" "$@" >"$OUT/$name.log" 2>&1
    else
        timeout 90 "$MPIRUN" -q -np "$n" "$Z" train -c "$W/tiny.ini" run.dir="$W/$name" "$@" \
            >"$OUT/$name.log" 2>&1
    fi
}
compare() { # label runA runB tolerance
    python3 - "$W/$2/metrics.jsonl" "$W/$3/metrics.jsonl" "$4" <<'PY'
import json, sys
def L(p):
    return {r["step"]: r["loss"] for r in map(json.loads, open(p)) if "loss" in r}
a, b, tol = L(sys.argv[1]), L(sys.argv[2]), float(sys.argv[3])
common = sorted(set(a) & set(b))
d = max(abs(a[s] - b[s]) / abs(b[s]) for s in common) if common else float("inf")
print(f"{'ok' if common and d < tol else 'FAILED'}: {len(common)} steps, max relative difference {d:.2e} (tolerance {tol:g}), last {a[common[-1]] if common else 'n/a'} vs {b[common[-1]] if common else 'n/a'}")
PY
}
left "bf16 training, 1 rank" && { train cpu1 1 train.device=cpu && train gpu1 1 train.device=$DEV &&
    row "bf16 training, 1 rank: GPU against CPU" "$(compare x gpu1 cpu1 2e-2)" ||
    row "bf16 training, 1 rank" "FAILED: $(grep -h 'zeropt: rank' "$OUT"/cpu1.log "$OUT"/gpu1.log | head -1)"; }
grep -h '^device:' "$OUT/gpu1.log" | head -1 | sed 's/^/    /' | tee -a "$TABLE"
left "bf16 training, 2 ranks" && { train cpu2 2 train.device=cpu && train gpu2 2 train.device=$DEV zero.stage=3 &&
    row "bf16 training, 2 ranks sharing the GPU, ZeRO 3" "$(compare x gpu2 cpu2 2e-2)" ||
    row "bf16 training, 2 ranks" "FAILED: $(grep -h 'zeropt: rank' "$OUT"/cpu2.log "$OUT"/gpu2.log | head -1)"; }
grep -h '^device:' "$OUT/gpu2.log" | head -1 | sed 's/^/    /' | tee -a "$TABLE"
left "checkpoint on the GPU, resumed on the CPU" && { train g2c 1 train.device=$DEV train.stop_at=20 checkpoint.every=20 && train g2c 1 train.device=cpu &&
    row "checkpoint on the GPU, resumed on the CPU" "$(compare x g2c cpu1 2e-2)" ||
    row "checkpoint on the GPU, resumed on the CPU" "FAILED: $(grep -h 'zeropt: rank' "$OUT"/g2c.log | head -1)"; }
left "checkpoint on the CPU, resumed on the GPU" && { train c2g 1 train.device=cpu train.stop_at=20 checkpoint.every=20 && train c2g 1 train.device=$DEV &&
    row "checkpoint on the CPU, resumed on the GPU" "$(compare x c2g cpu1 2e-2)" ||
    row "checkpoint on the CPU, resumed on the GPU" "FAILED: $(grep -h 'zeropt: rank' "$OUT"/c2g.log | head -1)"; }

# ---- 6. benchmark -----------------------------------------------------------
bench() { # name model T B
    local name=$1 model=$2 T=$3 B=$4
    left "$name" || return
    timeout 120 "$Z" train -c "configs/model/$model.ini" data.path="$CORPUS" data.seq_len="$T" \
        data.val_batches=0 train.micro_batch="$B" train.global_batch="$B" train.steps=12 \
        train.precision=bf16 train.device=$DEV train.warmup=2 model.dropout=0 model.attn_dropout=0 \
        checkpoint.every=-1 run.peak_tflops="$PEAK" run.dir="$W/$name" >"$OUT/$name.log" 2>&1 ||
        { row "$name" "FAILED: $(grep -h 'zeropt: rank' "$OUT/$name.log" | head -1)"; return; }
    python3 - "$W/$name/metrics.jsonl" "$name" <<'PY' | tee -a "$TABLE"
import json, statistics as st, sys
r = [x for x in map(json.loads, open(sys.argv[1])) if "tokens_per_s" in x][4:]
tps, mfu = st.median(x["tokens_per_s"] for x in r), st.median(x["mfu"] for x in r)
print(f"{sys.argv[2]:<58} {tps:.0f} tokens/s, MFU {100 * mfu:.1f} % (median of steps 5..12)")
PY
}
if [ "${ZEROPT_GPU_BENCH:-1}" = 1 ]; then
    bench "GPT-2 124M, T=1024, B=8, bf16" gpt2-small 1024 8
    bench "BERT-base, T=512, B=16, bf16" base 512 16
fi

row "wall time" "$((SECONDS - T0)) s"
echo
echo "== table ($TABLE)"
cat "$TABLE"
rm -rf "$W"
