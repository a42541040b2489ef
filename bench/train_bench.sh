#!/usr/bin/env bash
# bench/train_bench.sh — whole training steps (data loading included):
#  1. zeropt vs PyTorch (bench/torch_train.py, same model, fp32, same threads
#     and batch) for tiny, small and base at T = 128 and 512, 1 rank;
#  2. ZeRO stages 0–3 on 2 ranks for tiny and small: step time, bytes sent,
#     the fraction of communication hidden behind compute, peak RSS;
#  3. checkpoint write and read of base on 2 ranks against dd with fsync
#     (bench/ckpt_bench.sh).
# Writes JSON lines to $1 (one object per measurement).
set -u
BUILD=${BUILD:-build}
Z=$BUILD/zeropt
OUT=$1
THREADS=${THREADS:-2}
TORCH_PY=${TORCH_PY:-$HOME/venv-ref/bin/python}
PY=/usr/bin/python3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# zeropt picks its wait policy (src/main.c); PyTorch runs with its own
export OMPI_MCA_mpi_yield_when_idle=1
unset OMP_WAIT_POLICY GOMP_SPINCOUNT

# a real corpus: the demo's fortune text, BPE 8192 (fits every ladder vocabulary)
inputs=$(for f in /usr/share/games/fortunes/*; do case $f in *.dat | *.u8) ;; *) [ -f "$f" ] && echo "--input $f" ;; esac; done)
$Z tokenizer train $inputs --separator % --vocab-size 8192 --output "$W/tok.json" >/dev/null &&
    $Z prep --tokenizer "$W/tok.json" $inputs --separator % --output "$W/corpus.h5" >/dev/null || exit 1

median_step() { # metrics.jsonl: median step_s of the steps after the first
    $PY -c 'import json,sys,statistics as s; r=[x["step_s"] for x in map(json.loads,open(sys.argv[1])) if "step_s" in x][1:]; print(s.median(r))' "$1"
}
common="data.path=$W/corpus.h5 data.val_batches=0 checkpoint.every=-1 model.dropout=0 model.attn_dropout=0 run.peak_tflops=1"

# 1. zeropt vs PyTorch, 1 rank, $THREADS threads
for run in "tiny 128 32 5" "tiny 512 8 5" "small 128 16 4" "small 512 4 4" "base 128 8 3" "base 512 2 3"; do
    set -- $run
    OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS $Z train -c configs/model/$1.ini $common \
        data.seq_len=$2 train.micro_batch=$3 train.steps=$4 run.dir="$W/t-$1-$2" >"$W/log" 2>&1 || { tail -3 "$W/log"; continue; }
    zs=$(median_step "$W/t-$1-$2/metrics.jsonl")
    ts=null
    if [ -x "$TORCH_PY" ]; then
        ts=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT $TORCH_PY bench/torch_train.py configs/model/$1.ini $2 $3 $4 $THREADS | $PY -c 'import json,sys; print(json.load(sys.stdin)["step_s"])')
    fi
    echo "{\"bench\":\"train_vs_torch\",\"config\":\"$1\",\"T\":$2,\"B\":$3,\"threads\":$THREADS,\"zeropt_step_s\":$zs,\"torch_step_s\":$ts}" | tee -a "$OUT"
done

# 2. ZeRO stages on 2 ranks (1 thread each): overlap on and off
for m in tiny small; do
    for st in 0 1 2 3; do
        for ov in true false; do
            OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 mpirun -q -np 2 $Z train -c configs/model/$m.ini $common \
                data.seq_len=128 train.micro_batch=8 train.steps=6 zero.stage=$st zero.overlap=$ov \
                run.dir="$W/z-$m-$st-$ov" >"$W/log" 2>&1 || { tail -3 "$W/log"; continue; }
        done
        $PY - "$W/z-$m-$st-true/metrics.jsonl" "$W/z-$m-$st-false/metrics.jsonl" "$m" "$st" <<'PY' | tee -a "$OUT"
import json, sys, statistics as s
def load(p):
    r = [json.loads(l) for l in open(p)]
    steps = [x for x in r if "step_s" in x][1:]
    return r, steps
ro, so = load(sys.argv[1])
rb, sb = load(sys.argv[2])
exposed, total = s.median(x["comm_wait_s"] for x in so), s.median(x["comm_wait_s"] for x in sb)
print(json.dumps({"bench": "zero_stage", "config": sys.argv[3], "stage": int(sys.argv[4]), "ranks": 2,
                  "step_s": s.median(x["step_s"] for x in so), "step_s_no_overlap": s.median(x["step_s"] for x in sb),
                  "comm_bytes": so[-1]["comm_bytes"], "comm_wait_s": exposed, "comm_wait_s_no_overlap": total,
                  "hidden_fraction": max(0.0, 1 - exposed / total) if total > 0 else None,
                  "model_state_bytes": ro[0]["params_bytes"] + ro[0]["grads_bytes"] + ro[0]["optim_bytes"],
                  "peak_rss_bytes": [x for x in ro if "peak_rss_bytes" in x][-1]["peak_rss_bytes"]}))
PY
    done
done

# 3. checkpoint write/read of base on 2 ranks vs dd (same disk, fsync)
bash bench/ckpt_bench.sh "$OUT"
