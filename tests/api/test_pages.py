"""The demo page, /embed and the widget's files: headers, languages, and what the widget script must not do."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routes.documents import render
from kb.types import Passage
from tests.conftest import make_settings

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors *; base-uri 'none'; form-action 'self'"
)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(make_settings(tmp_path / "data")))


@pytest.mark.parametrize("path", ["/", "/?lang=sv", "/embed?lang=en"])
def test_pages_are_served_with_a_strict_csp(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "style=" not in response.text and "<script>" not in response.text, "nothing inline"


@pytest.mark.parametrize(("query", "lang"), [("", "fi"), ("?lang=fi", "fi"), ("?lang=sv", "sv"), ("?lang=en", "en"),
                                             ("?lang=de", "fi")])
def test_pages_set_the_page_and_widget_language(client: TestClient, query: str, lang: str) -> None:
    demo = client.get(f"/{query}").text
    embed = client.get(f"/embed{query}").text

    for html in (demo, embed):
        assert f'<html lang="{lang}">' in html
        assert re.search(rf'<script src="/widget\.js" data-lang="{lang}"', html)
    assert 'data-mode="page"' in embed
    assert all(f'href="/?lang={code}"' in demo for code in ("fi", "sv", "en"))


def test_demo_page_says_it_is_a_demo(client: TestClient) -> None:
    assert "Esittelysivu" in client.get("/?lang=fi").text
    assert "Demosida" in client.get("/?lang=sv").text
    assert "Demo page" in client.get("/?lang=en").text


@pytest.mark.parametrize(("path", "media_type"), [("/widget.js", "text/javascript"), ("/widget.css", "text/css"),
                                                  ("/demo.css", "text/css")])
def test_widget_files_are_served_with_their_types(client: TestClient, path: str, media_type: str) -> None:
    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.headers["x-content-type-options"] == "nosniff"


def test_widget_script_keeps_to_memory_and_its_own_origin(client: TestClient) -> None:
    script = client.get("/widget.js").text

    for forbidden in ("eval(", "new Function", "localStorage", "sessionStorage", "document.cookie", "indexedDB",
                      "innerHTML", "insertAdjacentHTML", ".style.", "setAttribute(\"style\""):
        assert forbidden not in script, forbidden
    urls = set(re.findall(r"https?://[^\s\"')]+", script))
    assert urls <= {"https://HOST/widget.js", "https://www.google.com/", "http://www.w3.org/2000/svg"}, urls
    assert 'credentials: "omit"' in script


def _passages_of(text: str, cuts: list[tuple[int, int]]) -> list[Passage]:
    return [
        Passage(passage_id=f"p{i}", document_id="doc", title="Opas", section="Apu", language="fi", url=None,
                source="doc.md", text=text[a:b], score=0.0, start=a, end=b)
        for i, (a, b) in enumerate(cuts)
    ]


def test_document_page_shows_a_sentence_that_two_passages_share_once() -> None:
    text = "Apu\nEnsimmäinen lause on tässä. Toinen lause jatkaa. Kolmas lause päättää."
    second = text.index("Toinen")
    third = text.index("Kolmas")
    passages = _passages_of(text, [(0, third - 1), (second, len(text))])  # the second sentence is in both
    page = render(passages, None)
    assert page.count("Toinen lause jatkaa.") == 1
    assert page.count("Kolmas lause päättää.") == 1
    assert page.count("Ensimmäinen lause on tässä.") == 1
    # Quoted from the shared sentence of the second passage: that passage is shown whole, with the mark in it.
    quote = (0, len("Toinen lause jatkaa."))
    marked = render(passages, ("p1", *quote))
    assert '<p id="passage-p1" class="passage"><mark>Toinen lause jatkaa.</mark> Kolmas' in marked
