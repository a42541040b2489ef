#!/usr/bin/env bash
# slurm/train.sbatch on a single-node Slurm cluster on localhost: a 2-rank
# job (srun --mpi=pmix) trains; SIGUSR1 (what --signal=USR1@60 sends before
# the time limit) makes zeropt checkpoint and exit 75; the script requeues
# the job; the requeued job resumes from the checkpoint and finishes.
. "$(dirname "$0")/../lib/lib.sh"
plan 1
. "$(dirname "$0")/slurm_cluster.sh"
if [ "$(id -u)" != 0 ]; then
    skip "sbatch: signal, checkpoint, requeue, resume" "needs root to start slurmctld and munged"
    exit 0
fi
command -v slurmctld >/dev/null || bail "slurm: slurmctld/slurmd/munge missing (make deps)"
slurm_start "$TMP/slurm" || { notok "slurm cluster did not start: $(tail -3 "$TMP"/slurm/log/*.log 2>/dev/null | tr '\n' '|')"; slurm_stop; exit 1; }
trap 'slurm_stop; rm -rf "$TMP"' EXIT
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null || bail "byte corpus"
# the signal comes at step 30; the steps after it are slack (about 6 s here)
# so that the first job cannot finish before it. The requeued job waits in
# Slurm's queue for the credential lifetime (cred_expire = 5 s in
# slurm_cluster.sh) and the next scheduling pass (sched_interval = 2 s).
STEPS=120
[ "${ZEROPT_TEST_QUICK:-0}" = 1 ] && STEPS=80 # the sanitizer build: slower steps, fewer of them
printf '[model]\nvocab_size = 262\nmax_positions = 32\nlayers = 4\nwidth = 192\nheads = 2\n[data]\npath = %s\nseq_len = 32\nval_batches = 0\n[train]\nsteps = %d\nmicro_batch = 4\n[run]\npeak_tflops = 1\ndir = %s\n' \
    "$TMP/corpus.h5" "$STEPS" "$TMP/run" >"$TMP/cfg.ini"
export ZEROPT=$PWD/$ZEROPT OMP_NUM_THREADS=1
id=$(sbatch --parsable -n 2 -o "$TMP/job-%j.out" --open-mode=append --chdir "$PWD" slurm/train.sbatch "$TMP/cfg.ini") ||
    bail "sbatch failed"
out="$TMP/job-$id.out"
for i in $(seq 1 300); do grep -qs '^step *30/' "$out" && break; sleep 0.1; done
scancel --signal=USR1 "$id" # the ranks get it, as with --signal=USR1@60
for i in $(seq 1 600); do
    [ "$(job_state "$id")" = COMPLETED ] && grep -qs "^step *$STEPS/" "$out" && break
    sleep 0.2
done
first=$(sed -n 's/.*checkpoint after step \([0-9]*\).*/\1/p' "$out")
if [ -n "$first" ] && grep -q "requeueing $id" "$out" && grep -q "restart 1" "$out" &&
    grep -q "resume: .*step_0*$first.h5 at step $first" "$out" &&
    grep -q "^step *$STEPS/$STEPS" "$out" && [ "$(job_state "$id")" = COMPLETED ]; then
    ok "sbatch: SIGUSR1 -> checkpoint after step $first, exit 75, requeue, resume, finish $STEPS steps"
else
    notok "sbatch: state $(job_state "$id"), first stop '$first': $(grep -E 'sbatch|resume|stop|rank|error' "$out" | head -8 | tr '\n' '|')"
fi
