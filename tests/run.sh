#!/usr/bin/env bash
# tests/run.sh — runs every test and ends with "N passed, N failed, N skipped".
#
# A test is a unit binary (build/tests/*, from tests/unit/) or a script
# (tests/{cli,mpi,slurm}/test_*.sh). Each speaks TAP: first its plan "1..N",
# then one line per check, "ok - name", "not ok - name: detail", or a skip
# "ok - name # SKIP why". A test fails as a whole when it has no plan, ran
# more or fewer checks than it planned, or exited non-zero without reporting
# a failure (an embedded script that raised, a crash). Skips are shown as
# skips; under CI=true a skip whose reason does not start with one of the
# prefixes in ZEROPT_ALLOW_SKIP ("|"-separated, e.g. "no GPU") is a failure.
#   bash tests/run.sh [FILTER]     only tests whose name contains FILTER
set -u
BUILD=${BUILD:-build}
export ZEROPT=${ZEROPT:-$BUILD/zeropt}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1
# one node, shared memory: Open MPI's ob1 over self + vader. Left to choose,
# it probes UCX and the OFI/PSM transports at every MPI_Init, 0.2 s of each
# process start (mpirun -np 2 of an empty program: 0.36 s, 0.13 s with these;
# test_optimizers 27 s -> 15 s). Set them otherwise to test another transport.
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1} OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
export HDF5_USE_FILE_LOCKING=FALSE
if [ "${SAN:-}" = 1 ]; then # the sanitizer build (make SAN=1 test)
    # intercept_tls_get_addr=0: GCC 12's runtime (to GCC 13 / LLVM 16) takes a
    # dynamic TLS block (dlopen'd MPI plugins, OpenMP) that happens to start
    # at a certain page offset for a pre-2.25 glibc header and reads garbage
    # bounds from it: LeakSanitizer's tracer then dies (signal 11) at exit of
    # multi-threaded runs, at random, without a leak report.
    # fast_unwind_on_malloc=1 (the default): each malloc's stack by frame
    # pointers. zeropt is built with them, so its leaks show full stacks; in
    # Open MPI's libraries (built without) the walk may stop early, but what
    # MPI keeps past exit is either never a leak to the checker
    # (tests/lib/san_keep_modules.c) or allocated right in a library that
    # lsan.supp names (frame 1, the malloc's caller, is always exact). The
    # slow unwinder (DWARF) made oneDNN's allocations, thousands per bf16
    # step, cost 2.5x a tiny bf16 run (2.8 s against 1.1 s).
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:intercept_tls_get_addr=0}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lib/lsan.supp:print_suppressions=0}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    export ZEROPT_SAN=1 # tests that loop over many inputs take a sample (test_hf_tokenizers)
    # the same checks over smaller matrices (fewer rank counts, kill trials):
    # the sanitizers look for memory errors, the normal build for numerics
    export ZEROPT_TEST_QUICK=${ZEROPT_TEST_QUICK:-1}
fi
# OpenBLAS 0.3.21 runs its slow Prescott kernels on CPUs it does not know
# (a virtual Xeon with AVX-512: 3-4x slower steps); like `make demo`, the
# tests run with the setting `zeropt blas --suggest` gives, and say so. A
# setting of your own is kept.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && fix=$("$ZEROPT" blas --suggest 2>/dev/null) && [ -n "$fix" ]; then
    echo "# $("$ZEROPT" blas | sed -n 's/^note *//p')"
    export "${fix?}"
    echo "# the tests run with $fix (zeropt never sets it by itself)"
fi
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
pass=0 fail=0 skip=0 failed=()
filter=${1:-}
allow=${ZEROPT_ALLOW_SKIP:-}

# 1 when a skip reason is allowed on this machine
allowed_skip() {
    local why=$1 p
    [ "${CI:-}" = true ] || return 0
    [ -n "$allow" ] || return 1
    local IFS='|'
    for p in $allow; do [ -n "$p" ] && [[ "$why" == "$p"* ]] && return 0; done
    return 1
}

# every process below pid, depth first
descendants() {
    local c
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}

# with_limit SECONDS OUT CMD...: runs CMD with its output in OUT; its exit
# status. When it runs past SECONDS, timed_out=1 and OUT first gets the processes
# still running under it ("# timeout:" lines, which the summary repeats: a
# hang names what hung), and they get SIGTERM, then SIGKILL 10 s later.
with_limit() {
    local limit=$1 out=$2 cpid spid done pids
    shift 2
    timed_out=0
    "$@" >"$out" 2>&1 &
    cpid=$!
    sleep "$limit" &
    spid=$!
    wait -n -p done "$cpid" "$spid"
    if [ "$done" = "$cpid" ]; then
        kill "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
        wait "$cpid"
        return
    fi
    pids=$(descendants "$cpid" | paste -sd,)
    {
        echo "# timeout: still running after ${limit} s (pid, seconds, command):"
        [ -n "$pids" ] && ps -o pid=,etimes=,args= -p "$pids" | sed 's/^ *//; s/  */ /g' | cut -c1-200 | sed 's/^/# timeout:   /'
    } >>"$out"
    kill -TERM "$cpid" ${pids//,/ } 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        kill -0 "$cpid" 2>/dev/null || break
        sleep 1
    done
    kill -KILL "$cpid" $(descendants "$cpid") ${pids//,/ } 2>/dev/null
    wait "$cpid" 2>/dev/null
    timed_out=1
    return 124
}

run_one() { # name, command...
    local name=$1; shift
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return
    local out="$log/$(basename "$name").out" t0=$SECONDS
    with_limit "${TEST_TIMEOUT:-600}" "$out" "$@"
    local rc=$? p=0 f=0 s=0 planned="" line why
    while IFS= read -r line; do
        case "$line" in
        1..*) [ -z "$planned" ] && planned=${line#1..} ;;
        "not ok"*) f=$((f + 1)); echo "[$name] $line"; failed+=("[$name] ${line:0:300}") ;;
        "# warning:"*) echo "[$name] ${line:0:600}" ;; # a test's note for the log
        ok*)
            if [[ "$line" =~ \#[[:space:]]*[Ss][Kk][Ii][Pp]([[:space:]]+(.*))?$ ]]; then
                why=${BASH_REMATCH[2]}
                if allowed_skip "$why"; then
                    s=$((s + 1)); echo "[$name] $line"
                else
                    f=$((f + 1)); echo "[$name] not allowed under CI (ZEROPT_ALLOW_SKIP='$allow'): $line"
                    failed+=("[$name] skip not allowed: ${line:0:300}")
                fi
            else
                p=$((p + 1))
            fi
            ;;
        esac
    done <"$out"
    local ran=$((p + f + s)) bad=""
    if [ "$timed_out" = 1 ]; then
        bad="ran past ${TEST_TIMEOUT:-600} s"
    elif ! [[ "$planned" =~ ^[0-9]+$ ]]; then
        bad="no plan (1..N) printed"
    elif [ "$ran" -ne "$planned" ]; then
        bad="planned $planned checks, reported $ran"
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        bad="exited $rc without reporting a failure"
    fi
    if [ -n "$bad" ]; then
        f=$((f + 1))
        echo "not ok - $name: $bad; its last lines:"
        if [ "$timed_out" = 1 ]; then # the last check reported, then what was running
            failed+=("[$name] $bad: after '$(grep -E '^(not )?ok' "$out" | tail -n 1 | cut -c1-120)'; $(grep '^# timeout:  ' "$out" | sed 's/^# timeout: *//' | tr '\n' '|' | cut -c1-900)")
            grep -E '^(not )?ok' "$out" | tail -n 3 | sed 's/^/    /'
            grep '^# timeout:' "$out" | sed 's/^/    /'
        else
            failed+=("[$name] $bad: $(tail -n 2 "$out" | tr '\n' '|' | cut -c1-300)")
            tail -n 6 "$out" | sed 's/^/    /'
        fi
    fi
    printf '%-40s %3d passed %3d failed %3d skipped %4ds\n' "$name" "$p" "$f" "$s" $((SECONDS - t0))
    pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

for t in "$BUILD"/tests/*; do
    [ -x "$t" ] && [ -f "$t" ] && run_one "$(basename "$t")" "$t"
done
for t in tests/cli/test_*.sh tests/mpi/test_*.sh tests/slurm/test_*.sh; do
    [ -f "$t" ] && run_one "$(basename "$t" .sh)" bash "$t"
done
# the failures again, just above the summary, so a log's tail names them
if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed checks:"
    printf '  %s\n' "${failed[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
