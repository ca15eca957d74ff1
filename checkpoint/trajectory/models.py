"""Indexes trajectory adds to the pass table (migration 0005), declared so models and migrations agree.

They are covering indexes for month-wide analyses: companions, collisions and frequent passing
probe (checkpoint_id, captured_at) and need only the plate; clone detection walks each plate's
passes in time order and needs only checkpoint, colour and type. See docs/BENCHMARKS.md.
"""

from __future__ import annotations

from sqlalchemy import Index

from checkpoint.passes.models import Pass

CHECKPOINT_TIME_PLATE = Index("ix_pass_checkpoint_captured_at_plate", Pass.checkpoint_id, Pass.captured_at,
                              postgresql_include=["plate"])
PLATE_TIME_COVER = Index("ix_pass_plate_captured_at_cover", Pass.plate, Pass.captured_at,
                         postgresql_include=["checkpoint_id", "plate_colour", "plate_type"])
