#!/usr/bin/env bash
# The MPI-aware unit tests (build/tests/test_zero, test_ckpt_io; run.sh also
# runs each alone, on 1 rank) on 2 and 3 ranks, test_zero also under
# ZEROPT_FAULT=comm-slow: their checks agree over the ranks and rank 0
# reports them, prefixed with the run. The plan is the sum of the runs'
# plans; a run that dies short of its plan fails it.
. "$(dirname "$0")/../lib/lib.sh"
B=$(dirname "$ZEROPT")/tests
runs=("2|test_zero|" "3|test_zero|" "2|test_zero|comm-slow" "2|test_ckpt_io|" "3|test_ckpt_io|")
total=0
for r in "${runs[@]}"; do
    IFS='|' read -r n t fault <<<"$r"
    out="$TMP/$t-$n-$fault.out"
    ZEROPT_FAULT=$fault timeout -k 5 120 mpirun -q -np "$n" "$B/$t" >"$out" 2>"$out.err"
    echo $? >"$out.rc"
    p=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$out" | head -1)
    total=$((total + ${p:-1}))
done
plan "$total"
for r in "${runs[@]}"; do
    IFS='|' read -r n t fault <<<"$r"
    out="$TMP/$t-$n-$fault.out" tag="$t, $n ranks${fault:+, $fault}"
    grep -q '^1\.\.' "$out" || notok "$tag: no plan: $(tail -n 2 "$out.err" | tr '\n' '|')"
    sed -n -e "s/^ok - /ok - [$tag] /p" -e "s/^not ok - /not ok - [$tag] /p" "$out"
    [ "$(cat "$out.rc")" = 0 ] || grep -q '^not ok' "$out" ||
        echo "not ok - [$tag] exited $(cat "$out.rc"): $(tail -n 2 "$out.err" | tr '\n' '|')"
done
