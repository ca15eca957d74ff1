"""The groups of the settings tree: `Settings` (config.py) nests each one under its name.

They live in core because core imports no domain; each domain imports its group from here and
receives it as an argument (constructor or function parameter), never reads it globally.
Environment variables: CHECKPOINT_<GROUP>__<FIELD>, e.g. CHECKPOINT_LPR__USE_PADDLE=false.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, Field


class LprSettings(BaseModel):
    """CHECKPOINT_LPR__*: engine choice and thresholds; the defaults are the ones measured in docs/BENCHMARKS.md."""

    engine: Literal["onnx"] = "onnx"
    intra_op_threads: int = Field(
        default=1, ge=1, description="ONNX Runtime threads per session (1: one worker per core)"
    )
    detect_threshold: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="minimum plate detection score (0.5 until 2026-11-26: tilted plates scored 0.1-0.4 on every frame)",
    )
    min_confidence: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="reads below this plate confidence (weakest character x detection score) are dropped",
    )
    use_paddle: bool = Field(
        default=True, description="fuse PP-OCRv6 with the plate recogniser (slower, more accurate)"
    )
    paddle_when: Literal["always", "uncertain"] = Field(
        default="uncertain",
        description="uncertain: PP-OCRv6 only where the plate recogniser is unsure of a character or reads no plate",
    )
    sure_char_confidence: float = Field(
        default=0.95, ge=0.0, le=1.0, description="plate-recogniser confidence that skips PP-OCRv6"
    )
    detect_scale: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="shrink frames for detection; only where plates are >= 80 px / scale wide",
    )
    coarse_scale: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="find candidates on the frame shrunk by this much, then locate them at full resolution (1: off)",
    )
    coarse_threshold: float = Field(
        default=0.005,
        ge=0.0,
        le=1.0,
        description="detection score that makes a small coarse candidate worth a second look",
    )
    max_side_px: int = Field(
        default=1920,
        ge=64,
        description="larger inputs are searched shrunk to this side (plates read at full size): <= 400 MB a worker",
    )
    max_pixels: int = Field(default=60_000_000, description="larger inputs are refused as not a camera frame")
    keep_crop: bool = Field(default=True, description="attach the rectified plate image to each read")
    tilt_search_deg: float = Field(
        default=0.0,
        ge=0.0,
        le=60.0,
        description="also search the frame turned by +/- this many degrees (cameras seeing plates tilted ~45°); 0: off",
    )
    plate_wan_bias: float = Field(
        default=4.0,
        ge=1.0,
        description="how much the plate recogniser over-predicts 皖 (CCPD-trained); divides its 皖 probability",
    )
    local_province: str = Field(
        default="",
        pattern="^[京津冀晋蒙辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新]?$",
        description="优先省份: this site's province character as a prior (e.g. 粤); empty: off (the default)",
    )
    local_province_weight: float = Field(
        default=3.0, ge=1.0, description="how much more likely the local province is taken than any other"
    )


class WatchlistSettings(BaseModel):
    """CHECKPOINT_WATCHLIST__*: alert deadlines, grouping window, the provincial webhook, the matcher."""

    sign_due_s: int = Field(default=120, gt=0, description="签收: an alert not signed for within this is overdue")
    feedback_due_h: int = Field(default=24, gt=0, description="处置反馈 due this long after the intercept instruction")
    group_window_s: int = Field(default=600, ge=0,
                                description="repeats of one vehicle on one watch within this join one alert")
    webhook_url: str | None = Field(default=None,
                                    description="the provincial platform: every new alert is POSTed there as JSON")
    webhook_timeout_s: float = Field(default=3.0, gt=0)
    webhook_max_backoff_s: float = Field(
        default=300.0, gt=0, description="retries of a failed delivery back off 1, 2, 4 ... s up to this")
    max_deliveries: int = Field(default=5, ge=1,
                                description="a pass failing this many deliveries on its own is dead-lettered")
    expiry_sweep_s: float = Field(default=1.0, gt=0,
                                  description="how often a matcher marks ended watches expired in PostgreSQL")


class CaptureSettings(BaseModel):
    """CHECKPOINT_CAPTURE__*: the LPR processes for pushed snapshots, one pass per vehicle, and how video
    feeds are decoded. The feed values are the defaults of every video feed (capture/video/config.py)."""

    snapshot_workers: int = Field(default=0, ge=0,
                                  description="LPR processes for pushed snapshots; 0: one per CPU core")
    repeat_window_s: float = Field(default=60.0, gt=0, description="the same plate at the same checkpoint "
                                   "within this is one pass (video feeds and snapshots)")
    rtsp_transport: Literal["tcp", "udp"] = Field(default="tcp", description="tcp (interleaved) or udp")
    decoder: Literal["pyav", "opencv"] = Field(
        default="pyav", description="pyav: YUV frames, BGR only for LPR; opencv: the former reader")
    decode_threads: int = Field(default=1, ge=1, description="FFmpeg threads per feed (1: cheapest, many feeds)")
    decoder_nice: int = Field(default=10, ge=0, le=19,
                              description="added to the decoder threads' nice (Linux): LPR threads go first")
    max_lag_s: float = Field(default=0.5, gt=0,
                             description="a live source this far behind real time skips to the next keyframe")


class AuthSettings(BaseModel):
    """CHECKPOINT_AUTH__*: login lockout per (name, source), idle sessions, second factor."""

    lockout_limit: int = Field(default=5, ge=1, description="failed logins per name and source before a delay")
    lockout_delay_s: int = Field(default=60, ge=1,
                                 description="the first delay after the limit; each further failure doubles it")
    lockout_max_delay_s: int = Field(default=3600, ge=1, description="the longest delay between two tries")
    idle_timeout_s: int = Field(default=1800, ge=60, description="a login unused this long ends (log in again)")
    totp_issuer: str = Field(default="Checkpoint", description="the issuer shown in authenticator apps")


INGEST_MARGIN = timedelta(days=1)
"""How much younger than its retention a pushed pass must be. Retention (passes/retention.py, hourly)
removes a UTC day once all of it is older than the class's days, so a pass accepted at its class's
age limit is kept at least this long: the writer stores it, the matcher matches it, and the
trajectory job summarises its closed day (within an hour of midnight) before it goes. A pass right
at the retention age would be accepted and dropped by the next hourly run."""


class RetentionSettings(BaseModel):
    """CHECKPOINT_RETENTION__*: days passes and images are kept, per checkpoint retention class.

    What depends on them derives from them here: the ingest age limit (capture) and the window of
    days the trajectory job summarises.
    """

    days_class1: int = Field(default=30, ge=2, description="days kept at class-1 checkpoints (the city line)")
    days_class2: int = Field(default=15, ge=2, description="days kept at class-2 checkpoints")

    def days_by_class(self) -> dict[int, int]:
        """Days kept per checkpoint retention class, for the retention job."""
        return {1: self.days_class1, 2: self.days_class2}

    def longest_days(self) -> int:
        return max(self.days_by_class().values())

    def ingest_age_limit(self, retention_class: int) -> timedelta:
        """The oldest pass a checkpoint of this class accepts: its retention less INGEST_MARGIN."""
        return timedelta(days=self.days_by_class()[retention_class]) - INGEST_MARGIN

    def summary_days(self) -> int:
        """Closed local days the trajectory job keeps summarised: every day some pass may still be kept in.

        The longest retention keeps UTC days back to (now - days).date(); a local day one further back
        still overlaps it where the zone is ahead of UTC, so one more day is summarised.
        """
        return self.longest_days() + 1


class IntakeSettings(BaseModel):
    """CHECKPOINT_INTAKE__*: the GA/T 1400 视图库 interface and the health of every camera (capture/viid,
    capture/device_health.py)."""

    viid_server_id: str = Field(default="44130000005030000001", pattern=r"^\d{20}$",
                                description="this platform's 20-digit VIIDServerID, sent in /VIID/System/Time")
    digest_realm: str = Field(default="checkpoint-viid", min_length=1, max_length=64,
                              description="the HTTP Digest realm; a device's stored hash depends on it")
    nonce_ttl_s: int = Field(default=300, ge=10, description="a digest nonce is stale after this")
    register_ttl_s: int = Field(default=180, ge=10, description="a registered GA/T 1400 device that sends no "
                                "keepalive for this long must register again")
    device_timezone: str = Field(default="Asia/Shanghai", description="the zone of GA/T 1400 times "
                                 "(PassTime yyyyMMddHHmmss carries no offset)")
    image_fetch_timeout_s: float = Field(default=2.0, gt=0, description="an image sent as a URL is fetched "
                                         "within this, else the pass is stored without it")
    outage_after_s: float = Field(default=300.0, gt=0, description="a device silent this long is offline "
                                  "and raises an outage alert")
    health_every_s: float = Field(default=5.0, gt=0, description="how often the health monitor looks")
    outage_webhook_url: str | None = Field(default=None, description="POSTed a JSON alert when an outage "
                                           "starts and when it ends; none: console only")
    plan_online_rate: float = Field(default=0.95, ge=0, le=1, description="the plan's 在线率 threshold")
    plan_intact_rate: float = Field(default=0.90, ge=0, le=1, description="the plan's 完好率 threshold")
    intact_read_share: float = Field(default=0.8, ge=0, le=1, description="a device is intact over a window "
                                     "when a plate was read on at least this share of its passes ...")
    intact_online_share: float = Field(default=0.9, ge=0, le=1, description="... and it was online at least "
                                       "this share of the window")
