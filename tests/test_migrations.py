"""Models and migrations agree, and the whole history goes down to nothing and back up."""

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from core.db import db as _db
from tests.conftest import _new_database, make_config


def schema_diff(engine) -> list:
    """Alembic's autogenerate diff between the models and the database (empty when they agree)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, _db.metadata)


def test_models_match_migrations(app):
    """The suite's database was built by ``upgrade head``: autogenerate must find nothing to add."""
    with app.app_context():
        diff = schema_diff(_db.engine)
    assert diff == [], "models and migrations disagree; write the migration:\n" + "\n".join(map(str, diff))


@pytest.fixture
def fresh_app(app, tmp_path_factory, smtp_server):
    """A second app on a brand-new empty database (SQLite file or a new PostgreSQL database)."""
    from app import create_app
    from core.tasks import init_celery

    url, drop = _new_database(tmp_path_factory, "migrations")
    second = create_app(make_config(url, smtp_server.port, tmp_path_factory.mktemp("migrations-instance")))
    try:
        yield second
    finally:
        with second.app_context():
            _db.engine.dispose()
        init_celery(app)  # the Celery singleton follows the last app created: give it back
        drop()


def test_downgrade_to_base_and_upgrade_again(fresh_app):
    with fresh_app.app_context():
        upgrade()
        tables = set(sa.inspect(_db.engine).get_table_names())
        assert {"clients", "partners", "users", "audit_events", "outbox_emails", "alembic_version"} <= tables

        downgrade(revision="base")
        left = set(sa.inspect(_db.engine).get_table_names()) - {"alembic_version"}
        assert left == set(), f"downgrade left tables behind: {sorted(left)}"

        upgrade()
        assert set(sa.inspect(_db.engine).get_table_names()) == tables
        assert schema_diff(_db.engine) == []


def test_0005_seals_the_bodies_already_in_the_outbox_and_gives_them_back_on_downgrade(fresh_app):
    """Messages queued before the upgrade carried links in plain text: the upgrade encrypts them."""
    from core.mail import OutboxEmail

    link = "http://localhost/redefinir-senha/token-antigo-em-texto-claro"
    source = (Path(__file__).resolve().parent.parent / "migrations" / "versions" / "0005_sessions.py").read_text()
    previous = re.search(r'^down_revision = "([^"]+)"', source, re.M).group(1)
    with fresh_app.app_context():
        upgrade(revision=previous)
        with _db.engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO outbox_emails (\"to\", subject, body_text, status, attempts, kind, created_at) "
                "VALUES ('a@example.com', 'Redefinição', :body, 'pending', 0, 'password_reset', CURRENT_TIMESTAMP)"
            ), {"body": f"Clique: {link}"})
        upgrade()
        with _db.engine.connect() as connection:
            [row] = connection.execute(sa.text("SELECT * FROM outbox_emails")).all()
        assert link.encode() not in b"".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row)
        assert _db.session.scalars(sa.select(OutboxEmail)).one().body_text == f"Clique: {link}"
        _db.session.remove()

        downgrade(revision=previous)
        with _db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT body_text FROM outbox_emails")).scalar() == f"Clique: {link}"
        upgrade()
