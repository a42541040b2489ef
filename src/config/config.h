/*
 * config.h — the run's configuration: the structs of every section ([model],
 * [data], [train], [optim], [run], [zero], [checkpoint]), INI files read with
 * libinih, then `section.key=value` overrides from the command line, then
 * validation. Every key is declared once in a table (config.c) with its
 * type, default, range and help; unknown keys and impossible values are
 * refused with one line naming the source, the key and the value.
 */
#ifndef ZEROPT_CONFIG_H
#define ZEROPT_CONFIG_H

#include <stddef.h>

enum { ARCH_ENCODER = 0, ARCH_DECODER = 1 };
enum { NORM_POST = 0, NORM_PRE = 1 };
enum { POS_INIT_NORMAL = 0, POS_INIT_SINUSOID = 1 };
/* [model] positions; learned is a second name of absolute (config_finish) */
enum {
    POS_ABSOLUTE = 0,
    POS_ROBERTA = 1,
    POS_LEARNED = 2,
    POS_T5 = 3,
    POS_ROPE = 4,
    POS_ALIBI = 5
};
enum { ATTN_FULL = 0, ATTN_WINDOW = 1 }; /* [model] attention */
/* [model] init */
enum { INIT_NORMAL = 0, INIT_SCALED = 1, INIT_DEPTH = 2, INIT_DEEPNORM = 3 };

typedef struct {
    int arch;            /* ARCH_ENCODER / ARCH_DECODER */
    int vocab_size;      /* V */
    int max_positions;   /* longest sequence (and the learned position table's rows) */
    int type_vocab_size; /* segment table rows (encoder; 0 = none) */
    int layers;          /* L */
    int width;           /* C */
    int heads;           /* NH, divides C */
    int ffn;             /* F */
    int norm;            /* NORM_POST / NORM_PRE */
    int tied;            /* head decoder shares the token embedding */
    int gelu;            /* K_GELU_TANH / K_GELU_ERF */
    double dropout;      /* hidden dropout (embeddings, attention out, FFN out) */
    double attn_dropout; /* dropout on attention probabilities */
    double ln_eps;
    double init_std;     /* std of weight init */
    int init_scaled;     /* output projections std/√(2L) (GPT-2, Megatron): init = scaled */
    int init;            /* INIT_*: how weight matrices start (layout.c) */
    int pos_init;        /* POS_INIT_*: the learned position table's starting values */
    int positions;       /* POS_ABSOLUTE (token t: row t) or POS_ROBERTA (see config.c) */
    int position_pad_id; /* POS_ROBERTA: the pad id, and the row pads take */
    int pooler;          /* BERT's pooler kept (dense C×C + tanh on [CLS]; not trained by MLM) */
    int t5_buckets;      /* POS_T5: buckets of the relative bias table */
    int t5_max_distance; /* POS_T5: offsets from here on share the last bucket */
    int t5_shared;       /* POS_T5: one table for all layers (T5) or one per layer */
    double rope_base;    /* POS_ROPE: θ_i = p·base^(−2i/hs) */
    int attention;       /* ATTN_FULL, or ATTN_WINDOW: sliding windows (model_layer_window) */
    int window;          /* ATTN_WINDOW: keys within ±window/2 (causal: the last window) */
    int global_tokens;   /* ATTN_WINDOW: the first k tokens see and are seen by every token */
    int full_every;      /* ATTN_WINDOW: layers l with l % full_every == 0 attend fully (0: none) */
    int qk_norm;         /* LayerNorm on the queries and on the keys (over C) before attention */
} ModelConfig;

#define PATH_MAX_CFG 1024

enum { OBJ_AUTO = 0, OBJ_MLM = 1, OBJ_CLM = 2 };
enum { PACK_WINDOWS = 0, PACK_DOCS = 1 }; /* [data] packing = pack | pad */
enum { SCHED_LINEAR = 0, SCHED_COSINE = 1, SCHED_CONSTANT = 2, SCHED_WSD = 3 };

typedef struct {
    char path[PATH_MAX_CFG]; /* corpus.h5 */
    int seq_len;             /* T */
    int objective;           /* OBJ_* (auto: mlm for encoders, clm for decoders) */
    double mask_rate;        /* MLM: fraction of positions predicted (80/10/10) */
    int shuffle;             /* seeded permutation of samples */
    int val_batches;         /* global batches of validation data per evaluation */
    int packing;             /* PACK_WINDOWS (documents concatenated) or PACK_DOCS (padded) */
} DataConfig;

typedef struct {
    int micro_batch;   /* sequences per rank per forward/backward */
    int global_batch;  /* sequences per optimizer step (0 = micro_batch × ranks) */
    long steps;        /* optimizer steps (the schedule's length) */
    long stop_at;      /* stop this invocation after this step, with a checkpoint (0 = run on) */
    double lr, min_lr; /* peak and floor learning rate */
    long warmup;       /* linear warm-up steps */
    int schedule;      /* SCHED_* after warm-up */
    double decay_frac; /* warmup-stable-decay: fraction of steps spent decaying */
    double weight_decay, beta1, beta2, eps;
    double clip;     /* global gradient-norm clip (0 = off) */
    long seed;       /* init, sampling, masking, dropout */
    long eval_every; /* steps between validations (0 = only at the end) */
    long log_every;
    int threads;     /* CPU threads per rank (0 = OpenMP default) */
    int recompute;   /* activation recomputation per block */
    int precision;   /* DT_FP32, or DT_BF16: bf16 copies, fp32 master (mpi/zero.h) */
    int bf16_matmul; /* BF16MM_*: linear layers on bf16 inputs (precision = bf16) */
    int device;      /* DEV_CPU, DEV_CUDA */
    char dump_batches[PATH_MAX_CFG]; /* write initial params + every batch here (1 rank) */
    char replay[PATH_MAX_CFG];       /* train on the batches (and init) of a dump file */
} TrainConfig;

typedef struct {
    char dir[PATH_MAX_CFG];    /* run directory: config.ini, metrics.jsonl, model.h5 */
    double peak_tflops;        /* per-rank peak for MFU (0 = measure sgemm at start) */
    double collective_timeout; /* seconds a rank may block in one collective (0 = forever) */
} RunConfig;

enum { GUARD_SKIP = 0, GUARD_STOP = 1 }; /* [guard] nonfinite */
typedef struct {
    int nonfinite;      /* GUARD_*: a non-finite loss or gradient norm skips the update or stops */
    int max_skips;      /* skipped updates allowed in a run before it stops */
    double spike_sigma; /* a loss above mean + k·std of the window is a spike (0 = off) */
    double spike_ratio; /* a loss above ratio × the lowest loss seen is a spike (0 = off) */
    int window;         /* losses in the moving window */
    int max_rewinds;    /* rewinds allowed before the run stops */
    long rewind_back;   /* the checkpoint rewound to is this many steps older than the spike */
    double rewind_lr;   /* learning-rate factor after a rewind ... */
    long rewind_lr_steps; /* ... for this many steps */
} GuardConfig;

typedef struct {
    long every;                /* save every N steps (0 = only at the end, −1 = never) */
    int keep_last;             /* keep the newest k checkpoints (0 = all) */
    long keep_every;           /* also keep every m-th step forever (0 = none) */
    char resume[PATH_MAX_CFG]; /* auto | none | <path> */
    char dir[PATH_MAX_CFG];    /* default: <run.dir>/ckpt */
    int io;                    /* 0 direct, 1 hdf5: how tensor bytes move (CkptIo) */
    int async;                 /* write the tensors in a background thread (io = direct) */
} CkptConfig;

enum { BF16MM_AUTO, BF16MM_ON, BF16MM_OFF }; /* [train] bf16_matmul */
enum { DEV_CPU, DEV_CUDA, DEV_LOOPBACK };    /* [train] device */
/* element types of precision options */
enum { DT_FP32 = 0, DT_BF16 = 1 };

enum { OPT_ADAMW = 0, OPT_LAMB = 1, OPT_ADAFACTOR = 2 };
enum { STATES_FP32 = 0, STATES_BF16 = 1, STATES_8BIT = 2 };

typedef struct {
    int name;        /* OPT_*: the update rule (src/optim/optim.h) */
    int states;      /* STATES_*: how Adam's m and v are stored */
    long min_8bit;   /* 8bit: tensors with fewer elements keep fp32 states */
    int embed_8bit;  /* 8bit: embedding tables quantized too (default: fp32 states) */
    double af_decay; /* Adafactor: 1 − β2ₜ = t^decay */
    double af_eps1;  /* Adafactor: floor of the second moment, squared (0: FLT_EPSILON) */
    double af_eps2;  /* Adafactor: floor of a tensor's RMS in the relative step */
    double af_clip;  /* Adafactor: update RMS clipping threshold d */
    double af_beta1; /* Adafactor: momentum of the update (0: none, torch's) */
} OptimConfig;

typedef struct {
    int stage;        /* 0–3 */
    int overlap;      /* non-blocking reductions and prefetches progressed during compute */
    int reduce_dtype; /* DT_*: what gradient reductions move (mixed precision) */
} ZeroConfig;

/* [mask] MLM masking variants (src/objectives/mask.c) */
enum { MASK_TOKEN = 0, MASK_WORD = 1, MASK_SPAN = 2, MASK_SALIENT = 3 };
enum { RATE_CONSTANT = 0, RATE_LINEAR = 1, RATE_COSINE = 2 };
enum { FALLBACK_SPAN = 0, FALLBACK_WORD = 1, FALLBACK_NONE = 2 };
typedef struct {
    int scheme;   /* MASK_*: what a masked unit is: a token, a whole word, a span, a salient span */
    int schedule; /* RATE_*: the masking rate from [data] mask_rate to rate_end */
    double rate_end;     /* the rate at the schedule's end (linear, cosine) */
    long schedule_steps; /* steps the schedule takes (0: [train] steps) */
    double eval_rate;    /* the rate of validation masks (0: the schedule's final rate) */
    double p_mask;       /* of the predicted positions: shown as [MASK] ... */
    double p_random;     /* ... as a random token; the rest unchanged */
    int per_unit;        /* the replacement is drawn once per word / span (1) or per token (0) */
    double span_p;       /* span: length in words ~ Geometric(span_p) ... */
    int span_max;        /* ... truncated to [1, span_max] (SpanBERT: 0.2, 10) */
    int fallback;        /* FALLBACK_*: salient: what fills the budget the window's spans leave */
} MaskConfig;

/* [objective] the loss mix: MLM and sequence contrastive learning
 * (src/objectives/contrastive.c, kernels' k_infonce) */
enum { OBJ_POOL_CLS = 0, OBJ_POOL_MEAN = 1 };
enum { SIM_COSINE = 0, SIM_DOT = 1 };
typedef struct {
    double mlm;         /* weight of the token-level loss (MLM) */
    double contrastive; /* weight of InfoNCE over two cropped views per document (0: off) */
    double temperature; /* τ of the InfoNCE logits s/τ */
    int pool;       /* OBJ_POOL_*: the sequence embedding: [CLS]'s row or the mean of the rows */
    int similarity; /* SIM_*: cosine (normalised) or dot product */
    double crop_min, crop_max; /* a view is a random crop of this fraction range of the sample */
    int retrieval_pairs; /* evaluation: held-out (query crop, document crop) pairs (0: none) */
} ObjectiveConfig;

/* [curriculum] sequence-length warm-up (src/objectives/curriculum.c) */
typedef struct {
    int seq_start;        /* the first steps' sequence length (0: no warm-up) */
    long seq_steps;       /* steps over which it grows linearly to [data] seq_len */
    int seq_multiple;     /* lengths are rounded down to a multiple of this */
    int quality;          /* DATA_QUALITY_* (src/data/data.h): documents by their /quality */
    double quality_power; /* weighted: probability ∝ score^power */
} CurriculumConfig;

/* [continual] continual pretraining (src/train/continual.c) */
typedef struct {
    char init[PATH_MAX_CFG];     /* parameters from a checkpoint or model.h5; fresh optimizer */
    char original[PATH_MAX_CFG]; /* the original corpus: its validation loss, replay */
    double replay;               /* fraction of each batch from the original corpus */
    double l2sp;                 /* pull towards the initial parameters (L2-SP), per lr */
} ContinualConfig;

typedef struct {
    ModelConfig model;
    DataConfig data;
    MaskConfig mask;
    ObjectiveConfig objective;
    CurriculumConfig curriculum;
    ContinualConfig continual;
    TrainConfig train;
    RunConfig run;
    ZeroConfig zero;
    CkptConfig ckpt;
    OptimConfig optim;
    GuardConfig guard;
} Config;

/* Defaults for every key. */
void config_defaults(Config *c);
/* Read an INI file (a top-level `include = other.ini` loads another first,
 * relative to the including file). Dies on any error. */
void config_load(Config *c, const char *path);
/* Read INI text (a config stored in a checkpoint); source names it in errors. */
void config_load_string(Config *c, const char *text, const char *source);
/* 1 when two models differ in an architecture key (what names it). */
int config_model_differs(const ModelConfig *a, const ModelConfig *b, char *what, size_t n);
/* Apply "section.key=value"; returns 0 when arg has no '=' (not an override). */
int config_override(Config *c, const char *arg);
/* Resolve derived values (ffn = 0 → 4·width, objective from arch) and
 * check cross-key rules. */
void config_finish(Config *c, const char *source);
/* The resolved configuration as INI text (malloc'd); only one section when
 * `only` is not NULL. */
char *config_format(const Config *c, const char *only);
/* The highest masking rate a run reaches when it starts at `rate` (the
 * [mask] schedule's end, the evaluation rate): what the MLM head is sized for. */
double config_mask_rate_max(const Config *c, double rate);
/* Human-readable key reference, one line per key. */
void config_print_keys(void);

#endif
