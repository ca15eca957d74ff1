"""Imports every domain's models so Base.metadata knows all tables (Alembic, tests)."""

from checkpoint.core import models as core_models
from checkpoint.passes import models as passes_models
from checkpoint.sites import models as sites_models

__all__ = ["core_models", "passes_models", "sites_models"]
