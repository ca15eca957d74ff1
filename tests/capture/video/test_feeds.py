"""Capture runs the enabled video feeds registered in the database, and only those."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture.video.feeds import video_feed_configs
from checkpoint.core.settings_groups import CaptureSettings
from checkpoint.sites.models import Checkpoint, Feed


def test_only_enabled_video_feeds_are_run(session: Session) -> None:
    checkpoint = session.scalars(select(Checkpoint).where(Checkpoint.active).limit(1)).one()
    rows = [Feed(checkpoint_id=checkpoint.id, lane=lane, direction="in", kind=kind, source=source, enabled=enabled)
            for lane, kind, source, enabled in ((1, "rtsp", "rtsp://10.0.0.9/lane1", True),
                                                (2, "file", "/srv/lane2.mp4", True),
                                                (3, "smart", "", True),
                                                (4, "rtsp", "rtsp://10.0.0.9/lane4", False))]
    session.add_all(rows)
    session.flush()

    mine = [config for config in video_feed_configs(session) if config.feed_id in {row.id for row in rows}]

    assert [(c.lane, c.kind, c.loop, c.checkpoint_code) for c in mine] == [
        (1, "rtsp", False, checkpoint.code), (2, "file", True, checkpoint.code)]


def test_feeds_are_decoded_as_the_site_says(session: Session) -> None:
    checkpoint = session.scalars(select(Checkpoint).where(Checkpoint.active).limit(1)).one()
    feed = Feed(checkpoint_id=checkpoint.id, lane=1, direction="in", kind="rtsp", source="rtsp://10.0.0.9/l1")
    session.add(feed)
    session.flush()
    site = CaptureSettings(rtsp_transport="udp", decoder="opencv", decode_threads=2, decoder_nice=5, max_lag_s=1.5,
                           repeat_window_s=90)

    [mine] = [config for config in video_feed_configs(session, site) if config.feed_id == feed.id]

    assert (mine.rtsp_transport, mine.decoder, mine.decode_threads, mine.decoder_nice, mine.max_lag_s,
            mine.repeat_window_s) == ("udp", "opencv", 2, 5, 1.5, 90)
