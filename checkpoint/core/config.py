"""Settings read once from the environment (`CHECKPOINT_*`), with the embedded default.

One tree: the top-level values here, and the groups of settings_groups.py nested under their
names (CHECKPOINT_LPR__*, CHECKPOINT_WATCHLIST__*, CHECKPOINT_CAPTURE__*, CHECKPOINT_RETENTION__*).
It is read in the entry points (CLI commands, `runtime.worker_process`, the `SettingsDep`
dependency); workers and services receive the values or the group they need as arguments.

With no database or Redis URL, the program starts its own servers under `data_dir`.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from checkpoint.core.settings_groups import (
    AuthSettings,
    CaptureSettings,
    IntakeSettings,
    LprSettings,
    RetentionSettings,
    WatchlistSettings,
)

# Names documented before the groups existed, still read (a nested name, when set too, wins).
FORMER_NAMES: dict[str, tuple[str, str]] = {
    "CHECKPOINT_RETENTION_DAYS_CLASS1": ("retention", "days_class1"),
    "CHECKPOINT_RETENTION_DAYS_CLASS2": ("retention", "days_class2"),
    "CHECKPOINT_SNAPSHOT_WORKERS": ("capture", "snapshot_workers"),
    **{f"CHECKPOINT_WATCHLIST_{name.upper()}": ("watchlist", name) for name in WatchlistSettings.model_fields},
}


class FormerNamesSource(PydanticBaseSettingsSource):
    """The FORMER_NAMES found in the environment, as the nested values they now are."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ gives the whole tree at once

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        environ = {key.upper(): value for key, value in os.environ.items()}
        for name, (group, field) in FORMER_NAMES.items():
            if name in environ:
                found.setdefault(group, {})[field] = environ[name]
        return found


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
    cookie_secure: bool = False  # set true behind a TLS proxy; serving TLS ourselves sets it anyway
    tls_cert: Path | None = None  # CHECKPOINT_TLS_CERT: serve HTTPS with this certificate (PEM) ...
    tls_key: Path | None = None  # CHECKPOINT_TLS_KEY: ... and this private key
    auth: AuthSettings = Field(default_factory=AuthSettings)  # CHECKPOINT_AUTH__IDLE_TIMEOUT_S ...
    lpr: LprSettings = Field(default_factory=LprSettings)  # CHECKPOINT_LPR__USE_PADDLE=false ...
    watchlist: WatchlistSettings = Field(default_factory=WatchlistSettings)  # CHECKPOINT_WATCHLIST__WEBHOOK_URL ...
    capture: CaptureSettings = Field(default_factory=CaptureSettings)  # CHECKPOINT_CAPTURE__SNAPSHOT_WORKERS ...
    retention: RetentionSettings = Field(default_factory=RetentionSettings)  # CHECKPOINT_RETENTION__DAYS_CLASS1 ...
    intake: IntakeSettings = Field(default_factory=IntakeSettings)  # CHECKPOINT_INTAKE__VIID_SERVER_ID ...

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, and after the environment's nested names the former flat ones."""
        return (init_settings, env_settings, FormerNamesSource(settings_cls), dotenv_settings, file_secret_settings)

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

    def secure_cookies(self) -> bool:
        """Cookies carry Secure when we serve TLS or are told a TLS proxy is in front."""
        return self.cookie_secure or self.tls_cert is not None

    def tls_files(self) -> tuple[str | None, str | None]:
        """uvicorn's ssl_certfile and ssl_keyfile: both set (serve HTTPS) or neither."""
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both CHECKPOINT_TLS_CERT and CHECKPOINT_TLS_KEY, or neither")
        return (str(self.tls_cert) if self.tls_cert else None), (str(self.tls_key) if self.tls_key else None)

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
