"""Hardening in process (issue #16): no body gives a 5xx, errors echo nothing, clients and endpoints limited.

Over a real server (connection limits, the server's own logs, proxy headers): ``test_hardening_server.py``.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from api.app import create_app
from api.deps import client_key
from api.ratelimit import OVERFLOW, TokenBucketLimiter
from api.routes.feedback import FeedbackStore
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from tests.conftest import copy_fixture_index, ingest_into, make_settings

TOKEN = "hardening-admin-token"
MARKER = "MARKER-7f3a-my-boss-keeps-my-passport"


@pytest.fixture(scope="module")
def fixture_kb(
    tmp_path_factory: pytest.TempPathFactory, fixture_index: Path, encoder: Encoder
) -> Iterator[KnowledgeBase]:
    settings = copy_fixture_index(fixture_index, tmp_path_factory.mktemp("hardening") / "root",
                                  api={"admin_token": TOKEN, "rate": 1000, "burst": 1000})
    with KnowledgeBase(settings, encoder=encoder) as kb:
        yield kb


@pytest.fixture(scope="module")
def client(fixture_kb: KnowledgeBase) -> Iterator[TestClient]:
    with TestClient(create_app(fixture_kb.settings, kb=fixture_kb)) as client:
        yield client


def app_with(fixture_kb: KnowledgeBase, **api: Any) -> TestClient:
    settings = fixture_kb.settings.model_copy(update={"api": fixture_kb.settings.api.model_copy(update=api)})
    return TestClient(create_app(settings, kb=fixture_kb))


def known_passage(fixture_kb: KnowledgeBase) -> str:
    return fixture_kb.search("rye bread")[0].passage_id


DEEP = b"[" * 40 + b"]" * 40
# (what, path, raw JSON body, what the 422 says): bodies no route may see, for every field that takes a value.
BAD_BODIES = [
    ("NaN", "/api/v1/ask", b'{"question": "x", "language": NaN}', "NaN"),
    ("Infinity", "/api/v1/ask", b'{"question": "x", "language": Infinity}', "Infinity"),
    ("-Infinity", "/api/v1/ask", b'{"question": "x", "audience": -Infinity}', "Infinity"),
    ("1e999999", "/api/v1/ask", b'{"question": "x", "language": 1e999999}', "too large"),
    ("overlong integer", "/api/v1/ask", b'{"question": "x", "card_id": ' + b"9" * 5000 + b"}", "digits"),
    ("overlong float", "/api/v1/ask", b'{"question": "x", "card_id": 0.' + b"1" * 500 + b"}", "characters"),
    ("lone surrogate in question", "/api/v1/ask", b'{"question": "\\ud800 ' + MARKER.encode() + b'"}', "surrogate"),
    ("lone low surrogate", "/api/v1/ask", b'{"question": "ok \\udfff"}', "surrogate"),
    ("lone surrogate in history", "/api/v1/ask",
     b'{"question": "and then?", "history": [{"question": "a\\udc00b"}]}', "surrogate"),
    ("lone surrogate in a key", "/api/v1/ask", b'{"question": "x", "\\ud800": 1}', "surrogate"),
    ("lone surrogate in card_id", "/api/v1/ask", b'{"question": "x", "card_id": "\\ud800"}', "surrogate"),
    ("deep nesting", "/api/v1/ask", b'{"question": ' + DEEP + b"}", "nested"),
    ("very deep nesting", "/api/v1/ask", b'{"question": ' + b"[" * 5000 + b"]" * 5000 + b"}", "nested"),
    ("NaN in feedback", "/api/v1/feedback", b'{"rating": NaN, "passage_ids": []}', "NaN"),
    ("lone surrogate in feedback id", "/api/v1/feedback", b'{"rating": "up", "passage_ids": ["\\ud800"]}',
     "surrogate"),
    ("unknown passage id", "/api/v1/feedback", b'{"rating": "up", "passage_ids": ["x"]}', "Not passages"),
    ("too many ids", "/api/v1/feedback", json.dumps({"rating": "up", "passage_ids": ["a"] * 21}).encode(), ""),
]


@pytest.mark.parametrize(("what", "path", "body", "says"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_hardening_bad_bodies_are_422_with_a_reason_and_headers(
    client: TestClient, what: str, path: str, body: bytes, says: str
) -> None:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, (what, response.status_code, response.text[:300])
    assert response.json()["detail"] and says in json.dumps(response.json()), response.text[:300]
    assert MARKER not in response.text, "a 422 never echoes what was sent"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "query", ["q=%ED%A0%80", "q=x&k=NaN", "q=x&k=1e999999", "q=x&k=" + "9" * 5000, "q=" + "%F0" * 300, "q=%00"]
)
def test_hardening_bad_query_strings_are_never_a_5xx(client: TestClient, query: str) -> None:
    # Undecodable bytes are read as U+FFFD (a search for nothing much, 200); numbers that are not counts get 422.
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == (200 if "k=" not in query else 422), (query, response.status_code, response.text)
    assert response.headers["x-content-type-options"] == "nosniff"


def test_hardening_validation_errors_say_where_but_echo_no_input(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={"question": MARKER, "language": "xx", "history": [{"q": MARKER}]})
    assert response.status_code == 422
    assert MARKER not in response.text and '"input"' not in response.text
    where = [error["loc"] for error in response.json()["detail"]]
    assert ["body", "language"] in where, where


def test_hardening_unexpected_error_is_a_plain_500_with_headers_and_nothing_logged(
    fixture_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from pydantic import TypeAdapter

    async def failing(question: Any) -> Any:
        TypeAdapter(int).validate_python(question.text)  # a ValidationError whose text quotes the input

    monkeypatch.setattr(fixture_kb, "ask_async", failing)
    with app_with(fixture_kb) as client, caplog.at_level("DEBUG"):
        response = client.post("/api/v1/ask", json={"question": MARKER})
    assert response.status_code == 500
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["cache-control"] == "no-store"
    assert MARKER not in response.text and "try again" in response.json()["detail"]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "ValidationError at " in logged and "test_hardening.py:" in logged, logged
    # What the log keeps is the type and the place; caplog's own handler has no filter, so the record itself must
    # not carry the text (the message is formatted from the description, and no exc_info is attached).
    assert MARKER not in logged and all(r.exc_info is None for r in caplog.records), logged


def test_hardening_redirects_are_relative_whatever_the_host(client: TestClient) -> None:
    response = client.get("/embed/?lang=en", headers={"host": "evil.example"}, follow_redirects=False)
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/embed?lang=en"


def test_hardening_api_answers_are_not_stored_by_caches(client: TestClient) -> None:
    for response in (client.post("/api/v1/ask", json={"question": "How long is rye bread baked?"}),
                     client.get("/api/v1/search", params={"q": "rye"}), client.get("/api/v1/suggestions")):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"


def request_from(peer: str, trusted: list[str], forwarded: str | None = None) -> Request:
    app = create_app(make_settings(Path("never-opened"), api={"trusted_proxies": trusted}))
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded is not None else []
    return Request({"type": "http", "app": app, "client": (peer, 1234), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "trusted", "forwarded", "client"),
    [
        ("127.0.0.1", [], "203.0.113.9", "127.0.0.1"),  # no proxy trusted: the header is ignored
        ("127.0.0.1", [], "garbage-not-ip", "127.0.0.1"),
        ("10.0.0.2", ["10.0.0.0/24"], "203.0.113.9", "203.0.113.9"),
        ("10.0.0.2", ["10.0.0.0/24"], "198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the nearest proxy's view
        ("10.0.0.2", ["10.0.0.0/24"], "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # through two trusted proxies
        ("10.0.0.2", ["10.0.0.0/24"], "garbage-not-ip", "10.0.0.2"),  # not an address: the proxy itself
        ("10.0.0.2", ["10.0.0.0/24"], None, "10.0.0.2"),
        ("192.0.2.1", ["10.0.0.0/24"], "203.0.113.9", "192.0.2.1"),  # not from a trusted proxy
        ("2001:db8:1:2:aaaa::1", [], None, "2001:db8:1:2::/64"),  # one bucket for an IPv6 host's /64
    ],
)
def test_hardening_client_identity_trusts_only_configured_proxies(
    peer: str, trusted: list[str], forwarded: str | None, client: str
) -> None:
    assert client_key(request_from(peer, trusted, forwarded)) == client


def test_hardening_trusted_proxies_setting_rejects_what_is_not_a_network() -> None:
    with pytest.raises(ValueError, match="not an address or network"):
        make_settings(Path("never-opened"), api={"trusted_proxies": ["10.0.0.0/24", "proxy.example"]})


def test_hardening_rotating_addresses_cannot_push_out_an_active_client() -> None:
    limiter = TokenBucketLimiter(rate=0.001, burst=3, max_clients=100)
    assert [limiter.take("real") for _ in range(2)] == [0.0, 0.0]
    for n in range(5_000):  # an attacker rotating through addresses, each sending a burst
        address = str(ipaddress.ip_address(0x0A000000 + n))
        for _ in range(3):
            limiter.take(address)
    assert len(limiter) <= 101
    assert limiter.take("real") == 0.0, "the real client still has its last token"
    assert limiter.take("real") > 0, "and its bucket remembered the two it used before"
    assert limiter.take("newcomer") > 0, "new clients share the overflow bucket the attacker used up"
    assert OVERFLOW in limiter._buckets


def test_hardening_refilled_buckets_make_room_for_new_clients() -> None:
    limiter = TokenBucketLimiter(rate=1e9, burst=2, max_clients=3)  # every bucket refills at once
    for client in ("a", "b", "c", "d", "e"):
        assert limiter.take(client) == 0.0
    assert len(limiter) == 3 and OVERFLOW not in limiter._buckets


def test_hardening_feedback_is_rate_limited_and_checked_against_the_index(fixture_kb: KnowledgeBase) -> None:
    passage = known_passage(fixture_kb)
    with app_with(fixture_kb, rate=0.001, burst=3) as client:
        codes = [client.post("/api/v1/feedback", json={"rating": "up", "passage_ids": [passage]}).status_code
                 for _ in range(5)]
    assert codes == [201, 201, 201, 429, 429]


def test_hardening_feedback_keeps_only_the_newest_rows(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3", max_rows=5)
    for _ in range(40):
        store.add("up", ["a" * 64] * 20)
    with sqlite3.connect(tmp_path / "feedback.sqlite3") as connection:
        (count, first), = connection.execute("SELECT COUNT(*), MIN(id) FROM feedback").fetchall()
    assert (count, first) == (5, 36)


def test_hardening_admin_is_rate_limited_and_counts_wrong_tokens(fixture_kb: KnowledgeBase) -> None:
    right = {"Authorization": f"Bearer {TOKEN}"}
    with app_with(fixture_kb, admin_failures=3) as client:
        assert client.get("/api/v1/admin/stats", headers=right).status_code == 200
        wrong = [client.get("/api/v1/admin/stats", headers={"Authorization": "Bearer no"}).status_code
                 for _ in range(4)]
        assert wrong == [401, 401, 401, 429]
        locked = client.get("/api/v1/admin/stats", headers=right)
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0, "even the right token waits"
    with app_with(fixture_kb, rate=0.001, burst=2) as client:
        codes = [client.get("/api/v1/admin/stats", headers=right).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_hardening_danger_under_the_limit_is_judged_by_the_model(fixture_kb: KnowledgeBase) -> None:
    message = "My employer keeps my documents and I am not allowed to go out"
    with app_with(fixture_kb, rate=0.001, burst=1) as client:
        assert client.get("/api/v1/search", params={"q": "rye"}).status_code == 200  # the one token is used
        assert client.get("/api/v1/search", params={"q": "rye"}).status_code == 429
        limited = client.post("/api/v1/ask", json={"question": message})
        harmless = client.post("/api/v1/ask", json={"question": "How long is rye bread baked?"})
    assert limited.status_code == 200 and limited.json()["urgency"] in ("now", "exploitation")
    assert harmless.status_code == 429


@pytest.mark.parametrize(
    "message",
    ["he\u200blp me, my boss took my p\u0430ssport and locks us in at night",  # zero-width space, Cyrillic а
     "my b\u043ess keeps my \u0440assport and \u200dI cannot leave the farm"],  # Cyrillic о and р, zero-width joiner
)
def test_hardening_hidden_characters_do_not_hide_danger(client: TestClient, message: str) -> None:
    answer = client.post("/api/v1/ask", json={"question": message}).json()
    assert answer["urgent"] and answer["urgency"] in ("now", "exploitation"), answer["urgency"]


def test_hardening_ingest_keeps_only_http_addresses(tmp_path: Path, encoder: Encoder, model_dir: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, url in (("script", "javascript:alert(1)"), ("data", "data:text/html,<b>x</b>"),
                      ("web", "https://example.org/guide")):
        (corpus / f"{name}.md").write_text(
            f"---\nid: {name}\ntitle: A {name} page\nlanguage: en\nurl: \"{url}\"\n---\n\n"
            "Ferries to the islands leave every hour in summer.\n\nTickets are sold on board.\n"
        )
    settings = make_settings(tmp_path / "data", sources=[corpus])
    report = ingest_into(settings, [corpus])
    notices = {Path(file).stem: notice for file, notice in report.notices}
    assert set(notices) == {"script", "data"} and all("dropped" in n for n in notices.values()), notices
    with KnowledgeBase(settings, encoder=encoder) as kb:
        urls = {d: {p.meta.get("url") for p in kb.hybrid.passages_of(d)} for d in ("script", "data", "web")}
    assert urls == {"script": {None}, "data": {None}, "web": {"https://example.org/guide"}}


def test_hardening_frame_ancestors_follow_the_setting(fixture_kb: KnowledgeBase) -> None:
    with app_with(fixture_kb, frame_ancestors=["https://ministry.example"]) as client:
        csp = client.get("/embed?lang=en").headers["content-security-policy"]
    assert "frame-ancestors https://ministry.example;" in csp
    with app_with(fixture_kb, frame_ancestors=[]) as client:
        assert "frame-ancestors 'none';" in client.get("/embed").headers["content-security-policy"]
