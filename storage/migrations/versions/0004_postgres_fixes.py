"""PostgreSQL fixes (issue 9): every id column widened from 36 to 128 characters.

A threshold set's id is "{session uuid}/thresholds/{n}" (49 characters); PostgreSQL enforces a
VARCHAR's length and refused those rows, so the confirmed thresholds and every later change were
lost there. SQLite does not enforce the length at all: its columns are left as they are, because
rebuilding every table (the large observations table included) would only cost the clinic time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_LEN = 36
NEW_LEN = 128

#: Every column that holds an id (its own or one it refers to), by table.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "sessions": ("id",),
    "phase_transitions": ("session_id",),
    "observations": ("session_id",),
    "device_events": ("session_id",),
    "baselines": ("session_id",),
    "threshold_sets": ("id", "session_id"),
    "threshold_changes": ("threshold_set_id", "session_id"),
    "nibp_interval_changes": ("session_id",),
    "alarm_events": ("session_id",),
    "incidents": ("id", "session_id"),
    "protocol_runs": ("id", "incident_id"),
    "protocol_steps": ("run_id",),
    "notes": ("session_id",),
    "attestations": ("session_id",),
    "monitoring_gaps": ("session_id",),
    "clinical_snapshots": ("session_id",),
}


def _resize(old: int, new: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite ignores VARCHAR lengths (see the module docstring)
    for table, columns in ID_COLUMNS.items():
        for column in columns:
            op.alter_column(
                table,
                column,
                existing_type=sa.String(length=old),
                type_=sa.String(length=new),
                existing_nullable=False,
            )


def upgrade() -> None:
    """Widen the id columns (PostgreSQL: no table rewrite, a VARCHAR only grows)."""
    _resize(OLD_LEN, NEW_LEN)


def downgrade() -> None:
    """Narrow them again; fails, as it should, while any longer id is stored."""
    _resize(NEW_LEN, OLD_LEN)
