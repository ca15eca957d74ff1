"""Reading the pass streams in tests as the consumers do (through the one parser), and old-format entries."""

from __future__ import annotations

from typing import Any

from checkpoint.core.bus import PASSES_STREAM, Fields
from checkpoint.passes.record import RECORD_FIELDS, CapturedPass, PassEvent
from tests.capture.helpers import entries


def published(bus: Any) -> list[PassEvent]:
    """The events on `checkpoint:passes`, in order."""
    return [PassEvent.from_fields(fields) for _, fields in entries(bus, PASSES_STREAM)]


def published_ids(bus: Any) -> list[str]:
    return [event.pass_id for event in published(bus)]


def with_value(item: CapturedPass, name: str, value: str) -> Fields:
    """The packed entry of `item` with one value replaced as is (no escaping): a record a bad producer wrote."""
    values = item.to_record().split("\t")
    values[RECORD_FIELDS.index(name)] = value
    return {"captured.v2": "\t".join(values)}


def legacy_fields(item: CapturedPass) -> Fields:
    """One stream field per attribute, None left out: not the codec's format (a bad producer's entry)."""
    out: Fields = {}
    for key in ("checkpoint_id", "plate", "captured_at", "plate_colour", "plate_type", "confidence", "feed_id",
                "device_id", "lane", "direction", "speed_kmh", "image_path", "plate_image_path", "source", "pass_id"):
        value = getattr(item, key)
        if value is not None:
            out[key] = value.isoformat() if key == "captured_at" else str(value)
    return out
