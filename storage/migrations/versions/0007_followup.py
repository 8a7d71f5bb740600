"""Follow-up, consent, MedWatch flags and drill logs (issue 9: DOC-5, DOC-6, DOC-7, DRL-2).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """New tables only: nothing existing changes."""
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("patient_ref", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("contact", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("event_at", _utc(), nullable=False),
        sa.Column("opens_at", _utc(), nullable=False),
        sa.Column("due_by", _utc(), nullable=False),
        sa.Column("scheduled_at", _utc(), nullable=False),
        sa.Column("scheduled_by", sa.String(length=200), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("outcome_details", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
    )
    op.create_index("ix_follow_ups_due_by", "follow_ups", ["due_by"], unique=False)
    op.create_index("ix_follow_ups_session_id", "follow_ups", ["session_id"], unique=False)
    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("patient_id", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("withdrawn_at", _utc(), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_patient_id", "consents", ["patient_id"], unique=False)
    op.create_table(
        "serious_events",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("event_at", _utc(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("flagged_at", _utc(), nullable=False),
        sa.Column("flagged_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serious_events")),
    )
    op.create_index("ix_serious_events_subject", "serious_events", ["subject"], unique=False)
    op.create_table(
        "drill_logs",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("drill_date", sa.Date(), nullable=False),
        sa.Column("scenario", sa.String(length=200), nullable=False),
        sa.Column("participants", sa.JSON(), nullable=False),
        sa.Column("logged_at", _utc(), nullable=False),
        sa.Column("logged_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drill_logs")),
    )


def downgrade() -> None:
    """Drop the four tables."""
    op.drop_table("drill_logs")
    op.drop_index("ix_serious_events_subject", table_name="serious_events")
    op.drop_table("serious_events")
    op.drop_index("ix_consents_patient_id", table_name="consents")
    op.drop_table("consents")
    op.drop_index("ix_follow_ups_session_id", table_name="follow_ups")
    op.drop_index("ix_follow_ups_due_by", table_name="follow_ups")
    op.drop_table("follow_ups")
