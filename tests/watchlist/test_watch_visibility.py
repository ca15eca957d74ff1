"""Officers see their own and their unit's watches, paged; scopes name only what exists, for dispatchers."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from checkpoint.core.models import User
from checkpoint.core.settings_groups import WatchlistSettings
from checkpoint.sites.models import Checkpoint
from checkpoint.watchlist import alerts
from checkpoint.watchlist.alerts import Hit
from checkpoint.watchlist.models import DispatcherScope
from tests.watchlist.conftest import WatchMaker, headers_for, pass_event, random_plate

WATCHES = "/api/v1/watchlist/watches"
SCOPES = "/api/v1/watchlist/scopes"
ALERTS = "/api/v1/watchlist/alerts"


def register(client: TestClient, officer: User) -> int:
    body = {"pattern": random_plate(), "category": "stolen", "reason": "visibility test", "submit": False}
    created = client.post(WATCHES, json=body, headers=headers_for(officer))
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def in_unit(session: Session, user: User, unit: str) -> User:
    user.unit = unit
    session.flush()
    return user


def test_an_officer_sees_own_and_unit_watches_only(client: TestClient, session: Session,
                                                   make_user: Callable[..., User]) -> None:
    me = in_unit(session, make_user("officer"), "惠城分局")
    colleague = in_unit(session, make_user("officer"), "惠城分局")
    stranger = in_unit(session, make_user("officer"), "惠阳分局")
    mine, theirs, foreign = register(client, me), register(client, colleague), register(client, stranger)

    seen = {watch["id"] for watch in client.get(WATCHES, params={"limit": 500}, headers=headers_for(me)).json()}
    assert {mine, theirs} <= seen and foreign not in seen
    assert client.get(f"{WATCHES}/{foreign}", headers=headers_for(me)).status_code == 404
    assert client.get(f"{WATCHES}/{theirs}", headers=headers_for(me)).status_code == 200

    loner = make_user("officer")  # no unit: own watches only
    own = register(client, loner)
    assert [watch["id"] for watch in client.get(WATCHES, headers=headers_for(loner)).json()] == [own]

    admin = make_user("officer", "admin")
    everything = {watch["id"] for watch in client.get(WATCHES, params={"limit": 500},
                                                      headers=headers_for(admin)).json()}
    assert {mine, theirs, foreign, own} <= everything


def test_watches_are_listed_in_pages(client: TestClient, make_user: Callable[..., User]) -> None:
    officer = make_user("officer")
    ids = sorted((register(client, officer) for _ in range(5)), reverse=True)
    first = client.get(WATCHES, params={"limit": 2}, headers=headers_for(officer)).json()
    assert [watch["id"] for watch in first] == ids[:2]
    second = client.get(WATCHES, params={"limit": 2, "before_id": ids[1]}, headers=headers_for(officer)).json()
    assert [watch["id"] for watch in second] == ids[2:4]
    assert client.get(WATCHES, params={"limit": 501}, headers=headers_for(officer)).status_code == 422
    assert client.get(WATCHES, params={"status": "nonsense"}, headers=headers_for(officer)).status_code == 422


def test_a_scope_with_unknown_districts_or_checkpoints_is_refused(client: TestClient,
                                                                   make_user: Callable[..., User],
                                                                   session: Session) -> None:
    dispatcher, admin = make_user("dispatcher"), make_user("admin")
    district = session.query(Checkpoint.district).first()
    assert district is not None
    for body in ({"districts": ["no-such-district"]}, {"checkpoint_ids": [-1]}, {"checkpoint_ids": [99999999999]},
                 {"checkpoint_ids": [2_000_000_000]}):
        response = client.put(f"{SCOPES}/{dispatcher.id}", json=body, headers=headers_for(admin))
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    good = client.put(f"{SCOPES}/{dispatcher.id}", json={"districts": [district[0]]}, headers=headers_for(admin))
    assert good.status_code == 200


def test_a_scope_for_a_user_who_is_no_dispatcher_is_refused(client: TestClient,
                                                            make_user: Callable[..., User]) -> None:
    officer, admin = make_user("officer"), make_user("admin")
    response = client.put(f"{SCOPES}/{officer.id}", json={"whole_network": True}, headers=headers_for(admin))
    assert response.status_code == 422 and "调度员" in response.json()["detail"]


def test_a_watch_scope_with_an_id_past_int4_is_a_422(client: TestClient, officer: User) -> None:
    body = {"pattern": random_plate(), "category": "stolen", "reason": "range test", "scope_kind": "checkpoints",
            "scope_checkpoint_ids": [99999999999]}
    response = client.post(WATCHES, json=body, headers=headers_for(officer))
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


def test_alerts_are_listed_in_pages(client: TestClient, session: Session, make_user: Callable[..., User],
                                    active_watch: WatchMaker, checkpoints: list[Checkpoint]) -> None:
    watch = active_watch(random_plate())
    raised = []
    for _ in range(3):
        hit = Hit(pass_event(random_plate(), checkpoints[0]), int(str(watch["id"])), "exact", checkpoints[0].district)
        raised.append(alerts.record_hit(session, hit, WatchlistSettings()).alert.id)
    session.flush()
    dispatcher = make_user("dispatcher")
    session.add(DispatcherScope(user_id=dispatcher.id, whole_network=True, districts=[], checkpoint_ids=[]))
    session.flush()
    newest = client.get(ALERTS, params={"limit": 2}, headers=headers_for(dispatcher)).json()
    assert [alert["id"] for alert in newest] == sorted(raised, reverse=True)[:2]
    older = client.get(ALERTS, params={"limit": 2, "before_id": newest[-1]["id"]}, headers=headers_for(dispatcher))
    assert older.json()[0]["id"] == min(raised)
    assert client.get(ALERTS, params={"limit": 0}, headers=headers_for(dispatcher)).status_code == 422
