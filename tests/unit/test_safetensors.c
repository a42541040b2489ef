/*
 * test_safetensors.c — io/safetensors.c: F32 tensors written and read back
 * bit for bit with their names, shapes and metadata; F16 and BF16 files
 * (written here byte by byte, as torch saves them) read as float; files
 * that are not safetensors refused with a message.
 */
#include "tests/lib/check.h"

#include "io/safetensors.h"

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A file with one tensor of 2-byte elements: 8-byte header length, JSON, data. */
static const char *write_half(const char *name, const char *dtype, const uint16_t *v, int n) {
    char hdr[256];
    int h = snprintf(hdr, sizeof hdr,
                     "{\"t\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[0,%d]}}", dtype, n,
                     2 * n);
    const char *p = check_path(name);
    FILE *f = fopen(p, "wb");
    uint64_t len = (uint64_t)h;
    fwrite(&len, 8, 1, f);
    fwrite(hdr, 1, (size_t)h, f);
    fwrite(v, 2, (size_t)n, f);
    fclose(f);
    return p;
}

/* A file from a header text and n data bytes (zeros). */
static const char *write_raw(const char *name, const char *hdr, size_t n) {
    const char *p = check_path(name);
    FILE *f = fopen(p, "wb");
    uint64_t len = strlen(hdr);
    fwrite(&len, 8, 1, f);
    fwrite(hdr, 1, len, f);
    for (size_t i = 0; i < n; i++) fputc(0, f);
    fclose(f);
    return p;
}

/* Open p and read every tensor: 1 when all read, 0 when refused with a line
 * naming the file, −1 when refused without one. */
static int open_all(const char *p, char *err, size_t n) {
    err[0] = 0;
    StFile *f = st_open(p, err, n);
    if (!f) return strstr(err, p) ? 0 : -1;
    int good = 1;
    for (int i = 0; i < st_count(f) && good; i++) {
        size_t numel;
        int64_t d[4];
        st_shape(f, st_name(f, i), d);
        float *v = st_read(f, st_name(f, i), &numel, err, n);
        if (!v) good = strstr(err, p) ? 0 : -1;
        free(v);
    }
    st_close(f);
    return good;
}

/* Headers that lie, then mutated copies of a valid file for a bounded time:
 * each is read or refused with a line, never a crash (run under ASan/UBSan
 * by make SAN=1 test) or an allocation the file cannot back. */
static void lies_and_fuzz(void) {
    char err[512];
    const char *cases[][3] = {
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", "24",
         "does not match its shape"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[268435456],\"data_offsets\":[0,1073741824]}}", "16",
         "past the end"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[4,0]}}", "8",
         "malformed entry"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", "8",
         "malformed data_offsets"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}",
         "0", "malformed entry"},
        {"{\"t\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[0,24]}}", "20",
         "truncated data"}};
    int bad = 0;
    char why[1024] = "";
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *p = write_raw("lie.safetensors", cases[k][0], (size_t)atoi(cases[k][1]));
        int r = open_all(p, err, sizeof err);
        if (r != 0 || !strstr(err, cases[k][2])) {
            bad++;
            snprintf(why, sizeof why, "case %zu: %s", k, r ? "not refused" : err);
        }
    }
    check(!bad, "headers that lie about sizes, offsets or shapes: refused, one line each", "%s",
          bad ? why : "6 cases");
    /* a valid three-tensor file, then byte mutations of its header and
     * truncations anywhere */
    float a[12], b[5];
    for (int i = 0; i < 12; i++) a[i] = (float)i;
    for (int i = 0; i < 5; i++) b[i] = -(float)i;
    StTensor t[3] = {{"bert.w", 2, {3, 4}, a}, {"bert.b", 1, {5}, b}, {"h", 1, {2}, b}};
    const char *meta[] = {"format", "pt"};
    const char *base = check_path("base.safetensors");
    if (st_write(base, t, 3, meta, 1, 0, err, sizeof err)) return;
    FILE *f = fopen(base, "rb");
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint64_t hl;
    memcpy(&hl, buf, 8);
    const char alpha[] = "0123456789-+.eE,:[]{}\"\\ FBI32x";
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    int opened = 0, refused = 0, silent = 0, iters = 0;
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    const char *p = check_path("fuzz.safetensors");
    for (; iters < 20000 && (double)clock() / CLOCKS_PER_SEC - t0 < 3.0; iters++) {
        unsigned char m[4096];
        memcpy(m, buf, n);
        size_t len = n;
        int edits = 1 + (int)((rng = rng * 6364136223846793005ull + 1442695040888963407ull) >> 62);
        for (int e = 0; e < edits; e++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t at = 8 + (size_t)((rng >> 33) % hl);
            m[at] = (unsigned char)alpha[(rng >> 20) % (sizeof alpha - 1)];
        }
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        if ((rng >> 40) % 8 == 0) len = (size_t)((rng >> 8) % n); /* truncated */
        if ((rng >> 50) % 16 == 0) m[(rng >> 3) % 8] ^= (unsigned char)(1 + (rng >> 56) % 255);
        FILE *o = fopen(p, "wb");
        fwrite(m, 1, len, o);
        fclose(o);
        int r = open_all(p, err, sizeof err);
        opened += r == 1, refused += r == 0, silent += r < 0;
    }
    check(!silent && opened + refused == iters && iters >= 1000,
          "fuzzed safetensors (header bytes mutated, files truncated): read or refused with a line",
          "%d files: %d read, %d refused, %d refused without a line", iters, opened, refused,
          silent);
}

int main(void) {
    check_plan(9);
    if (!check_tmpdir()) {
        printf("not ok - mkdtemp\n");
        return 1;
    }
    char err[512] = "";
    float a[6] = {1, -2.5f, 3e-8f, 0, 1e30f, -0.0f}, b[4] = {7, 8, 9, 10};
    StTensor t[2] = {{"layer.0.weight", 2, {2, 3}, a}, {"bias", 1, {4}, b}};
    const char *meta[] = {"format", "pt"};
    const char *p = check_path("ok.safetensors");
    int rc = st_write(p, t, 2, meta, 1, 0, err, sizeof err);
    StFile *f = rc ? NULL : st_open(p, err, sizeof err);
    int64_t d[4] = {0};
    size_t n = 0;
    float *ra = f ? st_read(f, "layer.0.weight", &n, err, sizeof err) : NULL;
    check(f && st_count(f) == 2 && st_shape(f, "layer.0.weight", d) == 2 && d[0] == 2 &&
              d[1] == 3 && ra && n == 6 && !memcmp(ra, a, sizeof a),
          "F32 round trip: names, shapes, values bit for bit", "%s", err);
    float *rb = f ? st_read(f, "bias", &n, err, sizeof err) : NULL;
    check(rb && n == 4 && !memcmp(rb, b, sizeof b) && st_shape(f, "nope", d) < 0 &&
              !st_read(f, "nope", &n, err, sizeof err) && strstr(err, "missing tensor nope"),
          "a second tensor; an absent name is refused", "%s", err);
    free(ra), free(rb);
    st_close(f);

    /* 1.0, -2.0, 0.5 and the smallest normal, as F16 and as BF16 */
    uint16_t h16[4] = {0x3C00, 0xC000, 0x3800, 0x0400}, b16[4] = {0x3F80, 0xC000, 0x3F00, 0x0080};
    const float hw[4] = {1, -2, 0.5f, 6.103515625e-05f}, bw[4] = {1, -2, 0.5f, 1.17549435e-38f};
    StFile *h = st_open(write_half("h.safetensors", "F16", h16, 4), err, sizeof err);
    float *hv = h ? st_read(h, "t", &n, err, sizeof err) : NULL;
    check(hv && n == 4 && !memcmp(hv, hw, sizeof hw), "F16 read as float", "%s", hv ? "" : err);
    free(hv), st_close(h);
    StFile *bf = st_open(write_half("b.safetensors", "BF16", b16, 4), err, sizeof err);
    float *bv = bf ? st_read(bf, "t", &n, err, sizeof err) : NULL;
    check(bv && n == 4 && !memcmp(bv, bw, sizeof bw), "BF16 read as float", "%s", bv ? "" : err);
    free(bv), st_close(bf);

    StFile *i8 = st_open(write_half("i8.safetensors", "I16", h16, 4), err, sizeof err);
    check(i8 && !st_read(i8, "t", &n, err, sizeof err) && strstr(err, "dtype I16"),
          "another dtype is refused by name", "%s", err);
    st_close(i8);

    uint64_t huge = 1ull << 40;
    StFile *x = st_open(check_file("len.safetensors", &huge, 8), err, sizeof err);
    check(!x && strstr(err, "not a safetensors file"), "a header length beyond the file is refused",
          "%s", err);
    const char junk[] = "\x05\0\0\0\0\0\0\0[1,2]";
    StFile *y = st_open(check_file("json.safetensors", junk, sizeof junk - 1), err, sizeof err);
    check(!y && strstr(err, "not a JSON object"), "a header that is not a JSON object is refused",
          "%s", err);
    lies_and_fuzz();
    const char *names[] = {"ok.safetensors",  "h.safetensors",    "b.safetensors",
                           "i8.safetensors",  "len.safetensors",  "json.safetensors",
                           "lie.safetensors", "fuzz.safetensors", "base.safetensors"};
    for (int k = 0; k < 9; k++) remove(check_path(names[k]));
    rmdir(check_dir);
    return check_exit();
}
