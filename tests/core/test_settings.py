"""One settings tree: every variable listed in .env.example, the groups nested under their names,
the former flat names still read, and what depends on retention derived from it."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture import service
from checkpoint.capture.schemas import DeviceCreate
from checkpoint.core.config import FORMER_NAMES, Settings, get_settings
from checkpoint.core.settings_groups import INGEST_MARGIN, RetentionSettings
from checkpoint.passes.retention import first_kept_day
from checkpoint.sites.models import Checkpoint
from tests.capture.helpers import jpeg, push_body

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
PASSES_URL = "/api/v1/ingest/passes"
SNAPSHOTS_URL = "/api/v1/ingest/snapshots"
VARIABLE = re.compile(r"^#?\s*(CHECKPOINT_[A-Z0-9_]+)=")


def tree_variables(model: type[BaseModel] = Settings, prefix: str = "CHECKPOINT_") -> set[str]:
    """The variable of every leaf of the settings tree (groups joined with `__`)."""
    names: set[str] = set()
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names |= tree_variables(kind, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def example_lines() -> list[str]:
    return ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CHECKPOINT_* variable of the machine running the tests leaks into the settings read here."""
    for name in [name for name in os.environ if name.upper().startswith("CHECKPOINT_")]:
        monkeypatch.delenv(name)


def test_every_setting_is_listed_in_env_example() -> None:
    listed = [match.group(1) for line in example_lines() if (match := VARIABLE.match(line))]
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    assert set(listed) == tree_variables()
    assert {"CHECKPOINT_LPR__USE_PADDLE", "CHECKPOINT_WATCHLIST__WEBHOOK_URL", "CHECKPOINT_CAPTURE__SNAPSHOT_WORKERS",
            "CHECKPOINT_RETENTION__DAYS_CLASS1"} <= set(listed)  # the groups are walked, not only the top level


def test_every_variable_in_env_example_has_its_meaning_above_it() -> None:
    """Each variable, or each run of variables without a blank line between, has a comment above it."""
    previous = ""
    for line in example_lines():
        if VARIABLE.match(line) and not line.startswith("# CHECKPOINT_"):
            assert previous.startswith("#") or VARIABLE.match(previous), f"{line!r}: no comment saying what it means"
        previous = line


def test_env_example_states_the_defaults(clean_environment: None) -> None:
    """The uncommented values of .env.example are the defaults: copying it changes nothing."""
    from_example = Settings(_env_file=ENV_EXAMPLE)
    assert from_example == Settings()


def test_groups_are_read_from_nested_variables(monkeypatch: pytest.MonkeyPatch, clean_environment: None) -> None:
    monkeypatch.setenv("CHECKPOINT_LPR__USE_PADDLE", "false")
    monkeypatch.setenv("CHECKPOINT_WATCHLIST__SIGN_DUE_S", "90")
    monkeypatch.setenv("CHECKPOINT_CAPTURE__DECODER", "opencv")
    monkeypatch.setenv("CHECKPOINT_RETENTION__DAYS_CLASS1", "60")
    settings = Settings()
    assert settings.lpr.use_paddle is False and settings.watchlist.sign_due_s == 90
    assert settings.capture.decoder == "opencv" and settings.retention.days_by_class() == {1: 60, 2: 15}


def test_former_flat_names_are_still_read(monkeypatch: pytest.MonkeyPatch, clean_environment: None) -> None:
    monkeypatch.setenv("CHECKPOINT_RETENTION_DAYS_CLASS1", "45")
    monkeypatch.setenv("CHECKPOINT_RETENTION_DAYS_CLASS2", "20")
    monkeypatch.setenv("CHECKPOINT_SNAPSHOT_WORKERS", "3")
    monkeypatch.setenv("CHECKPOINT_WATCHLIST_WEBHOOK_URL", "http://platform.local/alerts")
    monkeypatch.setenv("CHECKPOINT_WATCHLIST_MAX_DELIVERIES", "7")
    settings = Settings()
    assert settings.retention.days_by_class() == {1: 45, 2: 20} and settings.capture.snapshot_workers == 3
    assert settings.watchlist.webhook_url == "http://platform.local/alerts" and settings.watchlist.max_deliveries == 7
    monkeypatch.setenv("CHECKPOINT_RETENTION__DAYS_CLASS1", "50")  # the nested name wins over the former one
    assert Settings().retention.days_class1 == 50
    assert set(FORMER_NAMES) >= {"CHECKPOINT_RETENTION_DAYS_CLASS1", "CHECKPOINT_WATCHLIST_WEBHOOK_URL"}


def test_settings_are_read_only_where_a_process_starts() -> None:
    """Workers, services and routes get their settings as arguments (or SettingsDep), never read them."""
    package = Path(__file__).resolve().parents[2] / "checkpoint"
    entry_points = {"core/config.py", "core/deps.py", "runtime.py", "serving.py", "cli.py", "user_cli.py",
                    "dead_letters_cli.py", "audit_cli.py"}
    readers = {str(path.relative_to(package)) for path in package.rglob("*.py")
               if re.search(r"\bget_settings\b|\bSettings\(\)", path.read_text(encoding="utf-8"))}
    assert readers, "the search finds nothing: it is broken"
    assert {path for path in readers if path not in entry_points and not path.endswith("/cli.py")} == set()


def test_a_bad_group_value_is_refused_at_start(monkeypatch: pytest.MonkeyPatch, clean_environment: None) -> None:
    monkeypatch.setenv("CHECKPOINT_LPR__DETECT_THRESHOLD", "1.5")
    with pytest.raises(ValueError, match="detect_threshold"):
        Settings()


# --- what derives from retention -------------------------------------------------------------------


def retention(days_class1: int, days_class2: int) -> RetentionSettings:
    return RetentionSettings(days_class1=days_class1, days_class2=days_class2)


def registered(session: Session, retention_class: int, kind: str = "smart") -> tuple[str, str]:
    """(code, key) of a device on a checkpoint of this retention class, in the test's transaction."""
    checkpoint = session.scalars(select(Checkpoint).where(Checkpoint.retention_class == retention_class,
                                                          Checkpoint.active, Checkpoint.lanes >= 1)
                                 .order_by(Checkpoint.id)).first()
    assert checkpoint is not None
    code = f"AGE-{kind[:2]}-{datetime.now(UTC):%H%M%S%f}"
    device, key = service.register_device(session, DeviceCreate(code=code, checkpoint=checkpoint.code, kind=kind))
    return device.code, key


def at_site(client: TestClient, test_settings: Settings, days: RetentionSettings) -> None:
    """The API answers with these retention days from now on (its SettingsDep, as a site would set them)."""
    site = test_settings.model_copy(update={"retention": days})
    client.app.dependency_overrides[get_settings] = lambda: site  # type: ignore[attr-defined]  # a FastAPI app


def push_aged(client: TestClient, code: str, key: str, age: timedelta) -> tuple[int, str]:
    response = client.post(PASSES_URL, json=push_body(code, when=datetime.now(UTC) - age, images=False),
                           headers={"X-Device-Key": key})
    return response.status_code, response.text


def test_ingest_age_limit_follows_retention_at_60_days(client: TestClient, session: Session,
                                                       test_settings: Settings) -> None:
    """Class 1 keeps 60 days: passes up to 59 days old (60 less the one-day margin) are taken."""
    at_site(client, test_settings, retention(60, 15))
    code, key = registered(session, retention_class=1)
    assert push_aged(client, code, key, timedelta(days=45))[0] == 202  # refused by the 29 days hard-coded before
    assert push_aged(client, code, key, timedelta(days=59) - timedelta(hours=1))[0] == 202
    status, text = push_aged(client, code, key, timedelta(days=59) + timedelta(hours=1))
    assert status == 422 and "超过接收时限" in text and "保留 60 天" in text
    class2_code, class2_key = registered(session, retention_class=2)  # its class keeps 15 days
    assert push_aged(client, class2_code, class2_key, timedelta(days=13, hours=23))[0] == 202
    status, text = push_aged(client, class2_code, class2_key, timedelta(days=45))
    assert status == 422 and "本卡口为2类卡口" in text and "只接收 14 天内" in text


def test_ingest_age_limit_follows_retention_at_7_days(client: TestClient, session: Session,
                                                      test_settings: Settings) -> None:
    """Class 1 keeps 7 days: a pass 45 days old, or just over 6, is refused with the reason in Chinese."""
    at_site(client, test_settings, retention(7, 5))
    code, key = registered(session, retention_class=1)
    status, text = push_aged(client, code, key, timedelta(days=45))  # accepted by the 29 days hard-coded before
    assert status == 422
    assert "超过接收时限：本卡口为1类卡口，过车只保留 7 天，只接收 6 天内的记录" in text
    assert push_aged(client, code, key, timedelta(days=6) + timedelta(hours=1))[0] == 422
    assert push_aged(client, code, key, timedelta(days=6) - timedelta(hours=1))[0] == 202
    _snap_code, snap_key = registered(session, retention_class=1, kind="snapshot")  # snapshots: the same limit
    old = (datetime.now(UTC) - timedelta(days=6, hours=1)).isoformat()
    response = client.post(SNAPSHOTS_URL, params={"lane": 1, "direction": "in", "taken_at": old}, content=jpeg(),
                           headers={"X-Device-Key": snap_key, "Content-Type": "image/jpeg"})
    assert response.status_code == 422 and "超过接收时限" in response.text


def test_an_accepted_pass_outlives_the_next_retention_run() -> None:
    """The margin: a pass accepted at its class's age limit is kept at least INGEST_MARGIN more."""
    for days in (retention(60, 15), retention(7, 5), retention(2, 2)):
        for retention_class, kept in days.days_by_class().items():
            for hour in range(0, 24, 5):
                now = datetime(2026, 3, 10, hour, 30, tzinfo=UTC)
                oldest = now - days.ingest_age_limit(retention_class)
                removed_at = now + INGEST_MARGIN  # retention then keeps UTC days from first_kept_day(...)
                assert oldest.date() >= first_kept_day(removed_at, kept), (kept, hour)


def test_summary_window_follows_retention() -> None:
    """The trajectory job summarises every local day some pass may still be kept in (the day before its
    window ends before what retention keeps), and its oldest day is needed at some hours."""
    assert retention(60, 15).summary_days() == 61 and retention(7, 5).summary_days() == 8
    assert retention(7, 15).summary_days() == 16  # the longest class counts: class 2 keeps more here
    zone = ZoneInfo("Asia/Shanghai")
    for days in (retention(60, 15), retention(7, 5)):
        window = days.summary_days()
        oldest_needed = False
        for hour in range(24):
            now = datetime(2026, 3, 10, hour, 30, tzinfo=UTC)
            today = now.astimezone(zone).date()
            kept_from = datetime.combine(first_kept_day(now, days.longest_days()), time(), tzinfo=UTC)
            oldest_summarised = today - timedelta(days=window)
            day_before = oldest_summarised - timedelta(days=1)
            # the day before the window ends before anything retention keeps; the window's first day may not
            assert datetime.combine(day_before + timedelta(days=1), time(), tzinfo=zone) <= kept_from, hour
            oldest_needed |= datetime.combine(oldest_summarised + timedelta(days=1), time(), tzinfo=zone) > kept_from
        assert oldest_needed  # one day less would miss passes retention still keeps


def test_summary_window_reaches_the_passes_the_site_keeps(session: Session) -> None:
    """With 60 days kept a day 50 days back is summarised; with 7 it is not (retention removed it)."""
    from checkpoint.trajectory.summaries import days_to_summarise

    zone = "Asia/Shanghai"
    now = datetime.now(UTC)
    fifty_back = now.astimezone(ZoneInfo(zone)).date() - timedelta(days=50)
    long_window = days_to_summarise(session, zone, now, retention(60, 15).summary_days())
    short_window = days_to_summarise(session, zone, now, retention(7, 5).summary_days())
    assert fifty_back in long_window
    assert fifty_back not in short_window and len(short_window) <= 8
