"""Schemathesis against our OpenAPI schema, with the real model and embedded Qdrant: no 5xx, responses as documented.

Every documented operation (/api/v1/ask, /api/v1/search, /api/v1/feedback, /healthz) gets generated requests, valid
and invalid; each response must be 2xx/4xx, declared in the schema for that operation, with a body that matches
the declared model. The admin API is in the schema with its bearer scheme; generated requests do not know the token
(401), and its bearer check is fuzzed separately.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from tests.conftest import copy_fixture_index, make_settings

TOKEN = "fuzz-admin-token"
# Bounded so that the whole file runs in well under a minute on a small CI machine.
EXAMPLES_PER_OPERATION = int(os.environ.get("KB_FUZZ_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def fuzz_kb(tmp_path_factory: pytest.TempPathFactory, fixture_index: Path, encoder: Encoder) -> Iterator[KnowledgeBase]:
    # Wrong admin tokens are limited per client; the fuzzing client sends many on purpose.
    api = {"admin_token": TOKEN, "admin_failures": 1_000_000}
    settings = copy_fixture_index(fixture_index, tmp_path_factory.mktemp("fuzz") / "root", api=api)
    kb = KnowledgeBase(settings, encoder=encoder)
    yield kb
    kb.close()


@pytest.fixture(scope="module")
def app(fuzz_kb: KnowledgeBase) -> FastAPI:
    return create_app(fuzz_kb.settings, kb=fuzz_kb)


# The schema of an app built the same way (never started, so it opens nothing); each generated request goes in
# process to the ``app`` fixture, which serves the real index. (schemathesis' lazy fixture loader fails on pytest 9.)
_schema_app = create_app(make_settings(Path("never-opened")))
schema = schemathesis.openapi.from_dict(_schema_app.openapi())
schema.app = _schema_app  # selects schemathesis' ASGI transport


def test_schema_documents_the_public_operations(app: FastAPI) -> None:
    assert TestClient(app).get("/openapi.json").json() == schema.raw_schema, "the fuzzed schema is the served one"
    paths = schema.raw_schema["paths"]
    assert {"/api/v1/ask", "/api/v1/search", "/api/v1/feedback", "/healthz"} <= set(paths)
    admin = {path: ops for path, ops in paths.items() if path.startswith("/api/v1/admin")}
    assert set(admin) == {"/api/v1/admin/reindex", "/api/v1/admin/stats"}
    assert all(op["security"] == [{"adminToken": []}] for ops in admin.values() for op in ops.values())
    assert schema.raw_schema["components"]["securitySchemes"]["adminToken"]["scheme"] == "bearer"


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_schema_no_server_error_and_responses_conform(app: FastAPI, case: schemathesis.Case) -> None:
    # Every default check: no 5xx, status code and content type declared, body matches the response schema,
    # invalid data rejected, valid data accepted. A generated body over the size limit gets the documented 413
    # before any validation (its own test is in test_reliability), so the data checks do not apply to it.
    response = case.call(app=app)
    if response.status_code == 413:
        assert "larger than" in response.json()["detail"]
        return
    # Feedback takes only ids of the served index, which no schema can list: a schema-valid body with ids the
    # generator made up is rightly a 422 (test_hardening checks that it says which), so "valid data accepted"
    # does not apply to that operation.
    excluded = [positive_data_acceptance] if case.path == "/api/v1/feedback" else []
    case.validate_response(response, excluded_checks=excluded)


# What a header can carry: printable latin-1, no control characters.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_categories=["Cc"]), max_size=80)


@given(authorization=st.one_of(st.none(), HEADER_TEXT, HEADER_TEXT.map(lambda t: f"Bearer {t}")))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_schema_admin_rejects_every_wrong_token(app: FastAPI, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization.encode("latin-1")}
    with TestClient(app) as client:
        for method, path in (("GET", "/api/v1/admin/stats"), ("POST", "/api/v1/admin/reindex")):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 401, (authorization, response.status_code, response.text)
            assert response.json()["detail"] == "A valid bearer token is required."


# Values that JSON parsers accept but a schema-driven generator never sends (they are not JSON as RFC 8259 has
# it, or not text): each is put in place of one field of a valid body, or added as an extra field.
NASTY = st.sampled_from([
    b"NaN", b"Infinity", b"-Infinity", b"1e999999", b"-1e999999", b"9" * 400, b"0." + b"1" * 400,
    b'"\\ud800"', b'"x\\udfff"', b'"\\udc00\\ud800"', b"[" * 30 + b"]" * 30, b'{"a":' * 30 + b"1" + b"}" * 30,
])
VALID_BODIES = {
    "/api/v1/ask": {"question": "Who decides on a reflection period?", "language": "en", "audience": "public",
                    "ui_language": "en", "card_id": None, "history": [{"question": "x", "answer": "y"}]},
    "/api/v1/feedback": {"rating": "up", "passage_ids": ["abc"]},
}


def with_nasty(body: dict[str, object], field: str, value: bytes) -> bytes:
    """A body's JSON with ``field`` (or a new field of that name) written as the raw ``value``."""
    placeholder = "__nasty__"
    text = json.dumps({**body, field: placeholder})
    return text.replace(json.dumps(placeholder), "\x00").encode().replace(b"\x00", value)


@given(
    path=st.sampled_from(sorted(VALID_BODIES)),
    field=st.sampled_from(["question", "language", "audience", "history", "ui_language", "card_id", "rating",
                           "passage_ids", "extra", "\ud800"]),  # the last: a key that is a lone surrogate
    value=NASTY,
)
@settings(max_examples=EXAMPLES_PER_OPERATION * 3, deadline=None, suppress_health_check=list(HealthCheck))
def test_schema_values_json_cannot_carry_are_422_never_5xx(app: FastAPI, path: str, field: str, value: bytes) -> None:
    body = with_nasty(VALID_BODIES[path], field, value)
    with TestClient(app) as client:
        response = client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, (body[:200], response.status_code, response.text[:300])
    assert response.json()["detail"] and response.headers["x-content-type-options"] == "nosniff"
