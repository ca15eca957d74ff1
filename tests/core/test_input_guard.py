"""Hostile input gets a 4xx problem with a reason, never a 500: control characters, huge bodies, OPTIONS."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.core.limits import JSON_BODY_BYTES, SNAPSHOT_BODY_BYTES
from checkpoint.sites.models import Checkpoint

PROBLEM = "application/problem+json"


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status and body["detail"]
    return body


def test_a_nul_in_the_login_body_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "ad\x00min", "password": "x"})
    assert "控制字符" in str(assert_problem(response, 422)["detail"])


@pytest.mark.parametrize("path", ["/api/v1/areas/44%0013", "/api/v1/checkpoints/KK%00"])
def test_a_nul_in_a_path_is_a_422(client: TestClient, auth_headers: Callable[..., dict[str, str]],
                                  path: str) -> None:
    assert_problem(client.get(path, headers=auth_headers("admin")), 422)


def test_a_nul_in_a_patched_checkpoint_is_a_422(client: TestClient, session: Session,
                                                auth_headers: Callable[..., dict[str, str]]) -> None:
    code = session.scalars(select(Checkpoint.code)).first()
    response = client.patch(f"/api/v1/checkpoints/{code}", json={"name": "卡口\x00"}, headers=auth_headers("admin"))
    assert_problem(response, 422)


@pytest.mark.parametrize("query", ["plate=%01A", "q=%7F", "plate=a%00b"])
def test_control_characters_in_a_query_are_a_422(client: TestClient, auth_headers: Callable[..., dict[str, str]],
                                                 query: str) -> None:
    assert_problem(client.get(f"/api/v1/passes/recent?{query}", headers=auth_headers("investigator")), 422)


def test_tab_and_newline_in_a_json_string_are_kept(client: TestClient) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "a\tb\nc", "password": "y"})
    assert response.status_code == 401  # the escapes passed the guard; the account does not exist


def test_an_escaped_backslash_before_u0000_is_not_a_control_character(client: TestClient) -> None:
    response = client.post("/api/v1/auth/login", content=b'{"username": "a\\\\u0000", "password": "y"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 401


def test_a_body_over_the_limit_is_refused_from_its_content_length(client: TestClient) -> None:
    body = b"x" * (JSON_BODY_BYTES + 1)
    response = client.post("/api/v1/auth/login", content=body, headers={"Content-Type": "application/json"})
    assert "请求体过大" in str(assert_problem(response, 413)["detail"])


def test_a_streamed_body_over_the_limit_is_cut_off(client: TestClient) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 64 MiB offered, without a Content-Length
            sent += 1
            yield b"x" * (1024 * 1024)

    response = client.post("/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"})
    assert_problem(response, 413)


def test_a_snapshot_route_takes_a_photo_sized_body_and_no_more(client: TestClient) -> None:
    over = client.post("/api/v1/ingest/snapshots?lane=1", content=b"\xff" * (SNAPSHOT_BODY_BYTES + 1),
                       headers={"Content-Type": "image/jpeg", "X-Device-Key": "ck_x"})
    assert_problem(over, 413)
    under = client.post("/api/v1/ingest/snapshots?lane=1", content=b"\xff" * 2_000_000,
                        headers={"Content-Type": "image/jpeg", "X-Device-Key": "ck_x"})
    assert under.status_code == 401  # within the limit: on to the device check


def test_a_live_server_answers_a_500_mb_declaration_without_reading_it(live_server: str) -> None:
    """The 500 MB body is declared, never sent: the answer comes at once, and the connection closes."""
    address = urlsplit(live_server)
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 524288000\r\n\r\n" + b"{" * 65536)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"problem+json" in answer


def test_options_answers_with_allow(client: TestClient) -> None:
    response = client.options("/api/v1/watchlist/watches")
    assert response.status_code == 204
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert client.options("/api/v1/watchlist/watches/12").headers["allow"] == "GET, HEAD, OPTIONS"
    assert_problem(client.options("/api/v1/no-such-thing"), 404)


def test_a_wrong_method_is_a_405_problem_with_allow(client: TestClient) -> None:
    response = client.delete("/api/v1/auth/login")
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


def test_an_id_past_int4_is_a_4xx_not_a_500(client: TestClient, auth_headers: Callable[..., dict[str, str]]) -> None:
    response = client.get("/api/v1/watchlist/watches/99999999999", headers=auth_headers("officer"))
    assert_problem(response, 404)


def test_a_superscript_digit_code_is_a_404_not_a_500(client: TestClient,
                                                     auth_headers: Callable[..., dict[str, str]]) -> None:
    """Found by the schema fuzzer: "²".isdigit() is true, and int("²") raised."""
    assert_problem(client.get("/api/v1/checkpoints/%C2%B2", headers=auth_headers("admin")), 404)
