#!/usr/bin/env bash
# Bad corpus input: one line naming the file and the problem, non-zero exit
# on every rank within seconds — never a hang, a crash dump or an HDF5 stack.
. "$(dirname "$0")/../lib/lib.sh"
plan 14
cfg="$TMP/cfg.ini"
cat >"$cfg" <<EOC
include = $PWD/configs/model/tiny.ini
[model]
vocab_size = 300
max_positions = 64
[data]
seq_len = 16
val_batches = 1
[train]
micro_batch = 2
steps = 2
[run]
dir = $TMP/run
peak_tflops = 1
EOC

# mk NAME CASE: write a corpus variant with h5py
mk() {
    py "corpus variant $1" "$TMP/$1.h5" "$2" <<'PY'
import sys, h5py, numpy as np
path, case = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
docs = [rng.integers(6, 300, size=n) for n in (30, 50, 7, 64, 40)]
def split(g, docs, dtype="u2", offsets=None):
    g["tokens"] = np.concatenate(docs).astype(dtype) if docs else np.zeros(0, dtype)
    g["doc_offsets"] = offsets if offsets is not None else np.concatenate([[0], np.cumsum([len(d) for d in docs])]).astype("i8")
with h5py.File(path, "w") as f:
    f.attrs["format"] = "zeropt-corpus" if case != "format" else "something-else"
    f.attrs["version"] = 1
    f.attrs["vocab_size"] = 300 if case != "bigvocab" else 5000
    for k, v in dict(pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4, bos_id=-1, eos_id=5).items():
        f.attrs[k] = v
    if case == "nodataset":
        f["doc_offsets"] = np.array([0, 10], "i8")
    elif case == "dtype":
        split(f, docs, dtype="f4")
    elif case == "bigid":
        bad = [d.copy() for d in docs]; bad[3][10] = 299 + 7
        split(f, bad)
    elif case == "offsets":
        split(f, docs, offsets=np.array([0, 30, 20, 87, 151, 191], "i8"))
    elif case == "empty":
        split(f, [])
    elif case == "tiny":
        split(f, [np.array([7, 8, 9])])
    else:
        split(f, docs)
    split(f.create_group("val"), [rng.integers(6, 300, size=40)])
PY
}

t0=$SECONDS
expect_error "missing corpus file" "$TMP/none.h5" "cannot open corpus file" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/none.h5"
echo "this is not HDF5" >"$TMP/text.h5"
expect_error "not an HDF5 file" "$TMP/text.h5" "not an HDF5 file" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/text.h5"
mk format format
expect_error "wrong format attribute" "$TMP/format.h5" "not a zeropt corpus" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/format.h5"
mk nodataset nodataset
expect_error "missing dataset" "$TMP/nodataset.h5" "missing dataset /tokens" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/nodataset.h5"
mk dtype dtype
expect_error "wrong dtype" "$TMP/dtype.h5" "must be uint16 or uint32" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/dtype.h5"
mk offsets offsets
expect_error "non-monotonic offsets" "$TMP/offsets.h5" "not monotonic at document 1" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/offsets.h5"
mk empty empty
expect_error "empty corpus" "$TMP/empty.h5" "empty" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/empty.h5"
mk tiny tiny
expect_error "T larger than the corpus allows" "$TMP/tiny.h5" "seq_len 16 is larger than" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/tiny.h5"
mk bigvocab bigvocab
expect_error "corpus vocabulary larger than the model's" "$TMP/bigvocab.h5" "vocab_size 5000" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/bigvocab.h5"
mk bigid bigid
expect_error "token id >= vocab" "$TMP/bigid.h5" "token id 306" ">= vocab_size 300" -- \
    "$ZEROPT" train -c "$cfg" data.path="$TMP/bigid.h5" data.shuffle=false train.steps=20
# the same under 2 ranks: the rank that reads the bad token names it; all exit
timeout -k 5 60 mpirun -q -np 2 "$ZEROPT" train -c "$cfg" data.path="$TMP/bigid.h5" \
    data.shuffle=false train.steps=20 train.micro_batch=1 >"$TMP/mpi.out" 2>"$TMP/mpi.err"
rc=$?
n=$(grep -c '^zeropt: rank' "$TMP/mpi.err")
if [ $rc -ne 0 ] && [ $rc -lt 124 ] && [ "$n" -eq 1 ] && grep -q "token id 306" "$TMP/mpi.err"; then
    ok "bad token under 2 ranks: one line, every rank exits  # $(grep '^zeropt' "$TMP/mpi.err")"
else
    notok "bad token under 2 ranks: rc $rc, $n zeropt lines: $(head -c 400 "$TMP/mpi.err" | tr '\n' '|')"
fi
mk good good
timeout -k 5 60 mpirun -q -np 2 "$ZEROPT" train -c "$cfg" data.path="$TMP/missing.h5" >/dev/null 2>"$TMP/mpi2.err"
rc=$?
n=$(grep -c '^zeropt: rank' "$TMP/mpi2.err")
[ $rc -ne 0 ] && [ $rc -lt 124 ] && [ "$n" -eq 1 ] && ok "missing file under 2 ranks: one line" ||
    notok "missing file under 2 ranks: rc $rc: $(head -c 400 "$TMP/mpi2.err" | tr '\n' '|')"
if "$ZEROPT" train -c "$cfg" data.path="$TMP/good.h5" >"$TMP/good.log" 2>&1; then
    ok "the good corpus trains"
else
    notok "the good corpus trains: $(tail -3 "$TMP/good.log" | tr '\n' '|')"
fi
[ $((SECONDS - t0)) -lt 120 ] && ok "all error cases finished in $((SECONDS - t0)) s" || notok "error cases took $((SECONDS - t0)) s"
