"""Where a feed's live health is kept in Redis: written by capture, read by the console and coverage.

The Feed row is sites' (a camera at a checkpoint lane); its live state is capture's, and its
names are here so readers below or beside capture (coverage's live check) never import capture.
"""

from __future__ import annotations

FEED_KEY = "checkpoint:feed:{feed_id}"  # hash: state, fps, last frame and pass, last error
FEED_EVENTS_STREAM = "checkpoint:feed_events"  # every online/offline change, with its time and error


def feed_key(feed_id: int) -> str:
    return FEED_KEY.format(feed_id=feed_id)
