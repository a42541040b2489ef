#!/usr/bin/env bash
# The layout of DESIGN.md holds: src/ has main.c at its root and every other
# file in a room; includes between folders follow the allowed dependencies
# (downward only) and form no cycle, between rooms or between files; no
# BLAS, OpenMP or CUDA call outside kernels/, no MPI call outside mpi/; every
# source file opens with a comment saying what it owns; clang-format has
# nothing to change.
. "$(dirname "$0")/../lib/lib.sh"
plan 6
py "layout" <<'PY'
import os, re, subprocess, sys
from collections import defaultdict
from tap import ok
files = subprocess.check_output(["git", "ls-files", "-co", "--exclude-standard", "*.c", "*.h"]).decode().split()
files = [f for f in files if os.path.exists(f) and not f.startswith(("tests/", "bench/"))]
def room(path):
    parts = path.split("/")
    if parts[0] == "src":
        return "src" if len(parts) == 2 else "src/" + parts[1]
    return parts[0]
loose = [f for f in files if f.startswith("src/") and f.count("/") == 1 and f != "src/main.c"]
ok("src/ holds main.c and rooms only", not loose, ", ".join(loose))
# what each folder may include (DESIGN.md, Layout); mpi/err.h (errors, checked
# allocation), mpi/fault.h and the kernels' clock, allocator and counter-based
# RNG are the base every room stands on
base = {"mpi/err.h", "mpi/fault.h", "kernels/clock.h", "kernels/mem.h", "kernels/rng.h"}
lower = {"mpi", "io", "kernels"}
allowed = {
    "src": {"src/cli"},
    "src/cli": {"src/" + r for r in "config model data objectives train optim plan prep tokenizer sweep".split()} | lower,
    "src/train": {"src/config", "src/model", "src/data", "src/objectives", "src/optim"} | lower,
    "src/model": {"src/config", "kernels", "io"},  # io: the HF safetensors files
    "src/objectives": {"src/data", "src/config", "kernels"},
    "src/data": {"io", "kernels"},
    "src/optim": {"src/config", "src/model", "kernels"},  # model: the tensors' decay flags
    "src/plan": {"src/config"},
    "src/sweep": {"src/config", "src/model", "src/plan"},  # campaigns: geometry, fit, run logs, plots
    "src/prep": {"src/tokenizer", "io", "kernels", "mpi"},  # mpi: prep runs on many ranks (DESIGN.md: "MPI-parallel")
    "src/tokenizer": set(),
    "src/config": set(),
    "mpi": {"kernels"},
    "io": {"mpi"},
    "kernels": set(),
}
inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
edges, bad, graph = defaultdict(set), [], defaultdict(set)
for f in files:
    for name in inc.findall(open(f, encoding="utf-8").read()):
        target = name if os.path.exists(name) else os.path.normpath(os.path.join(os.path.dirname(f), name))
        if not os.path.exists(target):
            continue  # a system header found through -I
        graph[f].add(target)
        a, b = room(f), room(target)
        if a == b or target in base:
            continue
        edges[a].add(b)
        if b not in allowed.get(a, set()):
            bad.append(f"{f} -> {target}")
ok("includes between folders follow the allowed dependencies", not bad, "; ".join(bad[:8]))
def cycle(g):
    state, stack = {}, []
    def visit(v):
        state[v] = 1
        stack.append(v)
        for w in g.get(v, ()):
            if state.get(w) == 1:
                return stack[stack.index(w):] + [w]
            if not state.get(w):
                c = visit(w)
                if c:
                    return c
        state[v] = 2
        stack.pop()
    for v in list(g):
        if not state.get(v):
            c = visit(v)
            if c:
                return c
cr, cf = cycle(edges), cycle(graph)
ok("no include cycle between folders or between files", not cr and not cf,
   " -> ".join(cr or cf or []) or f"{len(edges)} folders, {len(graph)} files")
calls = []
for f in files:
    text = open(f, encoding="utf-8").read()
    r = room(f)
    if r != "kernels" and re.search(r"\bcblas_\w+\s*\(|#\s*pragma\s+omp|\bomp_\w+\s*\(|\bcuda[A-Z]\w*\s*\(|\bcublas\w*\s*\(", text):
        calls.append(f"{f}: BLAS/OpenMP/CUDA")
    if r != "mpi" and re.search(r"\bMPI_[A-Z][a-z_]+\s*\(|\bnccl[A-Z]\w*\s*\(", text):
        calls.append(f"{f}: MPI/NCCL")
ok("no BLAS, OpenMP or CUDA call outside kernels/, no MPI call outside mpi/", not calls, "; ".join(calls))
nohead = [f for f in files if not open(f, encoding="utf-8").read().lstrip().startswith("/*")]
ok("every source file opens with a comment saying what it owns", not nohead, ", ".join(nohead))
PY
all=$(git ls-files -co --exclude-standard '*.c' '*.h' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
if ! command -v clang-format >/dev/null; then
    notok "clang-format is not installed (make deps)"
elif out=$(clang-format --dry-run -Werror $all 2>&1); then
    ok "clang-format has nothing to change  # $(echo "$all" | wc -l) files"
else
    notok "clang-format would change: $(echo "$out" | grep -o '^[^:]*\.[ch]' | sort -u | head -8 | tr '\n' ' ')"
fi
