#!/usr/bin/env bash
# bench/ckpt_bench.sh — checkpoint write and read of base (params + Adam m, v)
# on 2 ranks, against dd with fsync on the same disk in the same run.
#  - io=direct (the default) and io=hdf5 (collective H5Dwrite): six and four
#    blocking saves during training (checkpoint.every = 1, keep_last = 1,
#    async = false); the rate is bytes / (save start .. `latest` renamed and
#    fsynced), median of saves 2..; then one resume each (read rate).
#  - asynchronous saves (async = true, the default): 12 steps saving every 3;
#    the stall per save (what training waited: file set-up, the wait before
#    the next update, the commit) against the median time of steps that
#    neither save nor overlap a write, the background write rate, and how
#    much longer the steps that overlap the write take (the writer threads
#    share the cores). Target: stall <= 5 % of a step.
#  - dd if=/dev/zero bs=1M conv=fsync of the same size: five runs back to
#    back (median of 2..5: the anchor), and three after 3 s idle each. On a
#    VM that reports freed pages to its host (virtio-balloon free page
#    reporting), page-cache writes into memory idle for seconds run at about
#    half speed; both figures are recorded so the ratio can be read either way.
# Writes one JSON line to $1. BENCH_DIR: where the files go (default: a
# temporary directory under runs/, the disk the runs use).
set -u
BUILD=${BUILD:-build}
Z=$BUILD/zeropt
OUT=$1
PY=/usr/bin/python3
mkdir -p runs
W=$(mktemp -d -p "${BENCH_DIR:-runs}")
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_mpi_yield_when_idle=1 OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

$PY tests/lib/bytes_corpus.py "$W/corpus.h5" /usr/share/games/fortunes/fortunes >/dev/null || exit 1
common="data.path=$W/corpus.h5 data.val_batches=0 data.seq_len=128 train.micro_batch=1 model.dropout=0
        model.attn_dropout=0 run.peak_tflops=1"
for io in direct hdf5; do
    n=$([ $io = direct ] && echo 6 || echo 4)
    mpirun -q -np 2 $Z train -c configs/model/base.ini $common train.steps=$n checkpoint.every=1 \
        checkpoint.keep_last=1 checkpoint.io=$io checkpoint.async=false run.dir="$W/$io" \
        >"$W/w-$io.log" 2>&1 || { tail -3 "$W/w-$io.log"; exit 1; }
    mpirun -q -np 2 $Z train -c configs/model/base.ini $common train.steps=$((n + 1)) checkpoint.every=-1 \
        checkpoint.io=$io run.dir="$W/$io" >"$W/r-$io.log" 2>&1 || { tail -3 "$W/r-$io.log"; exit 1; }
    rm -rf "$W/$io"
done
mpirun -q -np 2 $Z train -c configs/model/base.ini $common train.steps=12 checkpoint.every=3 \
    checkpoint.keep_last=1 run.dir="$W/async" >"$W/w-async.log" 2>&1 || { tail -3 "$W/w-async.log"; exit 1; }
cp "$W/async/metrics.jsonl" "$W/async-metrics.jsonl"
rm -rf "$W/async"
mb=$(sed -n 's/.*: \([0-9.]*\) MB written.*/\1/p' "$W/w-direct.log" | head -1)
for i in 1 2 3 4 5; do
    dd if=/dev/zero of="$W/dd.bin" bs=1M count=${mb%.*} conv=fsync 2>&1 | tail -1 >>"$W/dd.log"
    rm -f "$W/dd.bin"
done
for i in 1 2 3; do
    sleep 3
    dd if=/dev/zero of="$W/dd.bin" bs=1M count=${mb%.*} conv=fsync 2>&1 | tail -1 >>"$W/dd-idle.log"
    rm -f "$W/dd.bin"
done
$PY - "$W" "$mb" <<'PY' | tee -a "$OUT"
import json, re, statistics as st, sys
w = sys.argv[1]
text = lambda name: open(f"{w}/{name}").read()
writes = lambda io: [float(x) for x in re.findall(r"written in [0-9.]+ s = ([0-9.]+) MB/s", text(f"w-{io}.log"))]
read = lambda io: float(re.search(r"resume: read [0-9.]+ MB in [0-9.]+ s = ([0-9.]+) MB/s", text(f"r-{io}.log")).group(1))
dd = lambda name: [float(m.group(1)) * (1000 if m.group(2) == "G" else 1)
                   for m in re.finditer(r"s, ([0-9.]+) ([MG])B/s", text(name))]
d, h, ddh, ddi = writes("direct"), writes("hdf5"), dd("dd.log"), dd("dd-idle.log")
a = text("w-async.log")
stall = [float(x) for x in re.findall(r"training stalled ([0-9.]+) s", a)]
bg = [float(x) for x in re.findall(r"written in the background in [0-9.]+ s \(([0-9.]+) MB/s\)", a)]
steps = {r["step"]: r["step_s"] for r in map(json.loads, open(f"{w}/async-metrics.jsonl")) if "step_s" in r}
plain = [t for s, t in steps.items() if s % 3 == 2 and s > 1]  # neither saving nor overlapping
over = [t for s, t in steps.items() if s % 3 == 1 and s > 1]  # the step after a save
print(json.dumps({"bench": "checkpoint", "config": "base", "ranks": 2, "mb": float(sys.argv[2]),
                  "write_mb_s": st.median(d[1:]), "write_mb_s_all": d, "read_mb_s": read("direct"),
                  "hdf5_write_mb_s": st.median(h[1:]), "hdf5_write_mb_s_all": h, "hdf5_read_mb_s": read("hdf5"),
                  "dd_fsync_mb_s": st.median(ddh[1:]), "dd_fsync_mb_s_all": ddh,
                  "dd_fsync_idle_mb_s": st.median(ddi), "dd_fsync_idle_mb_s_all": ddi,
                  "async_stall_s_all": stall, "async_stall_s": st.median(stall),
                  "async_write_mb_s_all": bg, "step_s": st.median(plain),
                  "stall_fraction": st.median(stall) / st.median(plain),
                  "overlap_step_s": st.median(over),
                  "overlap_slowdown": st.median(over) / st.median(plain) - 1}))
PY
