#!/usr/bin/env bash
# `zeropt plan`: per-rank memory, communication and step time without
# allocating. Checks: the ZeRO paper's 7.5B / 64-rank example (Rajbhandari et
# al. 2020, K = 12); the compute term against a measured 1-rank step; every
# ladder config at 512 ranks; largest_fitting; the time model's arithmetic;
# bad input. (The plan against the bytes live runs count and send:
# tests/mpi/test_memory.sh.)
# The compute term: the fastest of 9 steps of mini (1 rank, 2 threads) took
# 1.6-1.9x the FLOPs at the best measured sgemm rate on 2026-12-02 (AMD EPYC,
# OpenBLAS Zen; the median step gave 2.0-2.2x on 2026-12-01 and once 4.6x
# when a load burst on this shared machine slowed the steps after the probe:
# the fastest step and the best sgemm are both unloaded figures): the
# non-GEMM work and the smaller GEMMs' lower rate; 1.16x (median) on a
# virtual Intel Xeon whose OpenBLAS ran its slow Prescott kernels (there the
# GEMMs are nearly all of the step). Accepted 0.8-3.5x: below 0.8 the FLOP
# count is too high (a step cannot beat the sgemm rate by much); above 3.5
# the time model misses work (0.8-12x in the sanitizer build, whose non-BLAS
# code runs instrumented: 5.1x measured).
. "$(dirname "$0")/../lib/lib.sh"
plan 28
ROOT=$PWD
plan() { "$ZEROPT" plan "$@"; }

# --- the ZeRO paper's example: Ψ = 7.5B, Nd = 64, K = 12 -------------------
for s in 0 1 2 3; do
    plan --params 7.5e9 --ranks 64 --precision mixed --stage $s --json >"$TMP/zero$s.json" ||
        notok "plan --params 7.5e9 --stage $s failed"
done
py "ZeRO paper example" "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
want = [120, 31.4, 16.6, 1.88]
got = [json.load(open(f"{d}/zero{s}.json"))["model_state_bytes"] / 1e9 for s in range(4)]
err = max(abs(g - w) / w for g, w in zip(got, want))
print(("ok - " if err < 0.005 else "not ok - ") +
      "ZeRO paper example (7.5B params, 64 ranks, K=12): model state %s GB vs %s (worst %.2f%%)" %
      ([round(g, 3) for g in got], want, 100 * err))
PY
# K for each optimizer-state option (mixed precision: fp32 master + states),
# rank 0 at stage 3 on base: fp32 12, bf16 8, 8bit 6 (+ the absmax, the small
# tensors' fp32 states and blocks cut at slice ends: 6.07 measured with the
# embeddings quantized too; by default their fp32 states make it 7.37 on the
# rank holding them), adafactor ~4 (+ the factors and sums every rank holds:
# 4.17 at 8 ranks, 5.32 at 64), and with its momentum in fp32, bf16 and 8bit
# 4 more, 2 more, 1 more (+ the absmax and the small tensors' fp32 m)
for o in "f32:64:" "b16:64:optim.states=bf16" "q8:64:optim.states=8bit optim.embeddings_8bit=true" \
    "af:8:optim.name=adafactor" "afm:8:optim.name=adafactor optim.adafactor_beta1=0.9" \
    "afb:8:optim.name=adafactor optim.adafactor_beta1=0.9 optim.states=bf16" \
    "afq:8:optim.name=adafactor optim.adafactor_beta1=0.9 optim.states=8bit optim.embeddings_8bit=true"; do
    IFS=: read -r key n ov <<<"$o"
    # shellcheck disable=SC2086
    plan --model configs/model/base.ini --ranks "$n" --precision mixed --stage 3 $ov --json \
        >"$TMP/k-$key.json" || notok "plan K $key"
done
py "K per option" "$TMP" <<'PY'
import json, sys
from tap import ok
d = sys.argv[1]
k = {n: json.load(open(f"{d}/k-{n}.json")) for n in ["f32", "b16", "q8", "af", "afm", "afb", "afq"]}
got = {n: k[n]["optim_bytes"] / (k[n]["padded_params"] / k[n]["ranks"]) for n in k}
want = {"f32": (12, 12), "b16": (8, 8), "q8": (6, 6.1), "af": (4, 4.2), "afm": (8, 8.2), "afb": (6, 6.2),
        "afq": (5, 5.25)}
bad = [n for n in k if not want[n][0] <= got[n] <= want[n][1]]
ok("K per option (base, stage 3, mixed): fp32 12, bf16 8, 8bit 6.0-6.1, adafactor 4.0-4.2; "
   "with momentum fp32 8.0-8.2, bf16 6.0-6.2, 8bit 5.0-5.25", not bad,
   ", ".join(f"{n} {got[n]:.4f}" for n in k))
PY
row=$(plan --params 7.5e9 --ranks 64 --precision mixed | grep '^  model state')
[ "$(echo $row)" = "model state 120 31.4 16.6 1.88" ] && ok "text table (--stage all): $(echo $row)" ||
    notok "text table model-state row: '$row'"

src=/usr/share/games/fortunes
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" "$src/fortunes" "$src/science" >/dev/null ||
    bail "byte corpus"

# --- the compute term against a measured step (1 rank, stage 0) ------------
cat >"$TMP/mini.ini" <<EOC
include = $ROOT/configs/model/mini.ini
[model]
vocab_size = 262
max_positions = 128
[data]
path = $TMP/corpus.h5
seq_len = 128
val_batches = 0
[train]
micro_batch = 8
steps = 10
warmup = 1
threads = 2
[run]
peak_tflops = 0
EOC
# a timing check on a shared machine: when the sgemm rate measured at the
# run's start or its steps were disturbed (CI once measured 31 GFLOP/s, 150
# otherwise), the run is tried once more and the first result is logged
compute_model() {
rm -rf "$TMP/mini"
OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 timeout -k 5 120 "$ZEROPT" train -c "$TMP/mini.ini" \
    run.dir="$TMP/mini" >"$TMP/mini.log" 2>&1 || echo "not ok - mini run failed: $(tail -2 "$TMP/mini.log")"
peak=$(sed -n 's/.*peak for MFU: \([0-9.e+-]*\) TFLOP\/s per rank (measured sgemm).*/\1/p' "$TMP/mini.log")
# the rate again after the run (zeropt blas, 1024^3): the faster of the two
# moments, as the fastest step is taken (on a contended host a rate measured
# at one moment fell to 9-31 GFLOP/s while the steps ran at 150)
again=$(OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 "$ZEROPT" blas 2>/dev/null | sed -n 's/^sgemm *\([0-9.]*\) GFLOP.*/\1/p')
[ -n "$peak" ] && [ -n "$again" ] && peak=$($PY -c "print(max($peak, $again / 1000))")
if [ -z "$peak" ]; then
    echo "not ok - no measured sgemm rate in the training log"
else
    plan --model configs/model/mini.ini model.vocab_size=262 model.max_positions=128 --ranks 1 \
        --stage 0 --micro-batch 8 --seq 128 --device-tflops "$peak" --json >"$TMP/mini.plan.json"
    $PY - "$TMP" "$peak" "${SAN:-0}" <<'PY'
import json, sys
d, peak, san = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
hi = 12 if san else 3.5  # the sanitizer build instruments everything but the BLAS
steps = [r["step_s"] for r in map(json.loads, open(f"{d}/mini/metrics.jsonl")) if "step_s" in r]
meas = min(steps[1:])  # the fastest step beside the best sgemm: both unloaded
p = json.load(open(f"{d}/mini.plan.json"))
r = meas / p["compute_s"]
print(("ok - " if 0.8 <= r <= hi else "not ok - ") +
      "compute model (mini, 1 rank, B=8, T=128, 2 threads): fastest of 9 steps %.4f s vs "
      "predicted compute %.4f s at the measured sgemm rate %.3g TFLOP/s: ratio %.2f (want 0.8-%g%s)"
      % (meas, p["compute_s"], peak, r, hi, ", sanitizer build" if san else ""))
PY
fi
}
res=$(compute_model 2>&1)
if [[ "$res" != "ok - "* ]]; then
    echo "# warning: compute model, first try: $(tr '\n' ' ' <<<"$res" | cut -c1-300)"
    res=$(compute_model 2>&1)
fi
[[ "$res" == "ok - "* ]] && echo "$res" || notok "compute model: $(tr '\n' ' ' <<<"$res" | sed 's/^not ok - //' | cut -c1-400)"

# --- the ladder: every size at 512 ranks, stage 3, mixed; largest_fitting ---
lfails=""
for m in tiny mini small medium base large xl xxl; do
    plan --model configs/model/$m.ini --ranks 512 --stage 3 --precision mixed --seq 512 \
        >"$TMP/l-$m.txt" 2>&1 &&
        plan --model configs/model/$m.ini --ranks 512 --stage 3 --precision mixed --seq 512 \
            --json >"$TMP/l-$m.json" 2>&1 || lfails="$lfails $m"
    plan --model configs/model/$m.ini --ranks 8 --stage 3 --precision mixed --json \
        >"$TMP/l8-$m.json" 2>&1 || lfails="$lfails $m@8"
done
[ -z "$lfails" ] && ok "every ladder config plans at 512 ranks, stage 3, mixed (text and JSON)" ||
    notok "ladder plans failed:$lfails"
plan --model configs/model/xxl.ini --ranks 1 --stage 0 --precision mixed --json >"$TMP/x1.json"
plan --model configs/model/xxl.ini --ranks 512 --stage 3 --precision mixed --micro-batch 8 --seq 512 \
    --json >"$TMP/x512.json"
py "ladder" "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
ok = lambda n, c, m="": print(("ok - " if c else "not ok - ") + n + ("  # " if c else ": ") + m)
ladder = "tiny mini small medium base large xl xxl".split()
p8 = {m: json.load(open(f"{d}/l8-{m}.json")) for m in ladder}
fit = [m for m in ladder if p8[m]["fits"]]
lf = {p8[m]["largest_fitting"] for m in ladder}
sizes = [p8[m]["params"] for m in ladder]
ok("largest_fitting (8 ranks x 80 GiB, stage 3, mixed) = the largest ladder model whose plan fits",
   lf == {fit[-1] if fit else None} and sizes == sorted(sizes), f"{lf.pop()}; fitting: {fit}")
x1, x512 = json.load(open(f"{d}/x1.json")), json.load(open(f"{d}/x512.json"))
ok("xxl does not fit 1 rank x 80 GiB at stage 0 (mixed)",
   not x1["fits"] and x1["largest_fitting"] != "xxl",
   f"{x1['total_bytes'] / 1e9:.1f} GB; largest fitting {x1['largest_fitting']}")
ok("xxl fits 512 ranks x 80 GiB at stage 3 (mixed, B=8, T=512)",
   x512["fits"] and x512["largest_fitting"] == "xxl",
   f"{x512['total_bytes'] / 1e9:.1f} GB of {x512['device_bytes'] / 1e9:.1f}")
PY

# --- the time model's arithmetic (alpha-beta, ring) --------------------------
for s in 0 1 2 3; do
    plan --model configs/model/base.ini --ranks 16 --stage $s --precision mixed --device-tflops 300 \
        --link-gbps 100 --link-us 10 --json >"$TMP/t$s.json"
done
py "time model" "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
bad = []
for s in range(4):
    p = json.load(open(f"{d}/t{s}.json"))
    N, a, beta = 16, 10e-6, 100e9 / 8
    units, tied = p["units"], True
    ncoll = {0: units, 1: 2 * units, 2: 2 * units, 3: 3 * units + 2}[s]
    steps = 2 * (N - 1) * units if s == 0 else (N - 1) * ncoll
    comm = steps * a + p["comm_bytes_per_step"] / beta
    comp = p["micro_batch"] * p["seq"] * p["flops_per_token"] / 300e12
    want = dict(compute_s=comp, comm_s=comm, step_s_overlap=max(comp, comm),
                step_s_serial=comp + comm, mfu_overlap=comp / max(comp, comm),
                mfu_serial=comp / (comp + comm),
                tokens_per_s=p["micro_batch"] * p["seq"] * N / max(comp, comm))
    for k, v in want.items():
        if abs(p[k] - v) > 1e-9 * abs(v): bad.append(f"s{s} {k}: {p[k]} vs {v}")
    if p["collectives_per_step"] != ncoll: bad.append(f"s{s} collectives {p['collectives_per_step']}")
print(("ok - " if not bad else "not ok - ") +
      "time model: compute = B*T*flops/token/F, comm = ring (N-1)*alpha per collective + bytes/beta,"
      " overlap/serial bounds, MFU, tokens/s" + (": " + "; ".join(bad) if bad else ""))
PY

# --- bad input: one line, non-zero exit ------------------------------------
M=configs/model/tiny.ini
expect_error "unknown flag" "unknown argument --bogus" -- "$ZEROPT" plan --model $M --bogus
expect_error "stray word" "unknown argument foo" -- "$ZEROPT" plan --model $M foo
expect_error "ranks 0" "--ranks" -- "$ZEROPT" plan --model $M --ranks 0
expect_error "ranks not a number" "--ranks" "abc" -- "$ZEROPT" plan --model $M --ranks abc
expect_error "ranks missing value" "--ranks needs a value" -- "$ZEROPT" plan --model $M --ranks
expect_error "stage 4" "--stage must be 0, 1, 2, 3 or all" -- "$ZEROPT" plan --model $M --stage 4
expect_error "no model" "nothing to plan" -- "$ZEROPT" plan --ranks 8
expect_error "params and model" "not both" -- "$ZEROPT" plan --model $M --params 1e9
expect_error "params negative" "--params" -- "$ZEROPT" plan --params -5
expect_error "params junk" "--params" "1e9x" -- "$ZEROPT" plan --params 1e9x
expect_error "precision" "--precision must be fp32, bf16 or mixed" -- "$ZEROPT" plan --model $M --precision fp16
expect_error "seq too long" "seq 1024 exceeds" "max_positions = 512" -- "$ZEROPT" plan --model $M --seq 1024
expect_error "micro-batch 0" "--micro-batch" -- "$ZEROPT" plan --model $M --micro-batch 0
expect_error "device-gib junk" "--device-gib" -- "$ZEROPT" plan --model $M --device-gib lots
expect_error "mask rate" "--mask-rate" -- "$ZEROPT" plan --model $M --mask-rate 1.5
expect_error "link without compute" "need --device-tflops" -- "$ZEROPT" plan --model $M --link-gbps 100
expect_error "compute without link at 8 ranks" "needs --link-gbps" -- \
    "$ZEROPT" plan --model $M --ranks 8 --device-tflops 100
expect_error "bad override key" "nokey" -- "$ZEROPT" plan --model $M model.nokey=3
expect_error "missing model file" "/nonexistent.ini" -- "$ZEROPT" plan --model /nonexistent.ini
