#!/usr/bin/env bash
# `zeropt plot` and `zeropt sweep fit`: the curves of a real short run in a
# PNG whose script holds exactly the run's records (the step, tokens and
# time axes); the metrics header's campaign facts (non-embedding parameters,
# FLOPs per token, tokens per step record); a resumed run's repeated steps
# replaced, its wall time summed over jobs; the fit of a synthetic results
# table (truth inside the intervals, the failed point counted, the best lr
# per size and budget used), its three plots; bad input, one line each.
. "$(dirname "$0")/../lib/lib.sh"
plan 12
export OMP_NUM_THREADS=1
command -v gnuplot >/dev/null || bail "gnuplot missing (make deps installs gnuplot-nox)"
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null || bail "byte corpus"
printf '[model]\narch = decoder\nvocab_size = 262\nmax_positions = 32\nlayers = 2\nwidth = 64\nheads = 2\n[data]\npath = %s\nseq_len = 32\nval_batches = 2\n[train]\nsteps = 24\nmicro_batch = 4\neval_every = 8\nlog_every = 8\n[checkpoint]\nevery = -1\n[run]\ndir = %s\n' \
    "$TMP/corpus.h5" "$TMP/run" >"$TMP/cfg.ini"
"$ZEROPT" train -c "$TMP/cfg.ini" >"$TMP/train.out" 2>&1 || bail "train: $(tail -2 "$TMP/train.out")"

# --- plot a run ------------------------------------------------------------
"$ZEROPT" plot "$TMP/run" --size 1000x700 >"$TMP/plot.out" 2>&1
py "plot one run" "$TMP" <<'PY'
import struct, sys
from tap import ok
d = sys.argv[1]
png = open(f"{d}/run/curves.png", "rb").read()
w, h = struct.unpack(">II", png[16:24])
ok("plot: RUN_DIR/curves.png is a 1000x700 PNG", png[:8] == b"\x89PNG\r\n\x1a\n" and (w, h) == (1000, 700),
   f"{len(png)} bytes, {w}x{h}")
gp = open(f"{d}/run/curves.gp").read()
block = gp.split("$steps0 << EOD\n")[1].split("EOD\n")[0].splitlines()[1:]
val = gp.split("$val0 << EOD\n")[1].split("EOD\n")[0].splitlines()[1:]
steps = [int(l.split()[0]) for l in block]
vsteps = [int(l.split()[0]) for l in val]
ok("plot: the script holds every step record and every evaluation",
   steps == list(range(1, 25)) and vsteps == [0, 8, 16, 24] and "multiplot layout 2,2" in gp,
   f"{len(steps)} steps, evaluations at {vsteps}")
PY
"$ZEROPT" plot "$TMP/run" --x tokens -o "$TMP/tok.png" >/dev/null 2>&1 &&
    "$ZEROPT" plot "$TMP/run" "$TMP/run/metrics.jsonl" --x time -o "$TMP/time.png" >/dev/null 2>&1
py "metrics header and axes" "$TMP" <<'PY'
import json, sys
from tap import ok
d = sys.argv[1]
recs = [json.loads(l) for l in open(f"{d}/run/metrics.jsonl")]
head = recs[0]
# decoder, vocab 262, 32 positions, C = 64, tied head: embeddings 262*64 + 32*64
emb = 262 * 64 + 32 * 64
steps = [r for r in recs if "loss" in r]
good = (head["params"] - head["nonembedding_params"] == emb and head["seq_len"] == 32 and
        head["global_batch"] == 4 and head["steps"] == 24 and head["flops_per_token"] > 6 * head["nonembedding_params"] and
        all(r["tokens"] == r["step"] * 4 * 32 for r in steps))
ok("metrics: the header names non-embedding parameters, FLOPs per token, T, batch, steps; each step its tokens",
   good, f"params {head['params']}, non-embedding {head['nonembedding_params']}, fpt {head['flops_per_token']:.4g}")
gp = open(f"{d}/tok.gp").read()
xs = [float(l.split()[0]) for l in gp.split("$steps0 << EOD\n")[1].split("EOD\n")[0].splitlines()[1:]]
gt = open(f"{d}/time.gp").read()
ts = [float(l.split()[0]) for l in gt.split("$steps1 << EOD\n")[1].split("EOD\n")[0].splitlines()[1:]]
el = [r["elapsed_s"] for r in steps]
ok("plot --x tokens / time: tokens per step, wall seconds; two runs in one picture",
   xs == [128.0 * s for s in range(1, 25)] and max(abs(a - b) for a, b in zip(ts, el)) < 1e-6 and
   "$steps1" in gt and "lc 2" in gt, f"tokens to {xs[-1]:.0f}, time to {ts[-1]:.3f} s")
PY

# --- a resumed run: steps repeated after the last checkpoint ---------------
$PY - "$TMP" <<'PY'
import json, sys
d = sys.argv[1]
with open(f"{d}/resumed.jsonl", "w") as f:
    for job, (a, b, t0) in enumerate([(1, 10, 0), (7, 12, 0)]):
        f.write(json.dumps({"step": 0, "params": 1000, "seq_len": 8, "global_batch": 2, "steps": 12}) + "\n")
        for s in range(a, b + 1):
            f.write(json.dumps({"step": s, "loss": 5 - 0.1 * s + job, "lr": 1e-3, "grad_norm": 1,
                                "tokens_per_s": 100, "elapsed_s": 1.0 * (s - a + 1)}) + "\n")
    f.write(json.dumps({"step": 12, "peak_rss_bytes": 1}) + "\n")
PY
"$ZEROPT" plot "$TMP/resumed.jsonl" --x time -o "$TMP/resumed.png" >/dev/null 2>&1
py "resumed run" "$TMP" <<'PY'
import sys
from tap import ok
d = sys.argv[1]
rows = open(f"{d}/resumed.gp").read().split("$steps0 << EOD\n")[1].split("EOD\n")[0].splitlines()[1:]
t = [float(r.split()[0]) for r in rows]
loss = [float(r.split()[1]) for r in rows]
# steps 1-6 of job 1 (t 1..6), then 7-12 of job 2 at 10 + 1..6; job 2's losses are +1
ok("plot: a resumed run keeps steps 1-6 of job 1 and 7-12 of job 2, wall time summed over jobs",
   t == [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16] and abs(loss[6] - (5 - 0.7 + 1)) < 1e-9,
   f"{len(t)} rows, t {t}")
PY

# --- sweep fit -------------------------------------------------------------
$PY - "$TMP" <<'PY'
import json, math, random, sys
d = sys.argv[1]
random.seed(7)
E, A, al, B, be = 1.8, 400.0, 0.34, 410.0, 0.28
with open(f"{d}/results.jsonl", "w") as f:
    for N in [1e7, 3e7, 1e8, 3e8, 1e9, 3e9]:
        for k in [5, 20, 80]:
            for lr in [1e-3, 3e-3]:
                D = k * N
                # the 1e-3 runs are 3 % worse: the fit must take the best lr of each pair
                L = (E + A * N ** -al + B * D ** -be) * math.exp(random.gauss(0, 0.004)) * (1.03 if lr == 1e-3 else 1)
                f.write(json.dumps({"point": f"n{N:.0e}-k{k}-lr{lr}", "model": f"n{N:.0e}", "budget": f"{k}xN",
                                    "params": 1.2 * N, "nonembedding_params": N, "tokens": D,
                                    "final_val": L, "best_val": L, "lr": lr, "state": "done"}) + "\n")
    f.write(json.dumps({"point": "broken", "model": "n1e+07", "budget": "5xN", "params": 1.2e7,
                        "tokens": None, "state": "failed"}) + "\n")
PY
"$ZEROPT" sweep fit "$TMP/results.jsonl" --params nonembedding --json --plots "$TMP/plots" >"$TMP/fit.json" 2>"$TMP/fit.err"
py "sweep fit" "$TMP" <<'PY'
import json, struct, sys
from tap import ok
d = sys.argv[1]
j = json.load(open(f"{d}/fit.json"))
truth = {"E": 1.8, "A": 400, "alpha": 0.34, "B": 410, "beta": 0.28}
inside = {k: j[k]["lo"] <= v <= j[k]["hi"] for k, v in truth.items()}
ok("sweep fit: 18 best-lr points of 36, the failed one counted, every 95 % interval holds the truth",
   j["points_fitted"] == 18 and j["points_not_done"] == 1 and all(inside.values()) and j["bootstrap"] >= 190,
   " ".join(f"{k} {j[k]['value']:.4g} [{j[k]['lo']:.4g}, {j[k]['hi']:.4g}]" for k in truth))
f = j["frontier"]
ok("sweep fit: the frontier spends C = 6 N_opt D_opt",
   all(abs(6 * e["N_opt"] * e["D_opt"] / e["compute"] - 1) < 1e-9 for e in f) and len(f) == 3,
   f"C {f[0]['compute']:.3g}: N_opt {f[0]['N_opt']:.3g}, D_opt {f[0]['D_opt']:.3g}")
sizes = []
for n in ["loss_vs_params", "loss_vs_compute", "lr_sensitivity"]:
    b = open(f"{d}/plots/{n}.png", "rb").read()
    sizes.append((n, len(b), b[:4] == b"\x89PNG"))
gp = open(f"{d}/plots/lr_sensitivity.gp").read()
ok("sweep fit --plots: three PNGs; the lr plot has a line per size and budget",
   all(s[2] and s[1] > 5000 for s in sizes) and gp.count("with linespoints") == 18, str(sizes))
PY

# --- bad input ---------------------------------------------------------------
printf '{"step":0,"params":10}\n{"step":1,"loss":\n' >"$TMP/bad.jsonl"
expect_error "plot: a line that is not JSON names the file and line" "bad.jsonl:2" "not a JSON object" -- \
    "$ZEROPT" plot "$TMP/bad.jsonl" -o "$TMP/bad.png"
expect_error "plot: a missing run" "nowhere: No such file" -- "$ZEROPT" plot "$TMP/nowhere"
expect_error "plot: an unknown axis" "--x must be step, tokens or time" -- "$ZEROPT" plot "$TMP/run" --x epochs
head -8 "$TMP/results.jsonl" | sed -n '1~2p' >"$TMP/few.jsonl"
expect_error "sweep fit: fewer than 5 points" "4 fitted points" "needs at least 5" -- \
    "$ZEROPT" sweep fit "$TMP/few.jsonl"
