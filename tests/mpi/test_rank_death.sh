#!/usr/bin/env bash
# A rank that dies mid-step (kill -9) makes every other rank exit non-zero
# within 30 s: no hang, at ZeRO stages 0 and 3 (peers blocked in a
# collective or a prefetch).
. "$(dirname "$0")/../lib/lib.sh"
plan 2
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null ||
    bail "byte corpus"
printf '[model]\nvocab_size = 262\nmax_positions = 32\nlayers = 2\nwidth = 64\nheads = 2\n[data]\npath = %s\nseq_len = 32\nval_batches = 0\n[train]\nsteps = 100000\nmicro_batch = 4\n[checkpoint]\nevery = -1\n[run]\npeak_tflops = 1\n' \
    "$TMP/corpus.h5" >"$TMP/cfg.ini"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
for st in 0 3; do
    dir="$TMP/run$st"
    mpirun -q -np 4 "$ZEROPT" train -c "$TMP/cfg.ini" run.dir="$dir" zero.stage=$st >"$TMP/log$st" 2>&1 &
    mp=$!
    for i in $(seq 1 200); do grep -q '^step' "$TMP/log$st" && break; sleep 0.05; done
    victim=$(ps -eo pid=,comm=,args= | awk -v d="run.dir=$dir" '$2 == "zeropt" && index($0, d) {print $1}' | sed -n 3p)
    t0=$(date +%s.%N)
    kill -9 "$victim"
    ( sleep 40; kill -9 $mp 2>/dev/null ) & guard=$!
    wait $mp
    rc=$?
    kill $guard 2>/dev/null
    dt=$($PY -c "import time; print(round(time.time() - $t0, 1))")
    left=$(ps -eo comm=,args= | awk -v d="run.dir=$dir" '$1 == "zeropt" && index($0, d)' | wc -l)
    if [ -n "$victim" ] && [ $rc -ne 0 ] && [ "$left" -eq 0 ] && $PY -c "import sys; sys.exit(0 if $dt < 30 else 1)"; then
        ok "stage $st: kill -9 of one of 4 ranks: every rank gone, exit $rc, in $dt s"
    else
        notok "stage $st: victim '$victim', exit $rc, $left ranks left, $dt s"
    fi
done
