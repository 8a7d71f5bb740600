"""A session names its patient record; a value says whether a simulator produced it (issues 9, 10).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Two columns with defaults: existing rows stay as they were (no patient record, not simulated)."""
    # Plain ADD COLUMN (SQLite and PostgreSQL both take it with a default): a batch copy of
    # "sessions" would have to drop a table other tables' foreign keys point at.
    op.add_column(
        "sessions", sa.Column("patient_id", sa.String(length=128), nullable=False, server_default="")
    )
    op.add_column(
        "observations", sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    """Drop the two columns (plain DROP COLUMN: SQLite 3.35+ and PostgreSQL)."""
    op.drop_column("observations", "simulated")
    op.drop_column("sessions", "patient_id")
