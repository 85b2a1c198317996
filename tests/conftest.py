"""Shared fixtures: the real model, the real embedded Qdrant, the real official sources."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.config import PROJECT_ROOT, Settings
from kb.embedding import QueryEncoder

FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
SHARED = PROJECT_ROOT.parent / "shared"
MODEL_DIR = PROJECT_ROOT / "data" / "models" / "multilingual-e5-small"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: its own data folder, the project's installed model."""
    return Settings(data_dir=data_dir, embedding={"model": str(MODEL_DIR)}, **overrides)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def shared_sources() -> Path:
    path = SHARED / "sources"
    if not path.is_dir():
        pytest.fail(f"the official sources are missing: expected {path} (the ../shared folder beside the project)")
    return path


@pytest.fixture(scope="session")
def model_dir() -> Path:
    if not (MODEL_DIR / "modules.json").exists():
        pytest.fail(f"the embedding model is not installed in {MODEL_DIR}; run `make test` or `kb model install`")
    return MODEL_DIR


@pytest.fixture(scope="session")
def encoder(model_dir: Path) -> QueryEncoder:
    return QueryEncoder(make_settings(model_dir.parent))


@pytest.fixture
def settings(tmp_path: Path, model_dir: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def fixture_corpus(tmp_path: Path) -> Path:
    """A writable copy of the small fi/sv/en fixture corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, target)
    return target


@pytest.fixture(scope="session")
def sources_data_dir(tmp_path_factory: pytest.TempPathFactory, shared_sources: Path, model_dir: Path) -> Path:
    """A data folder with the default corpus (our guides + the official sources) ingested once per run."""
    from ingest.indexer import Indexer
    from kb.store import open_client

    data_dir = tmp_path_factory.mktemp("sources-data")
    settings = make_settings(data_dir)
    client = open_client(settings)
    try:
        report = Indexer(settings, client).ingest(list(settings.sources))
    finally:
        client.close()
    assert not report.failures, report.failures
    return data_dir


@pytest.fixture(scope="session")
def sources_kb(sources_data_dir: Path, encoder: QueryEncoder) -> Iterator[object]:
    from kb.knowledge_base import KnowledgeBase

    kb = KnowledgeBase(make_settings(sources_data_dir), encoder=encoder)
    try:
        yield kb
    finally:
        kb.close()
