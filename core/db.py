"""Database base: typed declarative models with a stable constraint naming convention."""

import enum
import logging
import operator
import random
import sqlite3
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, always returns aware UTC datetimes (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def bind_processor(self, dialect):
        """On SQLite, one function where SQLAlchemy would chain ``process_bind_param`` and the dialect's
        DATETIME formatting: the same text (``AAAA-MM-DD HH:MM:SS.ffffff``, naive UTC; the test suite compares
        both), at a third of the cost per value (a bulk insert of notes binds five per row)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value):
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.isoformat(" ", "microseconds")[:26]  # the four-digit year onwards, without "+00:00"

        return process

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def param_marks(dialect, count: int) -> str:
    """``count`` positional parameter markers for statements sent through the driver (``?, ?`` or ``%s, %s``)."""
    return ", ".join(["?" if dialect.paramstyle == "qmark" else "%s"] * count)


_UNSEEN = object()


def bulk_insert(table, rows: list, columns: tuple[str, ...] | None = None) -> None:
    """Insert ``rows`` in the session's transaction, each value converted by its column's own type as an INSERT
    would: PostgreSQL takes them in one COPY (half the time of a pipelined executemany: the server parses no
    statement per row), SQLite in one executemany of the driver (SQLAlchemy's per-row parameter handling cost
    more than SQLite's insert of the row). ``rows`` are dicts of the same keys, or sequences of ``columns``."""
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    if columns is None:
        columns = tuple(rows[0])
        pick = operator.itemgetter(*columns)
        rows = [pick(row) for row in rows]
        if len(columns) == 1:
            rows = [(value,) for value in rows]
    converters = [(index, process, {}) for index, name in enumerate(columns)  # {}: value -> converted, this call
                  if (process := table.c[name].type._cached_bind_processor(dialect)) is not None]
    plain = []
    for row in rows:  # only the columns whose type converts (timestamps, enums, booleans) cost a call
        values = list(row)
        for index, process, memo in converters:  # a batch repeats most values (enums, flags, its moment)
            value = values[index]
            if value is not None:
                try:
                    converted = memo.get(value, _UNSEEN)
                except TypeError:  # an unhashable value (a JSON column's dict): converted each time
                    converted = process(value)
                else:
                    if converted is _UNSEEN:
                        converted = memo[value] = process(value)
                values[index] = converted
        plain.append(values)
    dbapi = connection.connection.dbapi_connection
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    table_name = dialect.identifier_preparer.format_table(table)
    if dialect.name == "postgresql":
        with dbapi.cursor() as cursor, cursor.copy(f"COPY {table_name} ({names}) FROM STDIN") as copy:
            for values in plain:
                copy.write_row(values)
        return
    cursor = dbapi.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table_name} ({names}) VALUES ({param_marks(dialect, len(columns))})", plain)
    finally:
        cursor.close()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _BindAwareSession(FlaskSession):
    """Flask-SQLAlchemy's session picks the app's engine even when created with ``bind=``.

    Honouring an explicit bind lets the tests join each test's outer transaction (commits become
    savepoints); in the app no session is created with a bind, so nothing changes there."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


class _SQLAlchemy(SQLAlchemy):
    def _make_session_factory(self, options):
        options.setdefault("class_", _BindAwareSession)
        return super()._make_session_factory(options)


db = _SQLAlchemy(model_class=Base)


def str_enum(enum_cls: type[enum.StrEnum], name: str):
    """A portable enum column storing the values (VARCHAR + CHECK, no native PG type)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)


BUSY_TIMEOUT_MS = 15000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Real transactions on SQLite: foreign keys, WAL, and SAVEPOINT-friendly BEGIN. In WAL, synchronous=NORMAL
    (SQLite's advice for WAL): a commit appends to the log without waiting for the disk, which is synced at
    each checkpoint; the database cannot be corrupted, and only a power cut or a crash of the machine (not
    of the app) can take back the last commits. FULL cost an fsync per commit: ~4 ms for each 500-note batch
    of an ingest."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    try:
        mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()
    except sqlite3.OperationalError:
        mode = None
    if mode and str(mode[0]).lower() == "wal":
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# -- SQLite: writers take the write lock up front ----------------------------------------------------
#
# A deferred BEGIN that has read cannot become a writer once another connection committed since
# (WAL: SQLITE_BUSY_SNAPSHOT), and SQLite answers that at once, busy_timeout or not: two managers saving
# at the same moment got a 500 "database is locked". A unit of work that may write therefore begins with
# BEGIN IMMEDIATE: it waits for the one write lock, then reads and writes with nothing to upgrade.
# Requests that change something (any method but GET/HEAD/OPTIONS), Celery tasks (core/tasks.py), CLI
# commands and ``write_lock()`` blocks do; GETs stay deferred, and WAL readers never wait. PostgreSQL is
# untouched.

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_write_lock: ContextVar[bool | None] = ContextVar("revenda_sqlite_write_lock", default=None)
log = logging.getLogger(__name__)


@contextmanager
def write_lock(enabled: bool = True):
    """Transactions begun inside this block take SQLite's write lock up front (or explicitly not)."""
    token = _write_lock.set(enabled)
    try:
        yield
    finally:
        _write_lock.reset(token)


def writes_on_get(view):
    """Mark a view that must record something even on GET (an audited download): its transaction
    takes the write lock up front like a POST's. Put it closest to the function, under the route."""
    view.takes_write_lock = True
    return view


def _wants_write_lock() -> bool:
    chosen = _write_lock.get()
    if chosen is not None:
        return chosen
    from flask import current_app, has_request_context, request

    if not has_request_context():
        import click

        return click.get_current_context(silent=True) is not None  # a command (flask demo, billing run): writes
    if request.method not in SAFE_METHODS:
        return True
    return getattr(current_app.view_functions.get(request.endpoint), "takes_write_lock", False)


#: How long a writer waits for SQLite's write lock before its request fails.
WRITE_LOCK_WAIT = 30.0


def _begin_immediate(dbapi_connection) -> None:
    """BEGIN IMMEDIATE, waiting for the write lock in short jittered steps.

    SQLite's own busy handler backs off to 100 ms sleeps, so a writer that has waited a while loses
    the lock to every newcomer (who polls after 1, 2, 5 ms) and, under a steady stream of writes, can
    wait past any timeout (measured: 12 s among 24 writers). Here every waiter retries every 1-3 ms
    whatever its age: each release goes to a random waiter, never systematically to the newest."""
    deadline = time.monotonic() + WRITE_LOCK_WAIT
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
            time.sleep(random.uniform(0.001, 0.003))
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    # An engine that opens its own transactions (kombu's SQLite broker: BEGIN IMMEDIATE) opts out.
    if conn.dialect.name != "sqlite" or conn.get_execution_options().get("sqlite_manual_begin"):
        return
    if _wants_write_lock():
        _begin_immediate(conn.connection.dbapi_connection)
    else:
        conn.exec_driver_sql("BEGIN")


def write_apart(*statements) -> bool:
    """Run a few small writes in a short transaction of their own, after ending the current one.

    For what a GET notes on the side (an API token's last use): the read transaction ends first (a GET
    has nothing pending), the write waits its turn for the lock, and a failure is logged, never raised —
    the GET's answer does not depend on it."""
    session = db.session
    try:
        session.commit()
        with write_lock():
            for statement in statements:
                session.execute(statement)
            session.commit()
    except OperationalError:
        session.rollback()
        log.warning("side write skipped: the database stayed busy", exc_info=True)
        return False
    return True
