"""Rate-limit storage shared by every process of the embedded default, and a helper for explicit limits.

Flask-Limiter's in-memory storage counts per process: three gunicorn workers allowed three times the
login attempts. Production shares counters through Redis (``REDIS_URL``); the embedded default, which
has no server, shares them through a small SQLite file in the instance folder (``ratelimit.db``,
apart from the application's database so counting never waits for a business write). The storage
plugs into ``limits``' registry of storage schemes: ``revenda+sqlite:///absolute/path.db``."""

import os
import random
import sqlite3
import threading
import time

from flask import current_app
from limits import parse_many
from limits.storage import Storage

from core.extensions import limiter

SCHEME = "revenda+sqlite"


class SQLiteStorage(Storage):
    """Fixed-window counters in one SQLite table; every operation is a single autocommit statement."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.split("://", 1)[1]
        self._local = threading.local()
        self._connection().execute(
            "CREATE TABLE IF NOT EXISTS hits (key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL)"
        )

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        # One connection per thread and per process (gunicorn forks after the app is created).
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            connection = sqlite3.connect(self.path, timeout=15, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        connection = self._connection()
        if random.random() < 0.01:  # now and then, forget windows long over
            connection.execute("DELETE FROM hits WHERE expires_at <= ?", (now,))
        row = connection.execute(
            "INSERT INTO hits (key, count, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires_at <= ?4 THEN ?2 ELSE count + ?2 END, "
            "expires_at = CASE WHEN expires_at <= ?4 THEN ?3 ELSE expires_at END RETURNING count",
            (key, amount, now + expiry, now),
        ).fetchone()
        return int(row[0])

    def get(self, key: str) -> int:
        row = self._connection().execute(
            "SELECT count FROM hits WHERE key = ? AND expires_at > ?", (key, time.time())
        ).fetchone()
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = self._connection().execute(
            "SELECT expires_at FROM hits WHERE key = ? AND expires_at > ?", (key, now)
        ).fetchone()
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM hits").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM hits WHERE key = ?", (key,))


def hit(limits: str, scope: str, key: str) -> bool:
    """Count one attempt of ``scope`` by ``key`` against ``limits`` ("10 per minute;50 per hour");
    False when any of them is exceeded. For limits that need the view's own knowledge (the user
    behind a token, the account named in a form), in the same storage as Flask-Limiter's."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    return all([limiter.limiter.hit(item, scope, key) for item in parse_many(limits)])
