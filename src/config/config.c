/*
 * config.c — the key table and the INI reader (libinih) behind config.h.
 */
#include "config.h"

#include "mpi/err.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_INT, T_LONG, T_REAL, T_BOOL, T_ENUM, T_STR } KeyType;

typedef struct {
    const char *section, *key;
    KeyType type;
    size_t off;          /* offset of the field in Config */
    const char *def;     /* default, as text */
    double lo, hi;       /* inclusive range for numbers */
    const char *choices; /* T_ENUM: "a|b|c", value is the index */
    const char *help;
} KeyDef;

#define M(field) offsetof(Config, model.field)
static const KeyDef KEYS[] = {
    {"model", "arch", T_ENUM, M(arch), "encoder", 0, 0, "encoder|decoder",
     "encoder: BERT-style masked LM; decoder: GPT-style causal LM"},
    {"model", "vocab_size", T_INT, M(vocab_size), "30522", 1, INT_MAX, NULL, "vocabulary size V"},
    {"model", "max_positions", T_INT, M(max_positions), "512", 1, 1 << 20, NULL,
     "longest sequence; the rows of the learned position table (absolute, roberta)"},
    {"model", "type_vocab_size", T_INT, M(type_vocab_size), "2", 0, 1 << 16, NULL,
     "segment embedding rows (encoder; 0 = none)"},
    {"model", "layers", T_INT, M(layers), "12", 1, 100000, NULL, "transformer blocks L"},
    {"model", "width", T_INT, M(width), "768", 1, 1 << 20, NULL, "hidden width C"},
    {"model", "heads", T_INT, M(heads), "12", 1, 1 << 16, NULL, "attention heads (divide width)"},
    {"model", "ffn", T_INT, M(ffn), "0", 0, 1 << 22, NULL, "FFN width F (0 = 4 x width)"},
    {"model", "norm", T_ENUM, M(norm), "post", 0, 0, "post|pre",
     "LayerNorm placement: post (BERT) or pre (GPT-2; adds a final norm)"},
    {"model", "tied", T_BOOL, M(tied), "true", 0, 1, NULL,
     "output head shares the token embedding"},
    {"model", "gelu", T_ENUM, M(gelu), "erf", 0, 0, "tanh|erf", "GELU form"},
    {"model", "dropout", T_REAL, M(dropout), "0.1", 0, 0.999, NULL, "hidden dropout"},
    {"model", "attn_dropout", T_REAL, M(attn_dropout), "0.1", 0, 0.999, NULL,
     "dropout on attention probabilities"},
    {"model", "ln_eps", T_REAL, M(ln_eps), "1e-12", 1e-30, 1, NULL, "LayerNorm epsilon"},
    {"model", "init_std", T_REAL, M(init_std), "0.02", 0, 10, NULL, "std of weight init"},
    {"model", "pos_init", T_ENUM, M(pos_init), "normal", 0, 0, "normal|sinusoid",
     "learned positions start as N(0, init_std) (BERT, GPT-2) or as the sinusoids of "
     "Vaswani et al. scaled to init_std (attention finds neighbours from the first step)"},
    {"model", "positions", T_ENUM, M(positions), "absolute", 0, 0,
     "absolute|roberta|learned|t5|rope|alibi",
     "absolute (or learned): token t takes row t of a learned table; roberta: HF RoBERTa's "
     "position "
     "ids (tokens equal to position_pad_id take that row, the others position_pad_id + 1 + the "
     "number of other tokens before them); t5: a learned bias on the attention scores per head "
     "and bucket of the offset j - i (T5); rope: rotary embedding of queries and keys (RoFormer, "
     "HF's pairing); alibi: a fixed bias -slope_h |i - j| (Press et al.)"},
    {"model", "position_pad_id", T_INT, M(position_pad_id), "1", 0, INT_MAX, NULL,
     "positions = roberta: the pad id (RoBERTa's padding_idx)"},
    {"model", "pooler", T_BOOL, M(pooler), "false", 0, 1, NULL,
     "keep BERT's pooler (dense + tanh on the first token; imported, exported, embed --pool "
     "pooler; MLM does not train it)"},
    {"model", "init_scaled", T_BOOL, M(init_scaled), "false", 0, 1, NULL,
     "scale output projections by 1/sqrt(2L) (the same as init = scaled)"},
    {"model", "init", T_ENUM, M(init), "normal", 0, 0, "normal|scaled|depth|deepnorm",
     "normal: every matrix N(0, init_std); scaled: output projections init_std/sqrt(2L) (GPT-2, "
     "Megatron); depth: N(0, 1/fan_in), truncated at 3 sigma, output projections of block l "
     "1/sqrt(2 fan_in (l+1)) (OLMo's mitchell); deepnorm: post-LN residuals x*alpha + f(x), "
     "alpha = (2L)^(1/4), FFN, value and output projections Xavier-normal times beta = "
     "(8L)^(-1/4), queries and keys Xavier-normal (DeepNet)"},
    {"model", "t5_buckets", T_INT, M(t5_buckets), "32", 2, 1 << 16, NULL,
     "positions = t5: buckets of the relative bias (half per direction in an encoder)"},
    {"model", "t5_max_distance", T_INT, M(t5_max_distance), "128", 1, 1 << 20, NULL,
     "positions = t5: offsets at least this far apart share the last bucket"},
    {"model", "t5_shared", T_BOOL, M(t5_shared), "true", 0, 1, NULL,
     "positions = t5: one bias table for every layer (T5; it lives in block 0) or one per layer"},
    {"model", "attention", T_ENUM, M(attention), "full", 0, 0, "full|window",
     "full: every query sees every key; window: sliding-window attention (Longformer, "
     "ModernBERT): O(T x window) compute and memory, no T x T matrix"},
    {"model", "window", T_INT, M(window), "128", 1, 1 << 24, NULL,
     "attention = window: a query sees the keys within +-window/2 (a decoder: itself and the "
     "window - 1 before it)"},
    {"model", "global_tokens", T_INT, M(global_tokens), "0", 0, 1 << 24, NULL,
     "attention = window: the first k tokens (e.g. [CLS]) see every key and every query sees "
     "them"},
    {"model", "full_every", T_INT, M(full_every), "0", 0, 1 << 20, NULL,
     "attention = window: layers 0, n, 2n, ... attend fully (ModernBERT: 3; 0: every layer "
     "windowed)"},
    {"model", "qk_norm", T_BOOL, M(qk_norm), "false", 0, 1, NULL,
     "QK-LayerNorm: queries and keys each pass a LayerNorm over the width (own weight and bias "
     "per block) before attention and RoPE; bounds the attention logits (Dehghani et al., OLMo)"},
    {"model", "rope_base", T_REAL, M(rope_base), "10000", 1, 1e12, NULL,
     "positions = rope: base of the rotary frequencies"},
#define D(field) offsetof(Config, data.field)
    {"data", "path", T_STR, D(path), "", 0, 0, NULL, "corpus file made by zeropt prep"},
    {"data", "seq_len", T_INT, D(seq_len), "128", 3, 1 << 20, NULL, "sequence length T"},
    {"data", "objective", T_ENUM, D(objective), "auto", 0, 0, "auto|mlm|clm",
     "auto: mlm for encoders, clm (causal LM) for decoders"},
    {"data", "mask_rate", T_REAL, D(mask_rate), "0.15", 0.001, 0.999, NULL,
     "MLM: fraction of positions predicted (80% [MASK], 10% random, 10% kept)"},
    {"data", "shuffle", T_BOOL, D(shuffle), "true", 0, 1, NULL,
     "visit samples in a seeded permutation"},
    {"data", "val_batches", T_INT, D(val_batches), "2", 0, 1 << 20, NULL,
     "global batches of held-out data per evaluation"},
    {"data", "packing", T_ENUM, D(packing), "pack", 0, 0, "pack|pad",
     "pack: documents concatenated and cut into full windows (pretraining); pad: one document "
     "per sample, cut to the window and padded, with an attention mask (documents shorter than "
     "T, sentence-level objectives, evaluation)"},
#define MK(field) offsetof(Config, mask.field)
    {"mask", "scheme", T_ENUM, MK(scheme), "token", 0, 0, "token|word|span|salient",
     "MLM: what is masked: token (each position on its own, BERT); word (whole words, BERT's "
     "whole-word masking: random words until the budget round(rate x n) is spent); span (runs "
     "of whole words with Geometric(span_p) lengths up to span_max words until the budget is "
     "spent, SpanBERT); salient (the corpus's /spans, REALM; the rest of the budget by "
     "salient_fallback)"},
    {"mask", "schedule", T_ENUM, MK(schedule), "constant", 0, 0, "constant|linear|cosine",
     "masking rate over training: constant [data] mask_rate, or linear / cosine from mask_rate "
     "to rate_end over schedule_steps steps"},
    {"mask", "rate_end", T_REAL, MK(rate_end), "0.15", 0.001, 0.999, NULL,
     "the masking rate at the end of a linear or cosine schedule"},
    {"mask", "schedule_steps", T_LONG, MK(schedule_steps), "0", 0, 1e15, NULL,
     "steps the rate schedule takes (0: [train] steps)"},
    {"mask", "eval_rate", T_REAL, MK(eval_rate), "0", 0, 0.999, NULL,
     "masking rate of the validation masks (0: the schedule's final rate)"},
    {"mask", "replace_mask", T_REAL, MK(p_mask), "0.8", 0, 1, NULL,
     "fraction of predicted positions (or units, replace_unit = span) shown as [MASK]"},
    {"mask", "replace_random", T_REAL, MK(p_random), "0.1", 0, 1, NULL,
     "fraction shown as a random token; the rest keep their token"},
    {"mask", "replace_unit", T_ENUM, MK(per_unit), "token", 0, 0, "token|span",
     "the 80/10/10 draw per token, or once per word / span (SpanBERT)"},
    {"mask", "span_p", T_REAL, MK(span_p), "0.2", 0.001, 1, NULL,
     "span: span lengths in words follow Geometric(span_p) truncated to span_max"},
    {"mask", "span_max", T_INT, MK(span_max), "10", 1, 1 << 16, NULL,
     "span: the longest span in words"},
    {"mask", "salient_fallback", T_ENUM, MK(fallback), "span", 0, 0, "span|word|none",
     "salient: what fills the masking budget the window's salient spans leave"},
#define OB(field) offsetof(Config, objective.field)
    {"objective", "mlm", T_REAL, OB(mlm), "1", 0, 1e6, NULL,
     "weight of the MLM loss in the objective (0 with contrastive > 0: no masking at all)"},
    {"objective", "contrastive", T_REAL, OB(contrastive), "0", 0, 1e6, NULL,
     "weight of sequence contrastive learning (encoders): each document is seen as two random "
     "crops; InfoNCE over the pooled embeddings of the whole global batch, every other view a "
     "negative (gathered from all ranks; the gradient flows back through the gather)"},
    {"objective", "temperature", T_REAL, OB(temperature), "0.05", 1e-6, 1e6, NULL,
     "contrastive: the temperature tau of the logits similarity / tau"},
    {"objective", "pool", T_ENUM, OB(pool), "mean", 0, 0, "cls|mean",
     "contrastive: the sequence embedding: the [CLS] row or the mean of the real rows of the "
     "last hidden state (after the final norm of pre-LN models)"},
    {"objective", "similarity", T_ENUM, OB(similarity), "cosine", 0, 0, "cosine|dot",
     "contrastive: cosine similarity (embeddings normalised, SimCSE) or dot product (Contriever)"},
    {"objective", "crop_min", T_REAL, OB(crop_min), "0.1", 0.001, 1, NULL,
     "contrastive: the shortest crop, as a fraction of the sample's tokens (Contriever 0.1)"},
    {"objective", "crop_max", T_REAL, OB(crop_max), "0.5", 0.001, 1, NULL,
     "contrastive: the longest crop (Contriever 0.5)"},
    {"objective", "retrieval_pairs", T_INT, OB(retrieval_pairs), "0", 0, 1 << 24, NULL,
     "evaluation: recall@1 and @10 of finding each held-out document's second crop from its "
     "first among this many held-out documents (0: no retrieval evaluation)"},
#define CU(field) offsetof(Config, curriculum.field)
    {"curriculum", "seq_start", T_INT, CU(seq_start), "0", 0, 1 << 20, NULL,
     "sequence-length warm-up: the first steps' length (0: off); the length grows linearly to "
     "[data] seq_len over seq_steps steps. With it on, the run's length is a token budget, "
     "[train] steps x global batch x seq_len (more steps, shorter ones first), and the "
     "learning-rate schedule follows tokens, not steps"},
    {"curriculum", "seq_steps", T_LONG, CU(seq_steps), "0", 0, 1e15, NULL,
     "sequence-length warm-up: steps from seq_start to seq_len"},
    {"curriculum", "seq_multiple", T_INT, CU(seq_multiple), "8", 1, 1 << 20, NULL,
     "sequence-length warm-up: lengths are multiples of this (kernel-friendly shapes)"},
    {"curriculum", "quality", T_ENUM, CU(quality), "none", 0, 0,
     "none|ascending|descending|weighted",
     "documents by the corpus's /quality scores ([data] packing = pad): ascending (lowest "
     "first, ending on the best: the annealing practice), descending, the same order every "
     "epoch; or weighted: each position draws a document with probability proportional to "
     "score^quality_power (with replacement)"},
    {"curriculum", "quality_power", T_REAL, CU(quality_power), "1", 0, 1e6, NULL,
     "quality = weighted: the exponent of the scores (0: uniform)"},
#define CT(field) offsetof(Config, continual.field)
    {"continual", "init", T_STR, CT(init), "", 0, 0, NULL,
     "continual pretraining: start from the parameters of this checkpoint (a file, or a "
     "directory's newest) or model.h5 (an HF model: zeropt ckpt import first), with fresh "
     "optimizer state at step 0, so the schedule warms up again (a run that resumes its own "
     "checkpoint ignores it)"},
    {"continual", "original", T_STR, CT(original), "", 0, 0, NULL,
     "continual pretraining: the corpus the model was trained on: its validation loss is "
     "logged beside the new one (val_loss_orig), and replay draws from it"},
    {"continual", "replay", T_REAL, CT(replay), "0", 0, 1, NULL,
     "continual pretraining: the fraction of each global batch taken from the original corpus"},
    {"continual", "l2sp", T_REAL, CT(l2sp), "0", 0, 1e6, NULL,
     "continual pretraining: a pull towards the initial parameters, decoupled like AdamW's "
     "weight decay: w -= lr x l2sp x (w - w_init) each step (L2-SP, Li et al. 2018)"},
#define TR(field) offsetof(Config, train.field)
    {"train", "micro_batch", T_INT, TR(micro_batch), "8", 1, 1 << 20, NULL,
     "sequences per rank per forward/backward"},
    {"train", "global_batch", T_INT, TR(global_batch), "0", 0, 1 << 30, NULL,
     "sequences per step = micro_batch x accumulation x ranks (0: micro_batch x ranks)"},
    {"train", "steps", T_LONG, TR(steps), "100", 0, 1e15, NULL, "optimizer steps"},
    {"train", "stop_at", T_LONG, TR(stop_at), "0", 0, 1e15, NULL,
     "end this invocation after this step with a checkpoint (a job chunk; 0 = run to the end)"},
    {"train", "lr", T_REAL, TR(lr), "1e-3", 0, 10, NULL, "peak learning rate"},
    {"train", "min_lr", T_REAL, TR(min_lr), "0", 0, 10, NULL, "learning rate at the end of decay"},
    {"train", "warmup", T_LONG, TR(warmup), "10", 0, 1e15, NULL, "linear warm-up steps"},
    {"train", "schedule", T_ENUM, TR(schedule), "linear", 0, 0, "linear|cosine|constant|wsd",
     "after warm-up: linear or cosine decay, constant, or warmup-stable-decay"},
    {"train", "decay_frac", T_REAL, TR(decay_frac), "0.2", 0, 1, NULL,
     "wsd: fraction of the steps spent decaying"},
    {"train", "weight_decay", T_REAL, TR(weight_decay), "0.01", 0, 10, NULL,
     "decoupled weight decay, all optimizers (not on norms and biases)"},
    {"train", "beta1", T_REAL, TR(beta1), "0.9", 0, 0.999999, NULL, "adamw/lamb beta1"},
    {"train", "beta2", T_REAL, TR(beta2), "0.999", 0, 0.999999999, NULL, "adamw/lamb beta2"},
    {"train", "eps", T_REAL, TR(eps), "1e-8", 1e-30, 1, NULL, "adamw/lamb epsilon"},
    {"train", "clip", T_REAL, TR(clip), "1.0", 0, 1e30, NULL,
     "global gradient-norm clip (0 = off)"},
    {"train", "seed", T_LONG, TR(seed), "1234", 0, 9.2e18, NULL,
     "seed for init, sampling, masking and dropout"},
    {"train", "eval_every", T_LONG, TR(eval_every), "50", 0, 1e15, NULL,
     "steps between validations (0 = only at the end)"},
    {"train", "log_every", T_LONG, TR(log_every), "1", 1, 1e15, NULL, "steps between log lines"},
    {"train", "threads", T_INT, TR(threads), "0", 0, 4096, NULL,
     "CPU threads per rank (0 = OMP_NUM_THREADS or all cores)"},
    {"train", "recompute", T_BOOL, TR(recompute), "false", 0, 1, NULL,
     "keep only each block's input; recompute its forward inside its backward"},
    {"train", "precision", T_ENUM, TR(precision), "fp32", 0, 0, "fp32|bf16",
     "bf16: parameters and gradients as bf16 copies (gathered and reduced as such), fp32 master "
     "weights and optimizer state; the CPU kernels compute in fp32 on converted units"},
    {"train", "device", T_ENUM, TR(device), "cpu", 0, 0, "cpu|cuda|loopback",
     "where the kernels run: cpu (OpenBLAS/oneDNN + OpenMP), cuda (one GPU per rank, chosen by "
     "node-local rank; needs a make CUDA=1 build), or loopback (the device code path computed by "
     "the CPU, for testing it without a GPU)"},
    {"train", "bf16_matmul", T_ENUM, TR(bf16_matmul), "auto", 0, 0, "auto|on|off",
     "precision = bf16: linear layers multiply bf16-rounded inputs with fp32 accumulation "
     "(oneDNN's matmul, as PyTorch autocast); auto = on where oneDNN runs it on AMX tiles, off "
     "= fp32 products on the bf16-valued weights"},
    {"train", "dump_batches", T_STR, TR(dump_batches), "", 0, 0, NULL,
     "write the initial parameters and every batch to this HDF5 file (1 rank)"},
    {"train", "replay", T_STR, TR(replay), "", 0, 0, NULL,
     "train on the initial parameters and batches of a dump file instead of a corpus"},
#define O(field) offsetof(Config, optim.field)
    {"optim", "name", T_ENUM, O(name), "adamw", 0, 0, "adamw|lamb|adafactor",
     "adamw (PyTorch AdamW); lamb (Adam direction scaled per tensor by |w|/|u|, NVIDIA's BERT "
     "recipe); adafactor (factored second moment, relative step: PyTorch Adafactor)"},
    {"optim", "states", T_ENUM, O(states), "fp32", 0, 0, "fp32|bf16|8bit",
     "adamw/lamb m and v: fp32 (8 bytes per parameter), bf16 (4), 8bit (2: block-wise dynamic "
     "quantization, blocks of 2048 with one absmax each)"},
    {"optim", "min_8bit_size", T_LONG, O(min_8bit), "4096", 0, 1e15, NULL,
     "8bit: tensors with fewer elements keep fp32 states (norms, biases)"},
    {"optim", "embeddings_8bit", T_BOOL, O(embed_8bit), "false", 0, 1, NULL,
     "8bit: quantize the embedding tables' states too (by default fp32, as bitsandbytes advises: "
     "a rare token's v falls below the code's smallest step while its m does not)"},
    {"optim", "adafactor_decay", T_REAL, O(af_decay), "-0.8", -1, 0, NULL,
     "adafactor: 1 - beta2 at step t is t^decay"},
    {"optim", "adafactor_eps1", T_REAL, O(af_eps1), "0", 0, 1, NULL,
     "adafactor: floor of the second-moment estimate, as its square root (0: FLT_EPSILON)"},
    {"optim", "adafactor_eps2", T_REAL, O(af_eps2), "1e-3", 0, 1, NULL,
     "adafactor: floor of a tensor's RMS in the step size max(eps2, RMS(w)) x min(lr, 1/sqrt(t))"},
    {"optim", "adafactor_clip", T_REAL, O(af_clip), "1.0", 1, 1e30, NULL,
     "adafactor: an update is divided by max(1, RMS(update) / clip)"},
    {"optim", "adafactor_beta1", T_REAL, O(af_beta1), "0", 0, 0.999999, NULL,
     "adafactor: momentum of the update, kept in [optim] states (fp32 4, bf16 2, 8bit ~1 byte "
     "per parameter; 0: none, as torch.optim.Adafactor; Shazeer & Stern's and PaLM's 0.9)"},
#define R(field) offsetof(Config, run.field)
    {"run", "dir", T_STR, R(dir), "runs/default", 0, 0, NULL,
     "run directory: config.ini, metrics.jsonl, model.h5"},
    {"run", "peak_tflops", T_REAL, R(peak_tflops), "0", 0, 1e9, NULL,
     "per-rank peak TFLOP/s for MFU (0 = measure this machine's sgemm at start)"},
    {"run", "collective_timeout", T_REAL, R(collective_timeout), "1800", 0, 1e9, NULL,
     "watchdog: a rank blocked longer than this many seconds in one collective names the "
     "collective, the step and itself and takes the job down (0 = wait forever)"},
#define G(field) offsetof(Config, guard.field)
    {"guard", "nonfinite", T_ENUM, G(nonfinite), "skip", 0, 0, "skip|stop",
     "a non-finite loss or gradient norm: skip: no update on any rank, counted and logged; "
     "stop: end the run with one line"},
    {"guard", "max_skips", T_INT, G(max_skips), "10", 0, 1 << 30, NULL,
     "skipped updates allowed in a run; one more ends it"},
    {"guard", "spike_sigma", T_REAL, G(spike_sigma), "0", 0, 1e6, NULL,
     "a step loss above mean + spike_sigma x std of the last `window` losses is a spike: rewind "
     "(0 = off)"},
    {"guard", "spike_ratio", T_REAL, G(spike_ratio), "0", 0, 1e6, NULL,
     "a step loss above spike_ratio x the lowest loss of the window is a spike: rewind (0 = "
     "off; e.g. 1.5)"},
    {"guard", "window", T_INT, G(window), "50", 4, 1 << 20, NULL,
     "losses in the moving window (a spike is judged once it is full)"},
    {"guard", "max_rewinds", T_INT, G(max_rewinds), "3", 0, 1 << 20, NULL,
     "rewinds allowed in a run; one more spike ends it"},
    {"guard", "rewind_back", T_LONG, G(rewind_back), "1", 1, 1L << 40, NULL,
     "a rewind loads the newest checkpoint at least this many steps older than the weights "
     "that gave the spike, then skips the data from there through the spike (PaLM)"},
    {"guard", "rewind_lr", T_REAL, G(rewind_lr), "1", 1e-6, 1, NULL,
     "learning-rate factor for rewind_lr_steps steps after a rewind"},
    {"guard", "rewind_lr_steps", T_LONG, G(rewind_lr_steps), "0", 0, 1L << 40, NULL,
     "steps the rewind_lr factor lasts"},
#define Z(field) offsetof(Config, zero.field)
    {"zero", "stage", T_INT, Z(stage), "0", 0, 3, NULL,
     "ZeRO stage: 0 all-reduce, 1 shard optimizer state, 2 + gradients, 3 + parameters"},
    {"zero", "overlap", T_BOOL, Z(overlap), "true", 0, 1, NULL,
     "overlap gradient reductions and parameter prefetches with compute"},
    {"zero", "reduce_dtype", T_ENUM, Z(reduce_dtype), "bf16", 0, 0, "fp32|bf16",
     "precision = bf16: what gradient reductions move (bf16 halves the bytes; each addition is "
     "done in fp32 either way)"},
#define CK(field) offsetof(Config, ckpt.field)
    {"checkpoint", "every", T_LONG, CK(every), "0", -1, 1e15, NULL,
     "save every N steps (0 = only at the end, -1 = never)"},
    {"checkpoint", "keep_last", T_INT, CK(keep_last), "3", 0, 1 << 30, NULL,
     "keep the newest k checkpoints (0 = all)"},
    {"checkpoint", "keep_every", T_LONG, CK(keep_every), "0", 0, 1e15, NULL,
     "also keep every checkpoint whose step is a multiple of m (0 = none)"},
    {"checkpoint", "resume", T_STR, CK(resume), "auto", 0, 0, NULL,
     "auto (newest complete checkpoint in dir, if any) | none | <path>"},
    {"checkpoint", "dir", T_STR, CK(dir), "", 0, 0, NULL,
     "checkpoint directory (default <run.dir>/ckpt)"},
    {"checkpoint", "async", T_BOOL, CK(async), "true", 0, 1, NULL,
     "io = direct: snapshot the tensors and write them in a background thread while training "
     "goes on (the commit follows when every rank is done; a crash before it leaves the previous "
     "checkpoint as latest)"},
    {"checkpoint", "io", T_ENUM, CK(io), "direct", 0, 0, "direct|hdf5",
     "tensor bytes: direct (each rank writes its parts at their file offsets) | hdf5 (collective "
     "H5Dwrite through MPI-IO aggregators)"},
};
#undef M
#undef D
#undef MK
#undef CT
#undef CU
#undef OB
#undef TR
#undef R
#undef Z
#undef CK
#undef O
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static const KeyDef *find_key(const char *section, const char *key) {
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].key, key)) return &KEYS[i];
    return NULL;
}

static int section_known(const char *section) {
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].section, section)) return 1;
    return 0;
}

#define BAD(...) z_die_all(__VA_ARGS__)

/* Set one key from its text; −1 and err when the value is not one the key takes. */
static int set_value(Config *c, const KeyDef *k, const char *value, const char *src, char *err,
                     size_t errlen) {
    char *end;
    void *field = (char *)c + k->off;
    while (*value == ' ' || *value == '\t') value++;
    switch (k->type) {
    case T_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t') end++;
        if (!*value || *end || errno)
            return z_fail(err, errlen, "%s: [%s] %s = %s: not an integer", src, k->section, k->key,
                          value);
        if (v < (long long)k->lo || v > (long long)k->hi)
            return z_fail(err, errlen, "%s: [%s] %s = %s: must be in [%.0f, %.0f]", src, k->section,
                          k->key, value, k->lo, k->hi);
        *(int *)field = (int)v;
        break;
    }
    case T_LONG: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t') end++;
        if (!*value || *end || errno)
            return z_fail(err, errlen, "%s: [%s] %s = %s: not an integer", src, k->section, k->key,
                          value);
        if (v < (long long)k->lo || (double)v > k->hi)
            return z_fail(err, errlen, "%s: [%s] %s = %s: must be in [%.0f, %.0f]", src, k->section,
                          k->key, value, k->lo, k->hi);
        *(long *)field = (long)v;
        break;
    }
    case T_STR:
        if (strlen(value) >= PATH_MAX_CFG)
            return z_fail(err, errlen, "%s: [%s] %s: value longer than %d characters", src,
                          k->section, k->key, PATH_MAX_CFG - 1);
        snprintf((char *)field, PATH_MAX_CFG, "%s", value);
        break;
    case T_REAL: {
        errno = 0;
        double v = strtod(value, &end);
        while (*end == ' ' || *end == '\t') end++;
        if (!*value || *end || errno || !isfinite(v))
            return z_fail(err, errlen, "%s: [%s] %s = %s: not a number", src, k->section, k->key,
                          value);
        if (v < k->lo || v > k->hi)
            return z_fail(err, errlen, "%s: [%s] %s = %s: must be in [%g, %g]", src, k->section,
                          k->key, value, k->lo, k->hi);
        *(double *)field = v;
        break;
    }
    case T_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
            *(int *)field = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no"))
            *(int *)field = 0;
        else
            return z_fail(err, errlen, "%s: [%s] %s = %s: expected true or false", src, k->section,
                          k->key, value);
        break;
    case T_ENUM: {
        const char *p = k->choices;
        size_t vl = strlen(value);
        for (int idx = 0; *p; idx++) {
            const char *bar = strchr(p, '|');
            size_t n = bar ? (size_t)(bar - p) : strlen(p);
            if (n == vl && !strncmp(p, value, n)) {
                *(int *)field = idx;
                return 0;
            }
            p += n + (bar ? 1 : 0);
        }
        return z_fail(err, errlen, "%s: [%s] %s = %s: expected one of %s", src, k->section, k->key,
                      value, k->choices);
    }
    }
    return 0;
}

static int set_key(Config *c, const char *section, const char *key, const char *value,
                   const char *src, char *err, size_t errlen) {
    const KeyDef *k = find_key(section, key);
    if (!k) {
        if (!section_known(section))
            return z_fail(err, errlen, "%s: unknown section [%s] (key %s = %s)", src, section, key,
                          value);
        return z_fail(err, errlen, "%s: unknown key [%s] %s = %s", src, section, key, value);
    }
    return set_value(c, k, value, src, err, errlen);
}

void config_defaults(Config *c) {
    char err[Z_ERR_MAX];
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NKEYS; i++)
        if (set_value(c, &KEYS[i], KEYS[i].def, "defaults", err, sizeof err)) z_die("%s", err);
}

/* Errors met inside inih's callbacks are kept and reported once the parse
 * has returned (never exit from inside it: its buffers would be left
 * behind); the first one wins. */
typedef struct {
    Config *c;
    const char *path;
    int depth, failed;
    char err[Z_ERR_MAX];
} LoadCtx;

static int load_depth(Config *c, const char *path, int depth, char *err, size_t errlen);

static int on_ini(void *user, const char *section, const char *name, const char *value) {
    LoadCtx *x = user;
    if (x->failed) return 1;
    if (!*section && !strcmp(name, "include")) {
        char inc[4096];
        const char *slash = strrchr(x->path, '/');
        if (value[0] == '/' || !slash)
            snprintf(inc, sizeof inc, "%s", value);
        else
            snprintf(inc, sizeof inc, "%.*s/%s", (int)(slash - x->path), x->path, value);
        x->failed = load_depth(x->c, inc, x->depth + 1, x->err, sizeof x->err) != 0;
        return 1;
    }
    if (!*section) return 0; /* inih reports the line: a key outside any [section] */
    x->failed = set_key(x->c, section, name, value, x->path, x->err, sizeof x->err) != 0;
    return 1;
}

static int load_depth(Config *c, const char *path, int depth, char *err, size_t errlen) {
    if (depth > 8) return z_fail(err, errlen, "%s: include nesting deeper than 8", path);
    FILE *f = fopen(path, "r");
    if (!f) return z_fail(err, errlen, "%s: cannot open config file: %s", path, strerror(errno));
    LoadCtx x = {c, path, depth, 0, ""};
    int rc = ini_parse_file(f, on_ini, &x);
    fclose(f);
    if (x.failed) return z_fail(err, errlen, "%s", x.err);
    if (rc > 0)
        return z_fail(
            err, errlen,
            "%s: line %d: not valid INI (a malformed line, or a key outside any [section])", path,
            rc);
    if (rc < 0) return z_fail(err, errlen, "%s: cannot read config file", path);
    return 0;
}

void config_load(Config *c, const char *path) {
    char err[Z_ERR_MAX];
    if (load_depth(c, path, 0, err, sizeof err)) BAD("%s", err);
}

void config_load_string(Config *c, const char *text, const char *source) {
    LoadCtx x = {c, source, 0, 0, ""};
    int rc = ini_parse_string(text, on_ini, &x);
    if (x.failed) BAD("%s", x.err);
    if (rc) BAD("%s: line %d of the stored config is not valid INI", source, rc);
}

int config_model_differs(const ModelConfig *a, const ModelConfig *b, char *what, size_t n) {
    struct {
        const char *key;
        long x, y;
    } k[] = {
        {"arch", a->arch, b->arch},
        {"vocab_size", a->vocab_size, b->vocab_size},
        {"max_positions", a->max_positions, b->max_positions},
        {"type_vocab_size", a->type_vocab_size, b->type_vocab_size},
        {"layers", a->layers, b->layers},
        {"width", a->width, b->width},
        {"heads", a->heads, b->heads},
        {"ffn", a->ffn, b->ffn},
        {"norm", a->norm, b->norm},
        {"tied", a->tied, b->tied},
        {"gelu", a->gelu, b->gelu},
        {"positions", a->positions, b->positions},
        {"position_pad_id", a->positions ? a->position_pad_id : 0,
         b->positions ? b->position_pad_id : 0},
        {"pooler", a->pooler, b->pooler},
        {"t5_buckets", a->positions == POS_T5 ? a->t5_buckets : 0,
         b->positions == POS_T5 ? b->t5_buckets : 0},
        {"t5_max_distance", a->positions == POS_T5 ? a->t5_max_distance : 0,
         b->positions == POS_T5 ? b->t5_max_distance : 0},
        {"t5_shared", a->positions == POS_T5 ? a->t5_shared : 0,
         b->positions == POS_T5 ? b->t5_shared : 0},
        {"rope_base (x1000)", a->positions == POS_ROPE ? (long)(a->rope_base * 1000) : 0,
         b->positions == POS_ROPE ? (long)(b->rope_base * 1000) : 0},
        {"init = deepnorm", a->init == INIT_DEEPNORM, b->init == INIT_DEEPNORM},
        {"attention", a->attention, b->attention},
        {"window", a->attention ? a->window : 0, b->attention ? b->window : 0},
        {"global_tokens", a->attention ? a->global_tokens : 0, b->attention ? b->global_tokens : 0},
        {"full_every", a->attention ? a->full_every : 0, b->attention ? b->full_every : 0}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (k[i].x != k[i].y) {
            snprintf(what, n, "[model] %s = %ld in the checkpoint, %ld in this run", k[i].key,
                     k[i].x, k[i].y);
            return 1;
        }
    return 0;
}

int config_override(Config *c, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq) return 0;
    const char *dot = memchr(arg, '.', (size_t)(eq - arg));
    if (!dot) BAD("command line: override %s: expected section.key=value", arg);
    char section[128], key[128];
    snprintf(section, sizeof section, "%.*s", (int)(dot - arg), arg);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    char err[Z_ERR_MAX];
    if (set_key(c, section, key, eq + 1, "command line", err, sizeof err)) BAD("%s", err);
    return 1;
}

void config_finish(Config *c, const char *src) {
    ModelConfig *m = &c->model;
    if (m->ffn == 0) m->ffn = 4 * m->width;
    if (m->width % m->heads)
        BAD("%s: [model] heads = %d does not divide width = %d", src, m->heads, m->width);
    if (m->arch == ARCH_DECODER && m->type_vocab_size > 0) m->type_vocab_size = 0;
    DataConfig *d = &c->data;
    if (d->objective == OBJ_AUTO) d->objective = m->arch == ARCH_ENCODER ? OBJ_MLM : OBJ_CLM;
    if (d->objective == OBJ_MLM && m->arch != ARCH_ENCODER)
        BAD("%s: [data] objective = mlm needs [model] arch = encoder", src);
    if (d->objective == OBJ_CLM && m->arch != ARCH_DECODER)
        BAD("%s: [data] objective = clm needs [model] arch = decoder", src);
    if (m->pooler && m->arch != ARCH_ENCODER) BAD("%s: [model] pooler needs an encoder", src);
    if (m->positions == POS_LEARNED) m->positions = POS_ABSOLUTE;
    if (m->init_scaled && m->init == INIT_NORMAL) m->init = INIT_SCALED;
    m->init_scaled = m->init == INIT_SCALED;
    if (m->positions == POS_ROPE && (m->width / m->heads) % 2)
        BAD("%s: [model] positions = rope needs an even head dimension; width / heads = %d", src,
            m->width / m->heads);
    if (m->init == INIT_DEEPNORM && m->norm != NORM_POST)
        BAD("%s: [model] init = deepnorm scales post-LN residuals; it needs norm = post", src);
    if (m->positions == POS_ROBERTA && m->arch != ARCH_ENCODER)
        BAD("%s: [model] positions = roberta needs an encoder", src);
    int first = m->positions == POS_ROBERTA ? m->position_pad_id + 1 : 0; /* a token's first row */
    if (d->seq_len + first > m->max_positions)
        BAD("%s: [data] seq_len = %d%s exceeds [model] max_positions = %d", src, d->seq_len,
            first ? " from position row position_pad_id + 1" : "", m->max_positions);
    const ObjectiveConfig *ob = &c->objective;
    if (ob->contrastive > 0 && d->objective != OBJ_MLM)
        BAD("%s: [objective] contrastive = %g: sequence contrastive learning needs an MLM "
            "encoder",
            src, ob->contrastive);
    if (ob->mlm == 0 && ob->contrastive == 0)
        BAD("%s: [objective] mlm = 0 and contrastive = 0: nothing to train on", src);
    if (ob->crop_min > ob->crop_max)
        BAD("%s: [objective] crop_min = %g exceeds crop_max = %g", src, ob->crop_min, ob->crop_max);
    if (ob->retrieval_pairs > 0 && d->objective != OBJ_MLM)
        BAD("%s: [objective] retrieval_pairs: retrieval evaluation needs an encoder", src);
    if (ob->contrastive > 0 && (c->train.dump_batches[0] || c->train.replay[0]))
        BAD("%s: [objective] contrastive: dump_batches and replay store no views", src);
    const ContinualConfig *ct = &c->continual;
    if (ct->replay > 0 && !ct->original[0])
        BAD("%s: [continual] replay = %g needs the original corpus ([continual] original)", src,
            ct->replay);
    if (ct->l2sp > 0 && !ct->init[0])
        BAD("%s: [continual] l2sp pulls towards the initial parameters: it needs [continual] "
            "init",
            src);
    if ((ct->replay > 0 || ct->init[0]) && (c->train.dump_batches[0] || c->train.replay[0]))
        BAD("%s: [continual] with dump_batches or replay: the batches come from the dump", src);
    const CurriculumConfig *cu = &c->curriculum;
    if (cu->seq_start > 0) {
        int lo = d->objective == OBJ_MLM ? 3 : 1;
        if (cu->seq_start < lo || cu->seq_start > d->seq_len)
            BAD("%s: [curriculum] seq_start = %d must be in [%d, [data] seq_len = %d]", src,
                cu->seq_start, lo, d->seq_len);
        if (cu->seq_steps < 1)
            BAD("%s: [curriculum] seq_start = %d needs seq_steps >= 1", src, cu->seq_start);
        if (c->train.dump_batches[0] || c->train.replay[0])
            BAD("%s: [curriculum] seq_start: dump_batches and replay hold full-length batches",
                src);
        if (ob->contrastive > 0)
            BAD("%s: [curriculum] seq_start with [objective] contrastive: crops are short already",
                src);
    }
    const MaskConfig *mk = &c->mask;
    if (mk->p_mask + mk->p_random > 1 + 1e-12)
        BAD("%s: [mask] replace_mask + replace_random = %g exceeds 1", src,
            mk->p_mask + mk->p_random);
    TrainConfig *t = &c->train;
    if (d->packing == PACK_DOCS && (t->dump_batches[0] || t->replay[0]))
        BAD("%s: [data] packing = pad: dump_batches and replay store no attention masks", src);
    if (t->min_lr > t->lr) BAD("%s: [train] min_lr = %g exceeds lr = %g", src, t->min_lr, t->lr);
    if (t->bf16_matmul == BF16MM_ON && t->precision != DT_BF16)
        BAD("%s: [train] bf16_matmul = on needs precision = bf16 (fp32 runs multiply in fp32)",
            src);
    if (c->optim.name == OPT_ADAFACTOR && c->optim.states != STATES_FP32 && c->optim.af_beta1 <= 0)
        BAD("%s: [optim] states = %s: adafactor without momentum (adafactor_beta1 = 0) keeps no "
            "m, and its v is factored in fp32; states encodes adamw's and lamb's m and v, and "
            "adafactor's momentum",
            src, c->optim.states == STATES_BF16 ? "bf16" : "8bit");
}

static void format_value(const Config *c, const KeyDef *k, char *out, size_t n) {
    const void *field = (const char *)c + k->off;
    switch (k->type) {
    case T_INT:
        snprintf(out, n, "%d", *(const int *)field);
        break;
    case T_LONG:
        snprintf(out, n, "%ld", *(const long *)field);
        break;
    case T_STR:
        snprintf(out, n, "%s", (const char *)field);
        break;
    case T_REAL: { /* shortest form that reads back to the same double */
        double v = *(const double *)field;
        for (int prec = 6; prec <= 17; prec++) {
            snprintf(out, n, "%.*g", prec, v);
            if (strtod(out, NULL) == v) break;
        }
        break;
    }
    case T_BOOL:
        snprintf(out, n, "%s", *(const int *)field ? "true" : "false");
        break;
    case T_ENUM: {
        int idx = *(const int *)field;
        const char *p = k->choices;
        for (int i = 0; i < idx && strchr(p, '|'); i++) p = strchr(p, '|') + 1;
        const char *bar = strchr(p, '|');
        snprintf(out, n, "%.*s", (int)(bar ? (size_t)(bar - p) : strlen(p)), p);
        break;
    }
    }
}

char *config_format(const Config *c, const char *only) {
    size_t cap = 1 << 14, len = 0;
    char *buf = z_malloc(cap, "config text");
    const char *cur = "";
    for (size_t i = 0; i < NKEYS; i++) {
        if (only && strcmp(only, KEYS[i].section)) continue;
        char v[PATH_MAX_CFG + 16];
        format_value(c, &KEYS[i], v, sizeof v);
        if (cap - len < 4096) buf = realloc(buf, cap *= 2);
        if (!buf) z_die("out of memory formatting config");
        if (strcmp(cur, KEYS[i].section)) {
            cur = KEYS[i].section;
            len += snprintf(buf + len, cap - len, "%s[%s]\n", len ? "\n" : "", cur);
        }
        len += snprintf(buf + len, cap - len, "%s = %s\n", KEYS[i].key, v);
    }
    return buf;
}

double config_mask_rate_max(const Config *c, double rate) {
    double r = rate;
    if (c->mask.schedule != RATE_CONSTANT && c->mask.rate_end > r) r = c->mask.rate_end;
    if (c->mask.eval_rate > r) r = c->mask.eval_rate;
    return r;
}

void config_print_keys(void) {
    for (size_t i = 0; i < NKEYS; i++)
        printf("%s.%-18s %-8s default %-10s %s%s%s\n", KEYS[i].section, KEYS[i].key,
               KEYS[i].type == T_INT || KEYS[i].type == T_LONG ? "int"
               : KEYS[i].type == T_STR                         ? "text"
               : KEYS[i].type == T_REAL                        ? "real"
               : KEYS[i].type == T_BOOL                        ? "bool"
                                                               : "choice",
               KEYS[i].def, KEYS[i].help, KEYS[i].choices ? " — " : "",
               KEYS[i].choices ? KEYS[i].choices : "");
}
