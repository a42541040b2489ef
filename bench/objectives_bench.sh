#!/usr/bin/env bash
# bench/objectives_bench.sh — the pretraining objectives on the demo corpus
# (runs/demo/corpus.h5 and its tokenizer, made by `make demo`), each judged
# by its own validation metric, 2 ranks, the demo's model (tiny, post-LN):
#   mlm-token, mlm-word, mlm-span   MLM accuracy at the start and end (their
#                                   own validation masks), 450 steps of T = 32
#   pad-mlm, pad-contrastive        padded documents (T = 64): retrieval
#                                   recall@1/@10 of held-out crop pairs (30-80 %
#                                   of a fortune) with contrastive learning
#                                   (weight 0.2, tau 0.1) beside MLM, and without
#   warmup-off, warmup-on           T = 128 at lr 6e-3 (twice the demo's best):
#                                   sequence-length warm-up 16 -> 128 over the
#                                   first third against none, at equal tokens:
#                                   validation loss, wall time, loss spikes
#   continual-plain, -replay, -l2sp the demo model continued on licence texts
#                                   (/usr/share/common-licenses, the demo's
#                                   tokenizer): the fortune loss before/after
# Writes bench/results/objectives-<stamp>/ (metrics and curves, drawn by
# zeropt plot), bench/results/objectives-<stamp>.json and a section of
# bench/RESULTS.md. About 12 minutes on 2 cores.
#   bash bench/objectives_bench.sh        (make bench-objectives)
set -eu
. bench/lib.sh
DEMO=${DEMO:-runs/demo}
[ -f "$DEMO/corpus.h5" ] && [ -f "$DEMO/tokenizer.json" ] ||
    { echo "bench/objectives_bench.sh: $DEMO/corpus.h5 missing: run make demo first" >&2; exit 1; }
bench_threads 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
    OMPI_MCA_mpi_yield_when_idle=1
out=bench/results/objectives-$stamp
mkdir -p "$out"
bench_workdir
base="-c configs/train/demo.ini data.path=$DEMO/corpus.h5 checkpoint.resume=none train.log_every=50"
run() { # name overrides...
    local name=$1
    shift
    echo "== $name"
    local t0=$SECONDS
    # shellcheck disable=SC2086
    mpirun -q -np 2 "$Z" train $base run.dir="$W/$name" "$@" >"$W/$name.log" 2>&1 ||
        { tail -3 "$W/$name.log"; exit 1; }
    echo "$((SECONDS - t0))" >"$W/$name.wall"
    cp "$W/$name/metrics.jsonl" "$out/$name.jsonl"
}
run mlm-token checkpoint.every=0 # (its checkpoint starts the continual runs)
run mlm-word mask.scheme=word checkpoint.every=-1
run mlm-span mask.scheme=span mask.replace_unit=span checkpoint.every=-1
pad="model.max_positions=64 data.seq_len=64 data.packing=pad train.micro_batch=32 train.global_batch=64
     objective.retrieval_pairs=512 objective.crop_min=0.3 objective.crop_max=0.8 checkpoint.every=-1"
# shellcheck disable=SC2086
run pad-mlm $pad
# shellcheck disable=SC2086
run pad-contrastive $pad objective.contrastive=0.2 objective.temperature=0.1
long="model.max_positions=128 data.seq_len=128 train.micro_batch=16 train.global_batch=32 train.lr=6e-3
      train.min_lr=6e-4 checkpoint.every=-1"
# shellcheck disable=SC2086
run warmup-off $long
# shellcheck disable=SC2086
run warmup-on $long curriculum.seq_start=16 curriculum.seq_steps=150
# continual: the demo model (mlm-token's checkpoint) continued on licence texts
"$Z" prep --tokenizer "$DEMO/tokenizer.json" $(for f in /usr/share/common-licenses/*; do [ -f "$f" ] && echo --input "$f"; done) \
    --val-fraction 0.05 --output "$W/licenses.h5" >"$W/prep.log" 2>&1 || { tail -2 "$W/prep.log"; exit 1; }
cont="data.path=$W/licenses.h5 continual.init=$W/mlm-token/ckpt continual.original=$DEMO/corpus.h5
      train.steps=300 train.warmup=30 train.lr=1e-3 train.min_lr=1e-4 checkpoint.every=-1"
# shellcheck disable=SC2086
run continual-plain $cont
# shellcheck disable=SC2086
run continual-replay $cont continual.replay=0.25
# shellcheck disable=SC2086
run continual-l2sp $cont continual.l2sp=10
# the curves of each group in one PNG (the validation metrics are in the JSON files)
for g in "mlm:mlm-token mlm-word mlm-span" "contrastive:pad-mlm pad-contrastive" \
    "warmup:warmup-off warmup-on" "continual:continual-plain continual-replay continual-l2sp"; do
    # shellcheck disable=SC2046
    "$Z" plot $(for n in ${g#*:}; do echo "$W/$n"; done) --x tokens -o "$out/${g%%:*}.png" \
        --title "${g%%:*}" >/dev/null
done
rm -f "$out"/*.gp # (the data are the .jsonl beside them)
$PY - "$W" "$out" "$stamp" "$(nproc --all) cores, $cpu" <<'PY'
import json, math, os, sys
W, out, stamp, machine = sys.argv[1:5]
def recs(n):
    return [json.loads(l) for l in open(f"{W}/{n}/metrics.jsonl")]
def evals(n):
    return [r for r in recs(n) if "val_loss" in r]
def steps(n):
    return [r for r in recs(n) if "loss" in r and "lr" in r]
wall = lambda n: int(open(f"{W}/{n}.wall").read())
res = {"stamp": stamp, "machine": machine, "runs": {}}
lines = [f"\n### {stamp} — pretraining objectives on the demo corpus (2 ranks, the demo's tiny post-LN encoder) — {machine}\n",
         f"Each objective judged by its own validation metric (`make bench-objectives`); curves in {out}/.\n",
         "MLM variants (450 steps of 128 × 32 tokens, each evaluated on its own validation masks):\n",
         "| masking | val loss @0 | val loss @end | MLM accuracy @0 | MLM accuracy @end |", "|---|---|---|---|---|"]
for n in ("mlm-token", "mlm-word", "mlm-span"):
    e = evals(n)
    res["runs"][n] = dict(val_loss=[e[0]["val_loss"], e[-1]["val_loss"]], val_acc=[e[0]["val_acc"], e[-1]["val_acc"]])
    lines.append(f"| {n[4:]} | {e[0]['val_loss']:.4f} | {e[-1]['val_loss']:.4f} | {e[0]['val_acc']:.4f} | {e[-1]['val_acc']:.4f} |")
lines += ["", "Sequence contrastive learning (padded documents, T = 64, 450 steps of 64 sequences; contrastive weight 0.2, temperature 0.1, crops of 30-80 % of a fortune; recall among the held-out documents' crop pairs; anchor: the same run without it):\n",
          "| run | recall@1 @0 | recall@1 @end | recall@10 @end | MLM accuracy @end | InfoNCE first 50 → last 50 steps |",
          "|---|---|---|---|---|---|"]
for n in ("pad-mlm", "pad-contrastive"):
    e = evals(n)
    c = [r["con_loss"] for r in steps(n) if "con_loss" in r]
    info = f"{sum(c[:50]) / 50:.3f} → {sum(c[-50:]) / 50:.3f}" if c else "—"
    res["runs"][n] = dict(recall1=[r["recall_1"] for r in e], recall10=[r["recall_10"] for r in e], val_acc=e[-1]["val_acc"])
    lines.append(f"| {n} | {e[0]['recall_1']:.3f} | {e[-1]['recall_1']:.3f} | {e[-1]['recall_10']:.3f} | {e[-1]['val_acc']:.4f} | {info} |")
lines += ["", "Sequence-length warm-up (T = 128, lr 6e-3, 450 full-length steps' tokens; warm-up 16 → 128 over 150 steps; anchor: no warm-up):\n",
          "| run | steps | tokens | val loss @end | max loss after step 20 | max gnorm | wall s | vs anchor |", "|---|---|---|---|---|---|---|---|"]
for n in ("warmup-off", "warmup-on"):
    s, e = steps(n), evals(n)
    late = [r for r in s if r["step"] > 20]
    res["runs"][n] = dict(steps=len(s), tokens=s[-1]["tokens"], val_loss=e[-1]["val_loss"], wall_s=wall(n),
                          max_loss=max(r["loss"] for r in late), max_gnorm=max(r["grad_norm"] for r in s))
    r = res["runs"][n]
    lines.append(f"| {n} | {r['steps']} | {r['tokens']} | {r['val_loss']:.4f} | {r['max_loss']:.3f} | {r['max_gnorm']:.2f} | {r['wall_s']} | {r['wall_s'] / wall('warmup-off'):.2f} |")
lines += ["", "Continual pretraining: the demo model (450 steps on fortunes) continued 300 steps on licence texts (/usr/share/common-licenses, the demo's tokenizer), fresh warm-up; the fortune (original) validation loss beside the new one:\n",
          "| run | licences val @0 | licences val @end | fortunes val @0 | fortunes val @end | fortunes rise |", "|---|---|---|---|---|---|"]
for n in ("continual-plain", "continual-replay", "continual-l2sp"):
    e = evals(n)
    rise = e[-1]["val_loss_orig"] - e[0]["val_loss_orig"]
    res["runs"][n] = dict(new=[e[0]["val_loss"], e[-1]["val_loss"]], orig=[e[0]["val_loss_orig"], e[-1]["val_loss_orig"]], rise=rise)
    lines.append(f"| {n[10:]} | {e[0]['val_loss']:.4f} | {e[-1]['val_loss']:.4f} | {e[0]['val_loss_orig']:.4f} | {e[-1]['val_loss_orig']:.4f} | {rise:+.4f} |")
json.dump(res, open(f"{out}.json", "w"), indent=1)
with open("bench/RESULTS.md", "a") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
