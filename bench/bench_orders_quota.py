"""Storage quota measurement: the dashboard's "Espaço XML" column and the daily quota pass for one
partner with 1,000 clients and 2,000,000 stored notes (``--clients``, ``--notes`` change the sizes).

Run from the project root::

    .venv/bin/python bench/bench_orders_quota.py                      # temporary SQLite file
    .venv/bin/python bench/bench_orders_quota.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Every client has an active XML-storage order; the notes (``fiscal_documents`` rows: usage is the sum of
their ``size_bytes``) are spread over the clients and the last 180 days. It prints, at 10% of the
sizes and at the full sizes, the SQL queries and the median time of the dashboard's pages (the usage
column is computed in the page's own query), and the time of the quota pass (``orders.quota
.check_quotas``: a few grouped queries per 500 orders). The page query counts must be equal at both
sizes; the script fails otherwise.
"""

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from bench_dashboard import QueryCounter, add_clients, build_app, fetch, temporary_database  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from core.db import db, utcnow  # noqa: E402

GB = 1024**3


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1_000)
    parser.add_argument("--notes", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default="")
    return parser.parse_args()


def add_orders(partner_id: int, service_id: int, client_ids: list[int]) -> None:
    from orders.models import Order

    today = utcnow().date()
    rows = [{"partner_id": partner_id, "client_id": cid, "service_id": service_id, "status": "active",
             "term_months": 12, "starter_kit_gb": 5, "quota_gb": 5, "amount_cents": 72000, "paid_cents": 72000,
             "payment": "invoice", "renewal": "manual", "snapshot": {}, "term_start": today - timedelta(days=100),
             "renews_at": today + timedelta(days=265), "created_at": utcnow(), "updated_at": utcnow()}
            for cid in client_ids]
    for chunk in range(0, len(rows), 2000):
        db.session.execute(sa.insert(Order), rows[chunk:chunk + 2000])
    db.session.commit()


def add_notes(client_ids: list[int], start: int, stop: int) -> None:
    """Notes ``start..stop-1``, round-robin over the clients, ~60 KB each, over the last 180 days."""
    from billing.run import bulk_insert
    from fiscal.models import FiscalDocument

    now = utcnow()
    batch = []
    for n in range(start, stop):
        cid = client_ids[n % len(client_ids)]
        at = now - timedelta(minutes=(n * 7919) % (180 * 24 * 60))
        batch.append({
            "client_id": cid, "key": f"{cid:010d}{n:034d}", "model": 55, "series": 1, "number": n + 1,
            "issued_at": at, "issued_month": at.year * 100 + at.month, "direction": "issued", "role": "emitente",
            "status": "authorized", "environment": 1, "tp_emis": 1, "emitter_doc": "11444777000161",
            "emitter_name": "", "recipient_doc": "", "recipient_name": "", "total_cents": 0, "has_body": True,
            "protocol_number": "", "signature_status": "unsigned", "blob_sha256": "0" * 64,
            "size_bytes": 40_000 + (n * 37) % 40_000, "received_at": at, "updated_at": at,
        })
        if len(batch) == 50_000:
            _insert(FiscalDocument.__table__, batch, bulk_insert)
            batch = []
    if batch:
        _insert(FiscalDocument.__table__, batch, bulk_insert)


def _insert(table, rows, bulk_insert) -> None:
    """COPY on PostgreSQL (billing's bulk_insert); on SQLite the driver's executemany with plain tuples
    (SQLAlchemy's per-row type processing costs more than SQLite's insert)."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        bulk_insert(table, rows)
    else:
        columns = list(rows[0])
        sql = (f'INSERT INTO {table.name} ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})')
        plain = [tuple(v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if getattr(v, "tzinfo", None) else v
                       for v in (row[c] for c in columns)) for row in rows]
        connection.connection.driver_connection.executemany(sql, plain)
    db.session.commit()


PAGES = [("dashboard, page 1", "/painel"), ("dashboard, page 3", "/painel?page=3"),
         ("dashboard, sort by -name", "/painel?sort=-name")]


def measure(app, http, counter, runs) -> dict:
    from orders import quota

    figures = {}
    for label, path in PAGES:
        fetch(http, path, {}, counter)
        status, queries, _ms = fetch(http, path, {}, counter)
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
        times = [fetch(http, path, {}, counter)[2] for _ in range(runs)]
        figures[label] = (queries, statistics.median(times))
    with app.app_context():
        counter.count = 0
        started = time.perf_counter()
        quota.check_quotas()
        elapsed = (time.perf_counter() - started) * 1000
        db.session.rollback()  # measured, not kept: the next pass warns again
        figures["quota pass (all orders)"] = (counter.count, elapsed)
    return figures


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="revenda-bench-orders-"))
    url, drop = temporary_database(args.database_url, workdir)
    app = build_app(url, workdir)
    try:
        return run(app, args)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        drop()


def run(app, args) -> int:
    from accounts.models import User
    from accounts.sessions import start_session
    from demo import load_demo
    from partner.models import Client, Plan
    from tests.orders.helpers import make_service

    small_clients, small_notes = max(args.clients // 10, 30), args.notes // 10
    with app.app_context():
        upgrade()
        logins = load_demo()
        db.session.commit()
        manager = db.session.scalar(sa.select(User).where(User.email == logins["users"]["manager"]["email"]))
        manager_id, partner_id = manager.id, manager.partner_id
        plans = [(p.id, p.software_id) for p in db.session.scalars(sa.select(Plan).order_by(Plan.id))]
        service_id = make_service(name="Arquivo XML (bench)").id
        db.session.commit()
        existing = db.session.scalar(sa.select(sa.func.count()).where(Client.partner_id == partner_id))
        add_clients(partner_id, plans, existing, small_clients)
        ids = list(db.session.scalars(sa.select(Client.id).where(Client.partner_id == partner_id).order_by(Client.id)))
        add_orders(partner_id, service_id, ids)
        started = time.perf_counter()
        add_notes(ids, 0, small_notes)
        print(f"loaded {len(ids)} clients, {small_notes:,} notes in {time.perf_counter() - started:.1f} s")
        counter = QueryCounter(db.engine)
        login = start_session(db.session.get(User, manager_id))
        db.session.commit()
    http = app.test_client()
    with http.session_transaction() as session:
        session["_user_id"], session["_fresh"] = login, True

    backend = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    print(f"Revenda orders quota benchmark — {backend}, median of {args.runs} requests (Flask test client)")
    small = measure(app, http, counter, args.runs)
    for label, (queries, ms) in small.items():
        print(f"  small: {label:<28} {queries:>4} queries {ms:>9.1f} ms", flush=True)

    with app.app_context():
        started = time.perf_counter()
        add_clients(partner_id, plans, small_clients, args.clients)
        all_ids = list(db.session.scalars(sa.select(Client.id).where(Client.partner_id == partner_id)
                                          .order_by(Client.id)))
        add_orders(partner_id, service_id, [i for i in all_ids if i not in set(ids)])
        add_notes(all_ids, small_notes, args.notes)
        total_notes = db.session.scalar(sa.text("SELECT count(*) FROM fiscal_documents"))
        print(f"loaded up to {len(all_ids):,} clients, {total_notes:,} notes in {time.perf_counter() - started:.1f} s\n")
    large = measure(app, http, counter, args.runs)

    header = (f"{'measure':<28} {'queries @small':>15} {'ms @small':>10} {'queries @full':>14} {'ms @full':>10}")
    print(header)
    print("-" * len(header))
    for label in small:
        (q1, ms1), (q2, ms2) = small[label], large[label]
        print(f"{label:<28} {q1:>15} {ms1:>10.1f} {q2:>14} {ms2:>10.1f}")
    growing = [label for label, _path in PAGES if large[label][0] != small[label][0]]
    if growing:
        print(f"\nFAIL: the usage column costs more queries with more clients/notes on: {', '.join(growing)}")
        return 1
    print(f"\nOK: the dashboard pages issue the same number of queries with {len(all_ids):,} clients and "
          f"{total_notes:,} notes as with {len(ids)} clients and {small_notes:,} notes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
