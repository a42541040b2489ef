#!/usr/bin/env bash
# tests/run.sh — runs every test and ends with "N passed, N failed".
#
# A test is a unit binary (build/tests/*) or a script (tests/cli/*.sh); each
# prints one line per check: "ok - name" or "not ok - name: detail". A test
# that dies without printing counts as one failure. Run from the repo root.
set -u
BUILD=${BUILD:-build}
export ZEROPT=${ZEROPT:-$BUILD/zeropt}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
export HDF5_USE_FILE_LOCKING=FALSE
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
pass=0 fail=0
filter=${1:-}

run_one() { # name, command...
    local name=$1; shift
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return
    local out="$log/$(basename "$name").out" t0=$SECONDS
    timeout -k 10 ${TEST_TIMEOUT:-600} "$@" >"$out" 2>&1
    local rc=$? p f
    p=$(grep -c '^ok - ' "$out")
    f=$(grep -c '^not ok - ' "$out")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
        echo "not ok - $name exited $rc without reporting a failure:"
        tail -n 5 "$out" | sed 's/^/    /'
    fi
    grep '^not ok - ' "$out" | sed "s|^|[$name] |"
    printf '%-40s %3d passed %3d failed  %3ds\n' "$name" "$p" "$f" $((SECONDS - t0))
    pass=$((pass + p))
    fail=$((fail + f))
}

for t in "$BUILD"/tests/*; do
    [ -x "$t" ] && run_one "$(basename "$t")" "$t"
done
for t in tests/cli/test_*.sh; do
    run_one "$(basename "$t" .sh)" bash "$t"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
