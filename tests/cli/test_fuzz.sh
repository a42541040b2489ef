#!/usr/bin/env bash
# libFuzzer over the text readers and tokenizers (tests/fuzz/fuzz_text.c):
# the document readers (separator, blank-line, JSONL; gzip whole and cut
# short; byte ranges that must tile a file exactly), the BPE and WordPiece
# tokenizers and the tokenizer.json reader, the cleaning rules, dedup and
# the quality classifier, under AddressSanitizer and UBSan for a bounded
# time (FUZZ_SECONDS, 15 by default) from the committed seeds. A crash, a
# leak, undefined behaviour, a broken property or a timeout fails, with the
# input's path. In the sanitizer pass of the suite (SAN=1) the target, which
# carries its own sanitizers, replays the seeds only. Skipped, visibly, where
# clang has no libFuzzer.
. "$(dirname "$0")/../lib/lib.sh"
plan 2
if ! command -v clang >/dev/null || ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
    clang -x c -fsanitize=fuzzer - -o "$TMP/probe" 2>/dev/null; then
    skip "fuzz target builds" "clang with libFuzzer is not installed (make deps installs clang libclang-rt-dev)"
    skip "fuzzing finds nothing" "no libFuzzer"
    exit 0
fi
make -s build-fuzz/fuzz_text >"$TMP/build.log" 2>&1 && ok "fuzz target builds (clang, libFuzzer, ASan, UBSan)" ||
    bail "make build-fuzz/fuzz_text: $(grep -m1 -i error "$TMP/build.log")"
mkdir -p "$TMP/corpus"
secs=${FUZZ_SECONDS:-15}
[ "${SAN:-}" = 1 ] && [ -z "${FUZZ_SECONDS:-}" ] && secs=0
(cd "$TMP" && FUZZ_FIXTURES="$OLDPWD/tests/fixtures" timeout -k 5 $((secs + 60)) "$OLDPWD/build-fuzz/fuzz_text" -max_total_time="$secs" -rss_limit_mb=2048 \
    $([ "$secs" = 0 ] && echo -runs=0) -timeout=10 -print_final_stats=1 -artifact_prefix="$TMP/" "$TMP/corpus" "$OLDPWD/tests/fuzz/seeds" \
    >"$TMP/fuzz.log" 2>&1)
rc=$?
runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$TMP/fuzz.log" | grep -o '[0-9]*$')
nseeds=$(ls tests/fuzz/seeds | wc -l)
if [ $rc -eq 0 ] && [ "$secs" = 0 ] && [ "${runs:-0}" -ge "$nseeds" ]; then
    ok "the fuzz seeds replay clean (SAN=1 pass: no fuzzing time)  # $runs inputs"
elif [ $rc -eq 0 ] && [ "${runs:-0}" -gt 1000 ]; then
    ok "fuzzing the readers and tokenizers for $secs s finds nothing  # $runs inputs"
else
    art=$(ls "$TMP"/crash-* "$TMP"/leak-* "$TMP"/timeout-* "$TMP"/oom-* 2>/dev/null | head -1)
    [ -n "$art" ] && mkdir -p build-fuzz && cp "$art" build-fuzz/ && art="build-fuzz/$(basename "$art")"
    notok "fuzzing: exit $rc after ${runs:-?} inputs; $(grep -m1 -E 'ERROR|SUMMARY|Sanitizer' "$TMP/fuzz.log") ${art:+(input kept: $art)}"
fi
