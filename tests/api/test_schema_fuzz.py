"""Schemathesis against our OpenAPI schema, with the real model and embedded Qdrant: no 5xx, responses as documented.

Every documented operation (/api/v1/ask, /api/v1/search, /api/v1/feedback, /healthz) gets generated requests, valid
and invalid; each response must be 2xx/4xx, declared in the schema for that operation, with a body that matches
the declared model. The admin API is not in the public schema; its bearer check is fuzzed separately.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from tests.conftest import copy_fixture_index, make_settings

TOKEN = "fuzz-admin-token"
# Bounded so that the whole file runs in well under a minute on a small CI machine.
EXAMPLES_PER_OPERATION = int(os.environ.get("KB_FUZZ_EXAMPLES", "40"))


@pytest.fixture(scope="module")
def fuzz_kb(tmp_path_factory: pytest.TempPathFactory, fixture_index: Path, encoder: Encoder) -> Iterator[KnowledgeBase]:
    settings = copy_fixture_index(fixture_index, tmp_path_factory.mktemp("fuzz") / "root", api={"admin_token": TOKEN})
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
    assert not any(path.startswith("/api/v1/admin") for path in paths), "the admin API stays out of the public schema"


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck))
def test_schema_no_server_error_and_responses_conform(app: FastAPI, case: schemathesis.Case) -> None:
    # Every default check: no 5xx, status code and content type declared, body matches the response schema,
    # invalid data rejected, valid data accepted.
    case.call_and_validate(app=app)


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
