"""Training the danger model from corpus/safety at `kb model install` time.

The data set (corpus/safety/README.md) has two parts written by different writers: ``train-*.jsonl`` and
``heldout-*.jsonl``. Training reads only the first. Thresholds are chosen from out-of-fold probabilities
(``FOLDS``-fold cross-validation over the training files: each message scored by a model that did not see it):
that is the dev split. The held-out files are read only by the evaluation and CI's gate.

The danger head is a support-vector machine whose kernel is a Gaussian one over the embedding plus
``LEXICAL_WEIGHT`` times the cosine of the hashed lexical features (``model.py``); the other heads are logistic
regressions over the embedding and the lexical features. Out-of-fold false alarms at 98 %
recall (fi / sv / en / other, 3,699 training messages, 2026-12-02): the logistic danger head 0.092 / 0.070 /
0.081 / 0.115, the kernel machine 0.069 / 0.059 / 0.030 / 0.042; the two averaged 0.066 / 0.054 / 0.030 / 0.046,
too close to the machine alone to keep both. With the fourth round of writers (4,373 training messages,
2026-12-03) the kernel machine's out-of-fold false alarms are 0.074 / 0.062 / 0.048 / 0.067 at recall 0.980; gamma
4, 6 and 8 and C 10 all came within 0.005 of gamma 5, C 3, and thresholds per language group did not help.
With the fifth round (4,619 training messages, 2026-12-04) the Gaussian kernel alone had 0.091 / 0.067 / 0.049 /
0.064 (recall 0.980); adding the lexical cosine brought them to 0.062 / 0.047 / 0.034 / 0.054 (mean 0.068 ->
0.049). The cosine of character n-grams alone, or of words and lemmas alone, did no better than all the features;
IDF weights, a squared cosine, a product of the two kernels, and averaging in the logistic head did worse.
With the sixth round's harder messages (5,050 training messages), 0.082 / 0.081 / 0.055 / 0.091 without the
cosine and 0.072 / 0.062 / 0.039 / 0.079 with it. Gamma 4 and 6 and weights 0.2 and 0.4 were no better (checked
while the sixth round was still whole, its held-out quarter included; nothing was changed by it).

| number | value | why (5-fold cross-validation on the training files) |
|---|---|---|
| ``KERNEL_GAMMA`` | 5 | the kernel's width; mean out-of-fold false alarms 0.092 at 1, 0.065 at 3, 0.053 at 4, |
|  |  | 0.050 at 5 and 6, 0.056 at 7, 0.092 at 10, 0.21 at 20 (2026-12-02) |
| ``KERNEL_C`` | 3.0 | the machine's inverse regularisation: 0.089 at 1, 0.050 at 3, 0.049 at 10 |
| ``LEXICAL_WEIGHT`` | 0.3 | the lexical cosine's weight in the kernel; mean out-of-fold false alarms 0.068 at 0, |
|  |  | 0.056 at 0.15, 0.049 at 0.3, 0.050 at 0.4, 0.053 at 0.5, 0.063 at 1, 0.085 at 2 (2026-12-04) |
| ``C`` | 1.0 | the linear heads' inverse L2 strength; 0.25 and 4 came within 0.01 of it in every group (2026-12-01) |
| ``DENSE_SCALE`` | 30 | weight of the embedding against the binary lexical features: fewer false alarms than 3 or 10 |
| ``DANGER_RECALL`` | 0.98 | the highest danger threshold that keeps this recall out of fold (0.99: 12 % false alarms) |
| ``NOW_ALARMS`` | 0.01 | the "now" head alone raises the alarm above the score 1 % of harmless messages reach out of
  fold (added after a held-out gold question, "locked in a room and threatened", scored 0.016 on the danger head) |
| ``NOW_RECALL`` | 0.95 | "now" messages out of fold found by the "now" head (0.99 needed a threshold of 0.002) |
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.safety.features import FEATURES_VERSION, HASH_SIZE
from kb.safety.model import DangerModel, unit_rows
from kb.safety.signs import INDICATORS

KERNEL_GAMMA = 5.0
KERNEL_C = 3.0
LEXICAL_WEIGHT = 0.3
C = 1.0
DENSE_SCALE = 30.0
DANGER_RECALL = 0.98
NOW_RECALL = 0.95
NOW_ALARMS = 0.01
FOLDS = 5
HEADS: tuple[str, ...] = ("danger", "now", "about_other", *INDICATORS)


@dataclass(frozen=True)
class Message:
    """One message of the safety data set."""

    id: str
    lang: str
    text: str
    danger: bool
    urgency: str | None
    indicators: tuple[str, ...]
    writer: str

    def label(self, head: str) -> bool:
        """Return the message's truth for one head."""
        if head == "danger":
            return self.danger
        if head == "now":
            return self.urgency == "now"
        if head == "about_other":
            return self.danger and self.writer == "other"
        return head in self.indicators


def load_messages(folder: Path, part: str) -> list[Message]:
    """Return every message of ``part`` ("train" or "heldout"): the files ``{part}-*.jsonl`` in ``folder``."""
    if part not in ("train", "heldout"):
        raise ValueError(f"unknown part {part!r}")
    messages = []
    for path in sorted(folder.glob(f"{part}-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                messages.append(
                    Message(
                        id=row["id"], lang=row["lang"], text=row["text"], danger=bool(row["danger"]),
                        urgency=row.get("urgency"), indicators=tuple(row.get("indicators") or ()),
                        writer=row.get("writer", "self"),
                    )
                )
    return messages


def fingerprint(messages: Sequence[Message]) -> str:
    """Return a digest of the training data and of the numbers above."""
    numbers = (
        f"{KERNEL_GAMMA}/{KERNEL_C}/{LEXICAL_WEIGHT}/{C}/{DENSE_SCALE}/{DANGER_RECALL}/{NOW_RECALL}/{NOW_ALARMS}/"
        f"{FOLDS}/{HASH_SIZE}/{HEADS}/{FEATURES_VERSION}"
    )
    digest = hashlib.sha256(numbers.encode())
    for m in messages:
        digest.update(json.dumps(m.__dict__, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()[:16]


def _matrix(embeddings: np.ndarray, features: list[np.ndarray]) -> Any:
    from scipy import sparse

    rows = np.repeat(np.arange(len(features)), [len(f) for f in features])
    cols = np.concatenate(features) if features else np.zeros(0, dtype=np.int64)
    lexical = sparse.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(len(features), HASH_SIZE))
    return sparse.hstack([sparse.csr_matrix(embeddings * DENSE_SCALE), lexical], format="csr")


def _fit(x: Any, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    if y.all() or not y.any():  # a sign no message shows: the head always says no (or yes)
        return np.zeros(x.shape[1], np.float32), 10.0 if y.all() else -10.0
    fitted = LogisticRegression(C=C, class_weight="balanced", solver="liblinear", max_iter=2000).fit(x, y)
    return fitted.coef_[0].astype(np.float32), float(fitted.intercept_[0])


def _packed(features: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return feature sets one after another, and where each starts (as ``DangerModel.kept_features``/``_offsets``)."""
    buckets = np.concatenate(features) if len(features) else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum([len(f) for f in features])]).astype(np.int64)
    return buckets.astype(np.int32), offsets


def _kernel(embeddings: np.ndarray, lexical: Any, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Return the danger machine's kernel between messages ``rows`` and ``cols``: Gaussian plus lexical cosine."""
    gaussian = np.exp(-2.0 * KERNEL_GAMMA * (1.0 - embeddings[rows] @ embeddings[cols].T))
    cosine = (lexical[rows] @ lexical[cols].T).toarray()
    kernel: np.ndarray = gaussian + LEXICAL_WEIGHT * cosine
    return kernel


def _fit_kernel(kernel: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit the danger machine on a square kernel; return the messages it keeps, their weights and its intercept."""
    from sklearn.svm import SVC

    fitted = SVC(C=KERNEL_C, kernel="precomputed", class_weight="balanced").fit(kernel, y)
    return fitted.support_, fitted.dual_coef_[0].astype(np.float32), float(fitted.intercept_[0])


def _kernel_probability(machine: tuple[np.ndarray, np.ndarray, float], kernel: np.ndarray) -> np.ndarray:
    """Return the danger probability of messages whose kernel rows against the fitted ones are ``kernel``."""
    kept, coefficients, intercept = machine
    scores = kernel[:, kept] @ coefficients + intercept
    probability: np.ndarray = 1.0 / (1.0 + np.exp(-scores))
    return probability


def _probability(weights: np.ndarray, bias: float, x: Any) -> np.ndarray:
    logits = np.asarray(x @ weights).reshape(-1) + bias
    return 1.0 / (1.0 + np.exp(-logits))


def train(
    messages: Sequence[Message],
    embed: Callable[[list[str]], np.ndarray],
    featurise: Callable[[str], np.ndarray],
) -> tuple[DangerModel, dict[str, Any]]:
    """Fit every head on ``messages`` and calibrate the thresholds by ``FOLDS``-fold cross-validation on them.

    ``embed`` gives normalised e5 question embeddings (the ones the server computes), ``featurise`` one message's
    hashed features. Returns the model and the out-of-fold figures the thresholds were chosen from.
    """
    texts = [m.text for m in messages]
    embeddings = embed(texts)
    features = [featurise(t) for t in texts]
    x = _matrix(embeddings, features)
    lexical = unit_rows(*_packed(features), HASH_SIZE)
    dimension = embeddings.shape[1]
    labels = {head: np.array([m.label(head) for m in messages]) for head in HEADS}
    dense = np.zeros((len(HEADS), dimension), np.float32)
    lexical_weights = np.zeros((len(HEADS), HASH_SIZE), np.float32)
    bias = np.zeros(len(HEADS), np.float32)
    for i, head in enumerate(HEADS):
        if head == "danger":  # the kernel machine's, below
            continue
        weights, bias[i] = _fit(x, labels[head])
        dense[i] = weights[:dimension] * DENSE_SCALE
        lexical_weights[i] = weights[dimension:]
    # Out-of-fold probabilities of the danger and "now" heads: what the thresholds are chosen from.
    folds = np.array([zlib.crc32(m.id.encode("utf-8")) % FOLDS for m in messages])
    danger = np.zeros(len(messages))
    now = np.zeros(len(messages))
    for k in range(FOLDS):
        fit, held = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        machine = _fit_kernel(_kernel(embeddings, lexical, fit, fit), labels["danger"][fit])
        danger[held] = _kernel_probability(machine, _kernel(embeddings, lexical, held, fit))
        weights, b = _fit(x[fit], labels["now"][fit])
        now[held] = _probability(weights, b, x[held])
    thresholds = np.full(len(HEADS), 0.5, np.float32)
    thresholds[0] = _threshold(danger[labels["danger"]], DANGER_RECALL)
    is_now = np.array([m.urgency == "now" for m in messages])
    now_threshold = _threshold(now[is_now], NOW_RECALL)
    # The "now" head also raises the alarm by itself, above the score that only NOW_ALARMS of harmless messages reach
    # out of fold: a message that reads as danger now must not depend on the danger head alone.
    harmless_now = np.sort(now[~labels["danger"]])
    now_alarm = float(harmless_now[min(len(harmless_now) - 1, int((1.0 - NOW_ALARMS) * len(harmless_now)))])
    now_alarm = max(now_alarm, now_threshold)
    flagged = (danger >= thresholds[0]) | (now >= now_alarm)
    report = {
        "messages": len(messages),
        "danger_threshold": round(float(thresholds[0]), 4),
        "now_threshold": round(now_threshold, 4),
        "now_alarm": round(now_alarm, 4),
        "out_of_fold_recall": round(float(flagged[labels["danger"]].mean()), 4),
        "out_of_fold_false_alarms": round(float(flagged[~labels["danger"]].mean()), 4),
    }
    everyone = np.arange(len(messages))
    kept, coefficients, intercept = _fit_kernel(_kernel(embeddings, lexical, everyone, everyone), labels["danger"])
    report["kept_messages"] = len(kept)
    kept_features, kept_offsets = _packed([features[i] for i in kept])
    model = DangerModel(
        HEADS, dense, lexical_weights, bias, thresholds, now_threshold, now_alarm, fingerprint(messages),
        vectors=embeddings[kept].astype(np.float32), coefficients=coefficients, kernel_bias=intercept,
        gamma=KERNEL_GAMMA, kept_features=kept_features, kept_offsets=kept_offsets, lexical_weight=LEXICAL_WEIGHT,
    )
    return model, report


def _threshold(scores: np.ndarray, recall: float) -> float:
    """Return the highest threshold (at most 0.5) that keeps ``recall`` of ``scores`` at or above it."""
    if not len(scores):
        return 0.5
    ordered = np.sort(scores)
    allowed_misses = int((1.0 - recall) * len(ordered))
    return float(min(0.5, ordered[allowed_misses] - 1e-6))
