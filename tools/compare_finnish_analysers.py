# Measures BM25-only retrieval of the Finnish gold questions with four Finnish analysers over the default index
# (run after `kb ingest`): .venv/bin/python tools/compare_finnish_analysers.py
"""Finnish analysis for BM25: Voikko (lemmas + compound parts) vs Voikko lemmas only vs Snowball vs simplemma."""

import math
import time

import numpy as np
import simplemma
import snowballstemmer

from evals.evaluation import SetResult, gold_queries
from kb.config import Settings
from kb.knowledge_base import KnowledgeBase
from kb.search.sparse import bm25_vector, query_vector
from kb.text.language import STOPWORDS, Analysers, FinnishAnalyser, words
from kb.types import Passage

s = Settings()
kb = KnowledgeBase(s)
snap = kb.hybrid.snapshot.current()
fi_docs = [d for d in snap.documents]
voikko = FinnishAnalyser()
stem = snowballstemmer.stemmer("finnish")


def lemmas_only(text):
    """Return Voikko's base form of each non-stopword (Snowball's stem when Voikko does not know it), no parts."""
    out = []
    for w in words(text):
        if w in STOPWORDS["fi"]:
            continue
        a = voikko._voikko.analyze(w)
        out.append((a[0].get("BASEFORM") or w).lower() if a else stem.stemWord(w))
    return out


variants = {
    "voikko lemmas+compounds": voikko,
    "voikko lemmas only": lemmas_only,
    "snowball finnish": lambda t: [stem.stemWord(w) for w in words(t) if w not in STOPWORDS["fi"]],
    "simplemma fi": lambda t: [simplemma.lemmatize(w, lang="fi").lower() for w in words(t) if w not in STOPWORDS["fi"]],
}
qs = [q for q in gold_queries() if q.language == "fi"]
other = Analysers()
for name, fn in variants.items():
    t0 = time.perf_counter()
    terms = [
        fn(f"{d.meta.get('section') or ''}\n{d.content}")
        if d.meta.get("language") == "fi"
        else other.analyse(f"{d.meta.get('section') or ''}\n{d.content}", d.meta.get("language"))
        for d in fi_docs
    ]
    secs = time.perf_counter() - t0
    avg = sum(map(len, terms)) / len(terms)
    postings = {}
    for i, (d, t) in enumerate(zip(fi_docs, terms, strict=True)):
        v = bm25_vector(t, d.meta.get("language"), avg)
        for idx, val in zip(v.indices, v.values, strict=True):
            postings.setdefault(idx, ([], []))[0].append(i)
            postings[idx][1].append(val)
    n = len(fi_docs)
    P = {k: (np.array(r), np.array(v)) for k, (r, v) in postings.items()}
    idf = {k: math.log(1 + (n - len(r) + 0.5) / (len(r) + 0.5)) for k, (r, v) in P.items()}
    res = SetResult()
    for q in qs:
        qv = query_vector({"fi": set(fn(q.text))})
        sc = np.zeros(n)
        for i in qv.indices:
            if i in P:
                r, v = P[i]
                sc[r] += idf[i] * v
        top = np.argsort(-sc)[:10]
        res.add([q.relevant(Passage.from_document(fi_docs[j])) and sc[j] > 0 for j in top], 1)
    print(f"{name:28s} BM25-only fi gold: {res.summary()}  analysis {secs:.1f}s for {n} passages")
kb.close()
