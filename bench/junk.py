"""bench/junk.py OUTDIR — the mixed corpus of bench/filter_bench.sh (the
lecture's claim that filtering and dedup beat more tokens): clean prose (the
fortune files' prose: literature, wisdom, people, science, ...) with planted
low-quality text, as web crawls have it:
  boilerplate   cookie, copyright and navigation notices, near-identical;
  keywords      spam keyword lists and product codes;
  garbled       clean fortunes machine-garbled: words shuffled, characters
                swapped, mojibake;
  duplicates    clean fortunes repeated 2-8 times, some with a word changed.
Writes OUTDIR/mixed.txt (the crawl, documents separated by "%" lines),
OUTDIR/heldout.txt (clean prose never in the crawl, for validation),
OUTDIR/labelled.txt (a labelled sample for the classifier: __label__hq for
clean prose, __label__lq for junk made with another seed, none of it in the
crawl) and OUTDIR/kinds.json (how many of each kind, and the kind of every crawl
document in order)."""
import json, os, random, sys

out = sys.argv[1]
F = "/usr/share/games/fortunes"
files = ["literature", "wisdom", "people", "science", "fortunes", "humorists", "love", "politics",
         "education", "work", "miscellaneous", "platitudes", "pratchett", "men-women", "medicine", "food"]
docs = []
for f in files:
    for d in open(f"{F}/{f}", errors="replace").read().split("\n%\n"):
        d = d.strip()
        if len(d.split()) >= 8:
            docs.append(d)
rng = random.Random(2026)
rng.shuffle(docs)
n = len(docs)
heldout, labelled_hq, crawl_clean = docs[: n // 10], docs[n // 10: n // 5], docs[n // 5:]

SPAM = ("cheap best buy discount free shipping deal sale online order now price lowest offer viagra casino "
        "bonus win prize click here subscribe unlimited download crack serial keygen loan credit fast "
        "guaranteed weight loss pills replica watches bitcoin crypto investment profit").split()
NAV = ["Home", "About Us", "Contact", "Privacy Policy", "Terms of Service", "Sitemap", "Careers", "Blog",
       "FAQ", "Support", "Login", "Register", "Cart", "Checkout", "Newsletter"]

def boilerplate(r):
    y, co = r.randint(2005, 2024), r.choice(["Acme Corp", "Example Media", "WebSolutions Ltd", "Global News Inc"])
    parts = [f"Copyright (c) {y} {co}. All rights reserved.",
             "We use cookies to improve your experience on our website. By continuing to browse you agree to our use of cookies.",
             " | ".join(r.sample(NAV, r.randint(5, 10))),
             f"Follow us on Facebook, Twitter and Instagram. Subscribe to our newsletter for {r.randint(5, 50)}% off!",
             "Click here to accept. Learn more about how we use your data in our Privacy Policy."]
    r.shuffle(parts)
    return "\n".join(parts[: r.randint(3, 5)])

def keywords(r):
    w = [r.choice(SPAM) for _ in range(r.randint(20, 60))]
    for i in range(r.randint(2, 6)):
        w.insert(r.randrange(len(w)), f"{r.choice('ABCDEFGHJK')}{r.randint(100, 99999)}-{r.choice(['XL', 'PRO', 'MAX', '2024'])}")
    return " ".join(w)

def garble(r, d):
    k = r.randrange(3)
    if k == 0:  # words shuffled
        w = d.split(); r.shuffle(w); return " ".join(w)
    if k == 1:  # characters swapped for noise
        return "".join(c if r.random() > 0.25 else r.choice("qxzj#@$%&*0123456789") for c in d)
    return d.encode("utf-8").decode("latin-1").replace(" ", r.choice(["Ã ", "â€™", " Â"]))  # mojibake

def junk(r, source):
    k = r.random()
    if k < 0.35: return "boilerplate", boilerplate(r)
    if k < 0.65: return "keywords", keywords(r)
    return "garbled", garble(r, r.choice(source))

crawl, kinds = [], {"clean": 0, "boilerplate": 0, "keywords": 0, "garbled": 0, "duplicates": 0}
for d in crawl_clean:
    crawl.append(("clean", d)); kinds["clean"] += 1
    if rng.random() < 0.15:  # repeated 2-8 times, some with a word changed
        for _ in range(rng.randint(1, 7)):
            c = d
            if rng.random() < 0.3:
                w = c.split(); w[rng.randrange(len(w))] = rng.choice(["indeed", "truly", "also"]); c = " ".join(w)
            crawl.append(("duplicates", c)); kinds["duplicates"] += 1
for _ in range(int(0.8 * len(crawl_clean))):
    k, t = junk(rng, crawl_clean); crawl.append((k, t)); kinds[k] += 1
rng.shuffle(crawl)
w = lambda name, ds: open(f"{out}/{name}", "w").write("".join(d.replace("\n%\n", "\n") + "\n%\n" for d in ds))
w("mixed.txt", [t for _, t in crawl])
w("heldout.txt", heldout)
r2 = random.Random(7)
lab = [f"__label__hq {d}" for d in labelled_hq] + [f"__label__lq {junk(r2, labelled_hq)[1]}" for _ in labelled_hq]
r2.shuffle(lab)
open(f"{out}/labelled.txt", "w").write("".join(" ".join(l.split()) + "\n" for l in lab))
json.dump(dict(kinds, crawl=len(crawl), heldout=len(heldout), labelled=len(lab), order=[k for k, _ in crawl]),
          open(f"{out}/kinds.json", "w"))
print(json.dumps(dict(kinds, crawl=len(crawl), heldout=len(heldout), labelled=len(lab))))
