"""/docs in a real Chromium: Swagger UI renders every operation from local files, with no request elsewhere."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn

from api.app import create_app
from tests.browser.test_widget import ARTIFACTS, Page, Sites
from tests.conftest import make_settings
from tests.serving import free_port


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with no index (the reference needs none), over real HTTP."""
    settings = make_settings(tmp_path_factory.mktemp("docs") / "data")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn-docs", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the docs test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_docs_render_every_operation_offline(page: Page, docs_server: str, tmp_path: Path) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{docs_server}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = {p.replace("\u200b", "").strip() for p in page.locator(".opblock-summary-path").all_inner_texts()}
    assert {"/api/v1/ask", "/api/v1/search", "/api/v1/feedback", "/api/v1/admin/reindex", "/api/v1/admin/stats",
            "/healthz"} <= paths, paths
    assert page.locator(".authorize").count() == 1, "the admin token's scheme is documented"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs.png"))
    origin = urlsplit(docs_server).netloc
    elsewhere = [u for u in requested if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != origin]
    assert elsewhere == [], f"/docs asked other sites: {elsewhere}"


def test_a_citation_opens_its_document_at_the_quote(axe_page: Page, axe_source: str, sites: Sites) -> None:
    import httpx

    from tests.browser.test_widget import run_axe

    answer = httpx.post(f"{sites.api}/api/v1/ask", json={"question": "Mitä apua auttamisjärjestelmä antaa?"},
                        timeout=60).json()
    citation = next(c for c in answer["citations"] if c["url"].startswith("/documents/"))
    axe_page.goto(sites.api + citation["url"])
    marked = axe_page.locator(f"#passage-{citation['passage_id']} mark")
    assert marked.inner_text() == citation["quote"]
    assert marked.is_visible() and axe_page.evaluate(
        "id => { const r = document.getElementById(id).getBoundingClientRect();"
        " return r.top >= 0 && r.top < window.innerHeight; }", f"passage-{citation['passage_id']}"
    ), "the page opens scrolled to the cited passage"
    assert axe_page.locator("html").get_attribute("lang") == answer["language"]
    ARTIFACTS.mkdir(exist_ok=True)
    axe_page.screenshot(path=str(ARTIFACTS / "document-page.png"))
    violations = run_axe(axe_page, axe_source)
    assert not [v["id"] for v in violations if v["impact"] in ("serious", "critical")], violations
