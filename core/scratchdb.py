"""Throwaway databases for the test suite and the benches: a SQLite file, or a fresh database
created on a PostgreSQL server (and dropped afterwards)."""

import os
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa


def scratch_database(server_url: str | None, folder: Path, label: str) -> tuple[str, Callable[[], None]]:
    """A URL for a brand-new empty database, and a function that drops it.

    With no ``server_url``: ``folder/<label>.db``. With a PostgreSQL URL: a new database named after
    ``label`` on that server (the URL's own database only serves to connect)."""
    if not server_url:
        return f"sqlite:///{Path(folder) / f'{label}.db'}", lambda: None
    name = f"revenda_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()

    return sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False), drop
