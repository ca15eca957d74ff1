"""Watchlist settings (CHECKPOINT_WATCHLIST_*): alert deadlines, grouping window, the provincial webhook."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class WatchlistSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHECKPOINT_WATCHLIST_")

    sign_due_s: int = 120  # 签收: an alert not signed for within this is overdue
    feedback_due_h: int = 24  # 处置反馈 due after the intercept instruction
    group_window_s: int = 600  # repeats of one vehicle on one watch within this join one alert
    webhook_url: str | None = None  # the provincial platform: every new alert is POSTed there as JSON
    webhook_timeout_s: float = 3.0
    webhook_max_backoff_s: float = 300.0  # retries of a failed delivery back off 1, 2, 4 ... s up to this
    max_deliveries: int = 5  # a pass failing this many deliveries on its own is dead-lettered
    expiry_sweep_s: float = 1.0  # how often a matcher marks ended watches expired in PostgreSQL


@lru_cache
def get_watchlist_settings() -> WatchlistSettings:
    return WatchlistSettings()
