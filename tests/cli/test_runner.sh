#!/usr/bin/env bash
# The test runner cannot be fooled: tests/run.sh runs a tree of made-up tests
# and must count a test that ran fewer checks than it planned, one without a
# plan, an embedded Python block that raises, a silent non-zero exit and a
# skip that CI does not allow as failures; an allowed skip as a skip; and end
# with the totals line, the failed checks recapped just above it (a log's tail
# names what failed); a test that runs past TEST_TIMEOUT is stopped, with its
# processes, and the recap names its last check and the command that hung.
. "$(dirname "$0")/../lib/lib.sh"
plan 10
ROOT=$PWD
tree="$TMP/tree"
mkdir -p "$tree/tests/cli" "$tree/build/tests"
cp -r "$ROOT/tests/lib" "$tree/tests/lib"
fake() { # name body: a test script in the made-up tree
    { echo '. "$(dirname "$0")/../lib/lib.sh"'; printf '%s\n' "$2"; } >"$tree/tests/cli/test_$1.sh"
}
fake good 'plan 2; ok "one"; ok "two"'
fake short 'plan 3; ok "one"; ok "two"'
fake noplan 'ok "one"'
fake raises 'plan 2; ok "one"
py "block" <<PY
print("ok - from python")
raise ValueError("boom")
PY'
fake silent 'plan 1; ok "one"; exit 3'
fake skipgpu 'plan 1; skip "kernel on the device" "no GPU on this machine"'
fake skipother 'plan 1; skip "slurm run" "slurmctld missing"'
fake hangs 'plan 2; ok "before the hang"; bash -c "sleep 77; :"; ok "never"'
out=$(cd "$tree" && CI=true TEST_TIMEOUT=3 ZEROPT_ALLOW_SKIP="no GPU" BUILD=build bash "$ROOT/tests/run.sh" 2>&1)
rc=$?
row() { grep -E "^test_$1 +" <<<"$out" | sed 's/  */ /g'; }
# (the seconds are the machine's: 1 s under the sanitizers on a busy host)
[[ "$(row good)" =~ ^"test_good 2 passed 0 failed 0 skipped "[0-9]+s$ ]] && ok "a test that ran its plan passes  # $(row good)" ||
    notok "good: '$(row good)'"
grep -q "test_short: planned 3 checks, reported 2" <<<"$out" && [[ "$(row short)" == *" 1 failed "* ]] &&
    ok "fewer checks than planned: a failure  # $(row short)" || notok "short: $out"
grep -q "test_noplan: no plan (1..N) printed" <<<"$out" && ok "no plan: a failure" || notok "noplan: $out"
grep -q "block: embedded Python exited 1: ValueError: boom" <<<"$out" && [[ "$(row raises)" == *" 2 failed "* ]] &&
    ok "an embedded Python block that raises: a failure, and its plan comes up short  # $(row raises)" ||
    notok "raises: $out"
grep -q "test_silent: exited 3 without reporting a failure" <<<"$out" && ok "a silent non-zero exit: a failure" ||
    notok "silent: $out"
[[ "$(row skipgpu)" == "test_skipgpu 0 passed 0 failed 1 skipped"* ]] &&
    ok "a skip CI allows (ZEROPT_ALLOW_SKIP='no GPU') counts as a skip" || notok "skipgpu: '$(row skipgpu)'"
grep -q "not allowed under CI" <<<"$out" && [[ "$(row skipother)" == *" 1 failed "* ]] &&
    ok "a skip CI does not allow: a failure" || notok "skipother: '$(row skipother)'"
last=$(tail -n 1 <<<"$out")
[ "$last" = "9 passed, 7 failed, 1 skipped" ] && [ $rc -ne 0 ] &&
    ok "the last line totals them and the run fails  # $last, exit $rc" || notok "totals: '$last', exit $rc"
recap=$(sed -n '/^failed checks:$/,$p' <<<"$out")
for t in short noplan raises silent skipother hangs; do grep -q "^  \[test_$t\]" <<<"$recap" || recap_bad+=" $t"; done
[ -z "${recap_bad:-}" ] && ! grep -q "test_good\|test_skipgpu" <<<"$recap" &&
    ok "the failed checks are recapped just above the totals line, and only they  # $(wc -l <<<"$recap") lines" ||
    notok "recap (missing:${recap_bad:-}): $recap"
hang=$(grep '^  \[test_hangs\]' <<<"$recap")
[[ "$hang" == *"ran past 3 s: after 'ok - before the hang'"*"sleep 77"* ]] && [[ "$(row hangs)" == *" 1 passed 1 failed "* ]] &&
    ! pgrep -f "sleep 77" >/dev/null &&
    ok "a test past its time limit: stopped with its processes, the recap names its last check and what hung  # $(cut -c1-160 <<<"$hang")" ||
    notok "hangs: '$hang' row '$(row hangs)'; left running: $(pgrep -af 'sleep 77')"
