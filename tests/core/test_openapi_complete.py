"""The schema declares every error status as a problem, the media types of file routes, and no control characters."""

from __future__ import annotations

import re

from checkpoint.core.openapi import BODY_TEXT, ERROR_STATUSES, PROBLEM_MEDIA
from checkpoint.main import create_app


def test_every_operation_declares_its_errors_as_problems() -> None:
    schema = create_app().openapi()
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]
    assert len(operations) >= 50
    for path, method, operation in operations:
        for status in ERROR_STATUSES:
            declared = operation["responses"].get(status)
            assert declared is not None, f"{method} {path} does not declare {status}"
            if not (path == "/api/v1/health" and status == "503"):
                assert PROBLEM_MEDIA in declared["content"], f"{method} {path} {status}"


def test_file_routes_declare_their_media_types() -> None:
    paths = create_app().openapi()["paths"]
    assert "image/jpeg" in paths["/api/v1/passes/{pass_id}/images/{kind}"]["get"]["responses"]["200"]["content"]
    export = paths["/api/v1/trajectories/{plate}/export"]["get"]["responses"]["200"]["content"]
    assert {"application/geo+json", "text/csv; charset=utf-8"} <= set(export)


def test_request_strings_exclude_control_characters() -> None:
    schema = create_app().openapi()
    login = schema["components"]["schemas"]["LoginRequest"]["properties"]["username"]
    assert login.get("pattern") == BODY_TEXT
    assert re.fullmatch(BODY_TEXT, "a\tb\nc") and not re.fullmatch(BODY_TEXT, "a\x00b")
