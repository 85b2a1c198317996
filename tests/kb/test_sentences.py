"""Answer sentences are exact spans, skip headings and references, and keep lists with their lead-in."""

from __future__ import annotations

import numpy as np

from kb.models.passages import pack_spans, pack_vectors, unpack_spans, unpack_vectors
from kb.text.spans import answer_spans

TEXT = (
    "Help is free\n\n"
    "The help costs nothing. It is voluntary. (Source: Reception Act 746/2011, section 38 a)\n\n"
    "You can get help even if\n\n"
    "• you have no residence permit\n"
    "• you are not sure (Source: ihmiskauppa.fi/en/seek_help)"
)


def test_sentences_answer_spans_are_exact_and_clean() -> None:
    spans = [TEXT[s.start : s.end] for s in answer_spans(TEXT, ("Help is free",))]
    assert spans == [
        "The help costs nothing.",
        "You can get help even if\n\n• you have no residence permit\n• you are not sure",
    ]


def test_sentences_packing_round_trips() -> None:
    spans = answer_spans(TEXT)
    assert unpack_spans(pack_spans(spans)) == [(s.start, s.end) for s in spans]
    vectors = np.random.default_rng(0).normal(size=(3, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert np.min((unpack_vectors(pack_vectors(vectors), 384) * vectors).sum(axis=1)) > 0.99
