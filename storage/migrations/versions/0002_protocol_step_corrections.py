"""Protocol steps: the seq a correction points at, and when a medication was given (issue 5, PRO-6).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the two nullable columns; existing steps keep NULL (no correction, no separate time)."""
    with op.batch_alter_table("protocol_steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("corrects", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop the two columns again."""
    with op.batch_alter_table("protocol_steps", schema=None) as batch_op:
        batch_op.drop_column("occurred_at")
        batch_op.drop_column("corrects")
