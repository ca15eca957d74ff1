"""Imports every domain's models so Base.metadata knows all tables (Alembic, tests)."""

from checkpoint.capture import models as capture_models
from checkpoint.core import models as core_models
from checkpoint.passes import models as passes_models
from checkpoint.sites import models as sites_models
from checkpoint.trajectory import models as trajectory_models
from checkpoint.watchlist import change_log as watchlist_change_log
from checkpoint.watchlist import models as watchlist_models

__all__ = ["capture_models", "core_models", "passes_models", "sites_models", "trajectory_models",
           "watchlist_change_log", "watchlist_models"]
