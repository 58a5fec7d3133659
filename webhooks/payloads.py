"""What each event's ``data`` carries: ids and plain facts, never a credential (no download links:
an integrator fetches an export or a note through the API with its own token)."""

from sqlalchemy import Select, select

from partner.models import AccountantLink, LinkStatus


def accountants_of(client_id: int) -> Select:
    """Users who accepted the company (accountant links), so their endpoints hear about it: a query, which
    ``webhooks.services.matching_endpoints`` asks inside its own (one round trip per event, not two)."""
    return select(AccountantLink.user_id).where(
        AccountantLink.client_id == client_id, AccountantLink.status == LinkStatus.ACCEPTED,
        AccountantLink.user_id.is_not(None))


def client(row) -> dict:
    return {"client_id": row.id, "cnpj": row.cnpj, "legal_name": row.legal_name, "trade_name": row.trade_name,
            "status": getattr(row.status, "value", row.status)}


def invoice(row) -> dict:
    return {"invoice_id": row.id, "number": row.number, "client_id": row.client_id, "month": row.month,
            "due_date": row.due_date.isoformat() if row.due_date else None, "total_cents": row.total_cents,
            "status": getattr(row.status, "value", row.status),
            "paid_at": row.paid_at.isoformat() if row.paid_at else None}


def document(client_row, doc) -> dict:
    return {"client_id": client_row.id, "cnpj": client_row.cnpj, "key": doc.key, "model": doc.model,
            "series": doc.series, "number": doc.number, "environment": doc.environment,
            "direction": getattr(doc.direction, "value", doc.direction),
            "status": getattr(doc.status, "value", doc.status), "total_cents": doc.total_cents,
            "issued_at": doc.issued_at.isoformat() if doc.issued_at else None,
            "emitter_doc": doc.emitter_doc, "recipient_doc": doc.recipient_doc}


def export(client_row, row) -> dict:
    return {"client_id": client_row.id, "cnpj": client_row.cnpj, "export_id": row.id, "month": row.month,
            "model": row.model, "document_count": row.document_count, "size_bytes": row.size_bytes,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None}
