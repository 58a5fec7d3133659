"""Database base: typed declarative models with a stable constraint naming convention."""

import enum
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.engine import Engine
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

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


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


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Real transactions on SQLite: foreign keys, WAL, and SAVEPOINT-friendly BEGIN."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        pass
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    # An engine that opens its own transactions (kombu's SQLite broker: BEGIN IMMEDIATE) opts out.
    if conn.dialect.name == "sqlite" and not conn.get_execution_options().get("sqlite_manual_begin"):
        conn.exec_driver_sql("BEGIN")
