# tests/cli/lib.sh — helpers for the shell tests: ok/not ok lines and the
# "one clear line, non-zero exit" check for bad input.
ZEROPT=${ZEROPT:-build/zeropt}
# Debian's python3 has h5py and numpy (make deps); a pyenv python on PATH may not
PY=${PY:-/usr/bin/python3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }

# expect_error NAME PATTERN... -- COMMAND...: non-zero exit, exactly one line
# on stderr, and that line matches every PATTERN (fixed strings).
expect_error() {
    local name=$1; shift
    local pats=()
    while [ "$1" != "--" ]; do pats+=("$1"); shift; done
    shift
    local err="$TMP/err" rc
    timeout -k 5 60 "$@" >"$TMP/out" 2>"$err"
    rc=$?
    local lines; lines=$(wc -l <"$err")
    if [ "$rc" -eq 0 ]; then notok "$name: exit 0 (expected an error)"; return; fi
    if [ "$rc" -ge 124 ]; then notok "$name: exit $rc (timeout or signal)"; return; fi
    if [ "$lines" -ne 1 ]; then notok "$name: $lines lines on stderr: $(head -c 300 "$err" | tr '\n' '|')"; return; fi
    for p in "${pats[@]}"; do
        if ! grep -qF -- "$p" "$err"; then notok "$name: '$p' not in: $(cat "$err")"; return; fi
    done
    ok "$name  # $(cat "$err")"
}
