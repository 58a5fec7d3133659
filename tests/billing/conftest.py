"""Billing fixtures: clients with a past creation date, contract events, config overrides,
a running localstripe with the app pointed at it, and signed webhook posts."""

import pytest
from billing_helpers import LONG_AGO, sign

from core.db import db as _db
from partner.models import ContractStatus, Payer
from tests.factories import ClientFactory, PartnerFactory, PlanFactory


@pytest.fixture
def make_client(partner, plan):
    def make(payer=Payer.CLIENT, status=ContractStatus.ACTIVE, *, partner_=None, plan_=None, created_at=LONG_AGO,
             **kwargs):
        return ClientFactory(partner=partner_ or partner, plan=plan_ or plan, payer=payer, status=status,
                             created_at=created_at, **kwargs)

    return make


@pytest.fixture
def contract_event(db):
    """Record a contract change the way contracts does (ContractEvent with effective_at)."""
    from contracts.models import ContractEvent, EventKind

    def record(client, kind, before, after, effective_at, reason=None):
        event = ContractEvent(
            client_id=client.id, partner_id=client.partner_id, kind=EventKind(kind), at=effective_at,
            effective_at=effective_at, from_value=None if before is None else str(before),
            to_value=None if after is None else str(after), reason=reason,
        )
        _db.session.add(event)
        _db.session.flush()
        return event

    return record


@pytest.fixture
def config(app, monkeypatch):
    """Override app config for one test: ``config(BILLING_DUE_DAY=15)``."""

    def set_(**values):
        for key, value in values.items():
            monkeypatch.setitem(app.config, key, value)

    return set_


@pytest.fixture
def priced_plans(db):
    cheap = PlanFactory(name="Bronze", price_cents=4990)
    dear = PlanFactory(name="Diamante", price_cents=19990, software=cheap.software)
    return cheap, dear


@pytest.fixture
def second_partner(db):
    return PartnerFactory()


# localstripe, ``stripe_app`` and ``raw_stripe`` live in tests/conftest.py (orders uses them too).


@pytest.fixture
def post_webhook(client):
    def post(payload: bytes, signature: str | None = None):
        return client.post("/billing/webhooks/stripe", data=payload, content_type="application/json",
                           headers={"Stripe-Signature": sign(payload) if signature is None else signature})

    return post
