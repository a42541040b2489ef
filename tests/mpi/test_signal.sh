#!/usr/bin/env bash
# SIGUSR1 (Slurm's warning before the time limit) to one rank: every rank
# stops at the same step boundary, a checkpoint is written, zeropt exits 75,
# and the next run resumes from that checkpoint.
. "$(dirname "$0")/../lib/lib.sh"
plan 2
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null ||
    bail "byte corpus"
printf '[model]\nvocab_size = 262\nmax_positions = 32\nlayers = 2\nwidth = 64\nheads = 2\n[data]\npath = %s\nseq_len = 32\nval_batches = 0\n[train]\nsteps = 100000\nmicro_batch = 4\n[run]\npeak_tflops = 1\ndir = %s\n' \
    "$TMP/corpus.h5" "$TMP/run" >"$TMP/cfg.ini"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mpirun -q -np 2 "$ZEROPT" train -c "$TMP/cfg.ini" >"$TMP/log" 2>&1 &
mp=$!
for i in $(seq 1 200); do grep -q '^step *20/' "$TMP/log" && break; sleep 0.05; done
victim=$(ps -eo pid=,comm=,args= | awk -v d="$TMP/cfg.ini" '$2 == "zeropt" && index($0, d) {print $1}' | tail -1)
kill -USR1 "$victim"
( sleep 60; kill -9 $mp 2>/dev/null ) & guard=$!
wait $mp
rc=$?
kill $guard 2>/dev/null
step=$(sed -n 's/.*checkpoint after step \([0-9]*\).*/\1/p' "$TMP/log")
if [ $rc -eq 75 ] && [ -n "$step" ] && [ "$(cat "$TMP/run/ckpt/latest" 2>/dev/null)" = "$(printf 'step_%06d.h5' "$step")" ] &&
    "$ZEROPT" ckpt verify "$TMP/run/ckpt" >/dev/null; then
    ok "SIGUSR1 to one rank: all stop after step $step with a checkpoint, exit 75"
else
    notok "SIGUSR1: exit $rc, step '$step', latest $(cat "$TMP/run/ckpt/latest" 2>/dev/null): $(tail -2 "$TMP/log" | tr '\n' '|')"
fi
mpirun -q -np 2 "$ZEROPT" train -c "$TMP/cfg.ini" train.steps=$((step + 2)) >"$TMP/log2" 2>&1 &&
    grep -q "resume: .*step_0*$step.h5 at step $step" "$TMP/log2" &&
    ok "the next run resumes after step $step and finishes" || notok "resume after the signal: $(grep -m2 -E 'resume|rank' "$TMP/log2" | tr '\n' '|')"
