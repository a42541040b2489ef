#!/usr/bin/env bash
# The CUDA build without a GPU (the issue's no-GPU acceptance): `make CUDA=1`
# compiled and linked with warnings as errors (make test builds it when nvcc
# exists), links cuBLASLt, cuBLAS, the CUDA runtime and NCCL; the NCCL
# bootstrap and the device refusal are one clear line each, on 1 and 2 ranks;
# the GPU kernel check refuses to run without a device (tests/gpu/run.sh runs
# it on one); a CPU build asked for device = cuda says how to get one.
. "$(dirname "$0")/../lib/lib.sh"
. "$LIB/corpus.sh"
plan 9
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
CB=${CUDA_BUILD:-build-cuda}
# one GPU-free run of a CPU build first: the CPU build's refusal
make_corpus 300 || exit 1
cfg="$TMP/cfg.ini"
cat >"$cfg" <<EOC
include = $PWD/configs/model/tiny.ini
[model]
vocab_size = 300
max_positions = 64
[data]
path = $TMP/corpus.h5
seq_len = 16
[train]
micro_batch = 2
steps = 2
device = cuda
[run]
dir = $TMP/run
EOC
expect_error "a CPU build asked for device = cuda" "rank 0" "built without CUDA" "make CUDA=1" -- \
    "$ZEROPT" train -c "$cfg"

if [ ! -x "$CUDA_HOME/bin/nvcc" ]; then
    for n in "links CUDA" "NCCL boot, 1 rank" "NCCL boot, 2 ranks" "kernel check refuses" \
        "device = cuda, 1 rank" "device = cuda, 2 ranks" "refusal time" "device = cpu trains"; do
        skip "$n" "no CUDA toolkit at $CUDA_HOME (set CUDA_HOME)"
    done
    exit 0
fi
[ -x "$CB/zeropt" ] || bail "no $CB/zeropt: make test builds it with make CUDA=1 when nvcc exists"
libs=$(ldd "$CB/zeropt" "$CB/tests/cuda/test_nccl_boot" | grep -oE 'lib(cudart|cublasLt|cublas|nccl)\.so[^ ]*' | sort -u | tr '\n' ' ')
[ "$(wc -w <<<"$libs")" -ge 4 ] && ok "the CUDA build links the CUDA runtime, cuBLAS(Lt) and NCCL  # $libs" ||
    notok "the CUDA build links the CUDA runtime, cuBLAS(Lt) and NCCL: found $libs"

nccl_boot() { # ranks
    local out="$TMP/nccl$1.out"
    timeout -k 5 60 mpirun -q -np "$1" "$CB/tests/cuda/test_nccl_boot" >"$out" 2>&1
    local rc=$? n; n=$(grep -c '^ok - ' "$out")
    if [ $rc -eq 0 ] && [ "$n" -eq 3 ] && grep -q '^1\.\.3' "$out"; then
        ok "NCCL bootstrap without a device, $1 rank(s): each refusal is one line  # $(grep -m1 'comm_nccl_open' "$out" | sed 's/.*# //')"
    else
        notok "NCCL bootstrap, $1 rank(s): rc $rc, $n of 3: $(head -c 400 "$out" | tr '\n' '|')"
    fi
}
nccl_boot 1
nccl_boot 2

if [ "$("$CB/tests/cuda/test_nccl_boot" 2>/dev/null | grep -c 'GPU is present')" -gt 0 ]; then
    skip "the kernel check refuses without a device" "a GPU is present here: tests/gpu/run.sh runs the check"
else
    expect_error "the GPU kernel check without a device" "no CUDA device is usable" -- \
        "$CB/tests/gpu/test_cuda_kernels"
fi

t0=$SECONDS
expect_error "device = cuda without a GPU, 1 rank" "rank 0" "no CUDA device is usable" -- \
    "$CB/zeropt" train -c "$cfg"
timeout -k 5 60 mpirun -q -np 2 "$CB/zeropt" train -c "$cfg" >"$TMP/mpi.out" 2>"$TMP/mpi.err"
rc=$?
n=$(grep -c '^zeropt: rank [01]: device = cuda, but no CUDA device' "$TMP/mpi.err")
if [ $rc -ne 0 ] && [ $rc -lt 124 ] && [ "$n" -eq 2 ] && [ "$(wc -l <"$TMP/mpi.err")" -eq 2 ]; then
    ok "device = cuda without a GPU, 2 ranks: each rank's line, both exit  # $(head -1 "$TMP/mpi.err")"
else
    notok "device = cuda, 2 ranks: rc $rc, $n lines: $(head -c 400 "$TMP/mpi.err" | tr '\n' '|')"
fi
[ $((SECONDS - t0)) -lt 30 ] && ok "the refusals took $((SECONDS - t0)) s" ||
    notok "the refusals took $((SECONDS - t0)) s"
if "$CB/zeropt" train -c "$cfg" train.device=cpu >"$TMP/cpu.log" 2>&1; then
    ok "the CUDA build trains with device = cpu"
else
    notok "the CUDA build trains with device = cpu: $(tail -3 "$TMP/cpu.log" | tr '\n' '|')"
fi
