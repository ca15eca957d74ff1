"""Which feeds capture runs: the enabled video feeds in the database, and generated ones for the demo."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from checkpoint.capture import registry
from checkpoint.capture.synthetic.feed import generate_feed
from checkpoint.capture.video.config import SITE_DEFAULTS, FeedConfig
from checkpoint.core.settings_groups import CaptureSettings
from checkpoint.sites.models import Checkpoint, Feed

VIDEO_KINDS = ("rtsp", "http", "file")
DEMO_DIR = "demo-feeds"


def video_feed_configs(session: Session, capture: CaptureSettings = SITE_DEFAULTS) -> list[FeedConfig]:
    """Enabled rtsp/http/file feeds of active checkpoints, decoded as the site's `capture` settings say
    (a feed's own RTSP transport first); files are played live, in a loop."""
    rows = session.execute(
        select(Feed, Checkpoint.code).join(Checkpoint, Checkpoint.id == Feed.checkpoint_id)
        .where(Feed.enabled, Checkpoint.active, Feed.kind.in_(VIDEO_KINDS)).order_by(Feed.id)
    ).all()
    return [FeedConfig(feed_id=feed.id, checkpoint_id=feed.checkpoint_id, checkpoint_code=code, source=feed.source,
                       kind=feed.kind, lane=feed.lane, direction=feed.direction, loop=feed.kind == "file",
                       repeat_window_s=capture.repeat_window_s,
                       rtsp_transport=feed.rtsp_transport or capture.rtsp_transport,
                       decoder=capture.decoder,
                       decode_threads=capture.decode_threads, max_lag_s=capture.max_lag_s,
                       decoder_nice=capture.decoder_nice)
            for feed, code in rows]


def ensure_demo_feeds(session: Session, data_dir: Path, count: int = 3, vehicles: int = 20) -> list[Feed]:
    """Generated videos (made once under data_dir/demo-feeds) registered through the registry as file feeds
    (lane 1, in) on `count` checkpoints.

    The caller commits. Generating a 720p feed of 20 vehicles takes about a minute on a busy 2-core machine.
    """
    folder = data_dir / DEMO_DIR
    checkpoints = session.scalars(select(Checkpoint).where(Checkpoint.active).order_by(Checkpoint.id).limit(count))
    feeds = []
    for index, checkpoint in enumerate(checkpoints):
        video = folder / f"{checkpoint.code}.mp4"
        if not video.exists():
            generate_feed(video, vehicles=vehicles, size=(1280, 720), gap_s=3.0, crossing_s=2.0, seed=index)
        registry.import_rows(session, [{"checkpoint": checkpoint.code, "lane": "1", "direction": "in", "kind": "file",
                                        "source": str(video), "name": f"演示视频 {checkpoint.name}"}], "")
        feeds.append(session.scalars(select(Feed).where(Feed.checkpoint_id == checkpoint.id, Feed.lane == 1,
                                                        Feed.direction == "in", Feed.kind == "file")).one())
    session.flush()
    return feeds
