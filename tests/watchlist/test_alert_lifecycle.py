"""The alert lifecycle is one table served by the API: the console draws it, `act` follows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy.orm import Session

from checkpoint.core.config import Settings
from checkpoint.core.models import User
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist.lifecycle import STEPS
from checkpoint.watchlist.models import AlertStatus, DispatcherScope
from tests.watchlist.conftest import WatchMaker, headers_for, random_plate
from tests.watchlist.test_alerts import raise_alert

LIFECYCLE = "/api/v1/watchlist/alerts/lifecycle"
ALERTS_JS = Path(__file__).resolve().parents[2] / "checkpoint/web/static/js/pages/alerts.js"


def test_the_route_serves_the_steps_labels_and_deadlines(client: TestClient, make_user: Callable[..., User],
                                                         test_settings: Settings) -> None:
    served = client.get(LIFECYCLE, headers=headers_for(make_user("dispatcher")))
    assert served.status_code == 200
    body = served.json()
    settings = test_settings.watchlist
    assert [s["action"] for s in body["steps"]] == ["sign", "valid", "false_read", "instruct", "feedback", "close"]
    by_action = {s["action"]: s for s in body["steps"]}
    assert by_action["sign"] == {"action": "sign", "label_zh": "签收", "label_en": "Sign for", "follows": ["new"],
                                 "leads_to": "signed", "note_required": False, "due": "sign_due_at",
                                 "deadline_s": settings.sign_due_s}
    assert by_action["feedback"]["deadline_s"] == settings.feedback_due_h * 3600
    assert by_action["feedback"]["due"] == "feedback_due_at" and by_action["instruct"]["note_required"]
    assert sorted(by_action["close"]["follows"]) == ["false_read", "feedback"]
    assert {s["state"] for s in body["states"]} == {state.value for state in AlertStatus}
    assert (body["sign_due_s"], body["feedback_due_h"]) == (settings.sign_due_s, settings.feedback_due_h)
    assert client.get(LIFECYCLE, headers=headers_for(make_user("officer"))).status_code == 403


def test_an_alert_walks_the_served_table_to_closed(client: TestClient, session: Session, bus: Redis,
                                                   make_user: Callable[..., User], active_watch: WatchMaker,
                                                   checkpoints: list[Checkpoint]) -> None:
    dispatcher = make_user("dispatcher")
    session.add(DispatcherScope(user_id=dispatcher.id, whole_network=True, districts=[], checkpoint_ids=[]))
    session.flush()
    headers = headers_for(dispatcher)
    steps = client.get(LIFECYCLE, headers=headers).json()["steps"]
    alert_id = raise_alert(session, bus, int(str(active_watch(random_plate())["id"])), checkpoints[0])
    action_url = f"/api/v1/watchlist/alerts/{alert_id}/action"
    state, walked = "new", []
    while state != "closed":
        step = next(s for s in steps if state in s["follows"])  # the first step offered, as the console shows it
        wrong = next(s for s in steps if state not in s["follows"])
        assert client.post(action_url, json={"action": wrong["action"], "note": "x"},
                           headers=headers).status_code == 409
        if step["note_required"]:
            assert client.post(action_url, json={"action": step["action"], "note": " "},
                               headers=headers).status_code == 422
        moved = client.post(action_url, json={"action": step["action"], "note": "到达 arrived"}, headers=headers)
        assert moved.status_code == 200, moved.text
        assert moved.json()["status"] == step["leads_to"]
        state = step["leads_to"]
        walked.append(step["action"])
    assert walked == ["sign", "valid", "instruct", "feedback", "close"]


def test_the_console_holds_no_copy_of_the_table() -> None:
    script = ALERTS_JS.read_text(encoding="utf-8")
    assert "/watchlist/alerts/lifecycle" in script
    for step in STEPS:  # no label, and no state-to-deadline rule, written in the console
        assert step.label_zh not in script and step.label_en not in script, step.action
    assert "sign_due_at" not in script and "feedback_due_at" not in script and "STEPS" not in script
