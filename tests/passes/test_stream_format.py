"""The packed stream format: every value travels unchanged, old entries still parse, bad records are refused."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from checkpoint.passes.record import CAPTURED_KEY, EVENT_KEY, CapturedPass, MalformedRecord, PassEvent
from checkpoint.watchlist.raw_stream import plate_of
from tests.passes.streams import with_value

FULL = CapturedPass(checkpoint_id=12, plate="粤L12345", captured_at=datetime(2026, 11, 25, 10, 0, 1, 250_000, UTC),
                    plate_colour="blue", plate_type="small", confidence=0.97, feed_id=3, device_id=4, lane=2,
                    direction="in", speed_kmh=61.5, image_path="images/20261125/HZ-1/a_scene.jpg",
                    plate_image_path="images/20261125/HZ-1/a_plate.jpg", source="camera",
                    pass_id=uuid.UUID("0b9c3a5e-6a43-4a35-9a0a-2f3f3c9b1e01"))
BARE = CapturedPass(checkpoint_id=1, plate="粤A1", captured_at=datetime(2026, 11, 25, 18, 0, tzinfo=timezone(
    timedelta(hours=8))))
ODD = replace(FULL, plate="粤\\L\t1", plate_type="\\N", direction="", image_path="a\nb\r\\c", source="t\\t")


@pytest.mark.parametrize("item", [FULL, BARE, ODD], ids=["full", "bare", "odd"])
def test_a_pass_and_its_event_come_back_unchanged(item: CapturedPass) -> None:
    fields = item.to_fields()
    assert list(fields) == [CAPTURED_KEY]
    back = CapturedPass.from_fields(fields)
    assert back == (replace(item, direction=None) if item.direction == "" else item)  # "" and None: no direction
    event = PassEvent(item, lat=23.123456789, lon=114.987654321)
    event_fields = event.to_fields()
    assert list(event_fields) == [EVENT_KEY]
    assert PassEvent.from_fields(event_fields) == PassEvent(back, lat=23.123456789, lon=114.987654321)


def test_a_record_without_special_values_is_the_values_joined_by_tabs() -> None:
    assert FULL.to_record() == ("粤L12345\t0b9c3a5e-6a43-4a35-9a0a-2f3f3c9b1e01\t2026-11-25T10:00:01.250000+00:00\t12"
                                "\tblue\tsmall\t0.97\t3\t4\t2\tin\t61.5\timages/20261125/HZ-1/a_scene.jpg"
                                "\timages/20261125/HZ-1/a_plate.jpg\t\t\t\tcamera")
    assert BARE.to_record().split("\t")[7:13] == ["", "", "", "", "", ""]


def test_a_vehicle_described_travels_and_a_v1_entry_still_reads() -> None:
    described = replace(FULL, vehicle_colour="white", vehicle_type="van", vehicle_brand="五菱")
    assert CapturedPass.from_fields(described.to_fields()) == described
    v1 = FULL.to_record().replace("\t\t\t\tcamera", "\tcamera")  # the record as v1 wrote it
    assert CapturedPass.from_fields({"captured.v1": v1}) == FULL
    event_v1 = {"event.v1": f"{v1}\t23.1\t114.4"}
    assert PassEvent.from_fields(event_v1) == PassEvent(FULL, 23.1, 114.4)
    assert plate_of({key.encode(): value.encode() for key, value in event_v1.items()}) == "粤L12345"


@pytest.mark.parametrize("fields", [
    with_value(FULL, "lane", "1\t2"),  # a value too many
    {CAPTURED_KEY: "粤L12345\tnot-enough"},
    with_value(FULL, "image_path", "a\\x41"),  # an escape to_record() never writes
    with_value(FULL, "plate_image_path", "trailing\\"),
    with_value(FULL, "speed_kmh", "fast"),
], ids=["extra-value", "too-few", "unknown-escape", "lone-backslash", "not-a-number"])
def test_records_to_record_cannot_have_written_are_refused(fields: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        CapturedPass.from_fields(fields)


def test_an_event_without_its_position_is_refused() -> None:
    with pytest.raises(MalformedRecord):
        PassEvent.from_fields({EVENT_KEY: "粤L12345"})


def test_the_matcher_reads_the_plate_without_parsing_the_rest() -> None:
    def raw(fields: dict[str, str]) -> dict[bytes, bytes]:
        return {key.encode(): value.encode() for key, value in fields.items()}

    assert plate_of(raw(PassEvent(FULL, 23.1, 114.4).to_fields())) == "粤L12345"
    assert plate_of(raw(PassEvent(ODD, 23.1, 114.4).to_fields())) == "粤\\L\t1"
    with pytest.raises(KeyError):
        plate_of(raw({"something": "else"}))
    with pytest.raises(ValueError):
        plate_of({EVENT_KEY.encode(): b"no tab at all"})
