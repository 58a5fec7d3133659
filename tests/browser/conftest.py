"""Real-Chromium tests (pytest-playwright, sync API) against a live server with its own database.

The live app gets a fresh database (SQLite file or a new PostgreSQL database), the schema from
``upgrade()`` and the demo data, and is served by werkzeug in a daemon thread. CSRF stays on: the
browser posts the real forms. The per-test ``db`` fixture of tests/conftest.py is not used here —
the server thread must see committed data.
"""

import threading
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import WSGIRequestHandler, make_server

from core.db import db as _db
from tests.conftest import _new_database, free_port, make_config

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).resolve().parent
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(config, items):
    """Mark every test in this folder ``browser``; skip them cleanly without Chromium.

    The hook sees the whole session's items, so it only touches the ones below this folder.
    """
    missing = not CHROMIUM.exists()
    for item in items:
        if not item.path.is_relative_to(HERE):
            continue
        item.add_marker(pytest.mark.browser)
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} not found (apt-get install chromium)"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """Relative ``page.goto("/login")`` works. Also replaces pytest-playwright's fallback fixture,
    an instance-method session fixture that pytest 9 deprecates (warnings are errors here)."""
    return live_server


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "pt-BR", "viewport": {"width": 1366, "height": 900}}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # one line per request would drown test failures
        pass


class _LiveServer:
    def __init__(self, app, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@pytest.fixture(scope="session")
def _live(app, tmp_path_factory, smtp_server):
    """(app, base URL, demo logins). Depends on the suite ``app`` so that one is created first:
    both share the Celery singleton, which is pointed back at the suite app below."""
    from app import create_app
    from core.tasks import init_celery
    from demo import load_demo

    url, drop = _new_database(tmp_path_factory, "browser")
    port = free_port()
    config = make_config(url, smtp_server.port, tmp_path_factory.mktemp("browser-instance"))
    config.update(PUBLIC_URL=f"http://127.0.0.1:{port}", WTF_CSRF_ENABLED=True)
    live_app = create_app(config)
    init_celery(app)  # tasks keep running in the suite app's context for the other tests
    with live_app.app_context():
        upgrade()
        logins = load_demo()
        _db.session.commit()
        _db.session.remove()
    server = _LiveServer(live_app, port)
    server.start()
    yield live_app, server.url, logins
    server.stop()
    with live_app.app_context():
        _db.engine.dispose()
    drop()


@pytest.fixture(scope="session")
def live_server(_live) -> str:
    """Base URL of the running app, e.g. ``http://127.0.0.1:54321``."""
    return _live[1]


@pytest.fixture(scope="session")
def live_app(_live):
    """The live server's Flask app, for tests that check its database."""
    return _live[0]


@pytest.fixture(scope="session")
def demo_logins(_live) -> dict:
    """What ``load_demo()`` returned: ``{"users": {role: {"email", "password"}}, "partner_api_tokens"}``."""
    return _live[2]


@pytest.fixture
def login(page, live_server, demo_logins):
    """Log in through the real form as one of the demo users; returns the page on the dashboard."""

    def do(role: str):
        from core.extensions import limiter

        limiter.reset()  # every test logs in from 127.0.0.1: the login rate limit is not what they test
        creds = demo_logins["users"][role]
        page.goto(f"{live_server}/login")
        page.fill("#email", creds["email"])
        page.fill("#password", creds["password"])
        page.get_by_role("button", name="Entrar", exact=True).click()
        page.wait_for_url(lambda url: url.startswith(f"{live_server}/painel") or "/contador/notas" in url)
        if role == "accountant":
            page.goto(f"{live_server}/painel")  # an accountant lands in the portal; the client list is here
        return page

    return do


@pytest.fixture(autouse=True)
def no_csp_violation(request):
    """Every browser test fails on a Content-Security-Policy violation (an inline script or handler
    left in a template, a script from a host the policy does not name). Pages of the ``context``
    fixture (hence ``page`` and ``login``) are watched; tests opening their own contexts can call
    ``watch_csp(context)``."""
    if "context" not in request.fixturenames and "page" not in request.fixturenames:
        yield
        return
    context = request.getfixturevalue("context")
    violations = watch_csp(context)
    yield
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


def watch_csp(context) -> list[str]:
    """Collect the CSP violations Chromium reports on the console of any page of ``context``."""
    violations: list[str] = []

    def on_console(message):
        if "Content Security Policy" in message.text:
            violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", on_console)
    return violations
