"""A real HTTP receiver for webhook tests: a thread running http.server on a free port.

It checks each request's Revenda-Signature with its OWN HMAC code (not webhooks.transport's signer),
answers the status codes it is told to, and applies each Revenda-Delivery id once (a repeat is
acknowledged without a second effect), as an idempotent integrator would."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from partner.services import create_api_token
from tests.conftest import free_port
from tests.factories import ApiClient


class Receiver:
    def __init__(self):
        self.secret = None
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.requests: list[dict] = []
        self.effects: dict[str, dict] = {}  # delivery id -> the event applied once
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks/revenda"

    def verify(self, header: str, body: bytes) -> bool:
        parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
        expected = hmac.new(self.secret.encode(), parts.get("t", "").encode() + b"." + body, hashlib.sha256)
        fresh = abs(time.time() - int(parts.get("t", "0"))) < 300
        return fresh and hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's API
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            delivery = self.headers.get("Revenda-Delivery")
            valid = state.secret is not None and state.verify(self.headers.get("Revenda-Signature", ""), body)
            state.requests.append({"delivery": delivery, "valid": valid, "body": body,
                                   "signature": self.headers.get("Revenda-Signature")})
            status = state.statuses.pop(0) if state.statuses else 200
            if not valid:
                status = 400
            elif status == 200 and delivery not in state.effects:
                state.effects[delivery] = json.loads(body)
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"erro do receptor " * 40)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", state.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(db, client, partner):
    _token, plaintext = create_api_token(partner, "Webhooks")
    db.session.commit()
    return ApiClient(client, plaintext)


@pytest.fixture
def production_rules(app):
    """The production rules for webhook URLs (https only, no private or loopback addresses)."""
    saved = {k: app.config[k] for k in ("WEBHOOKS_REQUIRE_HTTPS", "WEBHOOKS_ALLOW_PRIVATE")}
    app.config.update(WEBHOOKS_REQUIRE_HTTPS=True, WEBHOOKS_ALLOW_PRIVATE=False)
    yield
    app.config.update(saved)
