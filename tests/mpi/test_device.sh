#!/usr/bin/env bash
# The device code path without a GPU: [train] device = loopback installs a
# device table whose kernels are the CPU's (kernels/cpu/loopback.c), hands
# k_alloc's blocks to the backend's allocator, and routes the tensor
# collectives through a transport with NCCL's reduce-scatter placement
# (mpi/comm.c). Every forwarded kernel, its arguments, the allocator switch,
# the optimizer states of every type (fp32, bf16, 8-bit; AdamW and LAMB)
# and the slice placement at each ZeRO
# stage are then checked by one property: the run trains exactly as
# device = cpu (every logged loss and the validation losses equal, to the
# digits printed), on 2 ranks, encoder and decoder, fp32 and bf16. A
# checkpoint written on the device path resumes on the CPU path.
. "$(dirname "$0")/../lib/lib.sh"
plan 9
. "$(dirname "$0")/../lib/corpus.sh"
make_corpus 512 || exit 1
cfg="$TMP/cfg.ini"
cat >"$cfg" <<EOC
[model]
arch = encoder
vocab_size = 512
max_positions = 64
layers = 2
width = 32
heads = 2
ffn = 64
dropout = 0.1
attn_dropout = 0.1
[data]
path = $TMP/corpus.h5
seq_len = 32
val_batches = 2
[train]
micro_batch = 2
global_batch = 8
steps = 8
lr = 2e-3
warmup = 2
eval_every = 4
[run]
peak_tflops = 1
EOC
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
run() { # dir, overrides...
    local d=$1; shift
    timeout -k 5 120 mpirun -q -np 2 "$ZEROPT" train -c "$cfg" run.dir="$TMP/$d" \
        checkpoint.resume=none "$@" >"$TMP/$d.log" 2>&1
}
losses() { grep -oE '"(loss|val_loss)":[-0-9.e+]+' "$TMP/$1/metrics.jsonl"; }
same() { # name, overrides...
    local name=$1; shift
    if ! run cpu train.device=cpu "$@"; then notok "$name: the cpu run failed: $(tail -2 "$TMP/cpu.log" | tr '\n' '|')"; return; fi
    if ! run dev train.device=loopback "$@"; then notok "$name: the loopback run failed: $(tail -2 "$TMP/dev.log" | tr '\n' '|')"; return; fi
    local a b n
    a=$(losses cpu) b=$(losses dev) n=$(wc -l <<<"$a")
    if ! grep -q "device: loopback" "$TMP/dev.log"; then
        notok "$name: the loopback device was not installed"
    elif [ "$n" -ge 8 ] && [ "$a" = "$b" ]; then
        ok "$name: device path = cpu path  # $n losses equal, last $(tail -1 <<<"$b")"
    else
        notok "$name: the losses differ: $(diff <(echo "$a") <(echo "$b") | head -4 | tr '\n' '|')"
    fi
}
same "encoder, fp32, ZeRO 0" zero.stage=0
same "encoder, fp32, ZeRO 1" zero.stage=1
same "encoder, bf16, ZeRO 2, bf16 reductions" zero.stage=2 train.precision=bf16 zero.reduce_dtype=bf16
same "encoder, bf16, ZeRO 3" zero.stage=3 train.precision=bf16 zero.reduce_dtype=fp32
same "decoder with RoPE, fp32, ZeRO 3" zero.stage=3 model.arch=decoder data.objective=clm model.positions=rope
same "decoder, bf16 optimizer states, ZeRO 2" zero.stage=2 model.arch=decoder data.objective=clm optim.states=bf16
same "encoder, 8-bit states, ZeRO 1, lr 1e-2" zero.stage=1 optim.states=8bit train.lr=1e-2
same "encoder, LAMB with 8-bit states, ZeRO 2" zero.stage=2 optim.name=lamb optim.states=8bit
# a checkpoint written on the device path resumes on the CPU path, and the
# continued run equals an uninterrupted CPU run
run full train.device=cpu zero.stage=3 train.steps=8
run half train.device=loopback zero.stage=3 train.stop_at=4 checkpoint.every=4 &&
    timeout -k 5 120 mpirun -q -np 2 "$ZEROPT" train -c "$cfg" run.dir="$TMP/half" \
        train.device=cpu zero.stage=3 train.steps=8 >"$TMP/resume.log" 2>&1
a=$(grep -oE '"step":8,.*"loss":[-0-9.e+]+' "$TMP/full/metrics.jsonl" | grep -oE '"loss":[-0-9.e+]+$')
b=$(grep -oE '"step":8,.*"loss":[-0-9.e+]+' "$TMP/half/metrics.jsonl" | grep -oE '"loss":[-0-9.e+]+$')
[ -n "$a" ] && [ "$a" = "$b" ] && ok "a device-path checkpoint resumes on the CPU path  # step 8 $b" ||
    notok "device-path checkpoint resumed on the CPU: step 8 '$a' vs '$b': $(tail -2 "$TMP/resume.log" | tr '\n' '|')"
