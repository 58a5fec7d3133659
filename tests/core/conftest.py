"""Fixtures for the core tests: a second app on its own brand-new database."""

import pytest

from core.db import db as _db
from tests.conftest import _new_database, make_config


@pytest.fixture
def fresh_app(app, tmp_path_factory, smtp_server):
    """An app on a new empty database, for data that must be really committed (worker, CLI).

    The Celery singleton follows the last app created, so it is given back to the suite's app after."""
    from app import create_app
    from core.tasks import init_celery

    url, drop = _new_database(tmp_path_factory, "fresh")
    second = create_app(make_config(url, smtp_server.port, tmp_path_factory.mktemp("fresh-instance")))
    try:
        yield second
    finally:
        with second.app_context():
            _db.session.remove()
            _db.engine.dispose()
        init_celery(app)
        drop()
