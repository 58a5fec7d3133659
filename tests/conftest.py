"""Test fixtures: app (schema built by ``alembic upgrade head``), per-test transactions,
a real SMTP server (aiosmtpd), login helpers, factories.

Database: SQLite in a temporary file by default; set ``TEST_DATABASE_URL`` to a PostgreSQL
server URL (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) to run the same suite on a
fresh database created for this run.

Clock: ``REVENDA_TEST_CLOCK_OFFSET_DAYS=365`` runs the whole session with the clock that many days
ahead (a ticking ``time_machine`` travel started before the app exists; tests' own travels nest
inside it). CI runs the suite so, to catch a test that only passes until some calendar day."""

import os
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from flask import g
from flask.testing import FlaskClient
from flask_migrate import upgrade

from core.db import db as _db
from core.scratchdb import scratch_database
from tests import shared_fixtures

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
CLOCK_OFFSET_DAYS = int(os.environ.get("REVENDA_TEST_CLOCK_OFFSET_DAYS") or 0)
_session_travel = None
_SHARED_SKIPPED = pytest.StashKey[int]()


def pytest_configure(config):
    global _session_travel
    if CLOCK_OFFSET_DAYS and _session_travel is None:
        import time_machine

        _session_travel = time_machine.travel(datetime.now(UTC) + timedelta(days=CLOCK_OFFSET_DAYS), tick=True)
        _session_travel.start()


def pytest_unconfigure(config):
    global _session_travel
    if _session_travel is not None:
        _session_travel.stop()
        _session_travel = None
_SHARED_SKIPPED = pytest.StashKey[int]()


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: count only what would run
def pytest_collection_modifyitems(config, items):
    """Tests marked ``shared_fixtures`` need ../shared/fixtures: skipped without it, or the run fails
    (``REQUIRE_SHARED_FIXTURES=1``, as in CI)."""
    marked = [item for item in items if item.get_closest_marker(shared_fixtures.MARKER)]
    if not marked or shared_fixtures.available():
        return
    if shared_fixtures.required():
        raise pytest.UsageError(
            f"REQUIRE_SHARED_FIXTURES is set but {shared_fixtures.skip_reason().split(' (')[0]}: "
            f"{len(marked)} real-world fixture tests would be skipped"
        )
    skip = pytest.mark.skip(reason=shared_fixtures.skip_reason())
    for item in marked:
        item.add_marker(skip)
    config.stash[_SHARED_SKIPPED] = len(marked)


def pytest_terminal_summary(terminalreporter, config):
    skipped = config.stash.get(_SHARED_SKIPPED, 0)
    if skipped:
        terminalreporter.write_line(f"NOTE: {skipped} tests skipped: {shared_fixtures.skip_reason()}")


def pytest_report_header(config):
    if CLOCK_OFFSET_DAYS:
        return f"clock: {CLOCK_OFFSET_DAYS:+d} days (REVENDA_TEST_CLOCK_OFFSET_DAYS), today is {datetime.now(UTC):%Y-%m-%d}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _new_database(tmp_path_factory, label: str) -> tuple[str, callable]:
    """A URL for a brand-new empty database (SQLite, or on the TEST_DATABASE_URL server), and its drop."""
    return scratch_database(PG_URL, tmp_path_factory.mktemp(label), "test" if not PG_URL else label)


class Inbox:
    """Messages received by the test SMTP server."""

    def __init__(self):
        self.messages = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler API
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def clear(self):
        with self._lock:
            self.messages.clear()

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, count=1, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.05)
        raise AssertionError(f"expected {count} e-mails, got {len(self.messages)}")


@pytest.fixture(scope="session")
def smtp_server():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def make_config(url: str, smtp_port: int, tmp_dir) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "INSTANCE_PATH": str(tmp_dir),
        "CELERY_BROKER_URL": "memory://",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PUBLIC_URL": "http://localhost",
        "SERVER_NAME": None,
        "MASTER_KEYS": "t1:" + "A" * 43 + "=",
        "WTF_CSRF_ENABLED": True,
    }


@pytest.fixture(scope="session")
def app(tmp_path_factory, smtp_server):
    from app import create_app

    url, drop = _new_database(tmp_path_factory, "suite")
    application = create_app(make_config(url, smtp_server.port, tmp_path_factory.mktemp("instance")))
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()
    drop()


@pytest.fixture
def db(app):
    """Each test runs in a transaction rolled back at the end; commits become savepoints."""
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        _db.session = _db._make_scoped_session({"bind": connection, "join_transaction_mode": "create_savepoint"})
        try:
            yield _db
        finally:
            from fiscal.services import wait_for_statistics

            wait_for_statistics()  # an ANALYZE an ingest started beside it (PostgreSQL) outlives no test
            _db.session.remove()
            _db.session = original
            if transaction.is_active:
                transaction.rollback()
            connection.close()


class TransactionalClient(FlaskClient):
    """Each request behaves as it would in production, against the test's outer transaction.

    The test and its requests share one app context (the ``db`` fixture's), hence one session and
    one ``g``. So before each request: commit the set-up data (a savepoint release, still rolled
    back at the end) so that a rejected request's rollback cannot take it away, and forget the user
    Flask-Login cached in ``g`` so that logging in as someone else takes effect."""

    def open(self, *args, **kwargs):
        _db.session.commit()
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, db):
    from app import limiter

    limiter.reset()
    app.test_client_class = TransactionalClient
    app.config["WTF_CSRF_ENABLED"] = False
    yield app.test_client()
    app.config["WTF_CSRF_ENABLED"] = True


@pytest.fixture
def csrf_client(app, db):
    """A client with CSRF checks on, for the tests that prove them."""
    app.test_client_class = TransactionalClient
    return app.test_client()


def login_id(user) -> str:
    """What Flask-Login keeps in the session for ``user``: the id of a new server-side login."""
    from accounts.sessions import start_session

    return start_session(user)


@pytest.fixture
def login_as(client):
    def login(user):
        with client.session_transaction() as session:
            session["_user_id"] = login_id(user)
            session["_fresh"] = True
        return client

    return login


@pytest.fixture
def inbox(smtp_server):
    smtp_server.clear()
    return smtp_server


@pytest.fixture
def deliver_mail(db):
    """Run the outbox delivery the Celery task runs, synchronously."""
    from core.mail import deliver_pending

    def run():
        count = deliver_pending()
        _db.session.flush()
        return count

    return run


from tests.factories import *  # noqa: E402,F401,F403 - fixtures and factories for every test module

# -- localstripe: one fake Stripe server for the run, started by the first test that needs it -----------


@pytest.fixture(scope="session")
def localstripe_url():
    from tests.billing.localstripe_server import localstripe

    with localstripe() as url:
        yield url


@pytest.fixture
def stripe_app(app, monkeypatch, localstripe_url):
    """The app configured for Stripe, talking HTTP to localstripe."""
    from tests.billing.billing_helpers import API_KEY, WEBHOOK_SECRET

    for key, value in {"STRIPE_SECRET_KEY": API_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                       "STRIPE_API_BASE": localstripe_url, "STRIPE_PUBLISHABLE_KEY": "pk_test_revenda"}.items():
        monkeypatch.setitem(app.config, key, value)
    yield app
    for gateway in app.extensions.get("billing_gateway", {}).values():
        gateway.close()
    app.extensions["billing_gateway"] = {}


@pytest.fixture
def raw_stripe(localstripe_url):
    """A plain Stripe client for what a browser would do (Stripe.js creating a card)."""
    import stripe

    from tests.billing.billing_helpers import API_KEY

    http = stripe.RequestsClient(timeout=10)
    yield stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url}, http_client=http)
    http.close()
