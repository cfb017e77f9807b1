#!/usr/bin/env python3
"""Per-question comparison of two answer exports (PGRAG_EVAL_EXPORT=DIR bash bench/eval/run.sh):
    python3 bench/eval/compare_answers.py BEFORE_DIR AFTER_DIR [../shared/eval/xquad-en]
Prints contains-gold / F1 / "I don't know" for each run on all questions and on the two halves of the
articles (as bench/eval/fusion.py splits them), and the questions whose answer gained or lost the gold span."""
import collections
import json
import re
import sys


def norm(t):
    t = re.sub(r"[^\w\s]", " ", t.lower())
    t = re.sub(r"\b(a|an|the)\b", " ", t)
    return " ".join(t.split())


def f1(pred, gold):
    p, g = norm(pred).split(), norm(gold).split()
    common = sum((collections.Counter(p) & collections.Counter(g)).values())
    if common == 0:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def load(d):
    out = {}
    for line in open(f"{d}/answers.tsv"):
        i, q, a, g = line.rstrip("\n").split("\t")
        out[i] = (q, a, g.split(" | "))
    return out


before, after = load(sys.argv[1]), load(sys.argv[2])
data = sys.argv[3] if len(sys.argv) > 3 else "../shared/eval/xquad-en"
article = {json.loads(l)["id"]: json.loads(l)["title"] for l in open(f"{data}/qa.jsonl")}
titles = sorted(set(article[i] for i in before))
half_a = set(titles[0::2])
contains = lambda x: any(norm(g) in norm(x[1]) for g in x[2])
for name, ids in (("all", list(before)), ("A", [i for i in before if article[i] in half_a]),
                  ("B", [i for i in before if article[i] not in half_a])):
    for run, r in (("before", before), ("after", after)):
        n = len(ids)
        print(f"{name:3} {run:6} questions {n}: contains gold {sum(contains(r[i]) for i in ids) / n:.4f}, "
              f"F1 {sum(max(f1(r[i][1], g) for g in r[i][2]) for i in ids) / n:.4f}, "
              f"I don't know {sum(r[i][1].startswith('I don') for i in ids) / n:.4f}")
won = [i for i in before if contains(after[i]) and not contains(before[i])]
lost = [i for i in before if contains(before[i]) and not contains(after[i])]
print(f"\ngold span gained: {len(won)}, lost: {len(lost)}")
for i in lost:
    print(f"- {before[i][0]} (gold: {before[i][2][0]})\n  before: {before[i][1][:300]}\n  after:  {after[i][1][:300]}")
