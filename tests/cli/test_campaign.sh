#!/usr/bin/env bash
# `zeropt sweep plan | submit --local | collect` without Slurm: the base ->
# XXL campaign on 4 x 80 GiB GPUs per node gives every point an allocation
# that `zeropt plan` confirms fits (the same bytes), more nodes only where
# target_hours asks for them; a two-point CPU campaign runs here through
# mpirun, is collected (both done, with losses), and a second submit runs
# nothing; bad campaign files are refused with one line each, before
# anything runs.
. "$(dirname "$0")/../lib/lib.sh"
plan 17
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 \
    OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1

# --- base -> XXL on a described cluster ----------------------------------------
"$ZEROPT" sweep plan configs/campaign/ladder-gpu.ini --json >"$TMP/ladder.json" 2>"$TMP/ladder.err" ||
    bail "sweep plan ladder-gpu: $(tail -2 "$TMP/ladder.err")"
"$ZEROPT" sweep plan configs/campaign/ladder-gpu.ini >"$TMP/ladder.txt" 2>&1
py "ladder confirmed by plan" "$TMP" "$ZEROPT" <<'PY'
import json, subprocess, sys
from tap import ok
d, zeropt = sys.argv[1], sys.argv[2]
j = json.load(open(f"{d}/ladder.json"))
pts = j["points"]
models = sorted({p["model"] for p in pts})
ok("plan: 16 points (4 sizes x 2 budgets x 2 lrs), each with an allocation",
   len(pts) == 16 and models == ["base", "large", "xl", "xxl"] and
   all(p["ranks"] == p["nodes"] * p["ranks_per_node"] and p["micro_batch"] * p["accumulation"] * p["ranks"] == p["global_batch"]
       for p in pts), f"{len(pts)} points, models {models}")
bad, seen = [], {}
for p in pts:
    key = (p["model"], p["ranks"], p["stage"], p["micro_batch"], p["global_batch"])
    if key in seen:
        continue
    out = subprocess.run([zeropt, "plan", "--model", f"configs/model/{p['model']}.ini", "-c",
                          "configs/train/campaign-gpu.ini", "--ranks", str(p["ranks"]), "--stage",
                          str(p["stage"]), "--micro-batch", str(p["micro_batch"]), "--precision",
                          "mixed", "--device-gib", "80", f"train.global_batch={p['global_batch']}", "--json"], capture_output=True, text=True)
    q = json.loads(out.stdout)
    seen[key] = q
    if not (q["fits"] and q["total_bytes"] == p["memory_bytes"] and q["accumulation"] == p["accumulation"]):
        bad.append((key, q["fits"], q["total_bytes"], p["memory_bytes"]))
ok("zeropt plan confirms every allocation fits 80 GiB, with the same bytes and accumulation",
   not bad and len(seen) >= 4, f"{len(seen)} allocations checked, {bad[:2]}")
# a point meets target_hours (72) or is marked as the fastest that misses
# it; the small sizes stay on one node, XXL needs ZeRO and many nodes
over = [p["point"] for p in pts if p["hours"] > 72 and not p["over_target"]]
xxl = [p for p in pts if p["model"] == "xxl"]
ok("target_hours: every point meets 72 h or is marked over it; base on one node, XXL sharded over nodes",
   not over and all(p["stage"] >= 1 and p["nodes"] > 1 for p in xxl) and
   all(p["nodes"] == 1 for p in pts if p["model"] in ("base", "large")),
   f"xxl: {[(p['nodes'], p['stage'], round(p['hours'], 1)) for p in xxl]}")
txt = open(f"{d}/ladder.txt").read()
ok("plan: the readable table names every point and the campaign's device-hours",
   all(p["point"] in txt for p in pts) and "device-hours" in txt and "data/corpus.h5" in txt,
   txt.splitlines()[0])
PY

# --- a campaign on this machine, through mpirun ----------------------------------
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null || bail "byte corpus"
cat >"$TMP/local.ini" <<EOF
[campaign]
name = local
dir = $TMP/camp
corpus = corpus.h5
models = w32
budgets = tokens:2048 tokens:4096
lr = 3e-3
set = model.vocab_size=262 model.max_positions=16 data.seq_len=16 data.val_batches=2 train.global_batch=8 train.eval_every=8 train.log_every=4 checkpoint.every=-1
[model.w32]
base = tiny
width = 32
heads = 2
ffn = 64
[machine]
devices_per_node = 2
device_gib = 1
EOF
"$ZEROPT" sweep submit "$TMP/local.ini" --local >"$TMP/local.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "w32-tok2048-lr3e-3 *done" "$TMP/local.out" && grep -q "w32-tok4096-lr3e-3 *done" "$TMP/local.out" &&
    ok "submit --local: both points train here through mpirun" ||
    notok "submit --local: rc $rc: $(tail -4 "$TMP/local.out" | tr '\n' '|')"
"$ZEROPT" sweep collect "$TMP/local.ini" >"$TMP/collect.out" 2>&1 || notok "collect: $(tail -2 "$TMP/collect.out")"
py "collect" "$TMP" <<'PY'
import csv, json, sys
from tap import ok
d = sys.argv[1]
rows = [json.loads(l) for l in open(f"{d}/camp/results.jsonl")]
c = list(csv.DictReader(open(f"{d}/camp/results.csv")))
ok("collect: results.jsonl and results.csv hold both points, done, with losses and throughput",
   len(rows) == 2 and len(c) == 2 and all(r["state"] == "done" and r["final_val"] > 0 and r["best_val"] <= r["final_val"]
                                           and r["tokens"] == r["steps"] * 8 * 16 and r["tokens_per_s"] > 0
                                           and r["ranks"] == 1 and r["job"] == "local" for r in rows)
   and [r["point"] for r in c] == [r["point"] for r in rows],
   f"{[(r['point'], r['state'], r['final_val']) for r in rows]}")
ok("collect: steps follow the token budgets (2048 and 4096 tokens of 8 x 16)",
   [r["steps"] for r in rows] == [16, 32] and [r["steps_done"] for r in rows] == [16, 32], str([r["steps"] for r in rows]))
PY
"$ZEROPT" sweep submit "$TMP/local.ini" --local >"$TMP/again.out" 2>&1
[ "$(grep -c . "$TMP/camp/jobs.jsonl")" = 2 ] && grep -q "nothing to submit" "$TMP/again.out" &&
    ok "submit again: nothing to submit (2 done), no run" ||
    notok "submit again: $(tr '\n' '|' <"$TMP/again.out")"

# --- bad campaign files: one line each, nothing runs -----------------------------
bad() { # name, patterns..., -- ; the campaign text on stdin replaces local.ini's sections
    local name=$1
    shift
    cat >"$TMP/bad.ini"
    expect_error "$name" "$TMP/bad.ini" "$@" -- "$ZEROPT" sweep submit "$TMP/bad.ini" --local
}
head -13 "$TMP/local.ini" | sed 's/^models = w32/models = w32 huge/' | bad "unknown model" "unknown model 'huge'"
head -13 "$TMP/local.ini" | sed 's#^corpus = .*#corpus = nowhere.h5#' | bad "missing corpus" "nowhere.h5" "No such file" "nothing submitted"
{ head -14 "$TMP/local.ini" | sed 's/^models = w32/models = w32 xxl/'; printf '[machine]\ndevices_per_node = 2\ndevice_gib = 1\nmax_nodes = 2\n'; } |
    bad "no allocation fits" "point xxl-tok2048-lr3e-3" "no allocation fits 1 GiB per device up to 2 nodes x 2"
{ head -14 "$TMP/local.ini"; printf '[slurm]\ngpus_per_task = 2\n'; } | bad "impossible Slurm option (GPUs per task)" "gpus_per_task = 2" "one rank per GPU"
{ head -14 "$TMP/local.ini"; printf '[slurm]\ntime = 2h\n'; } | bad "impossible Slurm option (time)" "time = '2h'" "not a Slurm time limit"
head -14 "$TMP/local.ini" | sed 's/^budgets = .*/budgets = tokens:16 20x/' | bad "a budget shorter than one step" "budget tokens:16" "less than one step"
{ head -14 "$TMP/local.ini"; printf '[machine]\ngpus = 4\n'; } | bad "unknown key" "unknown key gpus in [machine]"
printf '[model]\nlayers = 6\n' >"$TMP/shape.ini"
head -14 "$TMP/local.ini" | sed "s#^\[campaign\]#[campaign]\nrecipe = shape.ini#" | bad "a recipe that sets the shape" "recipe" "sets [model] layers"
[ "$(grep -c . "$TMP/camp/jobs.jsonl")" = 2 ] && ok "bad campaigns: nothing ran (jobs.jsonl unchanged)" ||
    notok "bad campaigns ran something: $(tail -2 "$TMP/camp/jobs.jsonl")"
