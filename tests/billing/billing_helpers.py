"""Helpers shared by the billing tests (fixtures live in conftest.py)."""

import json
import time
from datetime import UTC, date, datetime

import stripe

LONG_AGO = datetime(2024, 1, 1, 12, tzinfo=UTC)
WEBHOOK_SECRET = "whsec_test_revenda_app"
API_KEY = "sk_test_revenda_app"


def at(day: date, hour: int = 12) -> datetime:
    """Noon (UTC) of ``day``: the same calendar day in Brasília."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def new_card(raw_stripe, number="4242424242424242") -> str:
    pm = raw_stripe.v1.payment_methods.create(params={
        "type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
    return pm["id"]


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(payload.decode("utf-8"), secret, timestamp)


def event_payload(event_type: str, obj: dict, event_id: str | None = None) -> bytes:
    return json.dumps({
        "id": event_id or f"evt_test_{time.time_ns()}", "object": "event", "type": event_type,
        "created": int(time.time()), "data": {"object": obj},
    }).encode("utf-8")
