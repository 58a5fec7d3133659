"""Migration 0017_day_totals fills the day totals from the documents already stored, each on its Brasília day
(a note at 02:59 UTC on the 1st is on the last day of the previous month, as its month says), and its
downgrade drops the table."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from core.db import db as _db
from tests.test_migration_0006 import _insert_client
from tests.test_migrations import fresh_app  # noqa: F401 - the fixture: an app on a brand-new database


def _document(number: int, issued_at: datetime, status: str = "authorized", environment: int = 1,
              cents: int = 100) -> dict:
    local = issued_at.astimezone(UTC) - timedelta(hours=3)
    return {"client_id": 1, "key": f"{number:044d}", "model": 55, "series": 1, "number": number,
            "issued_at": issued_at, "issued_month": local.year * 100 + local.month, "direction": "issued",
            "role": "emitente", "status": status, "environment": environment, "tp_emis": 1,
            "emitter_doc": "34028316000103", "emitter_name": "", "recipient_doc": "", "recipient_name": "",
            "total_cents": cents, "has_body": True, "protocol_cstat": 100, "protocol_number": "1",
            "signature_status": "valid", "blob_sha256": "0" * 64, "size_bytes": 1, "received_at": issued_at,
            "updated_at": issued_at}


def test_the_day_totals_are_backfilled_on_brasilia_days(fresh_app):  # noqa: F811
    first = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    late, early, noon = first + timedelta(hours=2, minutes=59), first + timedelta(hours=3), first + timedelta(hours=15)
    with fresh_app.app_context():
        upgrade(revision="0015_orders")
        with _db.engine.begin() as connection:
            _insert_client(connection)
            # the table as it is at 0015 (later revisions add columns the model knows)
            documents = sa.Table("fiscal_documents", sa.MetaData(), autoload_with=connection)
            connection.execute(documents.insert(), [
                _document(1, late, cents=100), _document(2, early, cents=200), _document(3, noon, cents=300),
                _document(4, noon, status="cancelled", cents=400), _document(5, noon, environment=2, cents=500)])
        upgrade(revision="0017_day_totals")
        with _db.engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT issued_day, environment, status, count, total_cents FROM fiscal_day_totals "
                "ORDER BY issued_day, environment, status")).all()
        previous = first - timedelta(days=1)
        day, before = [int(f"{d:%Y%m%d}") for d in (first, previous)]
        assert [tuple(r) for r in rows] == [(before, 1, "authorized", 1, 100), (day, 1, "authorized", 2, 500),
                                            (day, 1, "cancelled", 1, 400), (day, 2, "authorized", 1, 500)]
        downgrade(revision="0015_orders")
        assert "fiscal_day_totals" not in sa.inspect(_db.engine).get_table_names()
        upgrade()
