"""memberships and invitations: a user's role, partner and client company move into memberships (one user, many firms);
a login remembers the membership it works in

Revision ID: 0011_memberships
Revises: 0010_mail_attachment

Each existing user gets exactly one membership holding the role, partner_id and client_id it had, so
every account logs in and lands where it did. The downgrade puts back, per user, the membership used
last (else the oldest): a user who gained several memberships keeps only that one.
"""
from alembic import op
import sqlalchemy as sa

import core.db


class _sqlite_foreign_keys_off:
    """SQLite rebuilds ``users`` to drop or add its columns (batch mode): with foreign keys on, dropping
    the old table would run ON DELETE actions on every table pointing at users (memberships and logins
    deleted, audit actors nulled). The pragma only changes outside a transaction, hence the commits;
    the check afterwards refuses a rebuild that left a dangling reference. No-op on PostgreSQL."""

    def __enter__(self):
        self.bind = op.get_bind()
        # migrations/env.py already runs every migration with foreign keys off; this stays for a run that
        # does not (the pragma reads 0 then, and nothing is done).
        self.active = self.bind.dialect.name == "sqlite" and self.bind.exec_driver_sql(
            "PRAGMA foreign_keys").scalar() == 1
        if self.active:
            self.bind.exec_driver_sql("COMMIT")
            self.bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
            self.bind.exec_driver_sql("BEGIN")

    def __exit__(self, *exc):
        if self.active and exc[0] is None:
            dangling = self.bind.exec_driver_sql("PRAGMA foreign_key_check").all()
            assert not dangling, f"foreign keys broken by the rebuild: {dangling[:5]}"
            self.bind.exec_driver_sql("COMMIT")
            self.bind.exec_driver_sql("PRAGMA foreign_keys=ON")
            self.bind.exec_driver_sql("BEGIN")
        return False


revision = '0011_memberships'
down_revision = '0010_mail_attachment'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('admin', 'finance', 'manager', 'accountant', 'client', name='membership_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('last_used_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_memberships_client_id_clients')),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_memberships_partner_id_partners')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('user_id', 'role', 'partner_id', 'client_id', name=op.f('uq_memberships_user_id_role_partner_id_client_id'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('membership_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_user_sessions_membership_id_memberships'), 'memberships', ['membership_id'], ['id'], ondelete='SET NULL')

    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('manager', 'client_user', name='invitation_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('cpf', sa.String(length=11), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(), nullable=False),
    sa.Column('accepted_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_at', core.db.UTCDateTime(), nullable=True),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('accepted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_invitations_accepted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_invitations_client_id_clients')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_invitations_partner_id_partners')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitations_partner_id'), ['partner_id'], unique=False)

    op.execute(sa.text(
        "INSERT INTO memberships (user_id, role, partner_id, client_id, last_used_at, created_at)"
        " SELECT id, role, partner_id, client_id, last_login_at, created_at FROM users"))

    with _sqlite_foreign_keys_off(), op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_client_id'))
        batch_op.drop_index(batch_op.f('ix_users_partner_id'))
        batch_op.drop_constraint(batch_op.f('fk_users_partner_id_partners'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_users_client_id_clients'), type_='foreignkey')
        batch_op.drop_constraint(op.f('ck_users_user_role'), type_='check')
        batch_op.drop_column('client_id')
        batch_op.drop_column('role')
        batch_op.drop_column('partner_id')



def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitations_partner_id'))
        batch_op.drop_index(batch_op.f('ix_invitations_client_id'))

    op.drop_table('invitations')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_id', sa.INTEGER(), nullable=True))
        batch_op.add_column(sa.Column('role', sa.VARCHAR(length=32), nullable=True))
        batch_op.add_column(sa.Column('client_id', sa.INTEGER(), nullable=True))

    # Per user, the membership used last, else the oldest one.
    op.execute(sa.text(
        "UPDATE users SET role = m.role, partner_id = m.partner_id, client_id = m.client_id FROM ("
        " SELECT user_id, role, partner_id, client_id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY"
        " CASE WHEN last_used_at IS NULL THEN 1 ELSE 0 END, last_used_at DESC, id) AS n FROM memberships"
        ") AS m WHERE m.user_id = users.id AND m.n = 1"))
    op.execute(sa.text("DELETE FROM user_sessions WHERE user_id IN (SELECT id FROM users WHERE role IS NULL)"))
    op.execute(sa.text("UPDATE users SET role = 'client', is_active = false WHERE role IS NULL"))

    with _sqlite_foreign_keys_off(), op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('role', existing_type=sa.VARCHAR(length=32), nullable=False,
                              type_=sa.Enum('admin', 'finance', 'manager', 'accountant', 'client', name='user_role',
                                            native_enum=False, create_constraint=True, length=32))
        batch_op.create_foreign_key(batch_op.f('fk_users_client_id_clients'), 'clients', ['client_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_users_partner_id_partners'), 'partners', ['partner_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_users_partner_id'), ['partner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_client_id'), ['client_id'], unique=False)

    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_sessions_membership_id_memberships'), type_='foreignkey')
        batch_op.drop_column('membership_id')

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_user_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_partner_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_client_id'))

    op.drop_table('memberships')
