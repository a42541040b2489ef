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

int main(void) {
    check_plan(7);
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
    const char *names[] = {"ok.safetensors", "h.safetensors",   "b.safetensors",
                           "i8.safetensors", "len.safetensors", "json.safetensors"};
    for (int k = 0; k < 6; k++) remove(check_path(names[k]));
    rmdir(check_dir);
    return check_exit();
}
