"""Every 4xx answer carries a Chinese sentence a duty officer can act on (RFC 9457 `detail`): request
validation field by field, a body that is not JSON, the login lockout, unknown routes, domain errors."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from checkpoint.core.models import User
from checkpoint.core.problem_zh import has_chinese

LOGIN = "/api/v1/auth/login"


def problem(response: object) -> dict[str, object]:
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert has_chinese(str(body["detail"])), body
    return body


def test_a_missing_field_is_named_in_chinese_with_its_api_name(client: TestClient) -> None:
    response = client.post(LOGIN, json={"username": "somebody"})
    assert response.status_code == 422
    body = problem(response)
    assert body["detail"] == "缺少必填项：密码 password"
    assert body["errors"] == [{"loc": ["body", "password"], "type": "missing", "msg": "缺少必填项：密码 password",
                               "msg_en": "Field required"}]


def test_query_fields_lists_and_bounds_read_as_sentences(client: TestClient,
                                                         auth_headers: Callable[..., dict[str, str]]) -> None:
    headers = auth_headers("investigator")
    missing = client.get("/api/v1/trajectories/粤L12345", params={"start": "2026-12-01T00:00:00+08:00"},
                         headers=headers)
    detail = str(problem(missing)["detail"])
    assert "缺少必填项：结束时间 end" in detail and "缺少必填项：理由 reason" in detail
    assert "Field required" not in detail
    short = client.get("/api/v1/trajectories/粤L12345", headers=headers,
                       params={"start": "yesterday", "end": "2026-12-02T00:00:00+08:00", "reason": "ab"})
    detail = str(problem(short)["detail"])
    assert "开始时间 start：须为时间" in detail and "理由 reason：至少需要 4 个字" in detail
    windows = client.post("/api/v1/analyses/area-collision", headers=headers,
                          json={"windows": [], "reason": "测试一下区域碰撞"})
    assert windows.status_code == 422
    assert "时间窗 windows：至少需要 2 项" in str(problem(windows)["detail"])


def test_a_body_that_is_not_json_is_refused_in_chinese(client: TestClient) -> None:
    response = client.post(LOGIN, content=b'{"username": "a", ', headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert str(problem(response)["detail"]).startswith("请求体不是有效的 JSON")


def test_wrong_password_lockout_and_unknown_route_in_chinese(client: TestClient,
                                                              make_user: Callable[..., User]) -> None:
    user = make_user("officer")
    for _ in range(5):
        wrong = client.post(LOGIN, json={"username": user.username, "password": "bad-password-1"})
        assert str(problem(wrong)["detail"]).startswith("用户名或密码错误")
    locked = client.post(LOGIN, json={"username": user.username, "password": "whatever-1"})
    assert locked.status_code == 429
    assert str(problem(locked)["detail"]).startswith("登录失败次数过多，请 ")
    nowhere = client.get("/api/v1/no-such-page")
    assert nowhere.status_code == 404 and str(problem(nowhere)["detail"]).startswith("没有这个地址")


def test_a_domain_error_keeps_its_english_behind_the_chinese(client: TestClient,
                                                             auth_headers: Callable[..., dict[str, str]]) -> None:
    response = client.get("/api/v1/watchlist/watches/999999", headers=auth_headers("officer"))
    assert response.status_code == 404
    detail = str(problem(response)["detail"])
    assert detail.startswith("没有这条布控（") and "999999" in detail
