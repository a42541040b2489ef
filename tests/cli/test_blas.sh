#!/usr/bin/env bash
# The BLAS report: `zeropt blas` names the library, the kernels it runs and
# their sgemm rate; with kernels below what the CPU supports (forced here
# with OPENBLAS_CORETYPE=Prescott, what OpenBLAS 0.3.21 picks by itself on
# CPU models it does not know) it prints the fix, `--suggest` prints only the
# fix, and a training run says so once in its header, beside the rate (when
# the BLAS computes the products: ZEROPT_SGEMM=blas). The header names the
# sgemm provider; a ZEROPT_SGEMM that names none is one line and exit 1.
# Threads: the default build links OpenBLAS's OpenMP build where Debian's
# is installed; zeropt then lets idle threads spin briefly
# (GOMP_SPINCOUNT=20000) unless this node's ranks x threads exceed its
# cores (then OMP_WAIT_POLICY=PASSIVE), and a policy the user chose is kept;
# `zeropt blas`, the run header and the metrics say which ran.
. "$(dirname "$0")/../lib/lib.sh"
plan 11
out=$("$ZEROPT" blas)
grep -q '^library  ' <<<"$out" && grep -q '^kernels  .* on a CPU with ' <<<"$out" &&
    grep -Eq '^sgemm    [0-9.]+ GFLOP/s at 1024\^3 \([0-9]+ threads\) through (the BLAS|oneDNN [0-9.]+): ' <<<"$out" && ok "zeropt blas  # $(echo $out | cut -c1-160)" ||
    notok "zeropt blas: $out"
isa=$(sed -n 's/.*on a CPU with \(.*\)$/\1/p' <<<"$out")
slow=$(OPENBLAS_CORETYPE=Prescott "$ZEROPT" blas)
if [ "$isa" = SSE ]; then
    ok "a CPU without AVX: Prescott is its level, nothing to fix  # $isa"
    ok "--suggest empty on an SSE-only CPU"
else
    grep -q '^note     OpenBLAS runs its Prescott kernels (SSE) on a CPU with .*: set OPENBLAS_CORETYPE=' <<<"$slow" &&
        ok "kernels below the CPU: the note names the fix  # $(grep '^note' <<<"$slow")" ||
        notok "Prescott on $isa: $slow"
    fix=$(OPENBLAS_CORETYPE=Prescott "$ZEROPT" blas --suggest)
    [[ "$fix" =~ ^OPENBLAS_CORETYPE=(Zen|Haswell|SkylakeX|Cooperlake|Sandybridge)$ ]] &&
        ok "--suggest prints the setting alone  # $fix" || notok "--suggest: '$fix'"
fi
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/science >/dev/null || bail "byte corpus"
printf '[model]\nvocab_size = 262\nmax_positions = 16\nlayers = 1\nwidth = 16\nheads = 2\n[data]\npath = %s\nseq_len = 16\nval_batches = 0\n[train]\nsteps = 1\n[checkpoint]\nevery = -1\n[run]\ndir = %s\n' \
    "$TMP/corpus.h5" "$TMP/run" >"$TMP/cfg.ini"
OPENBLAS_CORETYPE=Prescott ZEROPT_SGEMM=blas OMP_NUM_THREADS=1 timeout -k 5 60 mpirun -q -np 2 -x OPENBLAS_CORETYPE -x ZEROPT_SGEMM \
    "$ZEROPT" train -c "$TMP/cfg.ini" >"$TMP/log" 2>&1
head=$(grep -c '^blas: .*kernels Prescott (SSE).*sgemm [0-9.]* GFLOP/s per rank (1 threads) through the BLAS$' "$TMP/log")
notes=$(grep -c '^note: OpenBLAS runs its Prescott kernels' "$TMP/log")
if [ "$isa" = SSE ]; then want=0; else want=1; fi
[ "$head" = 1 ] && [ "$notes" = "$want" ] && ok "the run header names the kernels and their rate; the note once  # $(grep -m1 '^blas:' "$TMP/log" | cut -c1-140)" ||
    notok "run header: $head blas lines, $notes notes (want 1 and $want): $(head -c 400 "$TMP/log" | tr '\n' '|')"
OMP_NUM_THREADS=1 timeout -k 5 60 mpirun -q -np 2 "$ZEROPT" train -c "$TMP/cfg.ini" >"$TMP/log2" 2>&1
want=$(sed -n 's/^sgemm .* through \(.*\): the model.s products$/\1/p' <<<"$out")
grep -q "^blas: .* through $want\$" "$TMP/log2" && grep -q "\"sgemm\":\"$want\"" "$TMP/run/metrics.jsonl" &&
    ok "by default the run header and the metrics name the provider zeropt blas names  # $want" ||
    notok "default provider '$want': $(grep '^blas:' "$TMP/log2")"
ZEROPT_SGEMM=mkl timeout -k 5 30 mpirun -q -np 2 -x ZEROPT_SGEMM "$ZEROPT" train -c "$TMP/cfg.ini" >"$TMP/log3" 2>&1
rc=$?
[ $rc -ne 0 ] && [ "$(grep -c 'ZEROPT_SGEMM=mkl: expected blas or onednn' "$TMP/log3")" -ge 1 ] &&
    ! grep -q "^blas:" "$TMP/log3" && ok "ZEROPT_SGEMM=mkl: one line, exit $rc, before any work" ||
    notok "ZEROPT_SGEMM=mkl: exit $rc: $(head -c 300 "$TMP/log3")"
threads=$(sed -n 's/^threads  //p' <<<"$out")
omp_dir=/usr/lib/$(gcc -print-multiarch 2>/dev/null)/openblas-openmp
if grep -q '^library  OpenBLAS' <<<"$out" && [ -e "$omp_dir/libopenblas.so.0" ]; then
    grep -q '^library  OpenBLAS .*USE_OPENMP' <<<"$out" && grep -q 'shared with the BLAS' <<<"$threads" &&
        ok "OpenBLAS's OpenMP build runs, one team of threads  # $threads" ||
        notok "OpenBLAS's OpenMP build is installed but not the one that ran: $(head -1 <<<"$out") / $threads"
else
    skip "OpenBLAS's OpenMP build runs" "not OpenBLAS, or $omp_dir has no libopenblas.so.0"
fi
cores=$(nproc)
policy() { env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OMPI_COMM_WORLD_LOCAL_SIZE -u MPI_LOCALNRANKS \
    -u SLURM_STEP_TASKS_PER_NODE -u SLURM_TASKS_PER_NODE "$@" "$ZEROPT" blas | sed -n 's/^threads  .*; wait: //p'; }
if grep -q 'shared with the BLAS' <<<"$threads" && [ "$cores" -ge 2 ]; then want="spin 20000, then sleep (GOMP_SPINCOUNT)"; else want="OMP_WAIT_POLICY=PASSIVE"; fi
got=$(policy OMP_NUM_THREADS=2)
[ "$got" = "$want" ] && ok "1 rank, 2 threads, $cores cores: $got" || notok "1 rank, 2 threads, $cores cores: '$got', want '$want'"
got=$(policy OMP_NUM_THREADS=2 OMPI_COMM_WORLD_LOCAL_SIZE=$cores)
[ "$got" = "OMP_WAIT_POLICY=PASSIVE" ] && ok "$cores ranks x 2 threads on $cores cores: $got" ||
    notok "$cores ranks x 2 threads on $cores cores: '$got', want PASSIVE"
got=$(policy OMP_NUM_THREADS=2 OMP_WAIT_POLICY=ACTIVE)
got2=$(policy OMP_NUM_THREADS=2 GOMP_SPINCOUNT=777)
[ "$got" = "OMP_WAIT_POLICY=ACTIVE" ] && [ "$got2" = "spin 777, then sleep (GOMP_SPINCOUNT)" ] &&
    ok "the user's policy is kept: $got; $got2" || notok "user's policy: '$got', '$got2'"
grep -q '^threads: [0-9]* OpenMP threads, .*; wait: ' "$TMP/log2" && grep -q '"threads":"1 OpenMP threads, ' "$TMP/run/metrics.jsonl" &&
    ok "the run header and the metrics name the threads and the wait policy  # $(grep -m1 '^threads:' "$TMP/log2")" ||
    notok "threads in the run: $(grep -m1 '^threads' "$TMP/log2") / $(grep -o '"threads":"[^"]*"' "$TMP/run/metrics.jsonl")"
