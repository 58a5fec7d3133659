"""Every SQLite connection the app opens: foreign keys on, the busy timeout, WAL, and in WAL synchronous=NORMAL
(no fsync per commit; the log is synced at checkpoints). A database that cannot be in WAL (in memory)
keeps SQLite's FULL."""

from sqlalchemy import create_engine

import core.db  # noqa: F401  (registers the connect listener)
from core.db import BUSY_TIMEOUT_MS


def _pragmas(url: str) -> dict:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                    for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
    finally:
        engine.dispose()


def test_file_database_in_wal_with_normal_sync(tmp_path):
    assert _pragmas(f"sqlite:///{tmp_path / 'app.db'}") == {
        "journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": BUSY_TIMEOUT_MS}


def test_memory_database_keeps_full_sync():
    found = _pragmas("sqlite://")
    assert found["journal_mode"] == "memory" and found["synchronous"] == 2 and found["foreign_keys"] == 1
