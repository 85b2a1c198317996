"""The danger model scores a message at serving time as the machine it was trained as would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.svm import SVC

from kb.config import Settings
from kb.safety.features import MessageFeatures
from kb.safety.model import DangerModel
from kb.safety.training import KERNEL_C, KERNEL_GAMMA, LEXICAL_WEIGHT, load_messages, train
from kb.text.language import Analysers


def _kernel(embeddings: np.ndarray, sets: list[set[int]]) -> np.ndarray:
    """The Gaussian kernel plus the lexical cosine, the cosine counted from plain sets."""
    gaussian = np.exp(-2.0 * KERNEL_GAMMA * (1.0 - embeddings @ embeddings.T))
    cosine = np.array([[len(a & b) / np.sqrt(len(a) * len(b)) for b in sets] for a in sets])
    kernel: np.ndarray = gaussian + LEXICAL_WEIGHT * cosine
    return kernel


def test_safety_model_serves_the_trained_machines_decision(tmp_path: Path) -> None:
    messages = load_messages(Settings().safety, "train")
    sample = [m for m in messages if m.danger][:60] + [m for m in messages if not m.danger][:60]
    features = MessageFeatures(Analysers())
    indices = {m.text: features.indices(m.text, m.lang) for m in sample}
    # Stand-in embeddings: a fixed random unit vector per message (the real encoder is not what is tested here).
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(len(sample), 32))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    lookup = {m.text: vectors[i] for i, m in enumerate(sample)}

    model, report = train(sample, lambda texts: np.array([lookup[t] for t in texts]), indices.__getitem__)
    model = DangerModel.load(model.save(tmp_path).parent)

    kernel = _kernel(vectors, [set(indices[m.text].tolist()) for m in sample])
    labels = np.array([m.danger for m in sample])
    expected = SVC(C=KERNEL_C, kernel="precomputed", class_weight="balanced").fit(kernel, labels)
    served = np.array([model.danger_score(lookup[m.text], indices[m.text]) for m in sample])
    assert np.allclose(served, expected.decision_function(kernel), atol=1e-4)
    # The words count: the same scores without the lexical cosine are not these.
    without = np.array([model.danger_score(lookup[m.text], indices[m.text][:0]) for m in sample])
    assert not np.allclose(served, without, atol=1e-2)
    assert report["kept_messages"] == len(model.vectors) == len(model.kept_offsets) - 1
