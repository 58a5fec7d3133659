"""Run localstripe (a fake Stripe API server) as a subprocess for tests.

localstripe 1.15.10 facts this helper relies on (from its source):

* CLI: ``python -m localstripe [--port N] [--from-scratch]`` (default port
  8420).  It listens on ``::`` (IPv6, dual-stack), so ``127.0.0.1`` works.
* Its store is pickled to the hard-coded file ``/tmp/localstripe.pickle`` on
  every write and reloaded at start unless ``--from-scratch``.  Two test runs
  would share that file, so the bootstrap below turns persistence off: every
  server started here begins empty and writes nothing to disk.
* Any ``Authorization: Bearer sk_...`` key is accepted.
* ``POST /_config/webhooks/<id>`` registers a webhook; body (form-encoded or
  JSON): ``url`` (must start with ``http``), ``secret`` (required) and
  optionally ``events`` (a list; form field ``events[]`` repeated).  Without
  ``events`` every event is delivered.  Deliveries happen ~1 s after the
  event, signed ``Stripe-Signature: t=<created>,v1=<hmac_sha256(secret,
  "<created>.<body>")>`` like real Stripe.  ``DELETE /_config/data`` empties
  the store.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator

# Started with ``python -c``: disable the on-disk pickle store, then run
# localstripe's own CLI entry point (argparse reads the remaining argv).
# With REVENDA_TEST_CLOCK_OFFSET_DAYS (tests/conftest.py) the server's clock moves ahead with the suite's,
# so the webhook timestamps it signs are "now" for the app.
_BOOTSTRAP = (
    "import os, datetime, time_machine\n"
    "offset = int(os.environ.get('REVENDA_TEST_CLOCK_OFFSET_DAYS') or 0)\n"
    "if offset:\n"
    "    now = datetime.datetime.now(datetime.UTC)\n"
    "    time_machine.travel(now + datetime.timedelta(days=offset), tick=True).start()\n"
    "from localstripe import resources\n"
    "resources.Store.dump_to_disk = lambda self: None\n"
    "resources.Store.try_load_from_disk = lambda self: None\n"
    "from localstripe.server import start\n"
    "start()\n"
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/v1/balance", timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # 401 without a key: the server is up
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def localstripe(startup_timeout: float = 20.0, attempts: int = 3) -> Iterator[str]:
    """Start localstripe on a free port and yield its base URL.

    The server is terminated when the context exits.  The port is picked by
    binding to port 0 and releasing it, so another process may grab it in
    between; startup is retried on a fresh port if the server dies early.
    """
    env = dict(os.environ)
    # The suite may run with warnings as errors; localstripe/aiohttp's own
    # deprecation warnings must not kill the server process.
    env["PYTHONWARNINGS"] = "ignore"
    last_output = ""
    for _ in range(attempts):
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, "--port", str(port), "--from-scratch"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
            try:
                deadline = time.monotonic() + startup_timeout
                while proc.poll() is None and time.monotonic() < deadline:
                    if _answers(base_url) and proc.poll() is None:
                        break
                    time.sleep(0.1)
                else:
                    log.seek(0)
                    last_output = log.read().decode("utf-8", "replace")[-4000:]
                    continue  # died or timed out: try another port
                yield base_url
                return
            finally:
                _stop(proc)
    raise RuntimeError(f"localstripe did not start; last output:\n{last_output}")


def register_webhook(
    base_url: str,
    webhook_id: str,
    url: str,
    secret: str,
    events: Iterable[str] | None = None,
) -> None:
    """Register (or replace) webhook ``webhook_id`` in a running localstripe.

    ``events=None`` subscribes to every event type.
    """
    fields = [("url", url), ("secret", secret)]
    if events is not None:
        fields += [("events[]", event) for event in events]
    request = urllib.request.Request(
        f"{base_url}/_config/webhooks/{urllib.parse.quote(webhook_id, safe='')}",
        data=urllib.parse.urlencode(fields).encode("ascii"),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


def flush(base_url: str) -> None:
    """Delete every object stored in localstripe."""
    request = urllib.request.Request(f"{base_url}/_config/data", method="DELETE")
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()
