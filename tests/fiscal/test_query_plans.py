"""The fiscal queries the indexes were shaped for are planned on them, on SQLite and on PostgreSQL: each index is
written for every note ingested, so there are few of them, and a query that stops matching one (a partial index
named by a bound parameter instead of its literal, a column order changed) would read the whole table unseen.

Each function runs as the app runs it; its SQL is taken as sent and explained with the same parameters (on
PostgreSQL with sequential scans discouraged: a test's tiny table is cheaper to read whole, a real one is not)."""

from datetime import timedelta

from core.db import utcnow
from fiscal import monitor, services
from fiscal.synth import nfe_xml
from tests.fiscal.conftest import BUYER, SELLER
from tests.sql import statements_sent


def plan_of(db, statement: str, parameters) -> str:
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        return "\n".join(row[0] for row in rows)
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


def only_plan(db, call) -> str:
    with statements_sent(db.session.get_bind()) as sent:
        call()
    selects = [(statement, parameters) for statement, parameters in zip(sent, sent.parameters, strict=True)
               if statement.lstrip().upper().startswith("SELECT") and "FROM fiscal_documents" in statement]
    assert len(selects) == 1, selects
    return plan_of(db, *selects[0])


def a_realistic_table(db, client, authorized: int = 1500, contingency: int = 3) -> None:
    """Notes of one client as a real table holds them, most authorized, a few awaiting authorization, and the
    planners' statistics of them (an empty table is planned differently: every index costs the same there)."""
    issued = utcnow() - timedelta(hours=2)
    files = [(f"{n}.xml", nfe_xml(emitter_cnpj=SELLER, emitter_name="Padaria", recipient_doc=BUYER, number=n,
                                  issued_at=issued - timedelta(hours=n), total_cents=1000 + n, model=65,
                                  tp_emis=9 if n <= contingency else 1,
                                  protocol_cstat=None if n <= contingency else 100))
             for n in range(1, authorized + contingency + 1)]
    results = services.ingest_files(client, files)
    assert [r.status for r in results].count("contingency") == contingency
    db.session.flush()
    db.session.connection().exec_driver_sql("ANALYZE")


def test_the_contingency_lists_use_the_partial_index(db, fiscal_client):
    client_id = fiscal_client.id
    a_realistic_table(db, fiscal_client)
    assert [d.number for d in services.pending_contingency([client_id])] == [3, 2, 1]  # oldest first
    assert [p.document.number for p in monitor.pending_notes([client_id])] == [3, 2, 1]
    for call in (lambda: services.pending_contingency([client_id]),
                 lambda: services.pending_contingency(),
                 lambda: monitor.pending_notes([client_id])):
        assert "ix_fiscal_documents_contingency" in only_plan(db, call)


def test_the_portal_totals_of_a_period_read_the_period_index(db, fiscal_client):
    now, client_id = utcnow(), fiscal_client.id
    a_realistic_table(db, fiscal_client)
    plan = only_plan(db, lambda: services.daily_totals([client_id], now - timedelta(days=3), now))  # of 62 days
    assert "ix_fiscal_documents_period" in plan
