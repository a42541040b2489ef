#!/usr/bin/env bash
# A 6-point campaign (three small encoder sizes x two token budgets) end to
# end on a single-node Slurm cluster on localhost: `sweep submit` sends one
# job array; one point is sent SIGUSR1 (as --signal=USR1@60 would), stops
# with a checkpoint, is requeued and finishes, bit-identical to an
# uninterrupted run of its point.ini; one point, given a file that is not a
# corpus, fails and `collect` says so with the error line; fixing the
# campaign file and submitting again runs only that point; a third submit
# submits nothing; `sweep fit` fits and plots the six; an sbatch option the
# cluster refuses (a partition it does not have) is refused before anything
# is submitted.
. "$(dirname "$0")/../lib/lib.sh"
plan 10
. "$(dirname "$0")/slurm_cluster.sh"
if [ "$(id -u)" != 0 ]; then
    for i in $(seq 1 10); do skip "campaign on Slurm ($i of 10)" "needs root to start slurmctld and munged"; done
    exit 0
fi
command -v slurmctld >/dev/null || bail "slurm: slurmctld/slurmd/munge missing (make deps)"
slurm_start "$TMP/slurm" || { notok "slurm cluster did not start: $(tail -3 "$TMP"/slurm/log/*.log 2>/dev/null | tr '\n' '|')"; slurm_stop; exit 1; }
trap 'slurm_stop; rm -rf "$TMP"' EXIT
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null || bail "byte corpus"
echo "not an HDF5 file" >"$TMP/notacorpus.h5"
export ZEROPT=$PWD/$ZEROPT OMP_NUM_THREADS=1
# the preempted point (the largest size, the larger budget) runs 240 steps
# (120 in the slower sanitizer build) so the signal, sent at its step 20,
# comes before it ends
T1=30720 T2=61440
[ "${ZEROPT_TEST_QUICK:-0}" = 1 ] && T1=15360 T2=30720
BIG=s96-tok$T2-lr3e-3 BAD=s64-tok$T1-lr3e-3
campaign() { # the campaign file; $1: the bad point's section (or nothing)
    cat <<EOF
[campaign]
name = t
dir = $TMP/camp
corpus = corpus.h5
models = s48 s64 s96
budgets = tokens:$T1 tokens:$T2
lr = 3e-3
set = model.vocab_size=262 model.max_positions=32 data.seq_len=32 data.val_batches=2 train.global_batch=8 train.eval_every=40 train.log_every=1 train.warmup=10 checkpoint.every=0 run.peak_tflops=1
[model.s48]
base = tiny
width = 48
heads = 2
ffn = 192
[model.s64]
base = tiny
width = 64
heads = 2
ffn = 256
[model.s96]
base = tiny
width = 96
heads = 2
ffn = 384
[machine]
devices_per_node = 1
device_gib = 2
[slurm]
time = 10
$1
EOF
}
campaign "[point.$BAD]
data.path = $TMP/notacorpus.h5" >"$TMP/c.ini"
wait_queue() { # until squeue lists nothing (at most 300 s)
    for i in $(seq 1 1500); do [ -z "$(squeue -h -o %i)" ] && return 0; sleep 0.2; done
    return 1
}

# --- a partition the cluster does not have: refused before anything is submitted
{ campaign ""; printf 'partition = nosuch\n'; } >"$TMP/nopart.ini"
sed -i 's#^dir = .*#dir = '"$TMP"'/nopart#' "$TMP/nopart.ini"
"$ZEROPT" sweep submit "$TMP/nopart.ini" >"$TMP/nopart.out" 2>"$TMP/nopart.err"
rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <"$TMP/nopart.err")" = 1 ] && grep -q "sbatch refuses the job of point .*nothing submitted" "$TMP/nopart.err" &&
    [ -z "$(squeue -h -o %i)" ] && [ ! -e "$TMP/nopart/jobs.jsonl" ] &&
    ok "an impossible Slurm option (partition nosuch): one line, nothing submitted  # $(cat "$TMP/nopart.err")" ||
    notok "partition nosuch: rc $rc: $(tr '\n' '|' <"$TMP/nopart.err") queue: $(squeue -h -o %i | tr '\n' ' ')"

# --- submit: one array of six ------------------------------------------------------
"$ZEROPT" sweep submit "$TMP/c.ini" >"$TMP/submit1.out" 2>&1 || bail "sweep submit: $(tail -3 "$TMP/submit1.out" | tr '\n' '|')"
n=$(grep -c "submitted: job [0-9]*_[0-5] (array of 6)" "$TMP/submit1.out")
[ "$n" = 6 ] && ok "submit: the six points in one job array" || notok "submit: $n array tasks: $(tr '\n' '|' <"$TMP/submit1.out")"
log=$($PY -c "import json,sys; print([json.loads(l)['log'] for l in open('$TMP/camp/jobs.jsonl') if json.loads(l)['point']=='$BIG'][-1])")
job=$($PY -c "import json,sys; print([json.loads(l)['job'] for l in open('$TMP/camp/jobs.jsonl') if json.loads(l)['point']=='$BIG'][-1])")
for i in $(seq 1 600); do grep -qs '^step *20/' "$log" && break; sleep 0.1; done
scancel --signal=USR1 "$job"
# the requeued job waits for its begin time; let it start now
for i in $(seq 1 100); do [ "$(job_state "$job")" = PENDING ] && break; sleep 0.2; done
scontrol update JobId="$job" StartTime=now >/dev/null 2>&1
wait_queue || notok "the campaign's jobs did not leave the queue in 300 s: $(squeue -h | tr '\n' '|')"
"$ZEROPT" sweep collect "$TMP/c.ini" >"$TMP/collect1.out" 2>&1 || notok "collect: $(tail -2 "$TMP/collect1.out")"
first=$(sed -n 's/.*checkpoint after step \([0-9]*\).*/\1/p' "$log" | head -1)
if [ -n "$first" ] && grep -q "restart 1" "$log" && grep -q "resume: .*step_0*$first.h5 at step $first" "$log"; then
    ok "preempted point: SIGUSR1 -> checkpoint after step $first, requeued, resumed (job $job)"
else
    notok "preempted point $BIG: '$first': $(grep -E 'sbatch|resume|stop|error' "$log" | head -6 | tr '\n' '|')"
fi
# the same point.ini, uninterrupted, outside Slurm, with the threads train.sbatch sets
OPENBLAS_NUM_THREADS=1 "$ZEROPT" train -c "$TMP/camp/$BIG/point.ini" run.dir="$TMP/ref" >"$TMP/ref.out" 2>&1 || notok "reference run: $(tail -2 "$TMP/ref.out")"
py "collect after the first submit" "$TMP" "$BIG" "$BAD" <<'PY'
import glob, json, sys
from tap import ok
from ckpt_check import tensors, same
d, big, bad = sys.argv[1:4]
rows = {r["point"]: r for r in map(json.loads, open(f"{d}/camp/results.jsonl"))}
last = sorted(glob.glob(f"{d}/ref/ckpt/step_*.h5"))[-1]
a, b = tensors(last), tensors(last.replace("/ref/", f"/camp/{big}/"))
ok("the preempted point's final parameters and Adam state are bit-identical to an uninterrupted run",
   len(a) > 0 and same(a, b) and rows[big]["state"] == "done",
   f"{last.split('/')[-1]}: {len(a)} tensors, {rows[big]['state']}, differ: {[k for k in a if k not in b or not (a[k] == b[k]).all()][:3]}")
others = [p for p in rows if p != bad]
ok("collect: five points done with losses, the bad-corpus point failed with its error line",
   len(rows) == 6 and all(rows[p]["state"] == "done" and rows[p]["final_val"] > 0 for p in others)
   and rows[bad]["state"] == "failed" and "notacorpus.h5" in rows[bad]["error"] and rows[bad]["final_val"] is None,
   f"{bad}: {rows[bad]['state']}: {rows[bad]['error']}")
PY
grep -q "failed $BAD: .*notacorpus.h5" "$TMP/collect1.out" && ok "collect lists the failed point with why" ||
    notok "collect output: $(tail -4 "$TMP/collect1.out" | tr '\n' '|')"

# --- fix the file, submit again: only the failed point runs ----------------------
campaign "" >"$TMP/c.ini"
"$ZEROPT" sweep submit "$TMP/c.ini" >"$TMP/submit2.out" 2>&1
n=$(grep -c "submitted: job" "$TMP/submit2.out")
[ "$n" = 1 ] && grep -q "^  $BAD *submitted: job [0-9]*$" "$TMP/submit2.out" && grep -q "5 done, 0 queued or running, 1 to submit" "$TMP/submit2.out" &&
    ok "fixed and submitted again: only $BAD runs" || notok "second submit: $(tr '\n' '|' <"$TMP/submit2.out")"
wait_queue || notok "the rerun did not leave the queue"
"$ZEROPT" sweep collect "$TMP/c.ini" >"$TMP/collect2.out" 2>&1
grep -q "6 done, 0 queued, 0 running, 0 failed, 0 unfinished, 0 not submitted" "$TMP/collect2.out" &&
    ok "collect: all six done" || notok "collect: $(tail -3 "$TMP/collect2.out" | tr '\n' '|')"
before=$(grep -c . "$TMP/camp/jobs.jsonl")
"$ZEROPT" sweep submit "$TMP/c.ini" >"$TMP/submit3.out" 2>&1
[ "$(grep -c . "$TMP/camp/jobs.jsonl")" = "$before" ] && grep -q "nothing to submit" "$TMP/submit3.out" && [ -z "$(squeue -h -o %i)" ] &&
    ok "a third submit submits nothing" || notok "third submit: $(tr '\n' '|' <"$TMP/submit3.out")"

# --- fit and plots -----------------------------------------------------------------
"$ZEROPT" sweep fit "$TMP/camp/results.jsonl" --plots "$TMP/camp/plots" --bootstrap 20 >"$TMP/fit.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q "6 points fitted" "$TMP/fit.out" && [ -s "$TMP/camp/plots/loss_vs_params.png" ] &&
    [ -s "$TMP/camp/plots/loss_vs_compute.png" ] && [ -s "$TMP/camp/plots/lr_sensitivity.png" ] &&
    ok "sweep fit: the law from the six points, three PNGs" || notok "fit: rc $rc: $(tail -4 "$TMP/fit.out" | tr '\n' '|') $(ls "$TMP/camp/plots" 2>&1)"
[ -n "${ZEROPT_CAMPAIGN_KEEP:-}" ] && { rm -rf "$ZEROPT_CAMPAIGN_KEEP"; cp -r "$TMP" "$ZEROPT_CAMPAIGN_KEEP"; }
exit 0
