#!/usr/bin/env bash
# Bad input to zeropt prep, case by case: invalid UTF-8 (repaired, counted),
# NUL bytes (kept as text, or dropped with the control characters by
# --clean), a 200 MB line in text and in JSONL (cut at --max-line, counted,
# the documents after it kept), malformed JSON lines of every kind (counted,
# skipped), empty files (counted; only empty files: one line, nothing
# written), a directory or a missing file given as input (one line, nothing
# written), an unreadable file (one line). Counts come from --stats JSON. Truncated gzip is in
# test_tokenizer_cmd.sh; fuzzing of the same readers in test_fuzz.sh.
. "$(dirname "$0")/../lib/lib.sh"
plan 10
TOK=tests/fixtures/hf_tok_gpt2.json
prep() { timeout -k 5 120 "$ZEROPT" prep --tokenizer "$TOK" --val-fraction 0 "$@"; }
stat() { $PY -c "import json, sys; s = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

printf 'good one\n%%\nbad \xff\xfe bytes and a lone \xe2\x82\n%%\nan overlong \xc0\xaf slash\n%%\n' >"$TMP/u.txt"
prep --input "$TMP/u.txt" --separator % --output "$TMP/u.h5" --stats "$TMP/u.json" >/dev/null 2>&1 &&
    [ "$(stat "$TMP/u.json" 's["read"]["invalid_utf8_documents"], s["written"]["documents"]')" = "(2, 3)" ] &&
    $PY -c "import h5py, sys, json; t = json.load(open(sys.argv[2])); f = h5py.File(sys.argv[1]); sys.exit(len(f['tokens']) == 0)" "$TMP/u.h5" "$TOK" &&
    ok "invalid UTF-8: 2 documents repaired (U+FFFD), counted, all 3 kept" || notok "invalid UTF-8: $(cat "$TMP/u.json" 2>/dev/null | tr -d '\n ' | cut -c1-200)"

printf 'a\0b NUL inside\n%%\n\0\0\0\n%%\nplain\n%%\n' >"$TMP/n.txt"
prep --input "$TMP/n.txt" --separator % --output "$TMP/n.h5" --stats "$TMP/n.json" >/dev/null 2>&1 &&
    prep --input "$TMP/n.txt" --separator % --clean --clean-rule min_words=1 --clean-rule min_stop_words=0 --clean-rule min_alpha_words=0 --clean-rule min_mean_word=0 \
        --output "$TMP/nc.h5" --stats "$TMP/nc.json" >/dev/null 2>&1 &&
    [ "$(stat "$TMP/n.json" 's["written"]["documents"]')" = 3 ] &&
    [ "$(stat "$TMP/nc.json" 's["written"]["documents"]')" = 2 ] &&
    ok "NUL bytes: kept as text (3 documents); --clean drops them with the control characters (the NUL-only document goes)" ||
    notok "NUL bytes: $(stat "$TMP/n.json" 's["written"]' 2>&1) / $(stat "$TMP/nc.json" 's["written"], s["dropped"]' 2>&1)"

# a 200 MB line: plain text, then JSONL
$PY - "$TMP" <<'PY' || bail "writing the 200 MB lines failed"
import sys, json
d = sys.argv[1]
line = "words and more words " * (10 << 20)  # 210 MB, one line
with open(f"{d}/big.txt", "w") as f: f.write("before\n%\n" + line + "\n%\nafter\n")
with open(f"{d}/big.jsonl", "w") as f:
    f.write(json.dumps({"text": "before"}) + "\n" + json.dumps({"text": line}) + "\n" + json.dumps({"text": "after"}) + "\n")
PY
t0=$(date +%s)
prep --input "$TMP/big.txt" --separator % --output "$TMP/b.h5" --stats "$TMP/b.json" >/dev/null 2>&1 &&
    [ "$(stat "$TMP/b.json" 's["read"]["long_lines_cut"], s["written"]["documents"], s["read"]["bytes"] < 2 << 20')" = "(1, 3, True)" ] &&
    ok "a 210 MB text line: cut at 1 MiB (--max-line), counted, the documents around it kept  # $(( $(date +%s) - t0 )) s" ||
    notok "210 MB text line: $(tr -d '\n ' <"$TMP/b.json" 2>/dev/null | cut -c1-300)"
t0=$(date +%s)
prep --format jsonl --input "$TMP/big.jsonl" --max-line 65536 --output "$TMP/j.h5" --stats "$TMP/j.json" >/dev/null 2>&1 &&
    [ "$(stat "$TMP/j.json" 's["read"]["long_lines_cut"], s["written"]["documents"], s["read"]["bytes"] < 70000')" = "(1, 3, True)" ] &&
    ok "a 210 MB JSONL line: parsed, its text cut at --max-line 64 KiB, counted, the others kept  # $(( $(date +%s) - t0 )) s" ||
    notok "210 MB JSONL line: $(tr -d '\n ' <"$TMP/j.json" 2>/dev/null | cut -c1-300)"
rm -f "$TMP/big.txt" "$TMP/big.jsonl"

cat >"$TMP/m.jsonl" <<'J'
{"text": "kept one"}
{"text": 3}
not json at all
{"text": "unterminated
[1, 2, 3]
{"id": 7}
{"text": "kept two", "id": 2}

{"text": null}
"just a string"
{"text": "kept three"} trailing
J
prep --format jsonl --input "$TMP/m.jsonl" --output "$TMP/m.h5" --stats "$TMP/m.json" >/dev/null 2>&1 &&
    [ "$(stat "$TMP/m.json" 's["read"]["bad_json_lines"], s["written"]["documents"]')" = "(8, 2)" ] &&
    ok "malformed JSON: 8 bad lines counted and skipped (wrong types, syntax, trailing text), the blank line ignored, 2 kept" ||
    notok "malformed JSON: $(stat "$TMP/m.json" 's["read"], s["written"]["documents"]' 2>&1)"

: >"$TMP/e1.txt"
: >"$TMP/e2.txt"
prep --input "$TMP/e1.txt" --input "$TMP/u.txt" --input "$TMP/e2.txt" --separator % --output "$TMP/e.h5" --stats "$TMP/e.json" >/dev/null 2>&1 &&
    [ "$(stat "$TMP/e.json" 's["read"]["empty_files"], s["written"]["documents"]')" = "(2, 3)" ] &&
    ok "empty files: counted (2), the other input's documents kept" || notok "empty files: $(cat "$TMP/e.json" 2>&1 | head -c 300)"
expect_error "only empty files" "no document to write" -- "$ZEROPT" prep --tokenizer "$TOK" --input "$TMP/e1.txt" --input "$TMP/e2.txt" --output "$TMP/none.h5"
mkdir -p "$TMP/adir"
expect_error "a directory as input" "adir: it is a directory" -- "$ZEROPT" prep --tokenizer "$TOK" --input "$TMP/u.txt" --input "$TMP/adir" --output "$TMP/none.h5"
expect_error "a missing input" "cannot open" "missing.txt" -- "$ZEROPT" prep --tokenizer "$TOK" --input "$TMP/missing.txt" --output "$TMP/none.h5"
# an unreadable file: mode 000 (as root, which reads anything, the check runs as nobody)
printf 'secret\n' >"$TMP/locked.txt" && chmod 000 "$TMP/locked.txt" && chmod 755 "$TMP"
as=()
[ "$(id -u)" = 0 ] && as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
if [ "$(id -u)" = 0 ] && ! command -v setpriv >/dev/null; then
    skip "an unreadable input" "running as root without setpriv to drop privileges"
else
    expect_error "an unreadable input (mode 000)" "cannot open" "locked.txt: Permission denied" -- \
        "${as[@]}" "$ZEROPT" prep --tokenizer "$TOK" --input "$TMP/locked.txt" --output "$TMP/none.h5"
fi
