/*
 * test_classifier.c — the quality classifier in one process: a model trained
 * here predicts the same labels and probabilities before it is saved and
 * after it is read back, bit for bit, and its softmax probabilities over
 * all labels sum to 1. (Parity with the fasttext
 * package itself: tests/cli/test_quality.sh.)
 */
#include "tests/lib/check.h"

#include "src/prep/quality.h"

#include <stdio.h>
#include <string.h>

static const char *TRAIN = "/tmp/zeropt_test_quality.txt", *BIN = "/tmp/zeropt_test_quality.bin";

int main(void) {
    check_plan(2);
    FILE *f = fopen(TRAIN, "w");
    const char *topics[3][4] = {{"cats", "purr", "whiskers", "meow"},
                                {"rockets", "orbit", "thrust", "launch"},
                                {"bread", "flour", "oven", "yeast"}};
    for (int i = 0; i < 300; i++) {
        int t = i % 3;
        fprintf(f, "__label__t%d", t);
        for (int w = 0; w < 6; w++) fprintf(f, " %s", topics[t][(i * 7 + w * 3) % 4]);
        fprintf(f, " common words here\n");
    }
    fclose(f);
    QcArgs a;
    qc_default_args(&a);
    a.dim = 16, a.epoch = 5, a.word_ngrams = 2, a.bucket = 1000, a.minn = 2, a.maxn = 4;
    char err[512];
    Qc *q = qc_train(TRAIN, &a, err, sizeof err);
    if (!q) {
        check(0, "train", "%s", err);
        return check_exit();
    }
    const char *texts[] = {"the cats purr", "a rocket launch into orbit",
                           "fresh bread from the oven", "unknown words only", ""};
    int lab1[3], lab2[3];
    double p1[3], p2[3], sum = 0;
    int n1[5], n2[5], same = 1;
    n1[0] = qc_predict(q, texts[0], strlen(texts[0]), 3, 0, lab1, p1);
    for (int j = 0; j < n1[0]; j++) sum += p1[j] - 1e-5; /* (fastText reports p + 1e-5) */
    int right = qc_predict(q, texts[0], strlen(texts[0]), 1, 0, lab1, p1) == 1 &&
                !strcmp(qc_label(q, lab1[0], 0), "t0") &&
                qc_predict(q, texts[1], strlen(texts[1]), 1, 0, lab1, p1) == 1 &&
                !strcmp(qc_label(q, lab1[0], 0), "t1");
    check(right && sum > 0.9999 && sum < 1.0001,
          "a trained model: the right topics, softmax probabilities summing to 1", "sum %.6f", sum);
    int saved = qc_save(q, BIN, err, sizeof err);
    Qc *r = saved ? NULL : qc_load(BIN, err, sizeof err);
    for (int i = 0; r && i < 5; i++) {
        n1[i] = qc_predict(q, texts[i], strlen(texts[i]), 3, 0, lab1, p1);
        n2[i] = qc_predict(r, texts[i], strlen(texts[i]), 3, 0, lab2, p2);
        same &= n1[i] == n2[i] && !memcmp(lab1, lab2, n1[i] * sizeof *lab1) &&
                !memcmp(p1, p2, n1[i] * sizeof *p1);
    }
    check(r && same, "saved and read back: the same predictions, bit for bit", "%s", r ? "" : err);
    qc_free(q), qc_free(r);
    remove(TRAIN), remove(BIN);
    return check_exit();
}
