"""The clinical record (issue 9, DOC-1..DOC-4): event markers, medications given, and incidents'
origins, links, closings, amendments, debriefs, reviews and what the patient was told.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """New tables only: nothing existing changes."""
    op.create_table(
        "event_markers",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_event_markers_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_markers")),
    )
    op.create_index("ix_event_markers_session_at", "event_markers", ["session_id", "at"], unique=False)
    op.create_table(
        "medications_given",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("session_id", sa.String(length=128), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("drug", sa.String(length=200), nullable=False),
        sa.Column("dose", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("route", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_medications_given_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medications_given")),
    )
    op.create_index(
        "ix_medications_given_session_given_at", "medications_given", ["session_id", "given_at"], unique=False
    )
    op.create_table(
        "incident_amendments",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_amendments_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_amendments")),
    )
    op.create_index("ix_incident_amendments_incident", "incident_amendments", ["incident_id"], unique=False)
    op.create_table(
        "incident_closures",
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("outcome_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_closures_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_closures")),
    )
    op.create_table(
        "incident_debriefs",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("what_was_done", sa.Text(), nullable=False),
        sa.Column("went_well", sa.Text(), nullable=False),
        sa.Column("to_improve", sa.Text(), nullable=False),
        sa.Column("protocol_followed", sa.String(length=16), nullable=False),
        sa.Column("serious", sa.JSON(), nullable=False),
        sa.Column("serious_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_debriefs_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_debriefs")),
    )
    op.create_index("ix_incident_debriefs_incident", "incident_debriefs", ["incident_id"], unique=False)
    op.create_table(
        "incident_links",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_links_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_links")),
    )
    op.create_index("ix_incident_links_incident", "incident_links", ["incident_id"], unique=False)
    op.create_table(
        "incident_origins",
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("alarm_event_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_origins_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incident_origins")),
    )
    op.create_table(
        "incident_reviews",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.Column("protocol_id", sa.String(length=200), nullable=False),
        sa.Column("protocol_version", sa.String(length=64), nullable=False),
        sa.Column("protocol_hash", sa.String(length=128), nullable=False),
        sa.Column("protocol_followed", sa.String(length=16), nullable=False),
        sa.Column("needs_change", sa.Boolean(), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("change_proposal", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_incident_reviews_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_reviews")),
    )
    op.create_index("ix_incident_reviews_incident", "incident_reviews", ["incident_id"], unique=False)
    op.create_table(
        "patient_told",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("incident_id", sa.String(length=128), nullable=False),
        sa.Column("observed", sa.Text(), nullable=False),
        sa.Column("done", sa.Text(), nullable=False),
        sa.Column("meaning", sa.Text(), nullable=False),
        sa.Column("told_by", sa.String(length=200), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("station", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_patient_told_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_told")),
    )
    op.create_index("ix_patient_told_incident", "patient_told", ["incident_id"], unique=False)


def downgrade() -> None:
    """Drop the clinical record's tables."""
    op.drop_index("ix_patient_told_incident", table_name="patient_told")
    op.drop_table("patient_told")
    op.drop_index("ix_incident_reviews_incident", table_name="incident_reviews")
    op.drop_table("incident_reviews")
    op.drop_table("incident_origins")
    op.drop_index("ix_incident_links_incident", table_name="incident_links")
    op.drop_table("incident_links")
    op.drop_index("ix_incident_debriefs_incident", table_name="incident_debriefs")
    op.drop_table("incident_debriefs")
    op.drop_table("incident_closures")
    op.drop_index("ix_incident_amendments_incident", table_name="incident_amendments")
    op.drop_table("incident_amendments")
    op.drop_index("ix_medications_given_session_given_at", table_name="medications_given")
    op.drop_table("medications_given")
    op.drop_index("ix_event_markers_session_at", table_name="event_markers")
    op.drop_table("event_markers")
