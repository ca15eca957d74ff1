"""Alerts: a dispatcher sees only alerts in scope (list and live stream), the lifecycle and its timers."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from checkpoint.core.models import User
from checkpoint.core.settings_groups import WatchlistSettings
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import alerts
from checkpoint.watchlist.alerts import Hit
from checkpoint.watchlist.live_stream import live_events
from checkpoint.watchlist.models import AlertEvent, DispatcherScope
from checkpoint.watchlist.relay import latest_event_id
from tests.watchlist.conftest import WatchMaker, blocking, headers_for, pass_event, random_plate, relay_all

ALERTS = "/api/v1/watchlist/alerts"


def two_districts(checkpoints: list[Checkpoint]) -> tuple[Checkpoint, Checkpoint]:
    first = checkpoints[0]
    other = next(cp for cp in checkpoints if cp.district != first.district)
    return first, other


def raise_alert(session: Session, bus: Redis, entry_id: int, checkpoint: Checkpoint) -> int:
    hit = Hit(pass_event(random_plate(), checkpoint), entry_id, "exact", checkpoint.district)
    recorded = alerts.record_hit(session, hit, WatchlistSettings())
    alerts.queue_event(session, recorded.alert, "new", "test")
    relay_all(bus, in_test_transaction(session))
    return recorded.alert.id


def in_test_transaction(session: Session) -> sessionmaker[Session]:
    """Sessions inside the test's own transaction (their commits release savepoints; all is rolled back)."""
    return sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint", expire_on_commit=False)


def test_a_dispatcher_sees_only_alerts_in_scope(client: TestClient, session: Session, bus: Redis,
                                                make_user: Callable[..., User], active_watch: WatchMaker,
                                                checkpoints: list[Checkpoint]) -> None:
    mine, theirs = two_districts(checkpoints)
    watch = active_watch(random_plate())
    dispatcher, admin = make_user("dispatcher"), make_user("admin")
    scope = client.put(f"/api/v1/watchlist/scopes/{dispatcher.id}", json={"districts": [mine.district]},
                       headers=headers_for(admin))
    assert scope.status_code == 200 and scope.json()["districts"] == [mine.district]
    relay_all(bus, in_test_transaction(session))  # other tests' events first: the stream starts after them
    stream_start = latest_event_id(session)
    inside = raise_alert(session, bus, int(str(watch["id"])), mine)
    outside = raise_alert(session, bus, int(str(watch["id"])), theirs)

    listed = client.get(ALERTS, headers=headers_for(dispatcher)).json()  # (other tests commit alerts too)
    assert inside in [alert["id"] for alert in listed] and outside not in [alert["id"] for alert in listed]
    assert {alert["district"] for alert in listed} == {mine.district}
    assert client.post(f"{ALERTS}/{outside}/action", json={"action": "sign"},
                       headers=headers_for(dispatcher)).status_code == 404

    events = blocking(live_events(bus, in_test_transaction(session), alerts.scope_of(session, dispatcher.id),
                                    stream_start))
    assert next(events).startswith("retry:")
    delivered = next(events)  # the out-of-scope alert came first and was skipped
    assert json.loads(delivered.split("data: ", 1)[1])["id"] == inside
    assert "event: new" in delivered and delivered.startswith("id: ")


def test_a_dispatcher_without_a_scope_sees_nothing(client: TestClient, session: Session, bus: Redis,
                                                   make_user: Callable[..., User], active_watch: WatchMaker,
                                                   checkpoints: list[Checkpoint]) -> None:
    raise_alert(session, bus, int(str(active_watch(random_plate())["id"])), checkpoints[0])
    assert client.get(ALERTS, headers=headers_for(make_user("dispatcher"))).json() == []


def test_the_lifecycle_in_order_with_deadlines_and_statistics(
        client: TestClient, session: Session, bus: Redis, make_user: Callable[..., User],
        active_watch: WatchMaker, checkpoints: list[Checkpoint]) -> None:
    dispatcher = make_user("dispatcher")
    session.add(DispatcherScope(user_id=dispatcher.id, whole_network=True, districts=[], checkpoint_ids=[]))
    alert_id = raise_alert(session, bus, int(str(active_watch(random_plate())["id"])), checkpoints[0])
    headers = headers_for(dispatcher)

    def step(action: str, note: str = "") -> dict[str, object]:
        response = client.post(f"{ALERTS}/{alert_id}/action", json={"action": action, "note": note}, headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    early = client.post(f"{ALERTS}/{alert_id}/action", json={"action": "instruct", "note": "x"}, headers=headers)
    assert early.status_code == 409 and "follows valid" in early.json()["detail"]
    assert step("sign")["status"] == "signed"
    assert step("valid")["status"] == "valid"
    assert client.post(f"{ALERTS}/{alert_id}/action", json={"action": "instruct"},
                       headers=headers).status_code == 422  # an instruction needs its text
    instructed = step("instruct", "HZ-441302-13 拦截 intercept")
    assert instructed["feedback_due_at"] is not None
    assert step("feedback", "已拦截 intercepted")["status"] == "feedback"
    assert step("close")["status"] == "closed"
    stats = client.get(f"{ALERTS}/stats", headers=headers).json()
    assert any(row["signed_on_time"] >= 1 and row["feedback_on_time"] >= 1 for row in stats)
    kinds = list(session.scalars(select(AlertEvent.kind).where(AlertEvent.alert_id == alert_id)))
    assert kinds.count("update") == 5 and kinds.count("new") == 1  # each step told the other consoles


def test_other_roles_get_no_alerts(client: TestClient, make_user: Callable[..., User]) -> None:
    assert client.get(ALERTS, headers=headers_for(make_user("officer", "investigator"))).status_code == 403
