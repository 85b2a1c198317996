"""Load on real loopback HTTP: `kb serve` in its own process, 32 clients at once, asking and searching; then the same
while the index is rebuilt and swapped again and again. No request may fail or come back empty.

``KB_LOAD_REQUESTS`` sets the requests per phase (default 500, so CI sends 1,000 in all); `make loadtest` (and so
`make bench`) sends 10,000 per phase. Latency figures are printed in the run's summary.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kb.config import PROJECT_ROOT
from tests.conftest import MODEL_DIR, REPORT_LINES, copy_fixture_index, ingest_into
from tests.serving import free_port, stop, wait_until_serving

TOKEN = "load-admin-token"
CONCURRENCY = 32
REQUESTS_PER_PHASE = int(os.environ.get("KB_LOAD_REQUESTS", "500"))
STARTUP_SECONDS = 180
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors *; base-uri 'none'; form-action 'self'"
)

# Questions the fixture corpus answers, in its three languages. The server runs with its caches off, so every request
# takes the slow path, and the same question gets the same answer: an abstention can only mean a failure.
QUESTIONS = [
    ("Can I call the victims' helpline anonymously", "en"),
    ("What number do I call if someone is in immediate danger", "en"),
    ("How long does rye bread bake in the oven", "en"),
    ("Are studded tyres needed for winter cycling", "en"),
    ("Kuka myöntää harkinta-ajan ihmiskaupan uhrille", "fi"),
    ("Mihin paristot voi palauttaa", "fi"),
    ("Milloin kaupunginkirjasto on auki lauantaisin", "fi"),
    ("Kuinka pitkäksi aikaa kirjoja voi lainata", "fi"),
    ("Vem är Finlands nationella rapportör om människohandel", "sv"),
    ("Hur ofta kör bokbussen genom byarna", "sv"),
    ("När öppnas isvägar i skärgården", "sv"),
    ("Hur ofta lämnar rapportören en berättelse till riksdagen", "sv"),
]


@dataclass
class Outcome:
    """What one request returned."""

    kind: str
    seconds: float
    error: str | None = None


@dataclass
class Phase:
    """The outcomes of one phase of load."""

    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[str]:
        return [o.error for o in self.outcomes if o.error]

    def percentile(self, share: float) -> float:
        """Latency (ms) below which ``share`` of the requests finished."""
        times = sorted(o.seconds for o in self.outcomes)
        return 1000 * times[min(len(times) - 1, int(share * len(times)))]

    def summary(self) -> str:
        asks = sum(o.kind == "ask" for o in self.outcomes)
        return (
            f"load {self.name}: {len(self.outcomes)} requests ({asks} ask, {len(self.outcomes) - asks} search) at "
            f"concurrency {CONCURRENCY}: {len(self.errors)} errors; p50 {self.percentile(0.5):.0f} ms, "
            f"p95 {self.percentile(0.95):.0f} ms, "
            f"mean {1000 * statistics.fmean(o.seconds for o in self.outcomes):.0f} ms, "
            f"{len(self.outcomes) / self.seconds:.1f} requests/s"
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, fixture_index: Path) -> Iterator[tuple[str, Path]]:
    """`kb serve` on a free loopback port over a copy of the fixture index; its URL and its corpus folder."""
    root = tmp_path_factory.mktemp("load") / "root"
    settings = copy_fixture_index(fixture_index, root)
    # Indexed at the copy's own path, so that each reindex under load re-embeds only the file it changed.
    ingest_into(settings, list(settings.sources))
    port = free_port()
    env = {
        **os.environ,
        "KB_DATA_DIR": str(settings.data_dir),
        "KB_SOURCES": json.dumps([str(p) for p in settings.sources]),
        "KB_EMBEDDING__MODEL": str(MODEL_DIR),
        "KB_API__ADMIN_TOKEN": TOKEN,
        # One test process plays every user: the per-client limit is lifted.
        "KB_API__RATE": "1000000",
        "KB_API__BURST": "1000000",
        "KB_CACHE__SIZE": "0",  # every request computed, not served from a cache
    }
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "majakka.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, url, log_path.read_text, STARTUP_SECONDS)
        yield url, settings.sources[0]
    finally:
        stop(process)


def request_for(number: int) -> tuple[str, str, dict[str, Any]]:
    """The ``number``-th request of a phase: (kind, path, JSON body or query); two asks to one search."""
    question, language = QUESTIONS[number % len(QUESTIONS)]
    text = f"{question}?"
    if number % 3 == 2:
        return "search", "/api/v1/search", {"q": text, "k": 5}
    return "ask", "/api/v1/ask", {"question": text, "language": language if number % 2 else None}


def problem(kind: str, response: httpx.Response) -> str | None:
    """Why a response is a failure for a user, or None: not 200, or an empty answer or result."""
    if response.status_code != 200:
        return f"{kind} {response.status_code}: {response.text[:200]}"
    body = response.json()
    if kind == "search":
        return None if body["passages"] else "search returned no passages"
    if not body["answer"].strip() or not body["citations"]:
        return f"empty or uncited answer: {body['answer'][:100]!r}"
    return None


async def run_phase(url: str, name: str, first: int, count: int, until: Callable[[], bool] = lambda: True) -> Phase:
    """Send requests numbered from ``first``, ``CONCURRENCY`` at once: ``count`` of them, and more until ``until()``."""
    phase = Phase(name)
    numbers = itertools.takewhile(lambda n: n < first + count or not until(), itertools.count(first))
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async def user(client: httpx.AsyncClient) -> None:
        for number in numbers:
            kind, path, payload = request_for(number)
            began = time.perf_counter()
            try:
                if kind == "ask":
                    response = await client.post(path, json=payload)
                else:
                    response = await client.get(path, params=payload)
                error = problem(kind, response)
            except httpx.HTTPError as exc:
                error = f"{kind} {type(exc).__name__}: {exc}"
            phase.outcomes.append(Outcome(kind, time.perf_counter() - began, error))

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        await asyncio.gather(*(user(client) for _ in range(CONCURRENCY)))
    phase.seconds = time.perf_counter() - began
    return phase


class Reindexer(threading.Thread):
    """Changes the corpus and asks the server to reindex, over and over, until stopped; counts the swaps."""

    def __init__(self, url: str, corpus: Path) -> None:
        super().__init__(name="load-reindexer", daemon=True)
        self.url = url
        self.corpus = corpus
        self.stop = threading.Event()
        self.results: list[dict[str, Any]] = []

    def swapped(self) -> bool:
        """True once a reindex has changed and swapped the served index."""
        return any(r.get("ok") and r.get("changed") for r in self.results)

    def run(self) -> None:
        try:
            self._reindex_until_stopped()
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            self.results.append({"ok": False, "error": f"{type(exc).__name__}: {exc}"})

    def _reindex_until_stopped(self) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=120) as client:
            while not self.stop.is_set():
                round_number = len(self.results) + 1
                (self.corpus / "en" / "ferry.md").write_text(
                    f"---\nid: load-ferry-en\ntitle: Ferry timetable\nlanguage: en\n---\n\nThe island ferry leaves "
                    f"the harbour every {round_number + 1} hours between six in the morning and ten at night.\n",
                    encoding="utf-8",
                )
                started = client.post("/api/v1/admin/reindex")
                if started.status_code != 202:
                    self.results.append({"ok": False, "error": f"{started.status_code}: {started.text[:200]}"})
                    return
                while True:
                    stats = client.get("/api/v1/admin/stats").json()
                    if not stats["reindex"]["running"] and stats["reindex"]["last"]:
                        break
                    time.sleep(0.2)
                self.results.append(stats["reindex"]["last"])


def test_load_headers_over_real_http(server: tuple[str, Path]) -> None:
    url, _corpus = server
    page = httpx.get(f"{url}/embed?lang=en")
    assert page.headers.get_list("content-security-policy") == [PAGE_CSP]
    assert "x-frame-options" not in page.headers, "the page's frame-ancestors decides framing"
    for response in (page, httpx.get(f"{url}/healthz"), httpx.post(f"{url}/api/v1/ask", content=b"\xff")):
        assert "server" not in response.headers, "no server banner"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_load_cli_beside_the_server_asks_it(
    server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from majakka.cli import main

    url, corpus = server
    for name, value in (("KB_DATA_DIR", str(corpus.parent / "data")), ("KB_SOURCES", json.dumps([str(corpus)])),
                        ("KB_EMBEDDING__MODEL", str(MODEL_DIR)), ("KB_API__PORT", url.rsplit(":", 1)[1])):
        monkeypatch.setenv(name, value)
    question = "Kuka myöntää harkinta-ajan?"
    assert main(["ask", question, "--json"]) == 0, "the folder is the server's: the CLI asks the server"
    assert json.loads(capsys.readouterr().out)["answer"] == httpx.post(
        f"{url}/api/v1/ask", json={"question": question}).json()["answer"]
    assert main(["search", question, "-k", "2"]) == 0
    assert capsys.readouterr().out.startswith("1. [")
    assert main(["ingest", str(corpus)]) == 1
    assert "stop it" in capsys.readouterr().err
    monkeypatch.setenv("KB_API__ADMIN_TOKEN", TOKEN)
    assert main(["ingest"]) == 0, "no paths and the server's token: the server reindexes"
    assert "reindexed by the server" in capsys.readouterr().out


def test_load_concurrent_requests_all_succeed(server: tuple[str, Path]) -> None:
    url, _corpus = server
    phase = asyncio.run(run_phase(url, "steady", 0, REQUESTS_PER_PHASE))
    REPORT_LINES.append(phase.summary())

    assert len(phase.outcomes) == REQUESTS_PER_PHASE
    assert phase.errors == [], phase.errors[:5]


def test_load_while_reindexing_nothing_fails_or_comes_back_empty(server: tuple[str, Path]) -> None:
    url, corpus = server
    reindexer = Reindexer(url, corpus)
    reindexer.start()
    try:
        # At least as many requests as the steady phase, and on until a reindex has swapped the index.
        phase = asyncio.run(
            run_phase(url, "during reindex", REQUESTS_PER_PHASE, REQUESTS_PER_PHASE, until=reindexer.swapped)
        )
        load_ended = time.time()
    finally:
        reindexer.stop.set()
        reindexer.join(timeout=300)
    swaps = sum(1 for r in reindexer.results if r.get("ok") and r.get("changed") and r["finished"] < load_ended)
    seconds = [r["seconds"] for r in reindexer.results if r.get("ok")]
    REPORT_LINES.append(f"{phase.summary()}; {swaps} index swaps during the load (each reindex "
                        f"{min(seconds, default=0):.0f}-{max(seconds, default=0):.0f} s)")

    assert len(phase.outcomes) >= REQUESTS_PER_PHASE
    assert phase.errors == [], phase.errors[:5]
    assert reindexer.results and all(r["ok"] for r in reindexer.results), reindexer.results
    assert swaps >= 1, f"no reindex swapped the index while the load ran: {reindexer.results}"
    top = httpx.get(f"{url}/api/v1/search", params={"q": "When does the island ferry leave?", "k": 1}).json()
    assert top["passages"][0]["document_id"] == "load-ferry-en", "the last reindex is served"
