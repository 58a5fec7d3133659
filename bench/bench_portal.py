"""The accountants' portal at scale: the Notas page and its totals for one company with M notes in the month
among R rows in the table. Prints median ms and SQL statements per call at R/10 and at R.

Run from the project root::

    .venv/bin/python bench/bench_portal.py                       # temporary SQLite file, 20,000 among 200,000
    .venv/bin/python bench/bench_portal.py --rows 2000000 --month-rows 200000      # the issue's sizes
    .venv/bin/python bench/bench_portal.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Measured, each as the median of --runs calls (aim < 50 ms each, statements constant as the table grows):
  totals      portal.services.summary: the totals block, the model icons and the chart (one query on the day
              totals, fiscal_day_totals)
  advanced    the same with a "Filtros Avançados" field (valor_de, about half the month's notes): the GROUP BY
              over the filtered notes the day totals cannot answer (no aim: it grows with the notes)
  first page  portal.services.notes_page: the newest 50 of the month (keyset)
  deep page   the same, 50 pages further (a cursor: the cost does not grow with the depth)
  HTTP page   GET /contador/notas for the company, logged in as its accountant (everything the page does)
Rows are bulk-inserted by bench_fiscal.bulk_rows (generated metadata, never real files).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_fiscal import analyze, build_app, bulk_rows, month_before  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event  # noqa: E402

from core.db import db, utcnow  # noqa: E402
from core.scratchdb import scratch_database  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="rows in the table (issue: 2000000)")
    parser.add_argument("--month-rows", type=int, default=20_000, help="notes of the company's month (issue: 200000)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", default="")
    return parser.parse_args()


def setup(app):
    """50 companies of one partner; an accountant who accepted the first one."""
    from core.permissions import Role
    from partner.models import AccountantLink, LinkStatus
    from tests.factories import ClientFactory, PartnerFactory, PlanFactory, UserFactory

    with app.app_context():
        partner, plan = PartnerFactory(), PlanFactory()
        clients = [ClientFactory(partner=partner, plan=plan) for _ in range(50)]
        accountant = UserFactory(role=Role.ACCOUNTANT, email="contador@bench.example")
        db.session.flush()
        db.session.add(AccountantLink(client_id=clients[0].id, email=accountant.email, user_id=accountant.id,
                                      status=LinkStatus.ACCEPTED, accepted_at=utcnow()))
        db.session.commit()
        return [c.id for c in clients], accountant.id


def _median_ms(fn, runs: int, counter: dict) -> tuple[float, int]:
    fn()  # warm: compiled statements and the page cache, as a live process has them
    counter["n"] = 0
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), counter["n"] // runs


def measure(app, client_id: int, accountant_id: int, runs: int) -> dict:
    from werkzeug.datastructures import MultiDict

    from accounts.models import User
    from accounts.sessions import start_session
    from portal import services

    counter = {"n": 0}

    def count(*_args, **_kw):
        counter["n"] += 1

    results = {}
    with app.app_context():
        filters = services.parse_filters(MultiDict({"periodo": "este-mes"}))
        advanced = services.parse_filters(MultiDict({"periodo": "este-mes", "valor_de": "50,00"}))
        ids = [client_id]
        _items, cursor = services.notes_page(ids, filters)
        for _ in range(49):
            _items, cursor = services.notes_page(ids, filters, cursor)
        login = start_session(db.session.get(User, accountant_id))
        db.session.commit()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            results["totals"] = _median_ms(lambda: services.summary(ids, filters), runs, counter)
            results["advanced"] = _median_ms(lambda: services.summary(ids, advanced), runs, counter)
            results["first page"] = _median_ms(lambda: services.notes_page(ids, filters), runs, counter)
            results["deep page"] = _median_ms(lambda: services.notes_page(ids, filters, cursor), runs, counter)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
            db.session.rollback()
    http = app.test_client()
    with http.session_transaction() as session:
        session["_user_id"], session["_fresh"] = login, True
    url = f"/contador/notas?empresa=c{client_id}"

    def page():
        response = http.get(url)
        assert response.status_code == 200, response.status_code

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            results["HTTP page"] = _median_ms(page, runs, counter)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    return results


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        url, drop = scratch_database(args.database_url, workdir, "portalbench")
        try:
            app = build_app(url, workdir)
            with app.app_context():
                upgrade(directory=str(HERE.parent / "migrations"))
            print(f"database: {url.split(':')[0]}; cores: {os.cpu_count()}")
            ids, accountant_id = setup(app)
            now = utcnow()
            month = now.year * 100 + now.month
            small = max(args.rows // 10, args.month_rows)
            next_id = bulk_rows(app, ids[1:], ids[0], month, small, args.month_rows, 10**12)
            analyze(app)
            before = measure(app, ids[0], accountant_id, args.runs)
            bulk_rows(app, ids[1:], ids[0], month_before(month, 3), args.rows - small, 0, next_id)  # the table grows elsewhere
            analyze(app)
            after = measure(app, ids[0], accountant_id, args.runs)
            print(f"company-month of {args.month_rows:,} notes; table of {small:,} then {args.rows:,} rows")
            grew = False
            for name in before:
                (ms_a, q_a), (ms_b, q_b) = before[name], after[name]
                aim = "(aim < 50)" if name not in ("HTTP page", "advanced") else ""
                print(f"    {name:<11} {ms_a:7.1f} ms -> {ms_b:7.1f} ms  {aim:<11} queries {q_a} -> {q_b}")
                grew |= q_a != q_b
            if grew:
                sys.exit("FAIL: queries per call grew with the table")
        finally:
            drop()


if __name__ == "__main__":
    main()
