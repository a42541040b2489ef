#!/usr/bin/env bash
# LeakSanitizer in the sanitizer build (make SAN=1 test), on 2 ranks:
#   - a training run ends with no leak at all, even with tests/lib/lsan.supp
#     left out: what Open MPI and PMIx keep past MPI_Finalize is allocated
#     with the checker off (tests/lib/san_keep_modules.c), so the checker
#     has nothing to symbolize at exit (that took 0.2 s of every process);
#   - zeropt's own leaks are still reported: ZEROPT_FAULT=leak drops a block
#     from the main thread and one from an OpenMP thread, and the run fails
#     naming both, with the function that allocated them.
# The normal build has no leak checker: there the fault point only has to
# run and leave training as it was (1 check instead of 2).
. "$(dirname "$0")/../lib/lib.sh"
san=0
[ "${ZEROPT_SAN:-}" = 1 ] && san=1
plan $((1 + san))
"$PY" "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null ||
    bail "corpus"
cat >"$TMP/cfg.ini" <<EOC
[model]
arch = decoder
norm = pre
vocab_size = 262
max_positions = 32
layers = 1
width = 32
heads = 2
[data]
path = $TMP/corpus.h5
seq_len = 32
val_batches = 0
[train]
micro_batch = 4
global_batch = 8
steps = 2
[checkpoint]
every = -1
EOC
train() { # run_dir [VAR=value...]: a 2-rank run, its log in run_dir.log
    local dir=$1; shift
    env "$@" timeout -k 5 120 mpirun -q -np 2 "$ZEROPT" train -c "$TMP/cfg.ini" run.dir="$dir" \
        >"$dir.log" 2>&1
}

if [ $san = 0 ]; then
    train "$TMP/fault" ZEROPT_FAULT=leak &&
        cmp -s <(grep -o '"loss":[^,]*' "$TMP/fault/metrics.jsonl") \
            <(train "$TMP/clean" && grep -o '"loss":[^,]*' "$TMP/clean/metrics.jsonl") &&
        ok "normal build: ZEROPT_FAULT=leak runs, the losses are those of a run without it" ||
        notok "ZEROPT_FAULT=leak in the normal build: $(tail -2 "$TMP/fault.log" | tr '\n' '|')"
    exit 0
fi

# no suppressions at all: only what is left to report
train "$TMP/clean" LSAN_OPTIONS=print_suppressions=0 &&
    ! grep -q "LeakSanitizer" "$TMP/clean.log" &&
    ok "a 2-rank run reports no leak with lsan.supp left out (MPI's own blocks are not leaks to it)" ||
    notok "clean run: $(grep -m1 -A3 'leak of' "$TMP/clean.log" | tr '\n' '|' | cut -c1-300)"

train "$TMP/fault" ZEROPT_FAULT=leak
rc=$?
log="$TMP/fault.log"
n=0
for r in 0 1; do
    grep -q "Direct leak of $((1000 + r)) byte(s)" "$log" && n=$((n + 1))
    grep -q "Direct leak of $((2000 + r)) byte(s)" "$log" && n=$((n + 1))
done
[ $rc -ne 0 ] && [ $n = 4 ] && grep -q "in leak_on_purpose" "$log" &&
    ok "ZEROPT_FAULT=leak: the run fails, each rank's two blocks reported (main and OpenMP thread), the allocating function named" ||
    notok "ZEROPT_FAULT=leak: exit $rc, $n of 4 blocks reported: $(grep -m2 'leak of' "$log" | tr '\n' '|')"
