"""Automatic renewals paid with the partner's card on file, against localstripe (a real HTTP Stripe
API): a charge that succeeds renews the order and leaves both ledger rows (the card payment, its
use); a declined card renews nothing, writes no money row, tells the partner by e-mail, and the
order can still be renewed once the card is replaced."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from billing import services as billing
from billing.models import CreditKind, PartnerCreditEntry, WebhookEvent, WebhookStatus
from contracts.models import AcceptanceChannel
from contracts.services import accept_terms
from core.db import db as _db
from core.mail import OutboxEmail
from orders import pricing, schedule, services
from orders.models import OrderEvent, OrderRenewal, OrderStatus, PaymentChoice
from partner.models import Payer
from tests.billing.billing_helpers import event_payload, new_card, sign
from tests.orders.helpers import order_data

S = OrderStatus
DECLINED = "4000000000000341"  # attaches, then every charge is refused (localstripe as Stripe)


@pytest.fixture
def active_order(db, stripe_app, partner, client_row, service):
    order = services.place_order(partner, order_data(client_row, service, renewal="card"))
    accept_terms(client_row, channel=AcceptanceChannel.EMAIL_LINK, ip=None, user_agent=None,
                 terms=service.terms_version)
    assert order.status == S.ACTIVE and order.renewal == PaymentChoice.CARD
    return order


def _ledger(partner_id):
    return list(_db.session.scalars(select(PartnerCreditEntry).where(PartnerCreditEntry.partner_id == partner_id)
                                    .order_by(PartnerCreditEntry.id)))


def test_automatic_renewal_charges_the_card_on_file(db, client, active_order, partner, raw_stripe):
    profile = billing.save_card(partner, new_card(raw_stripe))
    order, renews = active_order, active_order.renews_at
    price = services.renewal_price(order)
    before = _ledger(partner.id)

    counts = schedule.run_daily(renews)

    assert counts["renewed"] == 1 and counts["expired"] == 0
    assert order.status == S.ACTIVE
    assert (order.term_start, order.renews_at) == (renews, pricing.add_months(renews, 12))
    [renewal] = order.renewals
    assert (renewal.payment, renewal.automatic, renewal.amount_cents) == (PaymentChoice.CARD, True, price)
    new = _ledger(partner.id)[len(before):]
    assert [(e.kind, e.amount_cents, e.reference) for e in new] == [
        (CreditKind.CARD_PAYMENT, price, f"renewal:{renewal.id}"),
        (CreditKind.ORDER, -price, f"renewal:{renewal.id}"),
    ]
    # the money really moved at "Stripe": the PaymentIntent the card row names, on the partner's customer
    pi_id = next(word for word in new[0].description.split() if word.startswith("pi_"))
    intent = raw_stripe.v1.payment_intents.retrieve(pi_id)
    assert intent["status"] == "succeeded" and intent["amount"] == price and intent["currency"] == "brl"
    assert intent["customer"] == profile.stripe_customer_id
    assert intent["metadata"]["invoice_ref"] == f"credito:renewal:{renewal.id}"
    assert schedule.run_daily(renews)["renewed"] == 0  # the same day again: nothing charged twice

    # Stripe's webhook for that charge finds it already recorded: acknowledged, not a failed invoice lookup
    payload = event_payload("payment_intent.succeeded", intent.to_dict())
    response = client.post("/billing/webhooks/stripe", data=payload, content_type="application/json",
                           headers={"Stripe-Signature": sign(payload)})
    assert response.status_code == 200
    event = db.session.scalar(select(WebhookEvent).where(WebhookEvent.stripe_event_id == json.loads(payload)["id"]))
    assert event.status == WebhookStatus.IGNORED and not event.error


def test_declined_card_renews_nothing_and_tells_the_partner(db, active_order, partner, raw_stripe):
    billing.save_card(partner, new_card(raw_stripe, DECLINED))
    order, renews, term_start = active_order, active_order.renews_at, active_order.term_start
    paid, before = order.paid_cents, _ledger(partner.id)

    counts = schedule.run_daily(renews)

    assert counts["renewed"] == 0 and counts["expired"] == 1
    assert order.status == S.EXPIRED  # read-only, still renewable for 60 days
    assert (order.term_start, order.renews_at, order.paid_cents) == (term_start, renews, paid)
    assert db.session.scalar(select(func.count(OrderRenewal.id)).where(OrderRenewal.order_id == order.id)) == 0
    assert _ledger(partner.id) == before  # no card row, no debit
    failed = db.session.scalar(select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                        OrderEvent.kind == "renewal_failed"))
    assert failed is not None and "recusado" in failed.note.lower()
    [mail] = db.session.scalars(select(OutboxEmail).where(OutboxEmail.to == partner.email,
                                                          OutboxEmail.kind == "order_renewal_failed")).all()
    assert f"#{order.id}" in mail.subject

    # a new card, then the manager renews by hand within the 60 days: charged once, from the expiry day
    billing.save_card(partner, new_card(raw_stripe))
    renewal = services.renew(order, "card", today=renews + timedelta(days=3))
    assert order.status == S.ACTIVE and renewal.period_start == renews + timedelta(days=3)
    kinds = [e.kind for e in _ledger(partner.id)[len(before):]]
    assert kinds == [CreditKind.CARD_PAYMENT, CreditKind.ORDER]
    assert billing.profile_for(Payer.PARTNER, partner, create=False).card_last4 == "4242"


def test_order_paid_by_card_or_left_awaiting_payment_when_declined(db, stripe_app, partner, client_row, service,
                                                                   raw_stripe):
    billing.save_card(partner, new_card(raw_stripe, DECLINED))
    refused = services.place_order(partner, order_data(client_row, service, payment="card"))
    assert refused.status == S.AWAITING_PAYMENT and refused.paid_cents == 0
    assert _ledger(partner.id) == []
    assert db.session.scalar(select(OrderEvent.note).where(OrderEvent.order_id == refused.id,
                                                           OrderEvent.kind == "payment_failed"))

    billing.save_card(partner, new_card(raw_stripe))
    services.pay_order(refused, "card")  # the same order, the new card: paid once
    assert refused.status == S.AWAITING_DOCUMENTATION and refused.paid_cents == refused.amount_cents
    assert [(e.kind, e.amount_cents) for e in _ledger(partner.id)] == [
        (CreditKind.CARD_PAYMENT, refused.amount_cents), (CreditKind.ORDER, -refused.amount_cents)]


def test_a_card_renewal_is_kept_even_if_the_rest_of_the_daily_pass_fails(db, active_order, partner, raw_stripe,
                                                                         monkeypatch):
    """The card was charged: the renewal is committed at once, so a failure later in the pass (here the quota
    warnings) cannot roll it back and have tomorrow's pass charge the card a second time."""
    billing.save_card(partner, new_card(raw_stripe))
    order, renews = active_order, active_order.renews_at

    def broken(today):
        raise RuntimeError("quota pass failed")

    monkeypatch.setattr(schedule.quota, "check_quotas", broken)
    with pytest.raises(RuntimeError):
        schedule.run_daily(renews)
    _db.session.rollback()

    assert len(_db.session.scalars(select(OrderRenewal).where(OrderRenewal.order_id == order.id)).all()) == 1
    _db.session.refresh(order)
    assert order.renews_at == pricing.add_months(renews, 12)
    monkeypatch.undo()
    assert schedule.run_daily(renews + timedelta(days=1))["renewed"] == 0


def test_with_payments_unreachable_the_renewal_waits_a_few_days_then_expires(db, app, active_order, partner,
                                                                             raw_stripe, monkeypatch):
    """Stripe down is not a refusal: the order keeps running and the next passes try again; after
    RENEWAL_RETRY_DAYS it expires like a refused payment, and the partner is told once."""
    billing.save_card(partner, new_card(raw_stripe))
    order, renews = active_order, active_order.renews_at
    app.extensions["billing_gateway"] = {}
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens: unreachable

    for day in range(schedule.RENEWAL_RETRY_DAYS):
        counts = schedule.run_daily(renews + timedelta(days=day))
        assert (counts["renewed"], counts["postponed"], counts["expired"]) == (0, 1, 0)
        assert order.status in (S.ACTIVE, S.EXPIRING) and order.renewals == []
    kinds = [e.kind for e in _db.session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))]
    assert kinds.count("renewal_postponed") == schedule.RENEWAL_RETRY_DAYS
    assert _db.session.scalar(select(func.count()).select_from(OutboxEmail)
                              .where(OutboxEmail.kind == "order_renewal_failed")) == 0

    counts = schedule.run_daily(renews + timedelta(days=schedule.RENEWAL_RETRY_DAYS))
    assert (counts["renewed"], counts["postponed"], counts["expired"]) == (0, 0, 1)
    assert order.status == S.EXPIRED
    assert _db.session.scalar(select(func.count()).select_from(OutboxEmail)
                              .where(OutboxEmail.kind == "order_renewal_failed")) == 1


def test_a_renewal_postponed_by_an_outage_goes_through_when_payments_are_back(db, app, active_order, partner,
                                                                               raw_stripe, localstripe_url,
                                                                               monkeypatch):
    billing.save_card(partner, new_card(raw_stripe))
    order, renews = active_order, active_order.renews_at
    app.extensions["billing_gateway"] = {}
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", "http://127.0.0.1:9")
    assert schedule.run_daily(renews)["postponed"] == 1

    app.extensions["billing_gateway"] = {}
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", localstripe_url)
    counts = schedule.run_daily(renews + timedelta(days=1))
    assert (counts["renewed"], counts["expired"]) == (1, 0)
    assert order.status == S.ACTIVE
    assert (order.term_start, order.renews_at) == (renews, pricing.add_months(renews, 12))  # no day lost
