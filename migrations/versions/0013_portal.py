"""accountants linked to client companies by acceptance (the accountants' portal); exports of a period

Today's matches (an accountant user whose e-mail is a client's accountant_email) become accepted
links, so existing accountants keep their companies.

Revision ID: 0013_portal
Revises: 0010_mail_attachment
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0013_portal'
down_revision = '0010_mail_attachment'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('accountant_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('pending', 'accepted', 'declined', 'removed', name='accountant_link_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('expires_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('invited_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('accepted_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('ended_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('updated_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('group_name', sa.String(length=100), server_default='', nullable=False),
    sa.Column('export_day', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('export_day IS NULL OR (export_day BETWEEN 1 AND 28)', name=op.f('ck_accountant_links_export_day_range')),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_accountant_links_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_accountant_links_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_accountant_links_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accountant_links')),
    sa.UniqueConstraint('client_id', 'email', name=op.f('uq_accountant_links_client_id_email')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_accountant_links_token_hash'))
    )
    with op.batch_alter_table('accountant_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountant_links_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accountant_links_email'), ['email'], unique=False)
        batch_op.create_index('ix_accountant_links_user_status', ['user_id', 'status', 'client_id'], unique=False)

    with op.batch_alter_table('fiscal_exports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starts_at', core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('ends_at', core.db.UTCDateTime(), nullable=True))

    _accept_todays_matches()


def _accept_todays_matches():
    bind = op.get_bind()
    matches = bind.execute(sa.text(
        "SELECT c.id AS client_id, u.id AS user_id, lower(u.email) AS email FROM clients c "
        "JOIN users u ON lower(u.email) = lower(c.accountant_email) WHERE u.role = 'accountant'"
    )).mappings().all()
    if not matches:
        return
    now = datetime.now(UTC).replace(tzinfo=None)  # UTCDateTime stores naive UTC
    links = sa.table(
        'accountant_links', sa.column('client_id'), sa.column('user_id'), sa.column('email'), sa.column('status'),
        sa.column('accepted_at'), sa.column('created_at'), sa.column('updated_at'), sa.column('group_name'),
    )
    op.bulk_insert(links, [
        {**row, 'status': 'accepted', 'accepted_at': now, 'created_at': now, 'updated_at': now, 'group_name': ''}
        for row in matches
    ])


def downgrade():
    with op.batch_alter_table('fiscal_exports', schema=None) as batch_op:
        batch_op.drop_column('ends_at')
        batch_op.drop_column('starts_at')

    with op.batch_alter_table('accountant_links', schema=None) as batch_op:
        batch_op.drop_index('ix_accountant_links_user_status')
        batch_op.drop_index(batch_op.f('ix_accountant_links_email'))
        batch_op.drop_index(batch_op.f('ix_accountant_links_client_id'))

    op.drop_table('accountant_links')
