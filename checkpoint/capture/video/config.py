"""What a feed worker needs to know about its feed, independent of the database rows it came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from checkpoint.core.settings_groups import CaptureSettings

SITE_DEFAULTS = CaptureSettings()  # the decoding defaults; a site's own: feeds.video_feed_configs()

RoiShare = tuple[float, float, float, float]  # x1, y1, x2, y2 as shares of the frame size
Roi = tuple[int, int, int, int]


@dataclass(frozen=True)
class FeedConfig:
    """One camera: where it is, what to read, and the tuning of its pass logic."""

    feed_id: int
    checkpoint_id: int
    checkpoint_code: str
    source: str  # rtsp://..., http://..., or a file path
    kind: str = "rtsp"  # rtsp | http | file
    lane: int | None = None
    direction: str | None = None
    roi_share: RoiShare = (0.25, 0.0, 0.75, 1.0)  # the lane: the middle half of the picture
    repeat_window_s: float = SITE_DEFAULTS.repeat_window_s  # same plate at the same checkpoint within this: one pass
    replay: bool = False  # a file read as fast as it decodes, no frame dropped (tests, benchmarks)
    detect_every: int = 1  # with replay: run LPR on every n-th frame (a live feed drops instead)
    queue_size: int = 3
    min_reads: int = 2  # a track with fewer plate reads is noise, not a vehicle
    track_lost_s: float = 0.5  # a track unseen this long has left the view
    stall_s: float = 3.0  # no frame this long on a live feed: reconnect
    backoff_max_s: float = 2.0
    loop: bool = False  # replay a file forever (demo)
    rtsp_transport: str = SITE_DEFAULTS.rtsp_transport  # tcp (interleaved) or udp
    decoder: Literal["pyav", "opencv"] = SITE_DEFAULTS.decoder  # pyav: YUV frames, BGR only for LPR; opencv: the former
    decode_threads: int = SITE_DEFAULTS.decode_threads  # FFmpeg threads per feed: one is cheapest when many share cores
    max_lag_s: float = SITE_DEFAULTS.max_lag_s  # live source behind real time this much: skip to the next keyframe
    decoder_nice: int = SITE_DEFAULTS.decoder_nice  # added to the decoder threads' nice: LPR goes first (BENCHMARKS)
    well_read_reads: int = 4  # live: once every active track has this many reads ...
    well_read_every_s: float = 0.2  # ... LPR runs at most this often on the feed (0: every gated frame)
    search_every_s: float = 0.25  # live, motion but no track: LPR at most this often while looking for a plate

    def roi(self, width: int, height: int) -> Roi:
        x1, y1, x2, y2 = self.roi_share
        return int(x1 * width), int(y1 * height), int(x2 * width), int(y2 * height)

    @property
    def is_live(self) -> bool:
        return not self.replay

