/*
 * log.c — what a run prints (rank 0) and records in metrics.jsonl: the
 * header (BLAS kernels and rate, model, data and its unigram baseline,
 * counted memory), a line per logged step, a line per evaluation, and the
 * peak resident memory at the end.
 */
#include "trainer.h"

#include "kernels/clock.h"
#include "mpi/comm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void fmt_time(char *out, size_t n, double s) {
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, n, "%02ld:%02ld", t / 60, t % 60);
}

static void write_record(Trainer *tr) {
    if (metrics_end(tr->metrics)) z_die("%s/metrics.jsonl: write failed", tr->cfg.run.dir);
}

/* The counted bytes of every category (kernels/mem.h) and resident memory:
 * printed, and the step-0 metrics record. */
static void log_memory(Trainer *tr, double fpt) {
    MemStats ms = k_mem_stats();
    double rss = trainer_rss(0), mb = 1e6;
    int bf16 = tr->cfg.train.precision == DT_BF16;
    if (bf16)
        z_log("precision bf16: bf16 parameters and gradients, fp32 master weights (counted as "
              "optimizer state); reductions in %s, all-gathers in bf16; %s",
              tr->cfg.zero.reduce_dtype == DT_BF16 ? "bf16" : "fp32",
              k_bf16_gemm_on() ? "linear layers on bf16 inputs (oneDNN matmul), the rest in fp32"
                               : "fp32 compute");
    z_log("memory per rank (ZeRO stage %d, counted): params %.1f MB, grads %.1f MB, optimizer "
          "%.1f MB, buffers %.1f MB, activations %.1f MB, batch %.1f MB = %.1f MB; resident %.1f "
          "MB (%.1f MB before these buffers)",
          zero_stage(tr->zero), ms.now[MEM_PARAMS] / mb, ms.now[MEM_GRADS] / mb,
          ms.now[MEM_OPTIM] / mb, ms.now[MEM_BUFFERS] / mb, ms.now[MEM_ACTS] / mb,
          ms.now[MEM_DATA] / mb, ms.total / mb, rss / mb, tr->rss_base / mb);
    if (tr->rank) return;
    Metrics *mt = tr->metrics;
    metrics_begin(mt);
    metrics_int(mt, "step", 0);
    metrics_int(mt, "zero_stage", zero_stage(tr->zero));
    metrics_int(mt, "ranks", tr->nranks);
    metrics_str(mt, "precision", bf16 ? "bf16" : "fp32");
    if (bf16)
        metrics_str(mt, "reduce_dtype", tr->cfg.zero.reduce_dtype == DT_BF16 ? "bf16" : "fp32");
    metrics_int(mt, "params", (long long)tr->m.nparams);
    size_t embed = 0; /* token, position and type tables: Kaplan's N counts the rest */
    for (int i = 0; i < tr->m.nviews; i++)
        if (!strncmp(tr->m.view[i].name, "embed.", 6) && tr->m.view[i].ndim == 2)
            embed += tr->m.view[i].numel;
    metrics_int(mt, "nonembedding_params", (long long)(tr->m.nparams - embed));
    metrics_real(mt, "flops_per_token", fpt);
    metrics_int(mt, "seq_len", tr->seq);
    metrics_int(mt, "global_batch", tr->batch);
    metrics_int(mt, "steps", tr->steps_total);
    for (int c = 0; c < MEM_NCAT; c++) {
        char key[48];
        snprintf(key, sizeof key, "%s_bytes", k_mem_name((MemCat)c));
        metrics_int(mt, key, (long long)ms.now[c]);
    }
    metrics_int(mt, "counted_bytes", (long long)ms.total);
    metrics_int(mt, "rss_bytes", (long long)rss);
    metrics_int(mt, "rss_base_bytes", (long long)tr->rss_base);
    if (!isnan(tr->unigram)) metrics_real(mt, "unigram_entropy", tr->unigram);
    metrics_str(mt, "blas_core", tr->blas.core);
    metrics_str(mt, "sgemm", k_sgemm_name(k_sgemm_get()));
    metrics_str(mt, "bf16_matmul", k_bf16_gemm_on() ? k_bf16_gemm_impl() : "off");
    metrics_real(mt, "sgemm_flops", tr->peak_flops);
    char threads[192];
    k_threads_desc(threads, sizeof threads);
    metrics_str(mt, "threads", threads);
    write_record(tr);
}

void trainer_log_header(Trainer *tr, double fpt) {
    const Config *c = &tr->cfg;
    KBlasInfo *b = &tr->blas;
    KSgemm gemm = k_sgemm_get();
    z_log("blas: %s; kernels %s (%s) on a CPU with %s; sgemm %.1f GFLOP/s per rank (%d "
          "threads) through %s",
          b->library, b->core, b->core_isa[0] ? b->core_isa : "?", b->cpu_isa, tr->peak_flops / 1e9,
          k_get_threads(), k_sgemm_name(gemm));
    /* the BLAS's kernels matter when it computes the products */
    if (b->advice[0] && gemm == K_SGEMM_BLAS) z_log("note: %s", b->advice);
    char threads[192];
    k_threads_desc(threads, sizeof threads);
    z_log("threads: %s", threads);
    z_log("model: %zu parameters, %d units | ranks %d | micro_batch %d x accumulation %d x ranks "
          "%d = global batch %d sequences of %d tokens",
          tr->m.nparams, tr->m.nunits, tr->nranks, tr->micro, tr->accum, tr->nranks, tr->batch,
          tr->seq);
    if (!c->train.replay[0])
        z_log("data: %s: %ld training sequences (%ld tokens, %ld docs), %ld validation sequences; "
              "unigram baseline %.4f nats (the loss of guessing from token frequencies alone)",
              c->data.path, (long)tr->train.n_samples, (long)tr->train.corpus.n_tokens,
              (long)tr->train.corpus.n_docs, tr->has_val ? (long)tr->val.n_samples : 0L,
              tr->unigram);
    z_log("peak for MFU: %.3g TFLOP/s per rank%s; %.3g FLOPs per token",
          (c->run.peak_tflops > 0 ? c->run.peak_tflops * 1e12 : tr->peak_flops) / 1e12,
          c->run.peak_tflops > 0 ? " ([run] peak_tflops)" : " (measured sgemm)", fpt);
    log_memory(tr, fpt);
}

void trainer_log_eval(Trainer *tr, long step, EvalStats e, const EvalStats *orig, int own_record) {
    int mlm = tr->cfg.data.objective == OBJ_MLM;
    tr->last_val = e.loss;
    if (tr->rank) return;
    char base[64] = "", ret[96] = "";
    if (!isnan(tr->unigram)) snprintf(base, sizeof base, " (unigram %.3f)", tr->unigram);
    if (!isnan(e.recall1))
        snprintf(ret, sizeof ret, " | recall@1 %.4f recall@10 %.4f of %d", e.recall1, e.recall10,
                 e.pairs);
    if (mlm)
        printf("eval %6ld | val_loss %.4f%s | val_acc %.4f | %.0f predicted tokens%s\n", step,
               e.loss, base, e.acc, e.count, ret);
    else
        printf("eval %6ld | val_loss %.4f%s | ppl %.2f | %.0f tokens\n", step, e.loss, base,
               exp(e.loss), e.count);
    if (orig) {
        printf("eval %6ld | val_loss_orig %.4f on the original corpus", step, orig->loss);
        if (mlm) printf(" | val_acc_orig %.4f", orig->acc);
        printf("\n");
    }
    fflush(stdout);
    if (own_record) {
        metrics_begin(tr->metrics);
        metrics_int(tr->metrics, "step", step);
    }
    if (orig) {
        metrics_real(tr->metrics, "val_loss_orig", orig->loss);
        if (mlm) metrics_real(tr->metrics, "val_acc_orig", orig->acc);
    }
    metrics_real(tr->metrics, "val_loss", e.loss);
    metrics_real(tr->metrics, "val_ppl", exp(e.loss));
    if (mlm) metrics_real(tr->metrics, "val_acc", e.acc);
    if (!isnan(e.recall1)) {
        metrics_real(tr->metrics, "recall_1", e.recall1);
        metrics_real(tr->metrics, "recall_10", e.recall10);
    }
    if (own_record) write_record(tr);
}

void trainer_log_step(Trainer *tr, long step, const StepStats *st, double dt, double fpt) {
    const TrainConfig *tc = &tr->cfg.train;
    double t = k_now(), tps = (double)tr->batch * st->seq / dt;
    long total = tr->steps_total;
    double peak = tr->cfg.run.peak_tflops > 0 ? tr->cfg.run.peak_tflops * 1e12 : tr->peak_flops;
    double mfu = tps * fpt / (peak * tr->nranks);
    if (step % tc->log_every == 0 || step == total || step == 1) {
        char el[32], eta[32];
        fmt_time(el, sizeof el, t - tr->t_start);
        fmt_time(eta, sizeof eta, (t - tr->t_start) / (step - tr->step0) * (total - step));
        char parts[64] = "";
        if (!isnan(st->con_loss))
            snprintf(parts, sizeof parts, " (mlm %.4f, contrastive %.4f)", st->mlm_loss,
                     st->con_loss);
        printf("step %6ld/%ld | loss %.4f%s | lr %.3e | gnorm %.3f | %.0f tok/s | MFU %.1f%% | %s "
               "elapsed | ETA %s\n",
               step, total, st->loss, parts, st->lr, st->gnorm, tps, 100 * mfu, el, eta);
        fflush(stdout);
    }
    Metrics *mt = tr->metrics;
    metrics_begin(mt);
    metrics_int(mt, "step", step);
    metrics_real(mt, "loss", st->loss);
    if (!isnan(st->mlm_loss)) metrics_real(mt, "mlm_loss", st->mlm_loss);
    if (!isnan(st->con_loss)) metrics_real(mt, "con_loss", st->con_loss);
    metrics_real(mt, "lr", st->lr);
    metrics_real(mt, "grad_norm", st->gnorm);
    metrics_real(mt, "tokens_per_s", tps);
    metrics_real(mt, "mfu", mfu);
    metrics_real(mt, "elapsed_s", t - tr->t_start);
    metrics_real(mt, "step_s", dt);
    metrics_real(mt, "comm_bytes", st->comm_bytes);
    metrics_real(mt, "comm_wait_s", st->wait_s);
    if (st->skipped) metrics_int(mt, "skipped", 1);
    int64_t first = tr->cursor0 + (int64_t)(step - 1 - tr->step0) * tr->batch;
    metrics_int(mt, "sample_start", first); /* training positions [start, end) of this step */
    metrics_int(mt, "sample_end", first + tr->batch);
    /* trained on by this step */
    metrics_int(mt, "tokens",
                (int64_t)obj_seq_tokens(&tr->cfg.curriculum, tr->seq, tr->batch, step));
    if (st->seq != tr->seq) metrics_int(mt, "seq_len", st->seq);
}

void trainer_log_end(Trainer *tr, long last) {
    if (!isnan(tr->last_val) && !isnan(tr->unigram))
        z_log("validation loss %.4f nats (perplexity %.0f) against %.4f (perplexity %.0f) for "
              "the unigram table: %.2f nats %s",
              tr->last_val, exp(tr->last_val), tr->unigram, exp(tr->unigram),
              fabs(tr->unigram - tr->last_val),
              tr->last_val < tr->unigram ? "below it: the model uses context"
                                         : "above it: not yet past the unigram plateau");
    double rss[1] = {trainer_rss(1)};
    comm_allreduce_max_f64(rss, 1, "peak memory");
    z_log("peak resident memory per rank (max over ranks): %.1f MB", rss[0] / 1e6);
    if (tr->rank) return;
    metrics_begin(tr->metrics);
    metrics_int(tr->metrics, "step", last);
    metrics_int(tr->metrics, "peak_rss_bytes", (long long)rss[0]);
    write_record(tr);
}
