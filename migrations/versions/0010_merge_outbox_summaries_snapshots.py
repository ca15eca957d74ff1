"""Merge the branches of 2026-11-26: webhook outbox (0007), day summaries (0008), snapshot devices (0009).

The three were written side by side from 0006 and touch different tables; this revision only joins
them so that the history has one head again.

Revision ID: 0010
Revises: 0007, 0008, 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

revision = "0010"
down_revision = ("0007", "0008", "0009")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
