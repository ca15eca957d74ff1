"""Settings read once from the environment (`CHECKPOINT_*`), with the embedded default.

With no database or Redis URL, the program starts its own servers under `data_dir`.
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every variable is listed, with its meaning, in `.env.example`."""

    model_config = SettingsConfigDict(env_prefix="CHECKPOINT_", env_nested_delimiter="__", extra="ignore")

    database_url: str | None = None  # CHECKPOINT_DATABASE_URL; None starts embedded PostgreSQL
    redis_url: str | None = None  # CHECKPOINT_REDIS_URL; None starts embedded Redis
    data_dir: Path = Path("var")  # CHECKPOINT_DATA_DIR: embedded servers, images, secret key
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Asia/Shanghai"  # times are stored in UTC and shown in this zone
    site_name: str = "惠州市公安局 卡口系统"
    token_ttl_s: int = 8 * 3600
    secret_key: str | None = None  # CHECKPOINT_SECRET_KEY; None: generated once into data_dir
    tile_url: str | None = None  # a site's own tile server, e.g. http://tiles.local/{z}/{x}/{y}.png
    geodata_dir: Path = Path(__file__).resolve().parents[2] / "geodata"
    cookie_secure: bool = False  # set true behind TLS
    retention_days_class1: int = 30  # CHECKPOINT_RETENTION_DAYS_CLASS1: passes and images kept (city line)
    retention_days_class2: int = 15  # CHECKPOINT_RETENTION_DAYS_CLASS2: the same for class-2 checkpoints
    snapshot_workers: int = 0  # CHECKPOINT_SNAPSHOT_WORKERS: LPR processes for pushed snapshots; 0: one per core

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone name
        return value

    @field_validator("token_ttl_s")
    @classmethod
    def _positive_ttl(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("token_ttl_s must be positive")
        return value

    @field_validator("retention_days_class1", "retention_days_class2")
    @classmethod
    def _at_least_a_day(cls, value: int) -> int:
        if value < 1:
            raise ValueError("retention must keep at least 1 day")
        return value

    def retention_days_by_class(self) -> dict[int, int]:
        """Days kept per checkpoint retention class, for the retention job."""
        return {1: self.retention_days_class1, 2: self.retention_days_class2}

    def resolved_secret_key(self) -> str:
        """The token signing key: configured, or generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
