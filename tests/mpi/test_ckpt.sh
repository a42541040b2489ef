#!/usr/bin/env bash
# Checkpoints. Bit-exact resume at every ZeRO stage; resharding (save at 4
# ranks, resume at 1, 2, 8; 1 -> 4; stage 1 -> 3) continuing the loss curve
# with no sample repeated or skipped (measured 2026-12-01: at most 2.0e-09
# from the uninterrupted curve, tolerance 2e-08; a direct file of 2 ranks
# resumed by 4: 1.3e-08, tolerance 1.3e-07); kill -9 of every rank at
# random moments during saves (12 trials; 20 of 20 landed mid-save on
# 2026-12-01): the latest checkpoint always passes `ckpt verify` and
# resume=auto picks a complete one; checkpoint.io = direct and hdf5 write
# the same file; a full disk during a save; damaged and foreign files (each
# way of damaging one) refused by resume and by `ckpt verify` alike, each
# with one line.
. "$(dirname "$0")/../lib/lib.sh"
plan 43
$PY "$LIB/bytes_corpus.py" "$TMP/corpus.h5" /usr/share/games/fortunes/fortunes \
    /usr/share/games/fortunes/science >/dev/null || bail "byte corpus"
cat >"$TMP/cfg.ini" <<EOC
[model]
vocab_size = 262
max_positions = 32
layers = 2
width = 32
heads = 2
ffn = 64
dropout = 0.1
attn_dropout = 0.1
[data]
path = $TMP/corpus.h5
seq_len = 32
val_batches = 0
[train]
global_batch = 16
micro_batch = 2
steps = 8
lr = 3e-3
warmup = 2
[checkpoint]
keep_last = 0
[run]
peak_tflops = 1
EOC
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
train() { # ranks run_dir [overrides]: 0 when it succeeded
    local n=$1 dir=$2; shift 2
    timeout -k 5 300 mpirun -q -np "$n" "$ZEROPT" train -c "$TMP/cfg.ini" run.dir="$dir" \
        train.micro_batch=$((16 / n > 8 ? 8 : 16 / n)) "$@" >"$dir.log" 2>&1
}

# --- bit-exact resume, same rank count, each stage --------------------------
for st in 0 1 2 3; do
    train 2 "$TMP/full$st" zero.stage=$st &&
        train 2 "$TMP/half$st" zero.stage=$st train.stop_at=4 &&
        train 2 "$TMP/half$st" zero.stage=$st ||
        { notok "resume runs at stage $st: $(tail -2 "$TMP"/half$st.log | tr '\n' '|')"; continue; }
done
py "bit-exact resume" "$TMP" <<'PY'
import sys
from ckpt_check import ok, tensors, same, losses
d = sys.argv[1]
for st in range(4):
    try:
        a, b = tensors(f"{d}/full{st}/ckpt/step_000008.h5"), tensors(f"{d}/half{st}/ckpt/step_000008.h5")
        nopt = sum(k.startswith("optim/") for k in a)
        ok(f"stage {st}: 4 steps + resume + 4 steps is bit-identical to 8 steps",
           same(a, b) and nopt > 0 and losses(d, f"full{st}") == losses(d, f"half{st}"),
           f"{len(a)} tensors (params, Adam m, v), 8 identical losses")
    except Exception as e:
        ok(f"stage {st}: bit-exact resume", False, repr(e))
PY

# --- resharding: any N -> any M, stage 1 -> 3 --------------------------------
train 4 "$TMP/ref4" zero.stage=1 && train 4 "$TMP/save4" zero.stage=1 train.stop_at=4 &&
    train 1 "$TMP/save1" zero.stage=1 train.stop_at=4 || notok "resharding source runs"
for case in "1 1 save4" "2 1 save4" "8 1 save4" "4 3 save4" "4 1 save1"; do
    set -- $case
    name=re-$3-n$1-s$2
    train "$1" "$TMP/$name" zero.stage=$2 checkpoint.resume="$TMP/$3/ckpt/step_000004.h5" ||
        notok "resume $name: $(tail -2 "$TMP/$name.log" | tr '\n' '|')"
done
py "resharding" "$TMP" <<'PY'
import glob, os, sys
from ckpt_check import ok, records
d = sys.argv[1]
recs = lambda run: records(d, run)
ref = recs("ref4")
for run in sorted(os.path.basename(p) for p in glob.glob(f"{d}/re-*") if os.path.isdir(p)):
    src = run.split("-")[1]
    before, after = recs(src), recs(run)
    rel = max(abs(a["loss"] - b["loss"]) / a["loss"] for a, b in zip(ref[4:], after)) if len(after) == 4 else 1
    spans = sorted((r["sample_start"], r["sample_end"]) for r in before + after)
    contiguous = spans[0][0] == 0 and spans[-1][1] == 8 * 16 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    ok(f"{run}: loss continues the uninterrupted 4-rank curve, every sample seen once",
       rel < 2e-8 and contiguous and [r["step"] for r in after] == [5, 6, 7, 8],
       f"max rel diff {rel:.1e}; samples {spans[0][0]}..{spans[-1][1]} in {len(spans)} steps, no gap or repeat")
PY

# --- how the bytes move: checkpoint.io = direct | hdf5 -------------------------
# A model whose tensors are large enough for direct I/O's O_DIRECT interiors
# (>= 256 KB per part): both modes write the same tensors, each resumes from
# the other's file bit-exactly (2 ranks) and across rank counts (4), and a
# checkpoint h5repack'd to chunked gzip datasets (not reachable directly) loads.
big="model.layers=2 model.width=256 model.heads=4 model.ffn=1024 train.steps=4 zero.stage=1"
train 2 "$TMP/io-ref" $big &&
    train 2 "$TMP/io-d" $big train.stop_at=2 checkpoint.io=direct &&
    train 2 "$TMP/io-h" $big train.stop_at=2 checkpoint.io=hdf5 &&
    train 2 "$TMP/io-dh" $big checkpoint.io=hdf5 checkpoint.resume="$TMP/io-d/ckpt/step_000002.h5" &&
    train 2 "$TMP/io-hd" $big checkpoint.io=direct checkpoint.resume="$TMP/io-h/ckpt/step_000002.h5" &&
    train 4 "$TMP/io-d4" $big checkpoint.io=direct checkpoint.resume="$TMP/io-d/ckpt/step_000002.h5" &&
    h5repack -f GZIP=1 "$TMP/io-d/ckpt/step_000002.h5" "$TMP/repacked.h5" &&
    train 2 "$TMP/io-rp" $big checkpoint.resume="$TMP/repacked.h5" ||
    notok "io mode runs: $(tail -2 "$TMP"/io-*.log | tr '\n' '|')"
py "io modes" "$TMP" <<'PY'
import sys, h5py
from ckpt_check import ok, tensors, same, records
d = sys.argv[1]
losses = lambda run: [r["loss"] for r in records(d, run)]
try:
    a, b = tensors(f"{d}/io-d/ckpt/step_000002.h5"), tensors(f"{d}/io-h/ckpt/step_000002.h5")
    big = sum(v.nbytes >= 2 * 256 * 1024 for v in a.values())
    with h5py.File(f"{d}/repacked.h5") as f:
        chunked = f["model/blocks.00.mlp.fc.weight"].chunks is not None
    ok("io=direct and io=hdf5 write identical tensors", same(a, b) and big > 0,
       f"{len(a)} tensors, {big} with O_DIRECT parts")
    ref = tensors(f"{d}/io-ref/ckpt/step_000004.h5")
    for run, what in [("io-dh", "direct file resumed with io=hdf5"), ("io-hd", "hdf5 file resumed with io=direct"),
                      ("io-rp", "h5repack'd (chunked, gzip) file resumed")]:
        ok(f"{what}: bit-identical to the uninterrupted run",
           same(ref, tensors(f"{d}/{run}/ckpt/step_000004.h5")) and losses(run) == losses("io-ref")[2:] and
           (run != "io-rp" or chunked))
    rel = max(abs(x - y) / x for x, y in zip(losses("io-ref")[2:], losses("io-d4")))
    ok("direct file written by 2 ranks resumed by 4", len(losses("io-d4")) == 2 and rel < 1.3e-7, f"max rel loss diff {rel:.1e}")
except Exception as e:
    ok("io modes", False, repr(e))
PY

# --- crash safety: kill -9 every rank at random moments during saves ---------
cat >"$TMP/crash.ini" <<EOC
include = $TMP/cfg.ini
[model]
layers = 4
width = 256
heads = 4
ffn = 1024
[train]
steps = 100000
[checkpoint]
every = 1
keep_last = 2
EOC
caught=0 good=0 trials=12
[ "${ZEROPT_TEST_QUICK:-0}" = 1 ] && trials=3 # the sanitizer build: the save's code, not its timing
for t in $(seq 1 $trials); do
    dir="$TMP/crash"
    setsid mpirun -q -np 2 "$ZEROPT" train -c "$TMP/crash.ini" run.dir="$dir" train.micro_batch=8 \
        >"$TMP/crash.log" 2>&1 &
    pid=$!
    # wait until the n-th save is under way (n random in 1..3), then kill -9
    # every rank a random moment later: inside the save or just after it
    want=$((RANDOM % 3 + 1)) seen=0 prev=""
    for i in $(seq 1 1500); do
        p=$(ls "$dir"/ckpt/.*.partial 2>/dev/null | head -1)
        [ -n "$p" ] && [ "$p" != "$prev" ] && seen=$((seen + 1)) && prev=$p
        [ "$seen" -ge "$want" ] && break
        sleep 0.01
    done
    sleep "$($PY -c "import random; print(round(random.uniform(0, 0.02), 3))")"
    kill -9 -- -"$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pkill -9 -f "run.dir=$dir" 2>/dev/null
    ls "$dir"/ckpt/.*.partial >/dev/null 2>&1 && caught=$((caught + 1))
    if [ ! -f "$dir/ckpt/latest" ]; then
        # killed before the first `latest`: auto takes a complete step file if
        # the kill came after its rename, else starts fresh
        newest=$(ls "$dir"/ckpt/step_*.h5 2>/dev/null | tail -1)
        timeout -k 5 60 "$ZEROPT" train -c "$TMP/crash.ini" run.dir="$TMP/crash_resume" \
            checkpoint.dir="$dir/ckpt" checkpoint.every=-1 train.steps=1 >"$TMP/resume.log" 2>&1
        if { [ -z "$newest" ] && ! grep -q "resume:" "$TMP/resume.log"; } ||
            { [ -n "$newest" ] && timeout -k 5 60 "$ZEROPT" ckpt verify "$newest" >/dev/null 2>&1 &&
                grep -q "resume: $newest" "$TMP/resume.log"; }; then
            good=$((good + 1))
        else
            notok "trial $t: no latest yet; newest '$newest'; restart: $(grep -m1 -E 'resume|rank' "$TMP/resume.log")"
        fi
        continue
    fi
    latest="$dir/ckpt/$(cat "$dir/ckpt/latest")"
    if ! timeout -k 5 60 "$ZEROPT" ckpt verify "$latest" >"$TMP/verify.log" 2>&1; then
        notok "trial $t: latest does not verify: $(cat "$TMP/verify.log")"
        continue
    fi
    step=$(sed 's/step_0*\([0-9]*\)\.h5/\1/' "$dir/ckpt/latest")
    if timeout -k 5 60 "$ZEROPT" train -c "$TMP/crash.ini" run.dir="$TMP/crash_resume" \
        checkpoint.dir="$dir/ckpt" checkpoint.every=-1 train.steps=$((step + 1)) \
        >"$TMP/resume.log" 2>&1 && grep -q "resume: $latest at step $step" "$TMP/resume.log"; then
        good=$((good + 1))
    else
        notok "trial $t: resume=auto did not continue from $latest: $(grep -m1 -E 'resume|rank' "$TMP/resume.log")"
    fi
done
[ "$good" -eq "$trials" ] && [ "$caught" -ge $((trials / 5)) ] &&
    ok "kill -9 x $trials: latest always verifies and resume=auto continues from it  # $good resumed, $caught kills landed mid-save" ||
    notok "crash trials: $good resumed of $trials, $caught kills mid-save"

# --- full disk during a save ---------------------------------------------------
mnt="$TMP/tiny_disk"
mkdir -p "$mnt"
if mount -t tmpfs -o size=2m tmpfs "$mnt" 2>/dev/null; then
    how="a 2 MB tmpfs"
    fill() { :; }
else # no mount permission: inject the failure instead
    how="an injected write failure"
fi
train 2 "$TMP/disk" checkpoint.dir="$mnt" checkpoint.every=4 train.stop_at=4 model.width=64 model.ffn=256 ||
    notok "first save on $how: $(tail -2 "$TMP/disk.log" | tr '\n' '|')"
if [ "$how" = "a 2 MB tmpfs" ]; then
    train 2 "$TMP/disk" checkpoint.dir="$mnt" checkpoint.every=4 train.steps=8 model.width=64 model.ffn=256 \
        checkpoint.keep_last=0
else
    ZEROPT_FAULT=ckpt-write train 2 "$TMP/disk" checkpoint.dir="$mnt" checkpoint.every=4 train.steps=8 \
        model.width=64 model.ffn=256
fi
rc=$?
lines=$(grep -c '^zeropt: rank' "$TMP/disk.log")
if [ $rc -ne 0 ] && [ "$lines" -eq 1 ] && grep -q "checkpoint write failed" "$TMP/disk.log" &&
    [ "$(cat "$mnt/latest")" = step_000004.h5 ] && "$ZEROPT" ckpt verify "$mnt/step_000004.h5" >/dev/null &&
    ! ls "$mnt"/.*.partial >/dev/null 2>&1; then
    ok "full disk ($how): one line, non-zero exit, previous checkpoint intact  # $(grep '^zeropt' "$TMP/disk.log")"
else
    notok "full disk ($how): rc $rc, $lines lines: $(grep -m2 -E 'zeropt|error' "$TMP/disk.log" | tr '\n' '|'); latest $(cat "$mnt/latest" 2>/dev/null)"
fi
mountpoint -q "$mnt" && umount "$mnt"
# the disk fills between the space check and the reservation (injected): the
# file is left unflushed (closing it would hang parallel HDF5), one line, exit
train 2 "$TMP/disk2" checkpoint.every=4 train.stop_at=4 || notok "first save before the reservation failure"
start=$(date +%s)
ZEROPT_FAULT=ckpt-reserve train 2 "$TMP/disk2" checkpoint.every=4 train.steps=8
rc=$? took=$(($(date +%s) - start))
lines=$(grep -c '^zeropt: rank' "$TMP/disk2.log")
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$lines" -eq 1 ] &&
    grep -q "reserving .* MB: No space left on device; the previous checkpoint is intact" "$TMP/disk2.log" &&
    ! grep -q -E "Segmentation|signal|fbtl" "$TMP/disk2.log" &&
    [ "$(cat "$TMP/disk2/ckpt/latest")" = step_000004.h5 ] && "$ZEROPT" ckpt verify "$TMP/disk2/ckpt/step_000004.h5" >/dev/null &&
    ! ls "$TMP/disk2/ckpt"/.*.partial >/dev/null 2>&1; then
    ok "disk full at the reservation: one line, exit $rc in ${took} s, previous checkpoint intact  # $(grep '^zeropt' "$TMP/disk2.log")"
else
    notok "disk full at the reservation: rc $rc, $lines lines: $(grep -m3 -E 'zeropt|rror|ignal' "$TMP/disk2.log" | tr '\n' '|')"
fi

# --- corrupt and foreign checkpoints -------------------------------------------
good="$TMP/full1/ckpt/step_000008.h5"
bad() { # name: copy of the good checkpoint, altered by python
    cp "$good" "$TMP/$1.h5"
    py "damage $1" "$TMP/$1.h5" "$1" <<'PY'
import sys, h5py, numpy as np
path, case = sys.argv[1], sys.argv[2]
if case == "truncated":
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    sys.exit()
with h5py.File(path, "r+") as f:
    if case == "format":
        f.attrs["format"] = "someone-else"
    elif case == "missing":
        del f["optim/v/blocks.01.mlp.fc.weight"]
    elif case == "shape":
        crc = f["model/blocks.00.attn.qkv.weight"].attrs["crc32"]
        del f["model/blocks.00.attn.qkv.weight"]
        f["model/blocks.00.attn.qkv.weight"] = np.zeros((96, 31), np.float32)
        f["model/blocks.00.attn.qkv.weight"].attrs["crc32"] = crc
    elif case == "checksum":
        d = f["model/blocks.01.mlp.proj.weight"]
        a = d[()]
        a[3, 5] += 1e-3
        d[...] = a
    elif case == "incomplete":
        del f.attrs["complete"]
    elif case == "nocrc":  # the checksum attribute lost, then a value changed
        d = f["model/blocks.00.mlp.fc.weight"]
        del d.attrs["crc32"]
        a = d[()]
        a[0, 0] += 1.0
        d[...] = a
    elif case == "nostate":
        del f["state/cursor"]
    elif case == "noconfig":
        del f.attrs["config"]
    elif case == "badconfig":
        f.attrs["config"] = "[model]\nlayers = banana\n"
    elif case == "dtype":  # float64 now, one value different from what the crc covers
        d = f["optim/m/blocks.01.attn.proj.weight"]
        a, crc = d[()].astype(np.float64), d.attrs["crc32"]
        a[1, 1] += 0.5
        del f["optim/m/blocks.01.attn.proj.weight"]
        f["optim/m/blocks.01.attn.proj.weight"] = a
        f["optim/m/blocks.01.attn.proj.weight"].attrs["crc32"] = crc
PY
}
refuse() { # name pattern: resume and verify refuse the altered file, each with one line
    expect_error "resume refuses a $1 checkpoint" "$TMP/$1.h5" "$2" -- \
        "$ZEROPT" train -c "$TMP/cfg.ini" run.dir="$TMP/refuse_$1" checkpoint.resume="$TMP/$1.h5"
    expect_error "ckpt verify refuses a $1 checkpoint" "$TMP/$1.h5" "$2" -- "$ZEROPT" ckpt verify "$TMP/$1.h5"
}
bad truncated && refuse truncated "truncated"
bad format && refuse format "not a zeropt checkpoint"
bad missing && refuse missing "missing tensor /optim/v/blocks.01.mlp.fc.weight"
bad shape && refuse shape "has shape [96, 31], the model needs [96, 32]"
bad checksum && refuse checksum "checksum mismatch in /model/blocks.01.mlp.proj.weight"
bad incomplete && refuse incomplete "incomplete checkpoint"
bad nocrc && refuse nocrc "cannot read /model/blocks.00.mlp.fc.weight (or its crc32)"
bad nostate && refuse nostate "lacks its training state (/state/cursor)"
bad noconfig && refuse noconfig "lacks its config attribute"
bad badconfig && refuse badconfig "layers = banana: not an integer"
bad dtype && refuse dtype "checksum mismatch in /optim/m/blocks.01.attn.proj.weight"
expect_error "resume refuses a checkpoint of another model" "config does not match the model" "layers = 2" -- \
    "$ZEROPT" train -c "$TMP/cfg.ini" run.dir="$TMP/refuse_cfg" checkpoint.resume="$good" model.layers=3
"$ZEROPT" ckpt verify "$good" >/dev/null && ok "ckpt verify accepts the good checkpoint" || notok "ckpt verify on the good one"
"$ZEROPT" ckpt info "$good" --json | $PY -c 'import json,sys; j=json.load(sys.stdin); assert j["step"]==8 and j["ranks_at_save"]==2 and j["zero_stage"]==1 and j["state"]["cursor"]==128 and j["tensor_count"]==3*34, j' &&
    ok "ckpt info --json: step, ranks, stage, cursor, tensors" || notok "ckpt info --json"
# pruning: keep_last = 2 with keep_every = 3 over 8 saves leaves 3, 6, 7, 8
train 2 "$TMP/prune" checkpoint.every=1 checkpoint.keep_last=2 checkpoint.keep_every=3 || notok "prune run"
got=$(cd "$TMP/prune/ckpt" && ls step_*.h5 | tr '\n' ' ')
[ "$got" = "step_000003.h5 step_000006.h5 step_000007.h5 step_000008.h5 " ] && ok "keep_last=2, keep_every=3 keeps $got" || notok "pruning kept: $got"
