"""bench/realtext.py OUTDIR — real English text from Debian for the data
benchmarks: OUTDIR/linux-doc.jsonl, one document per page of the kernel's
documentation (package linux-doc-6.1: the .rst sources, and the rendered
HTML pages as text), and OUTDIR/changelogs.jsonl, every package's
changelog.Debian and upstream changelog (gzip) on this machine, in documents
of paragraphs of 2 KB or more.
Prints the sizes. Needs linux-doc-6.1 (apt-get install linux-doc-6.1)."""
import gzip, html, json, os, re, sys

out = sys.argv[1]
root = "/usr/share/doc/linux-doc-6.1"
if not os.path.isdir(root):
    sys.exit("bench/realtext.py: /usr/share/doc/linux-doc-6.1 is missing (apt-get install linux-doc-6.1)")
tag = re.compile(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", re.S)
n = b = 0
with open(f"{out}/linux-doc.jsonl", "w") as f:
    for d, _, fs in sorted(os.walk(root)):
        for name in sorted(fs):
            p = os.path.join(d, name)
            if name.endswith((".rst.gz", ".txt.gz")):
                t = gzip.open(p, "rt", errors="replace").read()
            elif name.endswith(".html"):
                t = html.unescape(tag.sub(" ", open(p, errors="replace").read()))
                t = re.sub(r"\n\s*\n+", "\n\n", re.sub(r"[ \t]+", " ", t))
            else:
                continue
            f.write(json.dumps({"text": t, "id": p[len(root) + 1:]}) + "\n")
            n, b = n + 1, b + len(t.encode())
m = c = k = 0
with open(f"{out}/changelogs.jsonl", "w") as f:
    for d in sorted(os.listdir("/usr/share/doc")):
        for name in ("changelog.Debian.gz", "changelog.gz"):
            p = f"/usr/share/doc/{d}/{name}"
            if not os.path.isfile(p):
                continue
            t = gzip.open(p, "rt", errors="replace").read()
            m, c = m + 1, c + len(t.encode())
            doc = ""  # paragraphs gathered into documents of 2 KB or more
            for para in re.split(r"\n\s*\n", t):
                doc += para + "\n\n"
                if len(doc) >= 2000:
                    f.write(json.dumps({"text": doc.strip(), "id": p}) + "\n")
                    doc, k = "", k + 1
            if doc.strip():
                f.write(json.dumps({"text": doc.strip(), "id": p}) + "\n")
                k += 1
print(f"linux-doc: {n} pages, {b / 1e6:.1f} MB of text; changelogs: {m} files, {c / 1e6:.1f} MB in {k} documents")
