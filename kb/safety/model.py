"""The trained danger model: a kernel machine over a message's e5 embedding and words, and linear heads beside it.

Whether the message signals danger is scored by a support-vector machine whose kernel adds two similarities to the
training messages it keeps: a Gaussian one over the e5 embedding (``vectors``) and the cosine of the hashed lexical
features (``kept_features``, weighted by ``lexical_weight``), the kept messages weighted by ``coefficients``.
Whether it is about someone else, whether it reads as danger now, and each sign (``signs.INDICATORS``) are linear
heads over the embedding and the hashed lexical features. The embeddings are normalised, so the Gaussian kernel is
``exp(-2·gamma·(1 - v·e))``: one matrix-vector product over the kept messages, one sparse sum for the words, and
two dot products per head, well under a millisecond on top of the embedding the question already has. The file is
written by ``kb model install`` (``training.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ModelError

MODEL_FILE = "safety.npz"


def unit_rows(buckets: np.ndarray, offsets: np.ndarray, width: int) -> Any:
    """Return feature sets (message i's buckets: ``buckets[offsets[i]:offsets[i + 1]]``) as sparse rows of length 1.

    The product of two rows is the cosine of the two sets: the lexical half of the danger machine's kernel.
    """
    from scipy import sparse

    counts = np.diff(offsets)
    values = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts)
    return sparse.csr_matrix((values, buckets, offsets), shape=(len(counts), width))


@dataclass(frozen=True)
class DangerModel:
    """The danger kernel machine and the linear heads.

    A linear head ``names[i]`` scores ``dense[i] · embedding + lexical[i][features].sum() + bias[i]``; the "danger"
    head's score is ``coefficients · (exp(-2·gamma·(1 - vectors · embedding)) + lexical_weight · cosine) +
    kernel_bias`` instead, where ``cosine`` is that of the message's feature set and each kept message's.

    Attributes:
        names: the heads ("danger", "now", "about_other", then one per sign).
        dense: weights over the embedding (heads × dimension), already scaled by the embedding's weight.
        lexical: weights over the hashed features (heads × buckets).
        bias: one per head.
        thresholds: the probability at which each head says yes (0.5; the danger head's calibrated).
        now_threshold: the "now" head's probability at which danger is "now" (calibrated for recall).
        now_alarm: the "now" head's probability at which a message is danger even if the danger head says no.
        fingerprint: digest of the training data, so a changed data set is retrained.
        vectors: the training messages' embeddings the danger machine keeps (kept × dimension).
        coefficients: their weights (positive for danger, negative for harmless).
        kernel_bias: the danger machine's intercept.
        gamma: the kernel's width.
        kept_features: the kept messages' feature buckets, one after another (``features.MessageFeatures``).
        kept_offsets: where each kept message's buckets start in ``kept_features`` (kept + 1 offsets).
        lexical_weight: the weight of the lexical cosine against the Gaussian kernel.
    """

    names: tuple[str, ...]
    dense: np.ndarray
    lexical: np.ndarray
    bias: np.ndarray
    thresholds: np.ndarray
    now_threshold: float
    now_alarm: float
    fingerprint: str
    vectors: np.ndarray
    coefficients: np.ndarray
    kernel_bias: float
    gamma: float
    kept_features: np.ndarray
    kept_offsets: np.ndarray
    lexical_weight: float

    @cached_property
    def _kept_lexical(self) -> Any:
        """The kept messages' features, bucket by message (``unit_rows`` turned over).

        The rows of a message's buckets sum to its shared counts with each kept message, over √(their counts).
        """
        return unit_rows(self.kept_features, self.kept_offsets, self.lexical.shape[1]).T.tocsr()

    def probabilities(self, embedding: np.ndarray, features: np.ndarray) -> dict[str, float]:
        """Return each head's probability for one message (the danger machine's score through a logistic)."""
        logits = self.dense @ embedding + self.lexical[:, features].sum(axis=1) + self.bias
        logits[self.names.index("danger")] = self.danger_score(embedding, features)
        return dict(zip(self.names, (1.0 / (1.0 + np.exp(-logits))).tolist(), strict=True))

    def danger_score(self, embedding: np.ndarray, features: np.ndarray) -> float:
        """Return the danger machine's decision value for one message (positive: danger)."""
        kernel = np.exp(-2.0 * self.gamma * (1.0 - self.vectors @ embedding))
        if len(features):
            shared = np.asarray(self._kept_lexical[features].sum(axis=0)).reshape(-1)
            kernel = kernel + self.lexical_weight * shared / np.sqrt(len(features))
        return float(kernel @ self.coefficients + self.kernel_bias)

    def threshold(self, name: str) -> float:
        """Return the probability at which head ``name`` says yes."""
        return float(self.thresholds[self.names.index(name)])

    def save(self, folder: Path) -> Path:
        """Write the model into ``folder`` and return the file's path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / MODEL_FILE
        np.savez_compressed(
            path,
            names=np.array(json.dumps(list(self.names))),
            dense=self.dense.astype(np.float32),
            lexical=self.lexical.astype(np.float32),
            bias=self.bias.astype(np.float32),
            thresholds=self.thresholds.astype(np.float32),
            now_threshold=np.array(self.now_threshold),
            now_alarm=np.array(self.now_alarm),
            fingerprint=np.array(self.fingerprint),
            vectors=self.vectors.astype(np.float32),
            coefficients=self.coefficients.astype(np.float32),
            kernel_bias=np.array(self.kernel_bias),
            gamma=np.array(self.gamma),
            kept_features=self.kept_features.astype(np.int32),
            kept_offsets=self.kept_offsets.astype(np.int64),
            lexical_weight=np.array(self.lexical_weight),
        )
        return path

    @classmethod
    def load(cls, folder: Path) -> DangerModel:
        """Read the model from ``folder``.

        Raises:
            ModelError: no model there (with the command that makes it), or a file that cannot be read.
        """
        path = folder / MODEL_FILE
        if not path.exists():
            raise ModelError(f"no danger model in {folder}; run `kb model install` (or `make run`)")
        try:
            with np.load(path) as data:
                return cls(
                    names=tuple(json.loads(str(data["names"]))),
                    dense=data["dense"],
                    lexical=data["lexical"],
                    bias=data["bias"],
                    thresholds=data["thresholds"],
                    now_threshold=float(data["now_threshold"]),
                    now_alarm=float(data["now_alarm"]),
                    fingerprint=str(data["fingerprint"]),
                    vectors=data["vectors"],
                    coefficients=data["coefficients"],
                    kernel_bias=float(data["kernel_bias"]),
                    gamma=float(data["gamma"]),
                    kept_features=data["kept_features"],
                    kept_offsets=data["kept_offsets"],
                    lexical_weight=float(data["lexical_weight"]),
                )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"cannot read the danger model {path}: {exc}; run `kb model install --force`") from exc
