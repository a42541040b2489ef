/*
 * test_contrastive.c — sequence contrastive learning beside MLM against
 * PyTorch (tests/fixtures/contrastive_ref.h5, made by
 * tests/ref/make_contrastive_fixture.py): for each setting (post-LN, mean
 * pooling, cosine; pre-LN, [CLS], dot products; contrastive alone) the MLM
 * loss, the pooled embeddings, the InfoNCE loss and every parameter's
 * gradient of w_mlm · MLM + w_con · InfoNCE; and the InfoNCE kernel's
 * gradient against finite differences in double.
 *
 * Under mpirun -np 2 (tests/mpi/test_objectives.sh) it checks the gather
 * instead: each rank runs half the batch (a pair of views split between the
 * ranks), gathers the embeddings, takes the gradient of its own rows, and the
 * summed parameter gradients equal the fixture's; rank 0 prints one line.
 */
#include "tests/lib/check.h"

#include "kernels/kernels.h"
#include "kernels/kernels_f64.h"
#include "kernels/rng.h"
#include "mpi/comm.h"
#include "src/config/config.h"
#include "src/model/model.h"

#include "tests/lib/h5fixture.h"

#include <hdf5.h>
#include <string.h>

static const char *FIX = "tests/fixtures/contrastive_ref.h5";
static const char *VARIANTS[] = {"post_mean_cos", "pre_cls_dot", "post_cls_cos_alone"};

typedef struct {
    Model m;
    int B, T, pool, cosine;
    double tau, wm, wc, mlm_ref, con_ref;
    int32_t *tok, *lab;
    uint8_t *mask;
    float *emb_ref;
} Variant;

static void load(hid_t f, const char *name, Variant *v, int ranks) {
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    char s[32];
    ModelConfig c;
    memset(&c, 0, sizeof c);
    c.arch = ARCH_ENCODER;
    c.gelu = K_GELU_ERF, c.tied = 1, c.positions = POS_ABSOLUTE, c.init = INIT_NORMAL;
    fixture_model_shape(g, &c);
    v->B = attr_long(g, "B"), v->T = attr_long(g, "T");
    attr_str(g, "pool", s, sizeof s);
    v->pool = !strcmp(s, "cls") ? MODEL_POOL_CLS : MODEL_POOL_MEAN;
    attr_str(g, "similarity", s, sizeof s);
    v->cosine = !strcmp(s, "cosine");
    v->tau = attr_double(g, "tau"), v->wm = attr_double(g, "w_mlm"),
    v->wc = attr_double(g, "w_con");
    model_layout(&v->m, &c, ranks, 16);
    model_alloc_params(&v->m);
    model_alloc_acts(&v->m, v->B, v->T, 0, 1, 0);
    char nm[160];
    for (int i = 0; i < v->m.nviews; i++) {
        snprintf(nm, sizeof nm, "params/%s", v->m.view[i].name);
        read_ds(g, nm, H5T_NATIVE_FLOAT, model_param(&v->m, &v->m.view[i]));
    }
    int N = v->B * v->T;
    v->tok = malloc(N * 4), v->lab = malloc(N * 4), v->mask = malloc(N);
    v->emb_ref = malloc((size_t)v->B * c.width * 4);
    read_ds(g, "tokens", H5T_NATIVE_INT32, v->tok);
    read_ds(g, "labels", H5T_NATIVE_INT32, v->lab);
    read_ds(g, "attn_mask", H5T_NATIVE_UINT8, v->mask);
    read_ds(g, "embeddings", H5T_NATIVE_FLOAT, v->emb_ref);
    read_ds(g, "mlm_loss", H5T_NATIVE_DOUBLE, &v->mlm_ref);
    read_ds(g, "con_loss", H5T_NATIVE_DOUBLE, &v->con_ref);
    H5Gclose(g);
}

static void unload(Variant *v) {
    model_free(&v->m);
    free(v->tok), free(v->lab), free(v->mask), free(v->emb_ref);
}

/* The worst gradient error against group `name`'s (h5fixture.h) */
static double grad_err(hid_t f, const char *name, const Model *m, const char **worst_name) {
    hid_t g = H5Gopen2(f, name, H5P_DEFAULT);
    double worst = fixture_grad_err(g, m, worst_name);
    H5Gclose(g);
    return worst;
}

static void variant(hid_t f, const char *name) {
    Variant v;
    load(f, name, &v, 3);
    int C = v.m.c.width;
    Batch b = {v.B, v.T, v.tok, v.lab, NULL, v.mask, NULL, 0, 0};
    double sum = model_forward(&v.m, &b);
    double mlm = v.m.n_labels ? sum / v.m.n_labels : 0;
    float *e = malloc((size_t)v.B * C * 4), *de = malloc((size_t)v.B * C * 4);
    model_seq_embed(&v.m, &b, v.pool, e);
    double con = k_infonce(e, v.B, C, v.tau, v.cosine, v.wc, 0, v.B, de);
    char tn[128];
    snprintf(tn, sizeof tn, "%s: MLM loss, embeddings and InfoNCE loss", name);
    double ee = rel_err_f(e, v.emb_ref, (size_t)v.B * C);
    double me = v.mlm_ref > 0 ? fabs(mlm - v.mlm_ref) / v.mlm_ref : fabs(mlm);
    double ce = fabs(con - v.con_ref) / v.con_ref;
    check(me < 1e-5 && ee < 1e-5 && ce < 1e-5, tn,
          "mlm %.2e, embeddings %.2e, infonce %.8f vs %.8f (%.2e)", me, ee, con, v.con_ref, ce);
    model_zero_grads(&v.m);
    model_backward_pooled(&v.m, &b, v.m.n_labels ? v.wm / v.m.n_labels : 0, v.pool, de);
    const char *wn = "";
    double ge = grad_err(f, name, &v.m, &wn);
    snprintf(tn, sizeof tn, "%s: every parameter gradient", name);
    check(ge < 1e-5, tn, "worst rel err %.2e (%s)", ge, wn);
    free(e), free(de);
    unload(&v);
}

/* The kernel's gradient against central differences, in double. */
static void finite_differences(int cosine) {
    int n = 6, C = 5;
    double E[30], dE[30], eps = 1e-6, worst = 0;
    for (int i = 0; i < n * C; i++) E[i] = k_rng_normal(7, i);
    double tau = cosine ? 0.3 : 2.0;
    k_infonce_f64(E, n, C, tau, cosine, 1.0, 0, n, dE);
    for (int i = 0; i < n * C; i++) {
        double x = E[i];
        E[i] = x + eps;
        double lp = k_infonce_f64(E, n, C, tau, cosine, 1.0, 0, 0, NULL);
        E[i] = x - eps;
        double lm = k_infonce_f64(E, n, C, tau, cosine, 1.0, 0, 0, NULL);
        E[i] = x;
        double fd = (lp - lm) / (2 * eps), d = fabs(fd - dE[i]) / fmax(fabs(fd), 1e-3);
        worst = d > worst ? d : worst;
    }
    /* rows [2, 5) alone equal the same rows of the whole */
    double part[15];
    k_infonce_f64(E, n, C, tau, cosine, 1.0, 2, 5, part);
    int same = !memcmp(part, dE + 2 * C, sizeof part);
    check(worst < 1e-7 && same,
          cosine ? "InfoNCE gradient (cosine) against finite differences in double"
                 : "InfoNCE gradient (dot) against finite differences in double",
          "worst rel err %.2e, row slice %s", worst, same ? "equal" : "differs");
}

/* Two ranks: half the batch each, embeddings gathered (comm), own rows'
 * gradient, parameter gradients summed. */
static int two_ranks(hid_t f, const char *name, char *msg, size_t n) {
    int r = comm_rank(), R = comm_size();
    Variant v;
    load(f, name, &v, R);
    int C = v.m.c.width, per = v.B / R, T = v.T;
    Batch b = {per,
               T,
               v.tok + (size_t)r * per * T,
               v.lab + (size_t)r * per * T,
               NULL,
               v.mask + (size_t)r * per * T,
               NULL,
               0,
               0};
    double sum = model_forward(&v.m, &b), cnt[2] = {sum, (double)v.m.n_labels};
    comm_allreduce_f64(cnt, 2, "test labels", 0);
    float *e = malloc((size_t)v.B * C * 4), *de = malloc((size_t)per * C * 4);
    model_seq_embed(&v.m, &b, v.pool, e + (size_t)r * per * C);
    comm_wait(comm_iallgather_f32(NULL, e, (size_t)per * C, "test embeddings", 0));
    double con = k_infonce(e, v.B, C, v.tau, v.cosine, v.wc, r * per, (r + 1) * per, de);
    model_zero_grads(&v.m);
    model_backward_pooled(&v.m, &b, cnt[1] ? v.wm / cnt[1] : 0, v.pool, de);
    for (int u = 0; u < v.m.nunits; u++)
        comm_allreduce_f32(v.m.unit[u].grads, v.m.unit[u].padded, "test gradients", 0);
    const char *wn = "";
    double ge = grad_err(f, name, &v.m, &wn), ce = fabs(con - v.con_ref) / v.con_ref;
    double mlm = cnt[1] ? cnt[0] / cnt[1] : 0;
    double me = v.mlm_ref > 0 ? fabs(mlm - v.mlm_ref) / v.mlm_ref : fabs(mlm);
    snprintf(msg, n, "%s: %d ranks x %d views: mlm %.2e, infonce %.2e, gradients %.2e (%s)", name,
             R, per, me, ce, ge, wn);
    free(e), free(de);
    unload(&v);
    return me < 1e-5 && ce < 1e-5 && ge < 1e-5;
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    hid_t f = H5Fopen(FIX, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (comm_size() > 1) { /* the gather check (tests/mpi/test_objectives.sh) */
        char msg[2][512];
        int good = f >= 0 && two_ranks(f, VARIANTS[0], msg[0], sizeof msg[0]) &&
                   two_ranks(f, VARIANTS[2], msg[1], sizeof msg[1]);
        good = !comm_any(!good, "test verdict");
        if (comm_rank() == 0)
            printf("%s - contrastive loss and gradients through the cross-rank gather equal "
                   "PyTorch's # %s; %s\n",
                   good ? "ok" : "not ok", msg[0], msg[1]);
        if (f >= 0) H5Fclose(f);
        comm_finalize();
        return 0;
    }
    check_plan(8);
    if (f < 0) {
        printf("not ok - open %s\n", FIX);
        return 1;
    }
    for (size_t i = 0; i < sizeof VARIANTS / sizeof *VARIANTS; i++) variant(f, VARIANTS[i]);
    finite_differences(1);
    finite_differences(0);
    H5Fclose(f);
    comm_finalize();
    return check_exit();
}
