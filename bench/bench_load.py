"""Concurrent writes against Revenda served as ``make run`` serves it: statuses, p50/p95, lost writes.

Run from the project root::

    .venv/bin/python bench/bench_load.py                       # embedded default: SQLite + SQLite broker
    .venv/bin/python bench/bench_load.py --smtp                # e-mails really sent (local SMTP server)
    .venv/bin/python bench/bench_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

A temporary instance folder gets a database (a SQLite file there, or a temporary database created on
the ``--database-url`` server and dropped afterwards), the schema and the demo data. Then, as
``make run`` does: gunicorn serving ``wsgi:app`` with threads, and the Celery worker (with beat) on
the embedded SQLite broker. From ``--threads`` threads, ``--requests`` mixed writes (API client
creation, contract status change, integration-key rotation, the panel's client form as a logged-in
manager with CSRF, PFX upload; see tests/loadmix.py) hit the server at once. Printed: requests,
statuses, p50/p95 latency, then every acknowledged write read back, and the e-mails those writes
queued, delivered by the worker (none may fail, none on a locked database). Exit status 1 when any
answer is a 5xx, a write is missing or an e-mail failed.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from core.scratchdb import scratch_database  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="writes sent under load (default 200)")
    parser.add_argument("--threads", type=int, default=30, help="client threads (default 30)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    parser.add_argument("--worker-threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server URL (a temporary database is created)")
    parser.add_argument("--smtp", action="store_true", help="deliver e-mails to a local SMTP server (default: the "
                                                            "embedded default keeps them in the outbox)")
    parser.add_argument("--mail-wait", type=float, default=90, help="seconds to wait for the outbox to drain")
    return parser.parse_args()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(env: dict) -> dict:
    """Schema and demo data, as ``make run`` loads them (in this process, before the servers start)."""
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app
    from core.db import db
    from demo import load_demo

    app = create_app()
    with app.app_context():
        upgrade()
        logins = load_demo()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return logins


def start_servers(env: dict, workdir: Path, port: int, args) -> list[subprocess.Popen]:
    logs = {name: open(workdir / f"{name}.log", "w") for name in ("web", "worker")}  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "-B", "--pool=solo", "--loglevel=INFO",
         f"--schedule={workdir / 'celerybeat-schedule'}"],
        cwd=ROOT, env=env, stdout=logs["worker"], stderr=subprocess.STDOUT,
    )
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(args.workers), "--threads", str(args.worker_threads),
         "-b", f"127.0.0.1:{port}", "--access-logfile", "-", "wsgi:app"],
        cwd=ROOT, env=env, stdout=logs["web"], stderr=subprocess.STDOUT,
    )
    processes = [web, worker]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise SystemExit(f"a server did not start: see {workdir}/web.log and worker.log")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            if " ready." in (workdir / "worker.log").read_text():
                return processes
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"servers not ready after 90 s: see {workdir}")


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def outbox_counts(url: str, wait: float) -> tuple[dict, list[str]]:
    """Outbox rows by status once nothing is pending (or ``wait`` seconds passed), and lock errors."""
    engine = sa.create_engine(url)
    deadline = time.monotonic() + wait
    try:
        while True:
            with engine.connect() as conn:
                counts = dict(conn.execute(sa.text("SELECT status, count(*) FROM outbox_emails GROUP BY status")).all())
                locked = conn.execute(sa.text(
                    "SELECT last_error FROM outbox_emails WHERE last_error LIKE '%locked%'")).scalars().all()
            if not counts.get("pending") or time.monotonic() > deadline:
                return counts, locked
            time.sleep(1)
    finally:
        engine.dispose()


def main() -> int:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="revenda-load-"))
    url, drop = scratch_database(args.database_url, workdir, "load") if args.database_url else (
        f"sqlite:///{workdir / 'revenda.db'}", lambda: None)
    env = {**os.environ, "REVENDA_INSTANCE": str(workdir), "SECRET_KEY": "bench-load-secret-key",
           "PUBLIC_URL": "http://127.0.0.1", "PYTHONUNBUFFERED": "1"}
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)  # the embedded SQLite broker, as make run
    if args.database_url:
        env["DATABASE_URL"] = url
    smtp = None
    if args.smtp:
        from aiosmtpd.controller import Controller

        class Sink:
            received = 0

            async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler API
                Sink.received += 1
                return "250 OK"

        smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
        smtp.start()
        env.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port))
    else:
        env.pop("MAIL_SERVER", None)
    processes, status = [], 1
    try:
        logins = seed(env)
        port = free_port()
        processes = start_servers(env, workdir, port, args)
        status = run(args, url, workdir, port, logins, processes)
        return status
    finally:
        stop(processes)
        if smtp is not None:
            smtp.stop()
        drop()
        if status == 0:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, url, workdir, port, logins, processes) -> int:
    from tests.loadmix import LoadMix

    backend = sa.engine.make_url(url).get_backend_name()
    print(f"Revenda load benchmark: {backend}, gunicorn -w {args.workers} --threads {args.worker_threads} + Celery "
          f"worker (solo, beat, SQLite broker), e-mail {'to a local SMTP server' if args.smtp else 'kept in the outbox'}")
    manager = logins["users"]["manager"]
    load = LoadMix(f"http://127.0.0.1:{port}", logins["partner_api_tokens"]["a"], manager["email"],
                   manager["password"], threads=args.threads, requests_total=args.requests)
    load.prepare()
    print(f"set-up: {sum(len(m) for m in load.owned)} clients created through the API, manager logged in")
    load.run()
    print(load.report())
    missing = load.missing_writes()
    acknowledged = sum(o.status in (200, 201, 302) for o in load.outcomes)
    print(f"acknowledged writes: {acknowledged}; missing afterwards: {len(missing)}")
    for problem in missing[:10]:
        print("  " + problem)
    counts, locked = outbox_counts(url, args.mail_wait)
    print("e-mails (outbox): " + ", ".join(f"{status} × {n}" for status, n in sorted(counts.items())))
    logs = "\n".join((workdir / f"{name}.log").read_text() for name in ("web", "worker"))
    lock_lines = [line for line in logs.splitlines() if "database is locked" in line]
    print(f"'database is locked' in outbox errors: {len(locked)}; in server and worker logs: {len(lock_lines)}")
    failed = load.server_errors() or missing or counts.get("failed") or counts.get("pending") or locked or lock_lines
    if failed:
        print(f"FAILED: logs kept in {workdir}")
        return 1
    print("OK: 0 × 5xx, every acknowledged write present, every e-mail delivered")
    return 0


if __name__ == "__main__":
    sys.exit(main())
