#!/usr/bin/env bash
# bench/optim_bench.sh — the optimizer options on the demo (configs/train/demo.ini,
# its corpus made by `make demo`): the same tokens for each of adamw fp32
# (the anchor), adamw with bf16 and 8-bit states, lamb and adafactor, on 2
# ranks at ZeRO stage 1, each with the seeds in SEEDS (default 1 2 3 4: on
# the demo, fp32 AdamW's final validation loss alone spans 7 % across seeds,
# so one seed cannot resolve a 2 % criterion). Writes
# bench/results/optim-<stamp>.json and a line in bench/RESULTS.md: the mean
# final validation loss over the seeds against adamw fp32's mean (ratio), the
# range of the per-seed ratios, the optimizer bytes per rank, and step time.
# RUNS (names, default all) picks the options. adafactor-m is Adafactor with
# momentum ([optim] adafactor_beta1 = 0.9) at Adafactor's lr; adafactor-m-bf16
# and adafactor-m-8bit keep that momentum in bf16 and 8-bit states. lamb and adafactor take their own
# learning rates (both scale a step by the tensor's norm, so their lr is not
# Adam's) and warm-ups: LAMB_LR, LAMB_WARMUP, ADAFACTOR_LR, ADAFACTOR_WARMUP
# (defaults: the best of a sweep on the demo, 2026-12-02 — lamb lr 1e-3,
# 4e-3, 6e-3, 8e-3, 1e-2 with warm-up 20, 6e-3 with 60; adafactor lr 1e-2,
# 3e-2, 5e-2, 1e-1 with warm-up 20, 3e-2 and 5e-2 with 60 and 120).
#   bash bench/optim_bench.sh        (make bench-optim; about 8 minutes on 2 cores)
set -eu
BUILD=${BUILD:-build}
DEMO=${DEMO:-runs/demo}
LAMB_LR=${LAMB_LR:-6e-3}
LAMB_WARMUP=${LAMB_WARMUP:-60}
ADAFACTOR_LR=${ADAFACTOR_LR:-3e-2}
ADAFACTOR_WARMUP=${ADAFACTOR_WARMUP:-60}
[ -f "$DEMO/corpus.h5" ] || { echo "bench/optim_bench.sh: $DEMO/corpus.h5 missing: run make demo first" >&2; exit 1; }
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1 OMP_WAIT_POLICY=PASSIVE
fix=$("$BUILD/zeropt" blas --suggest)
[ -n "$fix" ] && export "${fix?}"
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=("adamw-fp32:optim.name=adamw" "adamw-bf16:optim.states=bf16" "adamw-8bit:optim.states=8bit"
    "lamb-fp32:optim.name=lamb train.lr=$LAMB_LR train.warmup=$LAMB_WARMUP"
    "lamb-8bit:optim.name=lamb optim.states=8bit train.lr=$LAMB_LR train.warmup=$LAMB_WARMUP"
    "adafactor:optim.name=adafactor train.lr=$ADAFACTOR_LR train.warmup=$ADAFACTOR_WARMUP"
    "adafactor-m:optim.name=adafactor optim.adafactor_beta1=0.9 train.lr=$ADAFACTOR_LR train.warmup=$ADAFACTOR_WARMUP"
    "adafactor-m-bf16:optim.name=adafactor optim.adafactor_beta1=0.9 optim.states=bf16 train.lr=$ADAFACTOR_LR train.warmup=$ADAFACTOR_WARMUP"
    "adafactor-m-8bit:optim.name=adafactor optim.adafactor_beta1=0.9 optim.states=8bit train.lr=$ADAFACTOR_LR train.warmup=$ADAFACTOR_WARMUP")
SEEDS=${SEEDS:-1 2 3 4}
RUNS=${RUNS:-${runs[*]%%:*}}
picked=()
for r in "${runs[@]}"; do
    name=${r%%:*} ov=${r#*:}
    [[ " $RUNS " == *" $name "* ]] || continue
    picked+=("$name")
    for seed in $SEEDS; do
        echo "== $name seed $seed ($ov)"
        # shellcheck disable=SC2086
        mpirun -q -np 2 "$BUILD/zeropt" train -c configs/train/demo.ini data.path="$DEMO/corpus.h5" \
            run.dir="$work/$name-s$seed" zero.stage=1 checkpoint.every=-1 checkpoint.resume=none \
            train.seed=$seed $ov >"$work/$name-s$seed.log" 2>&1 || { tail -3 "$work/$name-s$seed.log"; exit 1; }
        grep -o 'validation loss [0-9.]*' "$work/$name-s$seed.log" | tail -1
    done
done
python3 - "$work" "$stamp" "$(nproc --all) cores, $cpu" "$LAMB_LR (warm-up $LAMB_WARMUP)" \
    "$ADAFACTOR_LR (warm-up $ADAFACTOR_WARMUP)" "$SEEDS" "${picked[@]}" <<'PY'
import json, sys
work, stamp, machine, llr, alr, seeds = sys.argv[1:7]
names, seeds = sys.argv[7:], seeds.split()
rows = []
for n in names:
    vals, dts = [], []
    for sd in seeds:
        recs = [json.loads(l) for l in open(f"{work}/{n}-s{sd}/metrics.jsonl")]
        vals.append([r["val_loss"] for r in recs if "val_loss" in r][-1])
        steps = [r for r in recs if "loss" in r and "step_s" in r]
        dts.append(sorted(r["step_s"] for r in steps)[len(steps) // 2] if steps else float("nan"))
    rows.append(dict(name=n, val_loss=sum(vals) / len(vals), val_losses=vals, optim_bytes=recs[0]["optim_bytes"],
                     tokens=recs[-1].get("tokens", None), step_s=sorted(dts)[len(dts) // 2]))
ref = rows[0]
for r in rows:
    r["val_ratio"] = r["val_loss"] / ref["val_loss"]
    r["seed_ratios"] = [a / b for a, b in zip(r["val_losses"], ref["val_losses"])]
    r["optim_ratio"] = r["optim_bytes"] / ref["optim_bytes"]
json.dump(dict(stamp=stamp, machine=machine, lamb_lr=llr, adafactor_lr=alr, runs=rows),
          open(f"bench/results/optim-{stamp}.json", "w"), indent=1)
lines = [f"\n### {stamp} — optimizer options on the demo (2 ranks, ZeRO 1, 450 steps, equal tokens, seeds {' '.join(seeds)}) — {machine}\n",
         f"lamb lr {llr}, adafactor lr {alr}; the others configs/train/demo.ini's. Anchor: adamw fp32 in the same run, "
         f"same seeds. Validation loss: the mean over the seeds (and its range); vs adamw fp32: the ratio of the means "
         f"(and the range of the per-seed ratios).\n",
         "| optimizer | validation loss, mean (range) | vs adamw fp32 (per seed) | optimizer MB per rank | vs adamw fp32 | median step s |",
         "|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r['name']} | {r['val_loss']:.4f} ({min(r['val_losses']):.3f}-{max(r['val_losses']):.3f}) | "
                 f"{r['val_ratio']:.4f} ({min(r['seed_ratios']):.3f}-{max(r['seed_ratios']):.3f}) | {r['optim_bytes'] / 1e6:.2f} | "
                 f"{r['optim_ratio']:.3f} | {r['step_s']:.3f} |")
with open("bench/RESULTS.md", "a") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
