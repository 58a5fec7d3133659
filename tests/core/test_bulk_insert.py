"""core.db.bulk_insert and UTCDateTime's own SQLite bind processor: the rows read back as the ORM would have
written them (on SQLite the same text, byte for byte, as SQLAlchemy's chain of process_bind_param and
the dialect's DATETIME formatting; on PostgreSQL through COPY)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import DateTime

from core.db import UTCDateTime, bulk_insert
from fiscal.models import Direction, FiscalDocument
from fiscal.status import DocumentStatus
from tests.factories import ClientFactory

MOMENTS = [
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),  # no microseconds: isoformat would drop them, the column keeps six
    datetime(999, 12, 31, 23, 59, 59, 5, tzinfo=UTC),  # a three-digit year is zero-padded
    datetime(2026, 11, 30, 21, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-3))),  # Brasília → next day UTC
    datetime(2026, 6, 1, 2, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_sqlite_utc_text_is_sqlalchemys(moment):
    dialect = sqlite.dialect()
    ours = UTCDateTime()._cached_bind_processor(dialect)  # the path SQLAlchemy takes
    chained = DateTime()._cached_bind_processor(dialect)
    assert ours(moment) == chained(moment.astimezone(UTC).replace(tzinfo=None))
    assert ours(None) is None


def test_sqlite_utc_refuses_naive():
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime()._cached_bind_processor(sqlite.dialect())(datetime(2026, 1, 1))


def _row(client_id: int, number: int, issued_at: datetime) -> dict:
    key = f"{number:044d}"
    return {
        "client_id": client_id, "key": key, "model": 55, "series": 1, "number": number, "issued_at": issued_at,
        "issued_month": 202611, "direction": Direction.RECEIVED, "role": "destinatario",
        "status": DocumentStatus.CANCELLED, "environment": 2, "tp_emis": 1, "emitter_doc": "11222333000181",
        "emitter_name": "Emitente “aspas” e acentuação", "recipient_doc": "", "recipient_name": "",
        "total_cents": 10**12 + number, "has_body": False, "protocol_cstat": None, "protocol_number": "",
        "authorized_at": None, "signature_status": "valid", "blob_sha256": "a" * 64, "blob_pack": "p",
        "blob_offset": 2**40, "blob_length": 7, "size_bytes": 9, "received_at": issued_at,
        "updated_at": issued_at, "acknowledged_at": None, "acknowledged_by_id": None,
    }


def test_bulk_insert_reads_back_as_the_orm(db):
    client = ClientFactory()
    db.session.flush()
    rows = [_row(client.id, n, moment) for n, moment in enumerate(MOMENTS, start=1)]
    bulk_insert(FiscalDocument.__table__, rows)
    bulk_insert(FiscalDocument.__table__, [])  # nothing to do
    found = db.session.execute(select(FiscalDocument).where(FiscalDocument.client_id == client.id)
                               .order_by(FiscalDocument.number)).scalars().all()
    assert [d.number for d in found] == [1, 2, 3, 4]
    for document, row, moment in zip(found, rows, MOMENTS, strict=True):
        assert document.issued_at == moment and document.issued_at.tzinfo is UTC
        assert document.direction is Direction.RECEIVED and document.status is DocumentStatus.CANCELLED
        assert document.has_body is False and document.protocol_cstat is None and document.authorized_at is None
        assert (document.total_cents, document.blob_offset, document.emitter_name) == (
            row["total_cents"], 2**40, "Emitente “aspas” e acentuação")
    # the stored values are those an ORM insert stores (enum values as text, the timestamp a comparable text)
    stored = db.session.execute(text("SELECT direction, status FROM fiscal_documents WHERE client_id = :c"),
                                {"c": client.id}).all()
    assert set(stored) == {("received", "cancelled")}
    later = db.session.execute(select(FiscalDocument.number).where(
        FiscalDocument.client_id == client.id, FiscalDocument.issued_at > datetime(2026, 12, 1, tzinfo=UTC))).all()
    assert [n for (n,) in later] == [3]  # 21:30 in Brasília on 30 Nov is 00:30 UTC on 1 Dec


def test_bulk_insert_converts_each_rows_own_values(db):
    """Converted values are remembered within a call: rows that repeat a value, or give the same instant in
    another zone, store what they would alone; alternating enums keep their own row's value."""
    client = ClientFactory()
    db.session.flush()
    same_instant = MOMENTS[2].astimezone(UTC)  # equal to MOMENTS[2], another zone
    moments = [MOMENTS[0], MOMENTS[2], same_instant, MOMENTS[0], MOMENTS[1]]
    rows = []
    for n, moment in enumerate(moments, start=1):
        row = _row(client.id, n, moment)
        row["direction"] = Direction.ISSUED if n % 2 else Direction.RECEIVED
        row["status"] = DocumentStatus.AUTHORIZED if n % 3 else DocumentStatus.DENIED
        row["has_body"] = n % 2 == 0
        row["received_at"] = MOMENTS[3]
        rows.append(row)
    bulk_insert(FiscalDocument.__table__, rows)
    stored = db.session.execute(text(
        "SELECT number, direction, status, has_body, issued_at, received_at FROM fiscal_documents "
        "WHERE client_id = :c ORDER BY number"), {"c": client.id}).all()
    assert [(n, d, s, bool(b)) for n, d, s, b, *_ in stored] == [
        (1, "issued", "authorized", False), (2, "received", "authorized", True), (3, "issued", "denied", False),
        (4, "received", "authorized", True), (5, "issued", "authorized", False)]
    found = db.session.execute(select(FiscalDocument).where(FiscalDocument.client_id == client.id)
                               .order_by(FiscalDocument.number)).scalars().all()
    assert [d.issued_at for d in found] == moments
    assert {d.received_at for d in found} == {MOMENTS[3]}
    assert stored[1][4] == stored[2][4] != stored[0][4] == stored[3][4]


def test_bulk_insert_unhashable_values(db):
    """A JSON column's dicts cannot be remembered: each row's own is converted."""
    from sqlalchemy import JSON, Column, Integer, MetaData, Table

    table = Table("bulk_insert_json_probe", MetaData(), Column("id", Integer, primary_key=True),
                  Column("data", JSON))
    table.create(db.session.connection())
    bulk_insert(table, [{"id": 1, "data": {"a": [1]}}, {"id": 2, "data": {"a": [2]}}, {"id": 3, "data": None}])
    assert db.session.execute(select(table.c.id, table.c.data).order_by(table.c.id)).all() == [
        (1, {"a": [1]}), (2, {"a": [2]}), (3, None)]
