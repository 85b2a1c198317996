"""The embeddable widget in a real Chromium (Playwright for Python), against a live server over the real index.

The server is uvicorn in a thread, serving the session's KnowledgeBase (the embedded Qdrant folder can be opened by
one process only). A second tiny HTTP server on another port plays a third-party site: a page with a strict CSP,
a page without a language, and the neutral page that "Quick exit" goes to.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.app import create_app
from kb.config import PROJECT_ROOT
from kb.knowledge_base import KnowledgeBase
from tests.conftest import REPORT_LINES
from tests.serving import free_port

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # reported by the `browser` fixture as a failure, never a skip
    sync_playwright = None

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
ANSWER_TIMEOUT_MS = 90_000
PROXY_PREFIX = "/majakka"  # where the third-party site's own proxy puts the API

QUESTION_FI = "Kuka päättää harkinta-ajan antamisesta?"
QUESTION_SV = "Vem beslutar om betänketid?"
QUESTION_EN = "Who decides on the reflection period?"
DANGER_EN = "They took my passport and locked me in, help me"
DANGER_AR = "صاحب العمل أخذ جواز سفري ولا يسمح لي بالخروج"  # my employer took my passport and will not let me out

# The deepest focused element, through shadow roots.
FOCUSED_JS = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  return {tag: el.tagName.toLowerCase(), id: el.id, cls: el.className, text: el.textContent.trim(),
          expanded: el.getAttribute('aria-expanded'), outline: getComputedStyle(el).outlineStyle,
          outlineWidth: getComputedStyle(el).outlineWidth};
}"""


@dataclass(frozen=True)
class Sites:
    """The live API server and the third-party test site."""

    api: str
    host: str
    data_dir: Path


def host_handler(api: str, host: str) -> type[BaseHTTPRequestHandler]:
    """Pages of a third-party site that embeds the widget from ``api``."""
    strict_csp = f"default-src 'none'; script-src {api}; style-src {api}; connect-src {api}"
    exit_url = f"{host}/neutral"
    pages: dict[str, tuple[str, dict[str, str]]] = {
        # No data-lang: the widget takes Swedish from <html lang="sv-FI">.
        "/strict": (
            '<!doctype html><html lang="sv-FI"><head><meta charset="utf-8"><title>Strikt sida</title></head>'
            "<body><main><h1>En sida med strikt CSP</h1><p>Widgeten laddas från en annan källa.</p></main>"
            f'<script src="{api}/widget.js" data-exit-url="{exit_url}" async></script></body></html>',
            {"Content-Security-Policy": strict_csp},
        ),
        # Neither data-lang nor <html lang>: English.
        "/nolang": (
            '<!doctype html><html><head><meta charset="utf-8"><title>Page</title></head><body><main><h1>Page</h1>'
            f'</main><script src="{api}/widget.js" data-exit-url="{exit_url}" async></script></body></html>',
            {"Content-Security-Policy": strict_csp},
        ),
        "/neutral": (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Weather</title></head>'
            "<body><h1>Weather today</h1><p>Sunny.</p></body></html>",
            {},
        ),
        # The API behind this site's own proxy, under a path prefix: the widget is told where with data-api.
        "/proxied": (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Proxied</title></head><body><main>'
            f'<h1>Behind a proxy</h1></main><script src="{host}{PROXY_PREFIX}/widget.js" '
            f'data-api="{host}{PROXY_PREFIX}" data-exit-url="{exit_url}" async></script></body></html>',
            {},
        ),
    }

    class Handler(BaseHTTPRequestHandler):
        def _proxy(self, method: str) -> None:
            """Forward a request under PROXY_PREFIX to the API, as a site's reverse proxy would."""
            import httpx

            length = int(self.headers.get("Content-Length") or 0)
            forwarded = httpx.request(
                method, api + self.path[len(PROXY_PREFIX):], content=self.rfile.read(length) if length else None,
                headers={k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")},
                timeout=ANSWER_TIMEOUT_MS / 1000,
            )
            self.send_response(forwarded.status_code)
            for name, value in forwarded.headers.items():
                if name.lower() in ("content-type", "cache-control", "x-content-type-options"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(forwarded.content)))
            self.end_headers()
            self.wfile.write(forwarded.content)

        def do_POST(self) -> None:
            if self.path.startswith(PROXY_PREFIX + "/"):
                self._proxy("POST")
            else:
                self.send_error(404)

        def do_GET(self) -> None:
            if self.path.startswith(PROXY_PREFIX + "/"):
                self._proxy("GET")
                return
            body, headers = pages.get(self.path.split("?")[0], ("not found", {}))
            data = body.encode("utf-8")
            self.send_response(200 if body != "not found" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def sites(sources_kb: KnowledgeBase) -> Iterator[Sites]:
    """uvicorn serving the session's KnowledgeBase, plus the third-party site; both stopped at the end."""
    api_port, host_port = free_port(), free_port()
    api, host = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{host_port}"
    base = sources_kb.settings
    settings = base.model_copy(update={"api": base.api.model_copy(update={"cors_origins": [host]})})
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, kb=sources_kb), host="127.0.0.1", port=api_port, log_level="warning")
    )
    api_thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    api_thread.start()
    third_party = ThreadingHTTPServer(("127.0.0.1", host_port), host_handler(api, host))
    host_thread = threading.Thread(target=third_party.serve_forever, name="third-party", daemon=True)
    host_thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not api_thread.is_alive():
            pytest.fail(f"the test server did not start on {api}")
        time.sleep(0.05)
    try:
        yield Sites(api=api, host=host, data_dir=settings.data_dir)
    finally:
        server.should_exit = True
        third_party.shutdown()
        third_party.server_close()
        api_thread.join(timeout=15)
        host_thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        pytest.fail("Playwright for Python is not installed: run `make test` (it installs the dev dependencies)")
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make test` as root, or `apt-get install chromium`")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"axe-core is missing at {AXE_JS}: run `make test` (it runs `npm ci`)")
    return AXE_JS.read_text(encoding="utf-8")


def new_page(browser: Browser, **options: Any) -> Page:
    options.setdefault("viewport", {"width": 1280, "height": 800})
    # Screenshots and contrast checks see the settled widget, not a frame of its opening animation.
    options.setdefault("reduced_motion", "reduce")
    page = browser.new_context(**options).new_page()
    page.set_default_timeout(30_000)
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = new_page(browser)
    try:
        yield page
    finally:
        page.context.close()


@pytest.fixture
def axe_page(browser: Browser, axe_source: str) -> Iterator[Page]:
    """A page whose CSP lets the test inject axe-core."""
    page = new_page(browser, bypass_csp=True)
    try:
        yield page
    finally:
        page.context.close()


def ask_full(page: Page, label: str, send: str, question: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Type a question into the open widget, send it, wait for the rendered answer; (what was sent, the answer)."""
    page.get_by_role("textbox", name=label).fill(question)
    with page.expect_response(re.compile(r"/api/v1/ask$"), timeout=ANSWER_TIMEOUT_MS) as response:
        page.get_by_role("button", name=send, exact=True).click()
    assert response.value.status == 200, response.value.text()
    expect(page.locator("majakka-chat .reply").last).not_to_have_attribute("aria-busy", "true")
    return dict(response.value.request.post_data_json), dict(response.value.json())


def ask(page: Page, label: str, send: str, question: str) -> dict[str, Any]:
    """Type a question into the open widget, send it, wait for the rendered answer; the API's JSON."""
    return ask_full(page, label, send, question)[1]


def shadow_eval(page: Page, script: str) -> Any:
    return page.evaluate(f"() => {{ const root = document.querySelector('majakka-chat').shadowRoot; {script} }}")


def strip_markers(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def test_widget_answers_with_citations_that_expand_to_their_quote(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/?lang=fi")
    assert page.evaluate("document.documentElement.lang") == "fi"
    page.get_by_role("button", name="Kysy ihmiskaupasta").click()
    expect(page.get_by_role("dialog", name="Majakka")).to_be_visible()
    assert page.evaluate(FOCUSED_JS)["id"] == "mj-question"
    shadow_eval(page, """const live = root.querySelector('[aria-live="polite"]'); window.liveTexts = [];
        new MutationObserver(() => { if (live.textContent) window.liveTexts.push(live.textContent); })
          .observe(live, {childList: true, characterData: true, subtree: true});""")

    body = ask(page, "Kysymyksesi", "Lähetä", QUESTION_FI)

    assert not body["abstained"] and body["citations"], body["answer"]
    reply = page.locator("majakka-chat .reply").last
    for piece in re.split(r"\s*\[\d+\]", body["answer"]):
        if piece.strip():
            expect(reply.locator(".answer-text")).to_contain_text(piece.strip())
    citation = body["citations"][0]
    marker = reply.get_by_role("button", name=f"Lähde {citation['n']}", exact=True)
    expect(marker).to_have_attribute("aria-expanded", "false")
    detail = reply.locator(f"#{marker.get_attribute('aria-controls')}")
    expect(detail).to_be_hidden()
    marker.click()
    expect(marker).to_have_attribute("aria-expanded", "true")
    expect(detail).to_be_visible()
    expect(detail.locator("blockquote")).to_have_text(citation["quote"])
    expect(detail.locator(".where")).to_contain_text(citation["title"])
    if citation["section"]:
        expect(detail.locator(".where")).to_contain_text(citation["section"])
    # Every citation opens somewhere: Finlex for a statute, else its document's page on the API (a relative url).
    expected = sites.api + citation["url"] if citation["url"].startswith("/") else citation["url"]
    expect(detail.get_by_role("link", name="Avaa lähde")).to_have_attribute("href", expected)
    expect(reply.locator(".notice")).to_have_text(body["notice"])
    # The finished answer is announced once, in words, without the markers.
    assert page.evaluate("window.liveTexts") == [f"Majakka: {strip_markers(body['answer'])}"]
    page.screenshot(path=ARTIFACTS / "widget-fi.png")

    # Thumbs up sends the cited passage ids and the rating, nothing else.
    with page.expect_request(re.compile(r"/api/v1/feedback$")) as sent:
        reply.get_by_role("button", name="Kyllä").click()
    expect(reply.get_by_role("status")).to_have_text("Kiitos palautteesta.")
    payload = sent.value.post_data_json
    expected_ids = list(dict.fromkeys(c["passage_id"] for c in body["citations"]))
    assert payload == {"passage_ids": expected_ids, "rating": "up"}
    assert sent.value.response() is not None and sent.value.response().status == 201  # type: ignore[union-attr]
    with sqlite3.connect(sites.data_dir / "feedback.sqlite3") as db:
        rows = db.execute("SELECT rating, passage_ids FROM feedback").fetchall()
    assert ("up", json.dumps(expected_ids)) in rows
    stored = (sites.data_dir / "feedback.sqlite3").read_bytes()
    assert QUESTION_FI.encode() not in stored and body["answer"][:30].encode() not in stored


def test_widget_shows_the_help_block_first_when_someone_is_in_danger(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/?lang=en")
    page.get_by_role("button", name="Ask about human trafficking").click()

    body = ask(page, "Your question", "Send", DANGER_EN)

    assert body["urgent"] and body["help"], body
    reply = page.locator("majakka-chat .reply").last
    help_block = reply.locator(".help")
    expect(help_block).to_be_visible()
    expect(help_block.get_by_role("heading", name=body["help"]["title"])).to_be_visible()
    expect(help_block.locator('a[href="tel:112"]')).to_be_visible()
    assert reply.evaluate(
        "r => !!(r.querySelector('.help').compareDocumentPosition(r.querySelector('.answer')) & "
        "Node.DOCUMENT_POSITION_FOLLOWING)"
    ), "the help block must come before the answer"
    help_box, answer_box = help_block.bounding_box(), reply.locator(".answer").bounding_box()
    assert help_box and answer_box and help_box["y"] < answer_box["y"]
    for contact in body["help"]["contacts"]:
        if contact["email"]:
            expect(help_block.locator(f'a[href="mailto:{contact["email"]}"]')).to_be_visible()
    announced = shadow_eval(page, "return root.querySelector('[aria-live=\"polite\"]').textContent;")
    assert announced.startswith(body["help"]["title"])
    page.screenshot(path=ARTIFACTS / "widget-urgent.png")


def test_widget_is_usable_with_the_keyboard_only(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/?lang=fi")
    page.locator("majakka-chat .launcher").wait_for()
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused and "launcher" in focused["cls"]:
            break
    else:
        pytest.fail("Tab never reached the widget's launcher")
    assert focused["outline"] != "none" and focused["outlineWidth"] != "0px", "focus must be visible"

    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED_JS)["id"] == "mj-question"
    # The starter questions arrive without taking the focus, and are reached with the keyboard.
    page.locator("majakka-chat .suggestion").first.wait_for()
    assert page.evaluate(FOCUSED_JS)["id"] == "mj-question", "the suggestions must not take the focus"
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate(FOCUSED_JS)
    assert focused["tag"] == "button" and "suggestion" in focused["cls"], focused
    assert focused["outline"] != "none" and focused["outlineWidth"] != "0px", "focus must be visible"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED_JS)["id"] == "mj-question"
    page.keyboard.type(QUESTION_FI)
    with page.expect_response(re.compile(r"/api/v1/ask$"), timeout=ANSWER_TIMEOUT_MS):
        page.keyboard.press("Enter")
    expect(page.locator("majakka-chat .reply").last).not_to_have_attribute("aria-busy", "true")
    assert page.evaluate(FOCUSED_JS)["id"] == "mj-question", "focus stays in the question box"

    page.keyboard.press("Tab")
    assert "send" in page.evaluate(FOCUSED_JS)["cls"]
    page.keyboard.press("Shift+Tab")
    # Back from the question box into the answer: the feedback buttons, then the sources, then the [n] markers.
    for _ in range(30):
        page.keyboard.press("Shift+Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused and focused["cls"] in ("cite", "source"):
            break
    else:
        pytest.fail("Shift+Tab from the question box never reached a citation")
    assert focused["outline"] != "none", "focus must be visible on the citation"
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED_JS)["expanded"] == "true"
    expect(page.locator("majakka-chat .detail:not([hidden]) blockquote").first).to_be_visible()

    page.keyboard.press("Escape")
    expect(page.locator("majakka-chat .panel")).to_be_hidden()
    focused = page.evaluate(FOCUSED_JS)
    assert "launcher" in focused["cls"], focused
    expect(page.locator("majakka-chat .launcher")).to_have_attribute("aria-expanded", "false")


def test_widget_quick_exit_removes_the_chat_and_replaces_the_page(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.host}/nolang")
    page.get_by_role("button", name="Ask about human trafficking").click()
    exit_button = page.get_by_role("button", name="Quick exit")
    expect(exit_button).to_be_visible()
    ask(page, "Your question", "Send", QUESTION_EN)
    expect(page.locator("majakka-chat .answer")).to_be_visible()
    history = page.evaluate("history.length")

    # Click, and in the same task (before the browser can navigate) read what is left of the chat.
    with page.expect_navigation(url=f"{sites.host}/neutral"):
        left = page.evaluate("""() => {
          const host = document.querySelector('majakka-chat');
          const root = host.shadowRoot;
          root.querySelector('.exit').click();
          return {connected: host.isConnected, children: root.childNodes.length, text: root.textContent,
                  page: document.documentElement.textContent};
        }""")
    assert left["connected"] is False and left["children"] == 0 and left["text"] == ""
    assert QUESTION_EN not in left["page"]
    assert page.url == f"{sites.host}/neutral"
    expect(page.get_by_role("heading", name="Weather today")).to_be_visible()
    # The page is replaced, not left: Back does not bring the chat page back.
    assert page.evaluate("history.length") == history
    page.go_back()
    assert "/nolang" not in page.url

    # The same with a real click on the always-visible button, at phone width.
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{sites.host}/nolang")
    page.get_by_role("button", name="Ask about human trafficking").click()
    box = page.get_by_role("button", name="Quick exit").bounding_box()
    assert box and box["y"] >= 0 and box["x"] + box["width"] <= 320
    page.get_by_role("button", name="Quick exit").click()
    page.wait_for_url(f"{sites.host}/neutral")


def test_widget_works_under_a_strict_csp_on_another_origin(page: Page, sites: Sites) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "(window.cspViolations = window.cspViolations || []).push(e.violatedDirective + ' ' + e.blockedURI), true);"
    )
    response = page.goto(f"{sites.host}/strict")
    assert response is not None and "default-src 'none'" in response.headers["content-security-policy"]

    # No data-lang: the language comes from <html lang="sv-FI">.
    launcher = page.get_by_role("button", name="Fråga om människohandel")
    launcher.click()
    assert launcher.evaluate("el => getComputedStyle(el).position") == "fixed", "the stylesheet must load"
    body = ask(page, "Din fråga", "Skicka", QUESTION_SV)
    assert body["citations"], body["answer"]
    expect(page.locator("majakka-chat .answer-text")).to_contain_text(re.split(r"\s*\[\d+\]", body["answer"])[0])
    # The browser's own favicon request is the host page's business, not the widget's.
    assert [v for v in page.evaluate("window.cspViolations || []") if "favicon" not in v] == []
    assert not [p for p in problems if ("Content Security Policy" in p or "CORS" in p) and "favicon" not in p]


def test_widget_calls_the_api_given_by_data_api_under_a_path_prefix(page: Page, sites: Sites) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{sites.host}/proxied")
    page.get_by_role("button", name="Ask about human trafficking").click()
    body = ask(page, "Your question", "Send", QUESTION_EN)
    assert body["citations"], body["answer"]
    calls = [u for u in requested if "/api/v1/" in u or u.endswith(".css")]
    assert calls and all(u.startswith(f"{sites.host}{PROXY_PREFIX}/") for u in calls), calls
    guide = next((c for c in body["citations"] if c["url"].startswith("/documents/")), None)
    if guide is not None:  # a guide's page opens through the same prefix
        links = page.locator('majakka-chat .sources a[href*="/documents/"]')
        hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
        assert hrefs and all(h.startswith(f"{sites.host}{PROXY_PREFIX}/documents/") for h in hrefs), hrefs


@pytest.mark.parametrize(
    ("lang", "launcher", "label", "send", "question"),
    [
        ("sv", "Fråga om människohandel", "Din fråga", "Skicka", QUESTION_SV),
        ("en", "Ask about human trafficking", "Your question", "Send", QUESTION_EN),
    ],
)
def test_widget_speaks_the_page_language(
    page: Page, sites: Sites, lang: str, launcher: str, label: str, send: str, question: str
) -> None:
    page.goto(f"{sites.api}/?lang={lang}")
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.locator("script[src='/widget.js']").get_attribute("data-lang") == lang
    page.get_by_role("button", name=launcher).click()
    body = ask(page, label, send, question)
    assert body["language"] == lang and body["citations"], body
    page.locator("majakka-chat .cite").first.click()
    page.screenshot(path=ARTIFACTS / f"widget-{lang}.png")


@pytest.mark.parametrize(("motion", "animation"), [("reduce", "none"), ("no-preference", "mj-in")])
def test_widget_opens_without_motion_when_the_reader_asks_for_less(
    browser: Browser, sites: Sites, motion: str, animation: str
) -> None:
    page = new_page(browser, reduced_motion=motion)
    try:
        page.goto(f"{sites.host}/nolang")
        page.get_by_role("button", name="Ask about human trafficking").click()
        assert shadow_eval(page, "return getComputedStyle(root.querySelector('.panel')).animationName;") == animation
    finally:
        page.context.close()


def test_widget_without_any_language_is_english(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.host}/nolang")
    expect(page.get_by_role("button", name="Ask about human trafficking")).to_be_visible()


@pytest.mark.parametrize(("width", "height"), [(320, 640), (640, 400)])  # a phone; 1280 x 800 at 200 % zoom
def test_widget_fills_a_narrow_or_zoomed_window(browser: Browser, sites: Sites, width: int, height: int) -> None:
    page = new_page(browser, viewport={"width": width, "height": height})
    try:
        page.goto(f"{sites.api}/?lang=fi")
        page.get_by_role("button", name="Kysy ihmiskaupasta").click()
        ask(page, "Kysymyksesi", "Lähetä", QUESTION_FI)
        panel = page.locator("majakka-chat .panel").bounding_box()
        assert panel == {"x": 0, "y": 0, "width": width, "height": height}
        for name in ("Poistu nopeasti", "Sulje keskustelu", "Lähetä"):
            box = page.get_by_role("button", name=name, exact=True).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] + box["height"] <= height
        expect(page.get_by_role("textbox", name="Kysymyksesi")).to_be_in_viewport()
        overflow = shadow_eval(page, "const l = root.querySelector('.log'); return l.scrollWidth - l.clientWidth;")
        assert overflow <= 0, "nothing may need sideways scrolling"
        if width == 320:
            page.screenshot(path=ARTIFACTS / "widget-320.png")
    finally:
        page.context.close()


def test_embed_page_is_the_chat_alone(page: Page, sites: Sites) -> None:
    response = page.goto(f"{sites.api}/embed?lang=fi")
    assert response is not None and "frame-ancestors *" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Majakka", level=1)).to_be_visible()
    expect(page.locator("majakka-chat .launcher")).to_have_count(0)
    body = ask(page, "Kysymyksesi", "Lähetä", QUESTION_FI)
    assert body["citations"]
    page.screenshot(path=ARTIFACTS / "embed-fi.png")


AXE_RUN = """async (context) => {
  const result = await axe.run(context || document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map(n => JSON.stringify(n.target))}));
}"""


def run_axe(page: Page, source: str, context: Any = None) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)
    return list(page.evaluate(AXE_RUN, context))


def test_axe_finds_no_serious_or_critical_violations(axe_page: Page, axe_source: str, sites: Sites) -> None:
    page = axe_page
    results: dict[str, list[dict[str, Any]]] = {}

    page.goto(f"{sites.api}/?lang=fi")
    page.locator("majakka-chat .launcher").wait_for()
    results["demo page, widget closed"] = run_axe(page, axe_source)
    page.get_by_role("button", name="Kysy ihmiskaupasta").click()
    starters = page.get_by_role("region", name="Voit kysyä esimerkiksi").get_by_role("button")
    expect(starters.first).to_be_visible()
    ask(page, "Kysymyksesi", "Lähetä", QUESTION_FI)
    # A starter question is a curated answer, and those offer what to ask next.
    with page.expect_response(re.compile(r"/api/v1/ask$"), timeout=ANSWER_TIMEOUT_MS) as response:
        starters.first.click()
    expect(page.locator("majakka-chat .reply").last).not_to_have_attribute("aria-busy", "true")
    assert response.value.json()["follow_ups"], response.value.json()
    expect(page.get_by_role("region", name="Kysy seuraavaksi").get_by_role("button").first).to_be_visible()
    page.locator("majakka-chat .cite").first.click()
    results["demo page, widget open with an answer"] = run_axe(page, axe_source)
    results["widget (shadow host) with an answer"] = run_axe(page, axe_source, {"include": [["majakka-chat"]]})

    page.goto(f"{sites.api}/?lang=en")
    page.get_by_role("button", name="Ask about human trafficking").click()
    ask(page, "Your question", "Send", DANGER_EN)
    results["widget (shadow host) with the help block"] = run_axe(page, axe_source, {"include": [["majakka-chat"]]})
    ask(page, "Your question", "Send", DANGER_AR)
    results["widget (shadow host) with a right-to-left help block"] = run_axe(
        page, axe_source, {"include": [["majakka-chat"]]}
    )

    page.goto(f"{sites.api}/embed?lang=sv")
    page.get_by_role("textbox", name="Din fråga").wait_for()
    results["embed page"] = run_axe(page, axe_source)

    (ARTIFACTS / "axe-results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    REPORT_LINES.append("axe-core violations by impact (details in test-artifacts/axe-results.json):")
    for state, violations in results.items():
        counts: dict[str, int] = {}
        for v in violations:
            counts[v["impact"] or "none"] = counts.get(v["impact"] or "none", 0) + 1
        REPORT_LINES.append(f"  {state}: {counts or 'none'}")
        REPORT_LINES.extend(f"    {v['impact']}: {v['id']} ({v['help']})" for v in violations)
    serious = {s: [v["id"] for v in vs if v["impact"] in ("serious", "critical")] for s, vs in results.items()}
    assert not any(serious.values()), serious


def unique_documents(body: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(c["document_id"] for c in body["citations"]))


def test_widget_remembers_the_conversation_for_a_follow_up(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/?lang=fi")
    page.get_by_role("button", name="Kysy ihmiskaupasta").click()

    sent, first = ask_full(page, "Kysymyksesi", "Lähetä", "Mikä on harkinta-aika?")
    assert sent["history"] == [] and sent["ui_language"] == "fi" and sent["card_id"] is None, sent
    assert first["citations"], first

    sent, body = ask_full(page, "Kysymyksesi", "Lähetä", "kuka siitä päättää?")
    # The earlier turn goes back with the question: its words without the markers, its card, its documents.
    assert sent["history"] == [
        {
            "question": "Mikä on harkinta-aika?",
            "answer": strip_markers(first["answer"])[:1000],
            "card_id": first["card_id"],
            "document_ids": unique_documents(first),
        }
    ], sent["history"]
    assert "poliisi" in body["answer"].lower(), body
    expect(page.locator("majakka-chat .answer-text").last).to_contain_text(re.compile("poliisi", re.IGNORECASE))


def test_widget_asks_a_suggested_question_when_it_is_clicked(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/?lang=fi")
    with page.expect_response(re.compile(r"/api/v1/suggestions\?language=fi$")) as listed:
        page.get_by_role("button", name="Kysy ihmiskaupasta").click()
    assert listed.value.status == 200, listed.value.text()
    suggestions = listed.value.json()["suggestions"]
    assert 2 <= len(suggestions) <= 4, suggestions

    group = page.get_by_role("region", name="Voit kysyä esimerkiksi")
    expect(group.get_by_role("heading", name="Voit kysyä esimerkiksi")).to_be_visible()
    buttons = group.get_by_role("list").get_by_role("button")
    expect(buttons).to_have_count(len(suggestions))
    first = suggestions[0]
    expect(buttons.first).to_have_text(first["question"])
    assert page.evaluate(FOCUSED_JS)["id"] == "mj-question", "the suggestions must not take the focus"

    with page.expect_response(re.compile(r"/api/v1/ask$"), timeout=ANSWER_TIMEOUT_MS) as response:
        buttons.first.click()
    assert response.value.status == 200, response.value.text()
    sent = response.value.request.post_data_json
    assert sent["question"] == first["question"] and sent["card_id"] == first["card_id"], sent
    body = response.value.json()
    reply = page.locator("majakka-chat .reply").last
    expect(reply).not_to_have_attribute("aria-busy", "true")
    # Shown as the person's own message, then answered with sources.
    expect(page.locator("majakka-chat .question").last).to_contain_text(first["question"])
    assert body["citations"], body
    expect(reply.locator(".cite").first).to_be_visible()
    expect(reply.locator(".sources li")).to_have_count(len(body["citations"]))


def test_widget_answers_small_talk_in_the_widgets_language(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/?lang=fi")
    assert page.locator("script[src='/widget.js']").get_attribute("data-lang") == "fi"
    page.get_by_role("button", name="Kysy ihmiskaupasta").click()

    sent, body = ask_full(page, "Kysymyksesi", "Lähetä", "hei")

    assert sent["ui_language"] == "fi", sent
    assert body["answer_kind"] == "smalltalk" and body["language"] == "fi", body
    assert "[1]" not in body["answer"] and not body["citations"], body
    reply = page.locator("majakka-chat .reply").last
    answer = reply.locator(".answer-text")
    expect(answer).to_have_attribute("lang", "fi")
    expect(answer).to_have_text(body["answer"].strip())
    expect(answer).not_to_contain_text("[1]")
    expect(reply.locator(".cite, .sources")).to_have_count(0)


def test_widget_shows_help_in_the_persons_language_right_to_left(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/?lang=en")
    page.get_by_role("button", name="Ask about human trafficking").click()

    body = ask(page, "Your question", "Send", DANGER_AR)

    assert body["urgent"] and body["help"], body
    assert body["help"]["language"] == "ar" and body["help"]["direction"] == "rtl", body["help"]
    reply = page.locator("majakka-chat .reply").last
    help_block = reply.locator(".help")
    expect(help_block).to_be_visible()
    expect(help_block).to_have_attribute("lang", "ar")
    expect(help_block).to_have_attribute("dir", "rtl")
    assert help_block.evaluate("el => getComputedStyle(el).direction") == "rtl"
    expect(help_block.get_by_role("heading", name=body["help"]["title"])).to_be_visible()
    # The widget's own words stay in the widget's language.
    expect(help_block.locator('a.call [lang="en"]').first).to_have_text("Call")
    expect(reply.locator(".answer .who")).to_have_text("Majakka")
    assert shadow_eval(page, "return root.querySelector('.root').lang;") == "en"
    if body["answer_kind"] == "help":
        expect(reply.locator(".answer-text")).to_have_attribute("lang", "ar")
        expect(reply.locator(".answer-text")).to_have_attribute("dir", "rtl")
    page.screenshot(path=ARTIFACTS / "widget-rtl.png")


def test_widget_quick_exit_empties_the_conversation_memory(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.host}/nolang")
    page.get_by_role("button", name="Ask about human trafficking").click()
    ask(page, "Your question", "Send", QUESTION_EN)
    sent, _ = ask_full(page, "Your question", "Send", "What is the reflection period?")
    assert [turn["question"] for turn in sent["history"]] == [QUESTION_EN], sent["history"]
    assert page.evaluate("document.querySelector('majakka-chat').majakkaTurns") == 2
    # Page memory only: nothing in storage or cookies.
    assert page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]

    with page.expect_navigation(url=f"{sites.host}/neutral"):
        turns = page.evaluate("""() => {
          const host = document.querySelector('majakka-chat');
          const before = host.majakkaTurns;
          host.shadowRoot.querySelector('.exit').click();
          return {before, after: host.majakkaTurns};
        }""")
    assert turns == {"before": 2, "after": 0}

    # Coming back, the chat starts afresh: the first question goes without any history.
    page.goto(f"{sites.host}/nolang")
    page.get_by_role("button", name="Ask about human trafficking").click()
    sent, _ = ask_full(page, "Your question", "Send", QUESTION_EN)
    assert sent["history"] == [], sent
