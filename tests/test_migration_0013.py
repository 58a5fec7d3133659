"""Migration 0013_portal turns today's matches (an accountant user whose e-mail a client names as its
accountant's) into accepted links, so existing accountants keep their companies; the downgrade drops them."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from core.db import db as _db
from tests.test_migration_0006 import _insert_client
from tests.test_migrations import fresh_app  # noqa: F401 - the fixture: an app on a brand-new database


def test_todays_accountants_keep_their_companies(fresh_app):  # noqa: F811
    with fresh_app.app_context():
        upgrade(revision="0010_mail_attachment")
        with _db.engine.begin() as connection:
            _insert_client(connection)
            connection.execute(sa.text("UPDATE clients SET accountant_email = 'Contador@Contabil.example'"))
            for email, role in (("contador@contabil.example", "accountant"), ("gestor@x.example", "manager")):
                connection.execute(sa.text(
                    "INSERT INTO users (email, name, role, is_active, created_at) "
                    f"VALUES ('{email}', '', '{role}', true, CURRENT_TIMESTAMP)"))
        upgrade(revision="0013_portal")
        with _db.engine.connect() as connection:
            links = connection.execute(sa.text(
                "SELECT l.client_id, l.email, l.status, m.role FROM accountant_links l "
                "JOIN memberships m ON m.user_id = l.user_id"
            )).all()
        assert [(row.email, row.status, row.role) for row in links] == [
            ("contador@contabil.example", "accepted", "accountant")]
        downgrade(revision="0010_mail_attachment")
        assert "accountant_links" not in sa.inspect(_db.engine).get_table_names()
        upgrade()
