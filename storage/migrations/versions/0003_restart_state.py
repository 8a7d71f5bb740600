"""A restart resumes the patient (issue 8, MON-8): station per session, clinical snapshots, monitoring
gaps; and the THR-7 fields of a threshold set.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """New columns are nullable or default to "", so every existing row loads unchanged."""
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("station", sa.String(length=200), server_default="", nullable=False))
    with op.batch_alter_table("threshold_sets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mean_floor", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("systolic_fall_pct", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("mean_fall_pct", sa.Float(), nullable=True))
    op.create_table(
        "monitoring_gaps",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_monitoring_gaps_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_gaps")),
    )
    with op.batch_alter_table("monitoring_gaps", schema=None) as batch_op:
        batch_op.create_index("ix_monitoring_gaps_session_since", ["session_id", "since"], unique=False)
    op.create_table(
        "clinical_snapshots",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_clinical_snapshots_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinical_snapshots")),
    )
    with op.batch_alter_table("clinical_snapshots", schema=None) as batch_op:
        batch_op.create_index("ix_clinical_snapshots_session_at", ["session_id", "at"], unique=False)


def downgrade() -> None:
    """Drop what 0003 added."""
    with op.batch_alter_table("clinical_snapshots", schema=None) as batch_op:
        batch_op.drop_index("ix_clinical_snapshots_session_at")
    op.drop_table("clinical_snapshots")
    with op.batch_alter_table("monitoring_gaps", schema=None) as batch_op:
        batch_op.drop_index("ix_monitoring_gaps_session_since")
    op.drop_table("monitoring_gaps")
    # Dropped in place (SQLite >= 3.35): rebuilding these tables would break the foreign keys
    # that point at them.
    with op.batch_alter_table("threshold_sets", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("mean_fall_pct")
        batch_op.drop_column("systolic_fall_pct")
        batch_op.drop_column("mean_floor")
    with op.batch_alter_table("sessions", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("station")
