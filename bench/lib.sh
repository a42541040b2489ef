# bench/lib.sh — the start the bench scripts share (sourced after set -eu, from
# the repository root): BUILD, Z (the zeropt binary), PY (the system Python,
# which has h5py), stamp (UTC, for result names), cpu (the CPU's model name)
# and bench/results/; bench_threads N: N OpenMP/BLAS threads, the wait
# policy zeropt chooses for that (`zeropt blas --wait`, src/main.c) unless
# one is set, and the BLAS core `zeropt blas --suggest` asks for on this CPU;
# bench_workdir: W, a temporary folder removed at exit; bench_bytes_corpus
# OUT.h5: five fortune files as a byte-level corpus.
BUILD=${BUILD:-build}
Z=$BUILD/zeropt
PY=/usr/bin/python3
mkdir -p bench/results
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')

bench_threads() {
    export OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$1
    local fix w
    w=$([ -n "${OMP_WAIT_POLICY:-}${GOMP_SPINCOUNT:-}" ] || "$Z" blas --wait)
    if [ -n "$w" ]; then export "${w?}"; fi
    fix=$("$Z" blas --suggest)
    if [ -n "$fix" ]; then export "${fix?}"; fi
}

bench_workdir() {
    W=$(mktemp -d)
    trap 'rm -rf "$W"' EXIT
}

bench_bytes_corpus() {
    local f=/usr/share/games/fortunes
    $PY tests/lib/bytes_corpus.py "$1" $f/fortunes $f/literature $f/science $f/people $f/wisdom >/dev/null
}
