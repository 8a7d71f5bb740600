"""Initial schema: sessions and everything recorded during them (issues 3, 4, 5).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('database_info',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_database_info'))
    )
    op.create_table('sessions',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('patient_name', sa.String(length=200), nullable=False),
    sa.Column('patient_mrn', sa.String(length=64), nullable=False),
    sa.Column('clinician', sa.String(length=200), nullable=False),
    sa.Column('is_drill', sa.Boolean(), nullable=False),
    sa.Column('scenario', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phase', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index('ix_sessions_started_at', ['started_at'], unique=False)

    op.create_table('alarm_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('condition', sa.String(length=64), nullable=False),
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('person', sa.String(length=200), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_alarm_events_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_events'))
    )
    with op.batch_alter_table('alarm_events', schema=None) as batch_op:
        batch_op.create_index('ix_alarm_events_session_at', ['session_id', 'at'], unique=False)

    op.create_table('attestations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('checklist', sa.String(length=64), nullable=False),
    sa.Column('item', sa.String(length=200), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_attestations_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attestations'))
    )
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.create_index('ix_attestations_session_at', ['session_id', 'at'], unique=False)

    op.create_table('baselines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('systolic', sa.Float(), nullable=True),
    sa.Column('diastolic', sa.Float(), nullable=True),
    sa.Column('mean', sa.Float(), nullable=True),
    sa.Column('spo2', sa.Float(), nullable=True),
    sa.Column('pulse', sa.Float(), nullable=True),
    sa.Column('confirmed_by', sa.String(length=200), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_baselines_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_baselines'))
    )
    with op.batch_alter_table('baselines', schema=None) as batch_op:
        batch_op.create_index('ix_baselines_session_at', ['session_id', 'confirmed_at'], unique=False)

    op.create_table('device_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('at_mono', sa.Float(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('frames_ok', sa.BigInteger(), nullable=False),
    sa.Column('frames_rejected', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_device_events_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_events'))
    )
    with op.batch_alter_table('device_events', schema=None) as batch_op:
        batch_op.create_index('ix_device_events_session_at', ['session_id', 'at'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('opened_by', sa.String(length=200), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_incidents_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_session_opened_at', ['session_id', 'opened_at'], unique=False)

    op.create_table('nibp_interval_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('old_interval_s', sa.Float(), nullable=False),
    sa.Column('new_interval_s', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_nibp_interval_changes_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nibp_interval_changes'))
    )
    with op.batch_alter_table('nibp_interval_changes', schema=None) as batch_op:
        batch_op.create_index('ix_nibp_interval_changes_session_at', ['session_id', 'at'], unique=False)

    op.create_table('notes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_notes_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notes'))
    )
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.create_index('ix_notes_session_at', ['session_id', 'at'], unique=False)

    op.create_table('observations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_mono', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('quality', sa.String(length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_observations_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observations'))
    )
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index('ix_observations_session_measured_at', ['session_id', 'measured_at'], unique=False)

    op.create_table('phase_transitions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('from_phase', sa.String(length=32), nullable=False),
    sa.Column('to_phase', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_phase_transitions_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phase_transitions'))
    )
    with op.batch_alter_table('phase_transitions', schema=None) as batch_op:
        batch_op.create_index('ix_phase_transitions_session_at', ['session_id', 'at'], unique=False)

    op.create_table('threshold_sets',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('confirmed_by', sa.String(length=200), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('systolic_ceiling', sa.Float(), nullable=True),
    sa.Column('diastolic_ceiling', sa.Float(), nullable=True),
    sa.Column('hypotension_floor', sa.Float(), nullable=True),
    sa.Column('spo2_floor', sa.Float(), nullable=True),
    sa.Column('spo2_critical_floor', sa.Float(), nullable=True),
    sa.Column('pulse_floor', sa.Float(), nullable=True),
    sa.Column('pulse_ceiling', sa.Float(), nullable=True),
    sa.Column('expected_rise_low', sa.Float(), nullable=True),
    sa.Column('expected_rise_high', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_threshold_sets_session_id_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_threshold_sets'))
    )
    with op.batch_alter_table('threshold_sets', schema=None) as batch_op:
        batch_op.create_index('ix_threshold_sets_session_at', ['session_id', 'confirmed_at'], unique=False)

    op.create_table('protocol_runs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('incident_id', sa.String(length=36), nullable=False),
    sa.Column('protocol_id', sa.String(length=200), nullable=False),
    sa.Column('protocol_version', sa.String(length=64), nullable=False),
    sa.Column('protocol_hash', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=200), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_protocol_runs_incident_id_incidents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_runs'))
    )
    with op.batch_alter_table('protocol_runs', schema=None) as batch_op:
        batch_op.create_index('ix_protocol_runs_incident_started_at', ['incident_id', 'started_at'], unique=False)

    op.create_table('threshold_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('threshold_set_id', sa.String(length=36), nullable=False),
    sa.Column('session_id', sa.String(length=36), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('old', sa.Float(), nullable=True),
    sa.Column('new', sa.Float(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_threshold_changes_session_id_sessions')),
    sa.ForeignKeyConstraint(['threshold_set_id'], ['threshold_sets.id'], name=op.f('fk_threshold_changes_threshold_set_id_threshold_sets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_threshold_changes'))
    )
    with op.batch_alter_table('threshold_changes', schema=None) as batch_op:
        batch_op.create_index('ix_threshold_changes_session_at', ['session_id', 'at'], unique=False)

    op.create_table('protocol_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('person', sa.String(length=200), nullable=False),
    sa.Column('node_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['protocol_runs.id'], name=op.f('fk_protocol_steps_run_id_protocol_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_protocol_steps')),
    sa.UniqueConstraint('run_id', 'seq', name='uq_protocol_steps_run_seq')
    )


def downgrade() -> None:
    op.drop_table('protocol_steps')
    with op.batch_alter_table('threshold_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_threshold_changes_session_at')

    op.drop_table('threshold_changes')
    with op.batch_alter_table('protocol_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_protocol_runs_incident_started_at')

    op.drop_table('protocol_runs')
    with op.batch_alter_table('threshold_sets', schema=None) as batch_op:
        batch_op.drop_index('ix_threshold_sets_session_at')

    op.drop_table('threshold_sets')
    with op.batch_alter_table('phase_transitions', schema=None) as batch_op:
        batch_op.drop_index('ix_phase_transitions_session_at')

    op.drop_table('phase_transitions')
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_index('ix_observations_session_measured_at')

    op.drop_table('observations')
    with op.batch_alter_table('notes', schema=None) as batch_op:
        batch_op.drop_index('ix_notes_session_at')

    op.drop_table('notes')
    with op.batch_alter_table('nibp_interval_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_nibp_interval_changes_session_at')

    op.drop_table('nibp_interval_changes')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_session_opened_at')

    op.drop_table('incidents')
    with op.batch_alter_table('device_events', schema=None) as batch_op:
        batch_op.drop_index('ix_device_events_session_at')

    op.drop_table('device_events')
    with op.batch_alter_table('baselines', schema=None) as batch_op:
        batch_op.drop_index('ix_baselines_session_at')

    op.drop_table('baselines')
    with op.batch_alter_table('attestations', schema=None) as batch_op:
        batch_op.drop_index('ix_attestations_session_at')

    op.drop_table('attestations')
    with op.batch_alter_table('alarm_events', schema=None) as batch_op:
        batch_op.drop_index('ix_alarm_events_session_at')

    op.drop_table('alarm_events')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_sessions_started_at')

    op.drop_table('sessions')
    op.drop_table('database_info')
