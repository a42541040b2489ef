/*
 * test_clean.c — `prep --clean` (src/prep/clean.c): the normalisation (NFKC,
 * control characters, spaces, blank lines) and every document rule with
 * Gopher's values: a clean paragraph passes, and each variant made to break
 * one rule is dropped under that rule; a rule set to 0 is off; bad values
 * and names are refused.
 */
#include "tests/lib/check.h"

#include "src/prep/clean.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 74 words of ordinary prose: it passes every rule */
static const char *PROSE =
    "The river rose slowly through the night, and by morning the old bridge was gone. "
    "Farmers gathered on the hill to watch the water cover their fields, talking quietly "
    "about the harvest that would not come this year. Some of them had seen floods before, "
    "but none remembered one so wide. The mayor arrived at noon with blankets and bread, "
    "and promised that the town would help every family rebuild what the water had taken.";

static int judge(const CleanRules *r, const char *text) {
    char *out;
    size_t n;
    int rule = clean_doc(r, text, strlen(text), &out, &n);
    free(out);
    return rule;
}

static char *repeat(const char *piece, int times, const char *tail) {
    size_t n = strlen(piece) * times + strlen(tail) + 1;
    char *s = malloc(n);
    s[0] = 0;
    for (int i = 0; i < times; i++) strcat(s, piece);
    strcat(s, tail);
    return s;
}

int main(void) {
    check_plan(14);
    CleanRules r;
    clean_default_rules(&r);
    char *out;
    size_t n;
    const char *raw = "\xEF\xAC\x81ne\xC2\xA0\xC2\xA0 text\x01\r\n\n\n\n  next\tline  \n\n";
    clean_doc(&r, raw, strlen(raw), &out, &n);
    check(!strcmp(out, "fine text\n\nnext line"),
          "normalisation: NFKC, control characters out, spaces and blank lines collapsed",
          "got \"%s\"", out);
    free(out);
    check(judge(&r, PROSE) == -1, "a paragraph of prose passes every rule", "rule %s",
          clean_rule_name(judge(&r, PROSE)));

    check(judge(&r, "The river rose and the bridge was gone.") == CLEAN_WORDS,
          "words: too few (Gopher: 50)", NULL);
    char *s = repeat("incomprehensibilities ", 60, "the and");
    check(judge(&r, s) == CLEAN_WORD_LENGTH, "word_length: mean above 10", NULL);
    free(s);
    s = repeat("# ", 12, PROSE);
    check(judge(&r, s) == CLEAN_SYMBOLS, "symbols: 12 '#' in 86 words", NULL);
    free(s);
    s = repeat("and then the water came...\n", 4, PROSE);
    check(judge(&r, s) == CLEAN_ELLIPSIS, "ellipsis: 4 of 5 lines end in ...", NULL);
    free(s);
    s = repeat("- the water rose over the fields and the road\n", 8, "");
    check(judge(&r, s) == CLEAN_BULLETS, "bullets: every line a bullet (checked before repeats)",
          "rule %s", clean_rule_name(judge(&r, s)));
    free(s);
    s = repeat("1999 2000 3.5 42 ", 8, PROSE);
    check(judge(&r, s) == CLEAN_ALPHA, "alpha: 32 of 106 words without a letter", NULL);
    free(s);
    s = repeat("River rises slowly during night; by morning, old bridges vanish. ", 6, "");
    check(judge(&r, s) == CLEAN_STOP_WORDS, "stop_words: none of the eight", "rule %s",
          clean_rule_name(judge(&r, s)));
    free(s);
    s = repeat("the market opens at nine and closes at six\n", 3, "");
    char *t = malloc(strlen(s) + strlen(PROSE) + 2);
    sprintf(t, "%s\n%s", PROSE, s);
    check(judge(&r, t) == CLEAN_DUP_LINES, "dup_lines: 2 of 4 lines repeat an earlier one",
          "rule %s", clean_rule_name(judge(&r, t)));
    free(s), free(t);
    s = repeat("click here now ", 12, PROSE);
    check(judge(&r, s) == CLEAN_TOP_NGRAM, "top_ngram: one 2-gram holds a third of the text",
          "rule %s", clean_rule_name(judge(&r, s)));
    free(s);

    const char *list = "/tmp/zeropt_test_badwords.txt";
    FILE *f = fopen(list, "w");
    fputs("Zebra\nbridge\n", f);
    fclose(f);
    char err[256];
    CleanRules b = r;
    b.bad_words = NULL, b.nbad = 0;
    int loaded = clean_load_bad_words(&b, list, err, sizeof err);
    check(loaded == 0 && judge(&b, PROSE) == CLEAN_BAD_WORDS,
          "bad_words: a listed word, whole and case-folded, drops the document", NULL);
    clean_free_rules(&b);
    remove(list);

    CleanRules off = r;
    int rc = clean_set_rule(&off, "min_words=0", err, sizeof err) ||
             clean_set_rule(&off, "min_stop_words=0", err, sizeof err);
    check(!rc && judge(&off, "The river rose and the bridge was gone.") == -1,
          "a rule set to 0 is off", "%s", rc ? err : "");
    int e1 = clean_set_rule(&off, "min_wrds=3", err, sizeof err) && strstr(err, "unknown rule");
    int e2 = clean_set_rule(&off, "min_words=-1", err, sizeof err) && strstr(err, ">= 0");
    check(e1 && e2, "an unknown rule and a negative value are refused", "%s", err);
    return check_exit();
}
