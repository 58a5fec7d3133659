"""Integration-API authentication overhead, and certificate validation time.

Run from the project root: ``.venv/bin/python bench/bench_integration_auth.py [requests]``.

Builds an app on a temporary SQLite database (schema by ``alembic upgrade``) with one client, its
integration key and a certificate, then times N requests through the Flask test client to the
authenticated ``GET /api/v1/integration/me`` and to the public ``GET /api/v1/integration/ping``,
interleaved so both see the same machine state. Prints the medians and their ratio, the cost of
``authenticate_integration_key`` alone (the one indexed query by hash), and ``inspect_pfx`` on
the project's generated certificates (no ../shared needed).
"""

import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from certificates import samples as pfxgen  # noqa: E402  (the project's own generated certificates)


def median_us(call: Callable[[], object], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        timings.append((time.perf_counter() - start) * 1e6)
    return statistics.median(timings)


def build_app(workdir: Path):
    from app import create_app
    from core.crypto import generate_master_key

    return create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.db'}",
        "INSTANCE_PATH": str(workdir),
        "SECRET_KEY": "bench",
        "MASTER_KEYS": f"bench:{generate_master_key()}",
        "MAIL_BACKEND": "outbox",
        "CELERY_BROKER_URL": "memory://",
        "RATELIMIT_STORAGE_URI": "memory://",
        # Limiter on, as in production, but high enough not to answer 429 during the run.
        "INTEGRATION_RATE_LIMIT": "10000000 per minute",
    })


def seed() -> str:
    """One partner, plan, client (active), certificate and integration key; returns the key."""
    from certificates import services
    from core.db import db
    from partner.models import Client, ContractStatus, Partner, Plan, Software

    software = Software(name="FazNota", url="https://software.example")
    plan = Plan(software=software, name="Ouro", price_cents=11990)
    partner = Partner(legal_name="Revenda Bench Ltda", cnpj="45723174000110", email="bench@revenda.example")
    client = Client(partner=partner, legal_name="Cliente Bench Ltda", cnpj=pfxgen.VALID_CNPJ,
                    email="cliente@bench.example", software=software, plan=plan, status=ContractStatus.ACTIVE)
    db.session.add_all([software, plan, partner, client])
    db.session.flush()
    services.upload_certificate(client, pfxgen.ecnpj_pfx(), pfxgen.PASSWORD)
    key = services.rotate_integration_key(client, 0).plaintext
    db.session.commit()
    return key


def interleaved(calls: dict[str, Callable], runs: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU µs of each call, run in turns so every call sees the same machine state.

    CPU time (this process) is reported too: on a busy machine the wall time mostly measures the
    wait for a core."""
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            wall, cpu = time.perf_counter(), time.process_time()
            response = call()
            timings[name].append(((time.perf_counter() - wall) * 1e6, (time.process_time() - cpu) * 1e6))
            assert response.status_code == 200, (name, response.status_code)
    return {
        name: (statistics.median(t[0] for t in values), statistics.median(t[1] for t in values))
        for name, values in timings.items()
    }


def bench_requests(app, key: str, runs: int) -> None:
    from certificates import services
    from core.extensions import limiter

    http = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    calls = {
        "ping": lambda: http.get("/api/v1/integration/ping"),
        "me": lambda: http.get("/api/v1/integration/me", headers=headers),
    }
    interleaved(calls, 100)  # warm up: imports, caches, SQLite pages
    with_limiter = interleaved(calls, runs)
    limiter.enabled = False
    without_limiter = interleaved(calls, runs)
    limiter.enabled = True
    print(f"Integration API, {runs} requests per line (Flask test client, SQLite); medians, wall / CPU")
    for label, figures in (("rate limiter on (memory storage)", with_limiter), ("rate limiter off", without_limiter)):
        (ping_wall, ping_cpu), (me_wall, me_cpu) = figures["ping"], figures["me"]
        print(f"  {label}:")
        print(f"    GET /api/v1/integration/ping (public)          {ping_wall:7.0f} / {ping_cpu:7.0f} µs")
        print(f"    GET /api/v1/integration/me   (integration key) {me_wall:7.0f} / {me_cpu:7.0f} µs")
        print(f"    ratio me / ping                                {me_wall / ping_wall:7.2f} / {me_cpu / ping_cpu:7.2f} x")
    with app.test_request_context():
        auth_us = median_us(lambda: services.authenticate_integration_key(key), runs)
        unknown_us = median_us(lambda: services.authenticate_integration_key("rvk_live_" + "A" * 43), runs)
        malformed_us = median_us(lambda: services.authenticate_integration_key("rvk_live_x"), runs)
    print("  authentication alone (hash + one indexed query joined with the client), wall:")
    print(f"    valid key {auth_us:6.0f} µs, unknown key {unknown_us:6.0f} µs, malformed key {malformed_us:4.1f} µs")


def bench_certificates(app, runs: int) -> None:
    from certificates.pfx import inspect_pfx

    print(f"Certificate validation (inspect_pfx), median of {runs} runs")
    cases = {
        "generated e-CNPJ, Java-style (SHA-1 MAC, 100000 iterations)": pfxgen.legacy_ecnpj_pfx(),
        "generated e-CNPJ (cryptography defaults)": pfxgen.ecnpj_pfx(),
    }
    for name, data in cases.items():
        ms = median_us(lambda: inspect_pfx(data, pfxgen.PASSWORD, expected_cnpj=pfxgen.VALID_CNPJ), runs)  # noqa: B023
        print(f"  {name:<62} {ms / 1000:8.2f} ms")


def main(runs: int) -> None:
    logging.disable(logging.WARNING)  # alembic's INFO lines would drown the figures
    from flask_migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        with app.app_context():
            upgrade()
            key = seed()
        bench_requests(app, key, runs)
        bench_certificates(app, max(20, runs // 100))
        with app.app_context():
            from core.db import db

            db.engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
