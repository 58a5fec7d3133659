"""The process entry points: ``wsgi:app`` (gunicorn), ``worker`` (celery -A), and the embedded
SQLite broker working alongside the app's own SQLite transaction hooks (core/db.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from kombu import Connection

import core.db  # noqa: F401 - installs the SQLite connect/begin hooks every engine in the process gets

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str, tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env["REVENDA_INSTANCE"] = str(tmp_path)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_worker_module_exposes_the_celery_app_with_the_embedded_broker(tmp_path):
    info = _run(
        "import json, worker as w; from celery import Celery; "
        "print(json.dumps({'is_celery': isinstance(w.celery, Celery), 'flask_app': type(w.flask_app).__name__, "
        "'broker': w.celery.conf.broker_url, 'options': w.celery.conf.broker_transport_options, "
        "'has_app_attr': hasattr(w, 'app')}))",
        tmp_path,
    )
    assert info["is_celery"]
    assert info["flask_app"] == "Flask"
    assert not info["has_app_attr"]  # `celery -A worker` would pick a Flask `app` first
    assert info["broker"] == f"sqla+sqlite:///{tmp_path / 'celery-broker.db'}"
    assert info["options"]["execution_options"] == {"sqlite_manual_begin": True}


def test_wsgi_module_exposes_the_flask_app(tmp_path):
    info = _run(
        "import json, wsgi; print(json.dumps({'name': wsgi.app.name, "
        "'healthz': wsgi.app.test_client().get('/healthz').get_data(as_text=True)}))",
        tmp_path,
    )
    assert info == {"name": "app", "healthz": "ok"}


def test_embedded_broker_delivers_a_message_despite_the_app_sqlite_hooks(tmp_path):
    """kombu's SQLite consumer opens ``BEGIN IMMEDIATE`` itself; with the app's begin hook active
    on every engine it failed ("cannot start a transaction within a transaction")."""
    options = {"execution_options": {"sqlite_manual_begin": True}}
    with Connection(f"sqla+sqlite:///{tmp_path / 'broker.db'}", transport_options=options) as conn:
        queue = conn.SimpleQueue("revenda-test")
        queue.put({"task": "core.deliver_outbox"})
        message = queue.get(timeout=5)
        assert message.payload == {"task": "core.deliver_outbox"}
        message.ack()
        assert queue.qsize() == 0
        queue.close()
