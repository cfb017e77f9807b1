#!/usr/bin/env python3
"""Offline evaluation of hybrid fusion policies (mirrors pgrag::fuse in extension/core/fusion.cpp).

Input: the rankings bench/eval/run.sh exports with PGRAG_EVAL_EXPORT=DIR (each query's vector and
keyword rankings, chunk level, top 80 with scores) and the data set's qa.jsonl (article of each
question, for the split). Documents are ranked by their best chunk, as bench/eval/retrieval.sql does
(rag_search k = 20 → each side contributes max(4k, 40) = 80 candidates).

    python3 bench/eval/fusion.py DIR [../shared/eval/xquad-en]

Prints nDCG@10 / recall@10 / hit@1 per policy on all questions and on the two halves of the articles
(A: tuned on, B: only reported), then a simulation of semantic embedders: a vector side made stronger
by moving the relevant passage's chunks up by a random amount, independently of BM25's errors.
"""
import collections
import json
import math
import random
import sys

DIR = sys.argv[1]
DATA = sys.argv[2] if len(sys.argv) > 2 else "../shared/eval/xquad-en"
CANDIDATES = 80

rank_lists = collections.defaultdict(lambda: {"vector": [], "keyword": []})
source_of = {}
for line in open(f"{DIR}/rankings.tsv"):
    q, side, rank, chunk, src, score = line.rstrip("\n").split("\t")
    rank_lists[q][side].append((int(chunk), float(score)))
    source_of[int(chunk)] = src
qrels = collections.defaultdict(set)
for line in open(f"{DIR}/qrels.tsv"):
    q, doc = line.split()
    qrels[q].add(doc)
article = {}
for line in open(f"{DATA}/qa.jsonl"):
    r = json.loads(line)
    article[r["id"]] = r["title"]
queries = sorted(q for q in qrels if q in rank_lists)
titles = sorted(set(article[q] for q in queries))
half_a = set(titles[0::2])
split = {"all": queries, "A (tuned)": [q for q in queries if article[q] in half_a],
         "B (held out)": [q for q in queries if article[q] not in half_a]}


# ---- policies (keep in step with fusion.cpp) ----------------------------------------------------------

def rrf(v, k, wv=1.0, wk=1.0, rrf_k=60.0):
    s = collections.defaultdict(float)
    for r, (c, _) in enumerate(v):
        s[c] += wv / (rrf_k + r + 1)
    for r, (c, _) in enumerate(k):
        s[c] += wk / (rrf_k + r + 1)
    return sorted(s, key=lambda c: (-s[c], c))


LEXICAL_VECTOR_WEIGHT = 0.01  # FusionSettings::lexical_vector_weight


def lexical_policy(v, k):
    """The built-in lexical embedder: the vector side weighs 0.01, so it breaks near-ties and fills in
    after the keyword hits (natural questions often match fewer than k chunks by keyword)."""
    return rrf(v, k, LEXICAL_VECTOR_WEIGHT, 1.0)


def minmax(v, k, alpha):
    """Convex combination of min-max normalised scores (vector: similarity)."""
    def norm(side):
        if not side:
            return {}
        hi, lo = side[0][1], side[-1][1]
        return {c: (x - lo) / (hi - lo) if hi > lo else 1.0 for c, x in side}
    nv, nk = norm(v), norm(k)
    s = {c: alpha * nv.get(c, 0) + (1 - alpha) * nk.get(c, 0) for c in set(nv) | set(nk)}
    return sorted(s, key=lambda c: (-s[c], c))


def keyword_only(v, k):
    return [c for c, _ in k]


def vector_only(v, k):
    return [c for c, _ in v]


# ---- metrics ----------------------------------------------------------------------------------------

def metrics(q, chunks):
    docs = []
    for c in chunks[:20]:
        d = source_of[c]
        if d not in docs:
            docs.append(d)
    docs = docs[:10]
    rel = qrels[q]
    dcg = sum(1 / math.log2(i + 2) for i, d in enumerate(docs) if d in rel)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
    return dcg / idcg, len([d for d in docs if d in rel]) / len(rel), 1.0 if docs and docs[0] in rel else 0.0


def evaluate(policy, qs, sides=None):
    sides = sides or rank_lists
    tot = [0.0, 0.0, 0.0]
    for q in qs:
        v, k = sides[q]["vector"][:CANDIDATES], sides[q]["keyword"][:CANDIDATES]
        for i, x in enumerate(metrics(q, policy(v, k))):
            tot[i] += x
    return [x / len(qs) for x in tot]


def table(policies, sides=None, halves=("all", "A (tuned)", "B (held out)")):
    print("| policy | " + " | ".join(f"{h} nDCG@10 / recall@10 / hit@1" for h in halves) + " |")
    print("|---|" + "---|" * len(halves))
    for name, p in policies:
        cells = []
        for h in halves:
            n, r, h1 = evaluate(p, split[h], sides)
            cells.append(f"{n:.4f} / {r:.4f} / {h1:.4f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    print(f"{len(queries)} questions; halves by article: A {len(split['A (tuned)'])}, B {len(split['B (held out)'])}\n")
    base = [("keyword", keyword_only), ("vector", vector_only), ("RRF 1:1 (0.5.0 hybrid)", lambda v, k: rrf(v, k))]
    sweep = [(f"RRF w_v = {w}", (lambda w: lambda v, k: rrf(v, k, w, 1.0))(w))
             for w in (0.5, 0.3, 0.2, 0.1, 0.05, 0.03, 0.02, 0.01, 0.005)]
    sweep_k = [(f"RRF rrf_k = 10, w_v = {w}", (lambda w: lambda v, k: rrf(v, k, w, 1.0, 10))(w)) for w in (0.2, 0.1, 0.05)]
    mm = [(f"min-max alpha = {a}", (lambda a: lambda v, k: minmax(v, k, a))(a)) for a in (0.5, 0.3, 0.2, 0.15, 0.1, 0.05)]
    table(base + sweep + sweep_k + mm + [("**lexical policy (0.6.0)**", lexical_policy)])

    # Semantic embedders, simulated: each relevant chunk of the vector side moves up (its similarity
    # grows by strength x U(0, 1)), independently of the keyword side; with "paraphrased", 20% of the
    # questions (at random) lose their relevant chunks from the keyword side, as when a question does
    # not use the passage's words (what semantic models are for).
    print("\nSimulated semantic embedders (nDCG@10 / hit@1, all questions):\n")
    print("| vector side | keyword side | vector | keyword | RRF 1:1 (semantic policy) | lexical policy, if it were used |")
    print("|---|---|---|---|---|---|")
    rng = random.Random(42)
    for paraphrased in (False, True):
        for strength in (0.0, 0.2, 0.5, 1.0):
            sides = {}
            for q in queries:
                rel = qrels[q]
                v = [(c, s + (strength * rng.random() if source_of[c] in rel else 0)) for c, s in rank_lists[q]["vector"]]
                v.sort(key=lambda x: (-x[1], x[0]))
                k = rank_lists[q]["keyword"]
                if paraphrased and rng.random() < 0.2:
                    k = [(c, s) for c, s in k if source_of[c] not in rel]
                sides[q] = {"vector": v, "keyword": k}
            cells = []
            for p in (vector_only, keyword_only, lambda v, k: rrf(v, k), lexical_policy):
                n, _, h1 = evaluate(p, queries, sides)
                cells.append(f"{n:.4f} / {h1:.4f}")
            kind = "lexical (real)" if strength == 0 else f"strength {strength}"
            print(f"| {kind} | {'20% paraphrased' if paraphrased else 'as is'} | " + " | ".join(cells) + " |")
