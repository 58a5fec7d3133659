"""The monthly billing run at scale: 100,000 clients across 1,000 partners.

Run from the project root:

    .venv/bin/python bench/bench_billing.py                       # a temporary SQLite file
    .venv/bin/python bench/bench_billing.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

With a PostgreSQL URL a fresh database is created on that server for the bench and dropped at the
end (``--keep`` keeps it). The schema comes from the migrations (``upgrade()``).

Data: half the clients paid by their partner (50% off), 45% paying for themselves, 5% in trial or
cancelled; 2% changed plan in the middle of the month (a ContractEvent), so the run also reads
history. Printed: wall time of the run, queries per invoice (a ``before_cursor_execute``
counter), the Python heap's peak and its size along the run (tracemalloc, on a second month so
the timing above is not slowed by tracing), the process' max RSS, and a rerun (all skipped).
"""

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import event, func, select  # noqa: E402

from core.scratchdb import scratch_database  # noqa: E402

CHUNK = 10_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--partners", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL bench database")
    return parser.parse_args()


def bench_database(url: str | None):
    """(url, cleanup): a temp SQLite file, or a fresh database on the given PostgreSQL server."""
    if url and not sa.engine.make_url(url).get_backend_name().startswith("postgresql"):
        return url, lambda: None
    return scratch_database(url, Path(tempfile.mkdtemp(prefix="bench-billing-")), "bench")


def seed(partners: int, clients: int) -> int:
    """Bulk insert (COPY on PostgreSQL) the catalogue, partners, clients and mid-month plan changes."""
    from billing.run import bulk_insert
    from contracts.models import ContractEvent
    from core.db import db
    from partner.models import Client, Partner, Plan, Software

    long_ago = datetime(2024, 1, 1, 12, tzinfo=UTC)
    software = Software(name="FazNota", url="https://software.example")
    db.session.add(software)
    db.session.flush()
    plans = [Plan(software_id=software.id, name=n, price_cents=p)
             for n, p in (("Bronze", 4990), ("Prata", 7990), ("Ouro", 11990), ("Diamante", 19990))]
    db.session.add_all(plans)
    db.session.flush()
    plan_ids = [p.id for p in plans]
    bulk_insert(Partner.__table__, [
        {"legal_name": f"Revenda {i} Ltda", "trade_name": "", "cnpj": f"{i:014d}", "email": f"r{i}@bench.example",
         "phone": "", "is_active": True, "created_at": long_ago, "cep": "01310100", "street": "Av. Paulista",
         "number": "1000", "complement": "", "district": "Bela Vista", "city": "São Paulo", "state": "SP"}
        for i in range(1, partners + 1)
    ])
    partner_ids = db.session.scalars(select(Partner.id).order_by(Partner.id)).all()
    per_partner = clients // partners
    for start in range(0, clients, CHUNK):
        rows = []
        for n in range(start, min(clients, start + CHUNK)):
            kind = n % 20
            rows.append({
                "partner_id": partner_ids[n // per_partner % partners], "legal_name": f"Cliente {n} Ltda",
                "trade_name": "", "cnpj": f"{n:014d}", "email": f"c{n}@bench.example", "phone": "",
                "software_id": software.id, "plan_id": plan_ids[n % 4], "payer": "partner" if kind < 10 else "client",
                "status": "trial" if kind == 19 else "active", "created_at": long_ago, "updated_at": long_ago,
                "cep": "01001000", "street": "Praça da Sé", "number": "1", "complement": "", "district": "Sé",
                "city": "São Paulo", "state": "SP", "trial_auto_activate": False,
            })
        bulk_insert(Client.__table__, rows)
    moved = db.session.execute(
        select(Client.id, Client.partner_id, Client.plan_id).where(Client.id % 50 == 7, Client.plan_id != plan_ids[0])
    ).all()
    mid_june = datetime(2025, 6, 16, 12, tzinfo=UTC)
    bulk_insert(ContractEvent.__table__, [
        {"client_id": cid, "partner_id": pid, "kind": "plan", "from_value": str(plan_ids[0]), "to_value": str(plan),
         "at": mid_june, "effective_at": mid_june, "actor_label": "bench"}
        for cid, pid, plan in moved
    ])
    db.session.commit()
    return len(moved)


class QueryCounter:
    def __init__(self, engine):
        self.count = 0
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args, **kwargs):
        self.count += 1

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._count)


def mb(value: int) -> str:
    return f"{value / 1024 / 1024:.1f} MB"


def main() -> None:
    args = parse_args()
    url, cleanup = bench_database(args.database_url)
    os.environ.setdefault("REVENDA_INSTANCE", tempfile.mkdtemp(prefix="bench-instance-"))
    from flask_migrate import upgrade

    from app import create_app
    from billing.models import Invoice, InvoiceLine
    from billing.run import run_monthly_billing
    from core.db import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "CELERY_BROKER_URL": "memory://", "MAIL_BACKEND": "outbox",
                      "RATELIMIT_ENABLED": False})
    try:
        with app.app_context():
            print(f"database: {db.engine.dialect.name} ({db.engine.url.render_as_string(hide_password=True)})")
            upgrade()
            started = time.perf_counter()
            events = seed(args.partners, args.clients)
            print(f"seeded {args.clients:,} clients across {args.partners:,} partners "
                  f"({events:,} mid-month plan changes) in {time.perf_counter() - started:.1f} s")
            db.session.remove()

        with app.app_context():
            counter = QueryCounter(db.engine)
            started = time.perf_counter()
            result = run_monthly_billing("2025-06", today=date(2025, 7, 1), batch_size=args.batch_size)
            wall = time.perf_counter() - started
            counter.close()
            lines = db.session.scalar(select(func.count(InvoiceLine.id)))
            total = db.session.scalar(select(func.sum(Invoice.total_cents)).where(Invoice.month == "2025-06"))
            print(f"\nbilling run 2025-06: {result.invoices_created:,} invoices, {lines:,} lines, "
                  f"{result.batches} batches, total R$ {total / 100:,.2f}")
            print(f"  wall time           {wall:8.2f} s   ({result.clients / wall:,.0f} clients/s)")
            print(f"  queries             {counter.count:8,d}     ({counter.count / result.invoices_created:.3f} "
                  f"per invoice, {counter.count / result.batches:.1f} per batch)")
            print(f"  numbers             {result.first_number} … {result.last_number}")
            db.session.remove()

        with app.app_context():
            started = time.perf_counter()
            rerun = run_monthly_billing("2025-06", today=date(2025, 7, 1), batch_size=args.batch_size)
            print(f"  rerun (idempotent)  {time.perf_counter() - started:8.2f} s   "
                  f"{rerun.invoices_created} created, {rerun.invoices_skipped:,} skipped")
            db.session.remove()

        with app.app_context():
            samples = []

            def sample(progress):
                if progress.batches % max(1, result.batches // 5) == 0:
                    samples.append((progress.batches, tracemalloc.get_traced_memory()[0]))

            tracemalloc.start()
            started = time.perf_counter()
            traced = run_monthly_billing("2025-07", today=date(2025, 8, 1), batch_size=args.batch_size,
                                         progress=sample)
            traced_wall = time.perf_counter() - started
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"\nmemory (run 2025-07 under tracemalloc, {traced.invoices_created:,} invoices, "
                  f"{traced_wall:.1f} s with tracing):")
            print(f"  python heap peak    {mb(peak):>10}")
            print("  heap along the run  " + ", ".join(f"batch {b}: {mb(m)}" for b, m in samples))
            print(f"  process max RSS     {mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024):>10}"
                  "   (whole process, seeding included)")
            db.session.remove()
            db.engine.dispose()
    finally:
        if not args.keep:
            cleanup()


if __name__ == "__main__":
    main()
