"""Each domain event reaches the endpoints that chose it, through the real path that causes it (the
receiver in tests/webhooks/conftest.py checks every signature): a client registered, its status changed,
notes received and cancelled, an export ready, invoices issued and paid, a certificate expiring. An
accountant's endpoint hears only about companies it accepted (one, or all of them), never billing."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from billing import services as billing
from billing.models import Invoice
from billing.run import run_monthly_billing
from fiscal import exports
from fiscal import services as fiscal
from fiscal.synth import cancellation_xml, key_of, nfe_xml
from partner.models import LinkStatus, Payer
from tests.factories import ClientFactory, link_accountant
from webhooks import services
from webhooks.models import WebhookDelivery

NOW = datetime.now(UTC).replace(microsecond=0)
BUYER = "45723174000110"


def _note(row, number, **overrides):
    return nfe_xml(**{"emitter_cnpj": row.cnpj, "emitter_name": row.legal_name[:60], "recipient_doc": BUYER,
                      "recipient_name": "Mercado Árvore", "number": number, "issued_at": NOW - timedelta(hours=2),
                      "total_cents": 1500, **overrides})


@pytest.fixture
def hooks(db, partner, accountant, receiver, client_row):
    """The partner hears everything; the accountant hears documents of all its companies."""
    partner_hook, secret = services.create_endpoint(url=receiver.url, events=list(services.EVENTS),
                                                    partner_id=partner.id)
    accountant_hook, _s = services.create_endpoint(url=receiver.url + "?contador", user_id=accountant.id,
                                                   events=["document.received", "document.cancelled"])
    receiver.secret = secret  # the accountant's endpoint signs with its own secret: checked apart below
    db.session.commit()
    return partner_hook, accountant_hook


def _events(endpoint) -> list[tuple[str, dict]]:
    from core.db import db

    rows = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                              .order_by(WebhookDelivery.id))
    return [(d.event_type, json.loads(d.body)["data"]) for d in rows]


def test_notes_received_and_cancelled(db, hooks, client_row, receiver):
    partner_hook, accountant_hook = hooks
    fiscal.ingest_file(client_row, "1.xml", _note(client_row, 1))
    fiscal.ingest_file(client_row, "1.xml", _note(client_row, 1))  # a repeat is no new event
    fiscal.ingest_file(client_row, "c.xml", cancellation_xml(key_of(_note(client_row, 1)), NOW))
    db.session.commit()
    key = key_of(_note(client_row, 1))
    for hook in (partner_hook, accountant_hook):
        assert [(t, d["key"]) for t, d in _events(hook)] == [("document.received", key), ("document.cancelled", key)]
    assert _events(accountant_hook)[1][1]["status"] == "cancelled"

    assert services.deliver_due() == 4
    assert len(receiver.requests) == 4
    assert sum(r["valid"] for r in receiver.requests) == 2  # the partner's two (the receiver holds its secret)


def test_an_accountant_hears_only_accepted_companies(db, hooks, partner, plan, accountant, other_client):
    _partner_hook, accountant_hook = hooks
    pending = ClientFactory(partner=partner, plan=plan)
    link_accountant(pending, accountant, status=LinkStatus.PENDING)
    one = ClientFactory(partner=partner, plan=plan)
    link_accountant(one, accountant)
    only_one, _s = services.create_endpoint(url="http://127.0.0.1:9/x", user_id=accountant.id, client_id=one.id,
                                            events=["document.received"])
    for row in (pending, other_client, one):
        fiscal.ingest_file(row, "1.xml", _note(row, 7))
    assert [d["client_id"] for _t, d in _events(accountant_hook)] == [one.id]
    assert [d["client_id"] for _t, d in _events(only_one)] == [one.id]


def test_client_registered_and_status_changed(db, hooks, partner, plan, accountant, client_row):
    from contracts.services.status import change_status
    from partner.services import register_client

    partner_hook, accountant_hook = hooks
    services.create_endpoint(url="http://127.0.0.1:9/x", user_id=accountant.id, events=["client.status_changed"])
    new = register_client(partner, {
        "legal_name": "Padaria Nova Ltda", "cnpj": "34028316000103", "email": "dono@padarianova.example",
        "phone": "11987654321", "cep": "01310100", "street": "Av. Paulista", "number": "10", "district": "Bela Vista",
        "city": "São Paulo", "state": "SP", "software_id": str(plan.software_id), "plan_id": str(plan.id),
        "payer": "client"})
    change_status(client_row, "blocked", "manual")
    events = _events(partner_hook)
    assert [t for t, _d in events] == ["client.created", "client.status_changed"]
    assert events[0][1]["cnpj"] == new.cnpj and events[1][1]["after"] == "blocked"
    assert _events(accountant_hook) == []  # not chosen by this endpoint


def test_export_ready(db, hooks, client_row):
    partner_hook, _accountant_hook = hooks
    fiscal.ingest_file(client_row, "1.xml", _note(client_row, 1))
    export = exports.request_export(client_row, month=fiscal.month_of(NOW - timedelta(hours=2)))
    exports.build_export(export.id)
    exports.notify_ready(export)
    [(event_type, data)] = [e for e in _events(partner_hook) if e[0] == "export.ready"]
    assert data["export_id"] == export.id and data["document_count"] == 1
    assert "download" not in json.dumps(data)  # no credential-bearing link in a webhook


def test_invoices_issued_and_paid(db, hooks, partner, plan):
    partner_hook, accountant_hook = hooks
    ClientFactory(partner=partner, plan=plan, payer=Payer.PARTNER, created_at=NOW - timedelta(days=400))
    first = date.today().replace(day=1)
    previous = first - timedelta(days=1)
    run_monthly_billing(f"{previous.year}-{previous.month:02d}", today=first)
    invoice = db.session.scalars(select(Invoice).where(Invoice.partner_id == partner.id)).one()
    billing.mark_paid(invoice, notify=False)
    events = [(t, d["invoice_id"]) for t, d in _events(partner_hook)]
    assert events == [("invoice.issued", invoice.id), ("invoice.paid", invoice.id)]
    assert _events(accountant_hook) == []


def test_certificate_expiring(db, hooks, client_row, accountant):
    from certificates import services as certificates
    from tests.certificates import pfxgen

    partner_hook, _accountant_hook = hooks
    expiring, _s = services.create_endpoint(url="http://127.0.0.1:9/x", user_id=accountant.id,
                                            events=["certificate.expiring"])
    not_after = (NOW + timedelta(days=60)).replace(hour=15, minute=0, second=0)
    issued = not_after - timedelta(days=340)
    data = pfxgen.ecnpj_pfx(client_row.cnpj, not_before=issued, not_after=not_after, password=pfxgen.PASSWORD)
    certificates.upload_certificate(client_row, data, pfxgen.PASSWORD, now=issued)
    assert certificates.send_expiry_alerts(now=not_after - timedelta(days=6)) == 1
    [(event_type, data)] = _events(partner_hook)
    assert event_type == "certificate.expiring" and data["client_id"] == client_row.id and data["days_left"] == 6
    assert [t for t, _d in _events(expiring)] == ["certificate.expiring"]  # client_row accepted the accountant
