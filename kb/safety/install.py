"""Training the danger model at `kb model install`: embeds the training messages with the served question encoder."""

from __future__ import annotations

import numpy as np

from kb.config import Settings
from kb.models.encoders import build_query_encoder
from kb.safety.features import MessageFeatures
from kb.safety.model import DangerModel
from kb.safety.training import fingerprint, load_messages, train
from kb.text.language import Analysers, LanguageDetector
from kb.text.normalise import normalise


def install_danger_model(settings: Settings, *, force: bool = False) -> dict[str, object] | None:
    """Train the danger model from ``settings.safety``/train-*.jsonl unless the same data trained the one there.

    Returns the cross-validation figures of a new model, or None when the installed one is current.
    """
    folder = settings.model_dir.parent
    messages = load_messages(settings.safety, "train")
    if not force:
        try:
            if DangerModel.load(folder).fingerprint == fingerprint(messages):
                return None
        except Exception:  # no model yet, or an unreadable one: train
            pass
    encoder = build_query_encoder(settings)
    detector = LanguageDetector()
    features = MessageFeatures(Analysers())

    def embed(texts: list[str]) -> np.ndarray:
        return encoder.encode_many([normalise(t) for t in texts])

    def featurise(text: str) -> np.ndarray:
        text = normalise(text)
        return features.indices(text, detector.detect_message(text))

    model, report = train(messages, embed, featurise)
    model.save(folder)
    return report
