"""Celery entry point: ``celery -A worker worker -B`` (embedded) or ``worker`` + ``beat`` (production).

The Flask app is created once so every task runs inside its app context (core/tasks.py). It is
named ``flask_app`` on purpose: ``celery -A`` picks a module attribute called ``app`` first.
"""

from app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]

if celery.conf.broker_url.startswith("sqla+sqlite"):
    # The embedded broker's consumer opens its own "BEGIN IMMEDIATE" transactions; the app's
    # SQLite hook (core/db.py) must not begin one first on the broker's engine.
    celery.conf.broker_transport_options = {
        **(celery.conf.broker_transport_options or {}),
        "execution_options": {"sqlite_manual_begin": True},
    }
