"""Dashboard and client-list API with 10,000 clients (or 100,000: ``--clients 100000``): median latency
and SQL queries per page, including an accented, case-insensitive search.

Run from the project root::

    .venv/bin/python bench/bench_dashboard.py                      # temporary SQLite file
    .venv/bin/python bench/bench_dashboard.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

With ``--database-url`` the URL only serves to create (and afterwards drop) a temporary database
on that server. The app is driven in-process by Flask's test client — the manager logged in for
the panel, the demo partner token for the API — so the figures are the app's own cost (routing,
queries, templates), reported as a ratio to a trivial endpoint of the same app (``/healthz``).
The query counts at 100 and at 10,000 clients must be equal: a page costs the same whatever the
number of clients.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from stdnum.br import cnpj as stdnum_cnpj  # noqa: E402

from app import create_app  # noqa: E402
from core.db import db  # noqa: E402
from core.scratchdb import scratch_database  # noqa: E402

SMALL = 100
#: Names with accents, so the searches "pao arvore" and "PÃO ÁRVORE AÇÚCAR" have something to find (1 in 8).
NAMES = ("Empresa", "Padaria Pão Árvore Açúcar", "Ótica Visão", "Zé Lanches", "Açougue São João", "Mercado Ímpar",
         "Comércio Übersee", "Farmácia Égide")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10_000, help="clients of the partner (default 10000)")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per endpoint (default 30)")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server URL (a temporary database is created)")
    return parser.parse_args()


# -- database -----------------------------------------------------------------------------------


def temporary_database(server_url: str, workdir: Path) -> tuple[str, callable]:
    return scratch_database(server_url, workdir, "bench")


def build_app(url: str, workdir: Path):
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-secret-key",
        "INSTANCE_PATH": str(workdir),
        "CELERY_BROKER_URL": "memory://",
        "MAIL_BACKEND": "outbox",
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        "MASTER_KEYS": "b1:" + "B" * 43 + "=",
    })


def bench_cnpj(n: int) -> str:
    base = f"{70_000_000 + n:08d}0001"
    return base + stdnum_cnpj.calc_check_digits(base)


def add_clients(partner_id: int, plans: list[tuple[int, int]], start: int, stop: int) -> None:
    """Bulk-insert clients ``start..stop-1`` (executemany, no ORM objects); plans are (id, software_id)."""
    from partner.models import Client, ContractStatus, Payer

    statuses, payers = list(ContractStatus), list(Payer)
    rows = [
        {
            "partner_id": partner_id, "legal_name": f"{NAMES[n % len(NAMES)]} Bench {n:05d} Ltda",
            "trade_name": f"Bench {n:05d}",
            # a bulk insert bypasses the model's events: fill the search columns as the model would
            **Client.search_columns(f"{NAMES[n % len(NAMES)]} Bench {n:05d} Ltda", f"Bench {n:05d}", bench_cnpj(n),
                                    f"bench{n:05d}@clientes.example"),
            "cnpj": bench_cnpj(n), "email": f"bench{n:05d}@clientes.example", "phone": "1133334444",
            "cep": "01001000", "street": "Praça da Sé", "number": str(n), "district": "Sé", "city": "São Paulo",
            "state": "SP", "plan_id": plans[n // 4 % len(plans)][0], "software_id": plans[n // 4 % len(plans)][1],
            "payer": payers[n // 16 % len(payers)], "status": statuses[n % len(statuses)],
            "accountant_email": None,
        }
        for n in range(start, stop)
    ]
    for chunk in range(0, len(rows), 2000):
        db.session.execute(sa.insert(Client), rows[chunk:chunk + 2000])
    db.session.commit()


# -- measuring ----------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self, engine):
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *args):
        self.count += 1


def fetch(http, path: str, headers: dict, counter: QueryCounter) -> tuple[int, int, float]:
    """(status, queries, milliseconds) of one GET."""
    counter.count = 0
    start = time.perf_counter()
    response = http.get(path, headers=headers)
    elapsed = (time.perf_counter() - start) * 1000
    response.close()
    return response.status_code, counter.count, elapsed


def median_ms(http, path: str, headers: dict, counter: QueryCounter, runs: int) -> float:
    fetch(http, path, headers, counter)  # warm-up: templates compiled, caches filled
    return statistics.median(fetch(http, path, headers, counter)[2] for _ in range(runs))


def endpoints(total: int, plan_id: int, api_token: str) -> list[tuple[str, str, dict]]:
    """(label, path, headers); the late page is three quarters of the way through the list."""
    late = max(1, (total // 25) * 3 // 4)
    api = {"Authorization": f"Bearer {api_token}"}
    return [
        ("trivial: GET /healthz", "/healthz", {}),
        ("dashboard, page 1", "/painel", {}),
        ("dashboard, search", "/painel?q=bench+0004", {}),
        ("dashboard, search 'pao arvore'", "/painel?q=pao+arvore", {}),
        ("dashboard, search 'PÃO ÁRVORE AÇÚCAR'", "/painel?q=P%C3%83O+%C3%81RVORE+A%C3%87%C3%9ACAR", {}),
        ("dashboard, search by CNPJ digits", f"/painel?q={bench_cnpj(total * 3 // 4)[:8]}", {}),
        ("dashboard, certificate filter", "/painel?certificado=none", {}),
        ("dashboard, filter (status+plan)", f"/painel?status=active&plan_id={plan_id}", {}),
        ("dashboard, sort by -created", "/painel?sort=-created", {}),
        ("dashboard, sort by -name", "/painel?sort=-name", {}),
        (f"dashboard, late page ({late})", f"/painel?page={late}", {}),
        ("API GET /api/v1/clients", "/api/v1/clients", api),
        ("API GET /api/v1/clients?q=bench", "/api/v1/clients?q=bench&per_page=100", api),
        (f"API GET /api/v1/clients?page={late}", f"/api/v1/clients?page={late}", api),
    ]


def query_counts(http, total, plan_id, token, counter) -> dict[str, int | None]:
    counts = {}
    for label, path, headers in endpoints(total, plan_id, token):
        fetch(http, path, headers, counter)  # warm-up: once-a-minute writes (token last use) are not per page
        status, queries, _ms = fetch(http, path, headers, counter)
        if status == 404 and path.startswith("/api/"):
            counts[label] = None  # the client API is not there (yet)
            continue
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
        counts[label] = queries
    return counts


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="revenda-bench-"))
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
    from demo import load_demo
    from partner.models import Client, Plan

    with app.app_context():
        upgrade()
        logins = load_demo()
        db.session.commit()
        manager = db.session.scalar(sa.select(User).where(User.email == logins["users"]["manager"]["email"]))
        manager_id, partner_id, token = manager.id, manager.partner_id, logins["partner_api_tokens"]["a"]
        plans = [(p.id, p.software_id) for p in db.session.scalars(sa.select(Plan).order_by(Plan.id))]
        existing = db.session.scalar(sa.select(sa.func.count()).where(Client.partner_id == partner_id))
        add_clients(partner_id, plans, existing, SMALL)
        plan_id = plans[0][0]
        counter = QueryCounter(db.engine)

    http = app.test_client()
    with app.app_context():
        from accounts.sessions import start_session

        login = start_session(db.session.get(User, manager_id))
        db.session.commit()
    with http.session_transaction() as session:
        session["_user_id"], session["_fresh"] = login, True

    print(f"Revenda dashboard benchmark — {sa.engine.make_url(app.config['SQLALCHEMY_DATABASE_URI']).get_backend_name()}, "
          f"{args.clients:,} clients for one partner, median of {args.runs} requests (Flask test client)")
    small = query_counts(http, SMALL, plan_id, token, counter)
    started = time.perf_counter()
    with app.app_context():
        add_clients(partner_id, plans, SMALL, args.clients)
    print(f"loaded {args.clients - SMALL:,} more clients in {time.perf_counter() - started:.1f} s\n")
    large = query_counts(http, args.clients, plan_id, token, counter)

    rows = []
    trivial_ms = None
    for (label, path, headers), small_count in zip(endpoints(args.clients, plan_id, token), small.values(), strict=True):
        large_count = large[label]
        if large_count is None:
            rows.append((label, None, None, None, None))
            continue
        ms = median_ms(http, path, headers, counter, args.runs)
        trivial_ms = trivial_ms or ms
        rows.append((label, ms, ms / trivial_ms, small_count, large_count))
    print_table(rows, args.clients)
    growing = [r[0] for r in rows if r[1] is not None and r[4] > r[3]]
    if growing:
        print(f"\nFAIL: queries grow with the number of clients on: {', '.join(growing)}")
        return 1
    print(f"\nOK: no page issues more queries with {args.clients:,} clients than with {SMALL}.")
    return 0


def print_table(rows, clients: int) -> None:
    header = f"{'endpoint':<40} {'median ms':>10} {'× trivial':>10} {f'queries @{SMALL}':>13} {f'queries @{clients:,}':>16}"
    print(header)
    print("-" * len(header))
    for label, ms, ratio, small_count, large_count in rows:
        if ms is None:
            print(f"{label:<40} {'not available (404: api/clients_api.py not there yet)':>52}")
            continue
        print(f"{label:<40} {ms:>10.2f} {ratio:>10.1f} {small_count:>13} {large_count:>16}")


if __name__ == "__main__":
    sys.exit(main())
