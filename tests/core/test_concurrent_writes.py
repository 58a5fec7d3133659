"""Concurrent writers through the real WSGI app: no 5xx, and every acknowledged write is there.

Two managers saving at the same moment used to get a 500 "database is locked" on SQLite: a
deferred transaction that had read could not write once another one had committed. Here 24 threads
send a mix of writes (API client creation, status change, key rotation, the panel's client form,
PFX upload) to a werkzeug server in a thread, on a SQLite file (and on PostgreSQL when the suite has
``TEST_DATABASE_URL``). Committed data across connections, so an app and a database of its own,
not the per-test rolled-back transaction."""

import sqlite3
import threading

import click
import pytest
import requests
from flask_migrate import upgrade
from sqlalchemy import select, update
from werkzeug.serving import WSGIRequestHandler, make_server

import core.db as core_db
from core.db import db as _db
from partner.models import ApiToken
from partner.services import create_api_token
from tests.conftest import PG_URL, _new_database, free_port, make_config
from tests.factories import PASSWORD, PartnerFactory, PlanFactory, UserFactory
from tests.loadmix import LoadMix

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL unset"))]


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, app, tmp_path_factory, smtp_server):
    """(base URL, app, API token, manager e-mail) of a live app on a fresh database, seeded and committed."""
    from app import create_app
    from core.tasks import init_celery

    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('writers') / 'writers.db'}", (lambda: None)
    else:
        url, drop = _new_database(tmp_path_factory, "writers")
    config = make_config(url, smtp_server.port, tmp_path_factory.mktemp("writers-instance"))
    config["RATELIMIT_ENABLED"] = False  # this is about the database, not the limits
    live = create_app(config)
    init_celery(app)  # Celery is a singleton: point it back at the suite app for the other tests
    with live.app_context():
        upgrade()
        partner = PartnerFactory()
        manager = UserFactory(partner=partner, email="gestor@carga.example")
        PlanFactory(name="Ouro", price_cents=11990)
        _token, plaintext = create_api_token(partner, "Carga")
        _db.session.commit()
        manager_email = manager.email
        _db.session.remove()
    port = free_port()
    server = make_server("127.0.0.1", port, live, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", live, plaintext, manager_email
    server.shutdown()
    thread.join(10)
    with live.app_context():
        _db.engine.dispose()
    drop()


def test_concurrent_mixed_writes_answer_no_5xx_and_keep_every_acknowledged_write(served):
    base, live, token, manager_email = served
    load = LoadMix(base, token, manager_email, PASSWORD, threads=24, requests_total=120, clients_per_thread=1)
    load.prepare()
    load.run()
    report = load.report()
    assert not load.server_errors(), report
    assert len(load.outcomes) == 120
    acknowledged = sum(o.status in (200, 201, 302) for o in load.outcomes)
    assert acknowledged == 120, report  # nothing here is invalid: every write is accepted
    assert load.missing_writes() == []


def _token_last_used(live):
    with live.app_context():
        value = _db.session.scalar(select(ApiToken.last_used_at))
        _db.session.remove()
    return value


def _forget_token_use(live):
    with live.app_context():
        _db.session.execute(update(ApiToken).values(last_used_at=None))
        _db.session.commit()
        _db.session.remove()


def test_a_get_records_the_token_use_in_a_write_of_its_own(served):
    """The API token's "last used" is kept on a GET, without the GET's own transaction writing."""
    base, live, token, _email = served
    _forget_token_use(live)
    response = requests.get(f"{base}/api/v1/plans", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200
    assert _token_last_used(live) is not None


def test_a_get_answers_even_when_its_side_write_cannot_wait(served, monkeypatch):
    base, live, token, _email = served
    url = live.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    _forget_token_use(live)
    monkeypatch.setattr(core_db, "WRITE_LOCK_WAIT", 0.3)
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer keeps the lock longer than the GET will wait
    try:
        response = requests.get(f"{base}/api/v1/plans", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 200 and response.json()["items"]
    assert _token_last_used(live) is None  # skipped this time, noted by a later request


def test_which_transactions_take_the_write_lock(app):
    """Writes (and the audited certificate download) begin IMMEDIATE on SQLite; reads stay deferred."""
    from core.db import _wants_write_lock, write_lock

    with app.test_request_context("/api/v1/plans"):
        assert not _wants_write_lock()
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with app.test_request_context("/api/v1/clients", method=method):
            assert _wants_write_lock()
    with app.test_request_context("/api/v1/integration/certificate"):
        assert _wants_write_lock()
    with app.app_context():
        assert not _wants_write_lock()  # scripts, the test fixtures: as before
        with write_lock():  # Celery tasks (core/tasks.py)
            assert _wants_write_lock()
        with click.Context(click.Command("demo")):  # flask demo, flask billing run...
            assert _wants_write_lock()


def test_celery_tasks_take_the_write_lock(app, db, monkeypatch):
    from core import mail_tasks
    from core.db import _wants_write_lock

    seen = []
    monkeypatch.setattr(mail_tasks, "deliver_pending", lambda: seen.append(_wants_write_lock()) or 0)
    mail_tasks.deliver_outbox()
    assert seen == [True]
