"""How outgoing webhooks answer what the domains announce (imported by the app factory).

Each receiver only turns the event into delivery rows in the current transaction (webhooks.services.emit);
the worker sends them once it commits."""

from billing.signals import invoice_paid, invoices_issued
from certificates.signals import certificate_expiring
from contracts.signals import status_changed
from core.db import db
from fiscal.signals import documents_changed, export_ready
from partner.signals import client_registered
from webhooks import payloads
from webhooks.services import emit, emit_to, matching_endpoints


@client_registered.connect
def _client_created(client, **_):
    emit("client.created", payloads.client(client), partner_id=client.partner_id, client_id=client.id)


@status_changed.connect
def _client_status_changed(client, *, before, after, reason=None, **_):
    data = {**payloads.client(client), "before": before, "after": after, "reason": reason}
    emit("client.status_changed", data, partner_id=client.partner_id, client_id=client.id,
         accountants=payloads.accountants_of(client.id))


@invoices_issued.connect
def _invoices_issued(_sender, *, invoice_ids, **_):
    from billing.models import Invoice

    for invoice in _load(Invoice, invoice_ids):
        emit("invoice.issued", payloads.invoice(invoice), partner_id=invoice.partner_id, client_id=invoice.client_id)


def _load(model, ids):
    from sqlalchemy import select

    return db.session.scalars(select(model).where(model.id.in_(list(ids))).order_by(model.id)).all() if ids else []


@invoice_paid.connect
def _invoice_paid(invoice, **_):
    emit("invoice.paid", payloads.invoice(invoice), partner_id=invoice.partner_id, client_id=invoice.client_id)


@certificate_expiring.connect
def _certificate_expiring(cert, *, client, days_left, **_):
    data = {**payloads.client(client), "not_after": cert.not_after.isoformat(), "days_left": days_left}
    emit("certificate.expiring", data, partner_id=client.partner_id, client_id=client.id,
         accountants=payloads.accountants_of(client.id))


@documents_changed.connect
def _documents_changed(client, *, received, cancelled, **_):
    accountants = payloads.accountants_of(client.id)
    for event_type, documents in (("document.received", received), ("document.cancelled", cancelled)):
        if not documents:
            continue
        endpoints = matching_endpoints(event_type, partner_id=client.partner_id, client_id=client.id,
                                       accountants=accountants)  # once per batch, not per note
        for document in documents if endpoints else ():
            emit_to(endpoints, event_type, payloads.document(client, document))


@export_ready.connect
def _export_ready(export, **_):
    from partner.models import Client

    client = db.session.get(Client, export.client_id)
    emit("export.ready", payloads.export(client, export), partner_id=client.partner_id, client_id=client.id,
         accountants=payloads.accountants_of(client.id))
