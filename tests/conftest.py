"""Shared fixtures: the real model, the real embedded Qdrant, the real official sources."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kb.environment import configure_environment

configure_environment()  # before any module below loads Haystack or transformers


from ingest.indexer import IngestReport  # noqa: E402
from kb.config import PROJECT_ROOT, Settings  # noqa: E402
from kb.models.encoders import Encoder, QueryEncoder, build_query_encoder  # noqa: E402

FIXTURE_CORPUS = Path(__file__).parent / "fixtures" / "corpus"
SHARED = PROJECT_ROOT.parent / "shared"
MODEL_DIR = PROJECT_ROOT / "data" / "models" / "multilingual-e5-small"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: its own data folder, the project's installed model.

    A test client is one client for the rate limiter, so the limit is lifted unless a test sets its own.
    """
    overrides.setdefault("api", {})
    api = dict(overrides["api"])  # type: ignore[call-overload]
    api.setdefault("rate", 1_000_000.0)
    api.setdefault("burst", 1_000_000)
    overrides["api"] = api
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
def encoder(model_dir: Path) -> Encoder:
    """The question encoder the server uses (ONNX int8 by default)."""
    return build_query_encoder(make_settings(model_dir.parent))


@pytest.fixture(scope="session")
def torch_encoder(model_dir: Path) -> QueryEncoder:
    """The full-precision question encoder."""
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


def ingest_into(settings: Settings, paths: list[Path], **kwargs: Any) -> IngestReport:
    """Ingest ``paths`` with the real model into the embedded Qdrant of ``settings``, closing the client after."""
    from ingest.indexer import Indexer
    from kb.search.store import open_client

    client = open_client(settings)
    try:
        return Indexer(settings, client).ingest(paths, **kwargs)
    finally:
        client.close()


def _ingest(data_dir: Path, paths: list[Path]) -> IngestReport:
    report = ingest_into(make_settings(data_dir), paths)
    assert not report.failures, report.failures
    return report


@pytest.fixture(scope="session")
def statutes_data_dir(tmp_path_factory: pytest.TempPathFactory, shared_sources: Path, model_dir: Path) -> Path:
    """A data folder with only ../shared/sources ingested, once per run."""
    data_dir = tmp_path_factory.mktemp("statutes-data")
    _ingest(data_dir, [shared_sources])
    return data_dir


@pytest.fixture(scope="session")
def sources_data_dir(tmp_path_factory: pytest.TempPathFactory, statutes_data_dir: Path) -> Path:
    """The default corpus (our guides + the official sources): a copy of the statutes index plus the guides.

    Ingest is incremental, so only the guides are embedded here; the official files are reused as they are.
    """
    data_dir = tmp_path_factory.mktemp("default-data") / "data"
    shutil.copytree(statutes_data_dir, data_dir)
    report = _ingest(data_dir, list(make_settings(data_dir).sources))
    assert report.documents_unchanged > 0
    return data_dir


@pytest.fixture(scope="session")
def statutes_kb(statutes_data_dir: Path, encoder: Encoder) -> Iterator[object]:
    from kb.knowledge_base import KnowledgeBase

    kb = KnowledgeBase(make_settings(statutes_data_dir), encoder=encoder)
    try:
        yield kb
    finally:
        kb.close()


@pytest.fixture(scope="session")
def sources_kb(sources_data_dir: Path, encoder: Encoder) -> Iterator[object]:
    from kb.knowledge_base import KnowledgeBase

    kb = KnowledgeBase(make_settings(sources_data_dir), encoder=encoder)
    try:
        yield kb
    finally:
        kb.close()


@pytest.fixture(scope="session")
def fixture_index(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """A folder with ``corpus/`` (the fixture corpus) and ``data/`` (its index), ingested once per run.

    Tests copy it (``copy_fixture_index``) rather than open it, so each has its own Qdrant folder to lock or change.
    """
    root = tmp_path_factory.mktemp("fixture-index")
    shutil.copytree(FIXTURE_CORPUS, root / "corpus")
    _ingest(root / "data", [root / "corpus"])
    return root


def copy_fixture_index(fixture_index: Path, target: Path, **overrides: object) -> Settings:
    """Copy the fixture index into ``target``; settings whose data folder and sources are the copies."""
    shutil.copytree(fixture_index, target)
    return make_settings(target / "data", sources=[target / "corpus"], **overrides)


# Figures that tests measure (answer quality per language, timings) are shown at the end of every run,
# also when the tests pass.
REPORT_LINES: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT_LINES:
        terminalreporter.section("Majakka measurements")
        for line in REPORT_LINES:
            terminalreporter.write_line(line)
