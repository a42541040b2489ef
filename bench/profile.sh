#!/usr/bin/env bash
# bench/profile.sh — where a training step's time goes, kernel by kernel
# (make profile). Builds zeropt with debug line tables (-g: the same code, but
# perf can see the inlined model functions) into build-prof/, trains GPT-2
# small (B=4, T=256) and BERT-base (B=2, T=512) on the fortune corpus for a
# few steps at 1 thread under `perf record --call-graph dwarf`, and prints
# per (model op, kernel) the share of the step beside the FLOPs and bytes the
# shapes imply (bench/profile_table.py). One thread, so that every sample's
# call chain reaches the model code; the 2-thread step time is measured
# beside it (PROFILE_RUNS picks other shapes). Tables go to stdout and JSON to bench/results/profile-*.json.
set -eu
PROF_BUILD=${PROF_BUILD:-build-prof}
STEPS=${STEPS:-3}
command -v perf >/dev/null || { echo "profile: perf is missing (apt-get install linux-perf)" >&2; exit 1; }
make -s BUILD="$PROF_BUILD" OPT="-O3 -march=native -g" "$PROF_BUILD/zeropt"
Z=$PROF_BUILD/zeropt
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# zeropt picks its OpenMP wait policy (src/main.c), as in any run
# oneDNN's sgemm is JIT code without symbols or unwind tables: perf loses
# its call chains (most of a step's samples fell outside the model), so the
# products run through the BLAS here unless asked otherwise
export ZEROPT_SGEMM=${ZEROPT_SGEMM:-blas}
fix=$("$Z" blas --suggest)
[ -n "$fix" ] && export "${fix?}"
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
inputs=$(for f in /usr/share/games/fortunes/*; do case $f in *.dat | *.u8) ;; *) [ -f "$f" ] && echo "--input $f" ;; esac; done)
$Z tokenizer train $inputs --separator % --vocab-size 8192 --output "$W/tok.json" >/dev/null
$Z prep --tokenizer "$W/tok.json" $inputs --separator % --output "$W/corpus.h5" >/dev/null
common="data.path=$W/corpus.h5 data.val_batches=0 checkpoint.every=-1 model.dropout=0 model.attn_dropout=0 run.peak_tflops=1 train.steps=$STEPS"
median_step() {
    python3 -c 'import json,sys,statistics as s; r=[x["step_s"] for x in map(json.loads,open(sys.argv[1])) if "step_s" in x][1:]; print(s.median(r))' "$1"
}
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $($Z blas | sed -n 's/^kernels *//p')"
# PROFILE_RUNS: "config arch B T vocab params" entries separated by ";"
IFS=';' read -ra runs <<<"${PROFILE_RUNS:-gpt2-small decoder 4 256 50257 124439808;base encoder 2 512 30522 109514298}"
for run in "${runs[@]}"; do
    set -- $run
    cfg=configs/model/$1.ini args="$common data.seq_len=$4 train.micro_batch=$3 train.global_batch=$3"
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 $Z train -c "$cfg" $args run.dir="$W/$1-2t" >"$W/log" 2>&1 ||
        { tail -3 "$W/log" >&2; exit 1; }
    t2=$(median_step "$W/$1-2t/metrics.jsonl")
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 perf record -q -F 49 --call-graph dwarf,16384 -o "$W/perf.data" \
        $Z train -c "$cfg" $args run.dir="$W/$1-1t" >"$W/log" 2>&1 || { tail -3 "$W/log" >&2; exit 1; }
    t1=$(median_step "$W/$1-1t/metrics.jsonl")
    echo
    perf script -i "$W/perf.data" -F tid,ip,sym 2>/dev/null |
        python3 bench/profile_table.py --arch "$2" --layers 12 --width 768 --ffn 3072 --heads 12 \
            --vocab "$5" --batch "$3" --seq "$4" --params "$6" --step-s "$t1" \
            --title "$1, B=$3, T=$4 (2 threads: $t2 s per step)" --json "bench/results/profile-$1-$stamp.json"
done
