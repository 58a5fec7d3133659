"""Webhook dates and amounts: an event dated in the future is refused (400, nothing stored); a
payment whose amount or currency differs from the invoice never marks it paid: the event is kept as
failed with the difference, finance sees an audit row, and Stripe gets a 200 (it would retry any
other answer for days, and no retry can change the amount)."""

import json
import time

import pytest
from billing_helpers import sign
from sqlalchemy import func, select
from test_stripe import invoice  # noqa: F401 - the open partner invoice fixture

from billing.models import InvoiceStatus, Payment, WebhookEvent, WebhookStatus
from core.audit import AuditEvent


def _event(obj: dict, *, created: int | None = None, event_id: str | None = None) -> bytes:
    return json.dumps({"id": event_id or f"evt_{time.time_ns()}", "object": "event",
                       "type": "payment_intent.succeeded", "created": created or int(time.time()),
                       "data": {"object": obj}}).encode()


def _intent(paid, **overrides) -> dict:
    return {"id": f"pi_{time.time_ns()}", "object": "payment_intent", "amount": paid.total_cents,
            "currency": "brl", "status": "succeeded", "payment_method_types": ["card"],
            "metadata": {"invoice_ref": paid.number}, **overrides}


def test_the_exact_amount_in_reais_marks_the_invoice_paid(db, stripe_app, invoice, post_webhook):  # noqa: F811
    assert post_webhook(_event(_intent(invoice))).status_code == 200
    assert invoice.status == InvoiceStatus.PAID


@pytest.mark.parametrize("change", [
    {"amount": 1},  # less
    {"amount": "more"},  # not a number
    {"currency": "usd"},
    {"currency": None},
    {"amount": None},
], ids=["less", "not-a-number", "usd", "no-currency", "no-amount"])
def test_a_payment_that_differs_from_the_invoice_never_marks_it_paid(db, stripe_app, invoice, post_webhook,  # noqa: F811
                                                                    change):
    intent = _intent(invoice, **change)
    response = post_webhook(_event(intent, event_id="evt_mismatch"))
    assert response.status_code == 200, "Stripe must not retry an event no retry can fix"
    assert response.get_json()["status"] == "failed"
    assert invoice.status == InvoiceStatus.OPEN and invoice.paid_at is None
    row = db.session.scalar(select(WebhookEvent).where(WebhookEvent.stripe_event_id == "evt_mismatch"))
    assert row.status == WebhookStatus.FAILED and row.invoice_id == invoice.id
    assert "divergente" in row.error and invoice.number in row.error
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "payment.mismatch"))
    assert audit.after["invoice"] == invoice.number and audit.after["expected_cents"] == invoice.total_cents
    assert "event" not in audit.after  # the event id stays on the webhook row (row.invoice_id points here)
    assert db.session.scalar(select(func.count(Payment.id)).where(Payment.invoice_id == invoice.id)) == 0


def test_more_than_the_total_is_a_mismatch_too(db, stripe_app, invoice, post_webhook):  # noqa: F811
    intent = _intent(invoice, amount=invoice.total_cents * 100)
    assert post_webhook(_event(intent)).status_code == 200
    assert invoice.status == InvoiceStatus.OPEN


@pytest.mark.parametrize("ahead", [3600, 10 * 60])
def test_a_signature_dated_in_the_future_is_refused(db, stripe_app, invoice, post_webhook, ahead):  # noqa: F811
    payload = _event(_intent(invoice))
    response = post_webhook(payload, sign(payload, timestamp=int(time.time()) + ahead))
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 0
    assert invoice.status == InvoiceStatus.OPEN


@pytest.mark.parametrize("ahead", [3600, 10 * 60])
def test_an_event_created_in_the_future_is_refused(db, stripe_app, invoice, post_webhook, ahead):  # noqa: F811
    payload = _event(_intent(invoice), created=int(time.time()) + ahead)
    assert post_webhook(payload).status_code == 400
    assert db.session.scalar(select(func.count(WebhookEvent.id))) == 0
    assert invoice.status == InvoiceStatus.OPEN


def test_a_small_clock_difference_and_an_old_event_retried_are_accepted(db, stripe_app, invoice,  # noqa: F811
                                                                      post_webhook):
    """Stripe retries an event for days (same ``created``, a fresh signature); clocks differ a little."""
    payload = _event(_intent(invoice), created=int(time.time()) - 2 * 24 * 3600)
    assert post_webhook(payload, sign(payload, timestamp=int(time.time()) + 60)).status_code == 200
    assert invoice.status == InvoiceStatus.PAID


def test_a_stale_signature_is_still_refused(db, stripe_app, invoice, post_webhook):  # noqa: F811
    payload = _event(_intent(invoice))
    assert post_webhook(payload, sign(payload, timestamp=int(time.time()) - 600)).status_code == 400
