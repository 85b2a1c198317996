"""The trained danger model: linear heads over a message's e5 embedding and its hashed lexical features.

One head says whether the message signals danger, one whether it is about someone else, and one per sign
(``signs.INDICATORS``). Scoring is two dot products per head, so a message costs well under a millisecond on top
of the embedding the question already has. The file is written by ``kb model install`` (``training.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import ModelError

MODEL_FILE = "safety.npz"


@dataclass(frozen=True)
class DangerModel:
    """Linear heads: ``names[i]`` scores ``dense[i] · embedding + lexical[i][features].sum() + bias[i]``.

    Attributes:
        names: the heads ("danger", "about_other", then one per sign).
        dense: weights over the embedding (heads × dimension), already scaled by the embedding's weight.
        lexical: weights over the hashed features (heads × buckets).
        bias: one per head.
        thresholds: the probability at which each head says yes (0.5; the danger head's calibrated).
        now_threshold: the "now" head's probability at which danger is "now" (calibrated for recall).
        now_alarm: the "now" head's probability at which a message is danger even if the danger head says no.
        fingerprint: digest of the training data, so a changed data set is retrained.
    """

    names: tuple[str, ...]
    dense: np.ndarray
    lexical: np.ndarray
    bias: np.ndarray
    thresholds: np.ndarray
    now_threshold: float
    now_alarm: float
    fingerprint: str

    def probabilities(self, embedding: np.ndarray, features: np.ndarray) -> dict[str, float]:
        """Return each head's probability for one message."""
        logits = self.dense @ embedding + self.lexical[:, features].sum(axis=1) + self.bias
        return dict(zip(self.names, (1.0 / (1.0 + np.exp(-logits))).tolist(), strict=True))

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
                )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"cannot read the danger model {path}: {exc}; run `kb model install --force`") from exc
