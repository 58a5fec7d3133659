"""fiscal documents, events, exports, panel imports and per-client settings

Revision ID: 0008_fiscal
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

import core.db


revision = '0008_fiscal'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fiscal_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=44), nullable=False),
    sa.Column('event_type', sa.String(length=6), nullable=False),
    sa.Column('sequence', sa.SmallInteger(), nullable=False),
    sa.Column('cstat', sa.Integer(), nullable=True),
    sa.Column('environment', sa.SmallInteger(), nullable=False),
    sa.Column('registered_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('registered_month', sa.Integer(), nullable=False),
    sa.Column('protocol_number', sa.String(length=20), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_fiscal_events_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_events')),
    sa.UniqueConstraint('client_id', 'environment', 'key', 'event_type', 'sequence', name=op.f('uq_fiscal_events_client_id_environment_key_event_type_sequence'))
    )
    with op.batch_alter_table('fiscal_events', schema=None) as batch_op:
        batch_op.create_index('ix_fiscal_events_month', ['client_id', 'environment', 'registered_month'], unique=False)

    op.create_table('fiscal_settings',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('export_day', sa.SmallInteger(), nullable=True),
    sa.Column('contingency_deadline_hours', sa.SmallInteger(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_fiscal_settings_client_id_clients')),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_fiscal_settings'))
    )
    op.create_table('fiscal_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=44), nullable=False),
    sa.Column('model', sa.SmallInteger(), nullable=False),
    sa.Column('series', sa.Integer(), nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('issued_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('issued_month', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('issued', 'received', name='fiscal_direction', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('status', sa.Enum('authorized', 'denied', 'cancelled', 'contingency', 'not_a_document', name='fiscal_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('environment', sa.SmallInteger(), nullable=False),
    sa.Column('tp_emis', sa.SmallInteger(), nullable=False),
    sa.Column('emitter_doc', sa.String(length=20), nullable=False),
    sa.Column('emitter_name', sa.String(length=200), nullable=False),
    sa.Column('recipient_doc', sa.String(length=20), nullable=False),
    sa.Column('recipient_name', sa.String(length=200), nullable=False),
    sa.Column('total_cents', sa.BigInteger(), nullable=False),
    sa.Column('has_body', sa.Boolean(), nullable=False),
    sa.Column('protocol_cstat', sa.Integer(), nullable=True),
    sa.Column('protocol_number', sa.String(length=20), nullable=False),
    sa.Column('authorized_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('signature_status', sa.String(length=16), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('received_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_fiscal_documents_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_fiscal_documents_client_id_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_documents')),
    sa.UniqueConstraint('client_id', 'environment', 'key', name=op.f('uq_fiscal_documents_client_id_environment_key'))
    )
    with op.batch_alter_table('fiscal_documents', schema=None) as batch_op:
        batch_op.create_index('ix_fiscal_documents_list', ['client_id', 'environment', 'issued_at', 'id'], unique=False)
        batch_op.create_index('ix_fiscal_documents_month', ['client_id', 'environment', 'direction', 'issued_month', 'model', 'status'], unique=False)
        batch_op.create_index('ix_fiscal_documents_pending', ['status', 'issued_at'], unique=False)

    op.create_table('fiscal_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('month', sa.Integer(), nullable=False),
    sa.Column('model', sa.SmallInteger(), nullable=True),
    sa.Column('participant', sa.Enum('issued', 'received', 'all', name='fiscal_export_participant', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('include_pdf', sa.Boolean(), nullable=False),
    sa.Column('automatic_month', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'running', 'ready', 'failed', 'expired', name='fiscal_export_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('progress', sa.SmallInteger(), nullable=False),
    sa.Column('document_count', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('blob_name', sa.String(length=200), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('expires_at', core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_fiscal_exports_client_id_clients')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_fiscal_exports_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_exports')),
    sa.UniqueConstraint('client_id', 'automatic_month', name=op.f('uq_fiscal_exports_client_id_automatic_month'))
    )
    with op.batch_alter_table('fiscal_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fiscal_exports_client_id'), ['client_id'], unique=False)

    op.create_table('fiscal_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('blob_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.Enum('pending', 'running', 'done', 'failed', name='fiscal_import_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('results', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_fiscal_imports_client_id_clients')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_fiscal_imports_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fiscal_imports'))
    )
    with op.batch_alter_table('fiscal_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fiscal_imports_client_id'), ['client_id'], unique=False)



def downgrade():
    with op.batch_alter_table('fiscal_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fiscal_imports_client_id'))

    op.drop_table('fiscal_imports')
    with op.batch_alter_table('fiscal_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fiscal_exports_client_id'))

    op.drop_table('fiscal_exports')
    with op.batch_alter_table('fiscal_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_fiscal_documents_pending')
        batch_op.drop_index('ix_fiscal_documents_month')
        batch_op.drop_index('ix_fiscal_documents_list')

    op.drop_table('fiscal_documents')
    op.drop_table('fiscal_settings')
    with op.batch_alter_table('fiscal_events', schema=None) as batch_op:
        batch_op.drop_index('ix_fiscal_events_month')

    op.drop_table('fiscal_events')
