"""The `kb` command, in-process, against a real index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from majakka.cli import main
from tests.conftest import MODEL_DIR


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> None:
    monkeypatch.setenv("KB_EMBEDDING__MODEL", str(MODEL_DIR))


def test_cli_ingest_then_search_json(
    cli_env: None, fixture_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "data")
    assert main(["ingest", str(fixture_corpus), "--data-dir", data]) == 0
    assert "index updated" in capsys.readouterr().out
    assert main(["ingest", str(fixture_corpus), "--data-dir", data]) == 0
    assert "index unchanged" in capsys.readouterr().out
    own = tmp_path / "own"
    own.mkdir()
    (own / "ferry.md").write_text("---\nid: own-ferry\nlanguage: en\n---\n\nThe ferry leaves at nine.\n\nBack at 5.\n")
    (own / "table.xlsx").write_bytes(b"PK")
    assert main(["ingest", str(own), "--data-dir", data]) == 0
    out, err = capsys.readouterr()
    assert "1 added" in out and "9 other documents kept, 0 removed" in out and "1 skipped" in out, out
    assert "skipped" in err and "table.xlsx" in err
    assert main(["remove", "own-ferry", "--data-dir", data]) == 0
    assert "0 added" in capsys.readouterr().out
    assert main(["search", "Vem rapporterar om människohandel?", "-k", "2", "--json", "--data-dir", data]) == 0
    passages = json.loads(capsys.readouterr().out)["passages"]
    assert len(passages) == 2 and passages[0]["document_id"] == "fixture-rapportor-sv"
    assert passages[0]["source"] == "sv/rapportor.md"
    # The fixture corpus holds documents and no guide: --kind keeps all of them, or none.
    question = "Vem rapporterar om människohandel?"
    assert main(["search", question, "--kind", "official", "--json", "--data-dir", data]) == 0
    assert json.loads(capsys.readouterr().out)["passages"][0]["document_id"] == "fixture-rapportor-sv"
    assert main(["search", question, "--kind", "guide", "--json", "--data-dir", data]) == 0
    assert json.loads(capsys.readouterr().out)["passages"] == []


def test_cli_error_is_one_line_and_exit_1(cli_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(tmp_path / "missing"), "--data-dir", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kb: error:") and "does not exist" in err[0]


def test_cli_locked_store_says_what_to_do(cli_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kb.config import Settings
    from kb.search.store import open_client

    settings = Settings(data_dir=tmp_path / "d")
    holder = open_client(settings)
    try:
        assert main(["search", "x", "--data-dir", str(tmp_path / "d")]) == 1
    finally:
        holder.close()
    assert "in use by another process" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("KB_API__CORS_ORIGINS", "https://a.example", "KB_API__CORS_ORIGINS='[\"https://a.example\"]'"),
        ("KB_SOURCES", "corpus/guides", "is not JSON"),
        ("KB_RETRIEVAL__TOP_K", "0", "greater than or equal to 1"),
        ("KB_API__RATE", "fast", "valid number"),
        ("KB_API__TRUSTED_PROXIES", '["proxy.example"]', "not an address or network"),
    ],
)
def test_cli_a_bad_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["search", "x"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"kb: error: {variable}=") and says in err[0], err


def test_cli_default_data_folder_is_the_projects_wherever_kb_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kb.config import PROJECT_ROOT, load_settings

    monkeypatch.delenv("KB_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_settings().data_dir == PROJECT_ROOT / "data"
