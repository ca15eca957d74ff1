"""The ingest route opens its own short sessions: in tests they are the test's (rolled-back) session."""

from __future__ import annotations

from contextlib import nullcontext

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from checkpoint.capture.api import get_session_opener


@pytest.fixture(autouse=True)
def _ingest_uses_the_test_session(request: pytest.FixtureRequest) -> None:
    """Only for tests that use `client` (and so the test session); others are left alone."""
    if "client" not in request.fixturenames:
        return
    client: TestClient = request.getfixturevalue("client")
    session: Session = request.getfixturevalue("session")
    app = client.app
    assert isinstance(app, FastAPI)
    app.dependency_overrides[get_session_opener] = lambda: (lambda: nullcontext(session))
