"""Login rate limit under several web processes, and login time with a known vs an unknown e-mail.

Run from the project root: ``.venv/bin/python bench/bench_login_limit.py [workers] [attempts]``.

Starts ``gunicorn -w WORKERS`` (3) on the embedded default in a temporary instance folder (SQLite,
no Redis: the limit counters live in ``instance/ratelimit.db``), migrates it, creates one user, then
sends ATTEMPTS (30) failed logins from one address, each with a fresh CSRF token, and prints how many
were refused with 429: with ``LOGIN_RATE_LIMIT`` at 10 per minute, 10 get through (401) whatever the
number of workers. Then prints the median time of a failed login for an existing and for an unknown
e-mail (equal: an unknown e-mail still costs one argon2 verification).
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
EMAIL, PASSWORD = "gestora@bench.example", "senha-do-bench-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def try_login(base: str, email: str) -> tuple[int, float]:
    http = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(f"{base}/login", timeout=120).text).group(1)
    started = time.perf_counter()
    response = http.post(f"{base}/login", data={"csrf_token": token, "email": email, "password": "errada"},
                         allow_redirects=False, timeout=120)
    return response.status_code, time.perf_counter() - started


def main() -> None:
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    attempts = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    instance = tempfile.mkdtemp(prefix="revenda-bench-login-")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "RATELIMIT_STORAGE_URI"}}
    env.update(REVENDA_INSTANCE=instance, LOGIN_RATE_LIMIT="10 per minute", LOGIN_ACCOUNT_RATE_LIMIT="1000 per minute")
    flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    code = ("from app import create_app; from core.db import db; from accounts.services import create_user; "
            "from core.permissions import Role; app = create_app()\n"
            f"with app.app_context(): create_user({EMAIL!r}, Role.ADMIN, password={PASSWORD!r}); db.session.commit()")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                               "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                requests.get(f"{base}/healthz", timeout=60)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        for _ in range(4 * workers):  # every worker booted (the app takes seconds to import on a busy machine)
            requests.get(f"{base}/login", timeout=120)
        statuses = Counter(try_login(base, "ninguem@bench.example")[0] for _ in range(attempts))
        print(f"gunicorn -w {workers}, LOGIN_RATE_LIMIT=10 per minute, {attempts} failed logins from one address:")
        print(f"  401 (checked): {statuses.get(401, 0)}   429 (refused): {statuses.get(429, 0)}   other: "
              f"{sum(v for k, v in statuses.items() if k not in (401, 429))}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    timing(env, flask)


def timing(env, flask) -> None:
    """Median of a failed login with a known and an unknown e-mail (Flask test client, no limit)."""
    code = f"""
import statistics, time
from app import create_app
app = create_app({{"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}})
http = app.test_client()
def median(email):
    times = []
    for _ in range(15):
        started = time.perf_counter()
        http.post("/login", data={{"email": email, "password": "errada"}})
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000
known, unknown = median({EMAIL!r}), median("ninguem@bench.example")
print(f"failed login, median of 15: existing e-mail {{known:.0f}} ms, unknown e-mail {{unknown:.0f}} ms")
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    print(out.stdout.strip() or out.stderr[-1500:])


if __name__ == "__main__":
    main()
