"""Catalogue rows for the order tests."""

from core.db import db
from orders.models import AddonPrice, Service, ServiceKind, ServiceTerm, StarterKit


def make_service(name="Arquivo XML", *, gb_monthly=100) -> Service:
    """XML storage: 12 months R$ 600,00 / 24 months R$ 1.080,00; kits 5 GB (R$ 10/month) and 20 GB
    (R$ 30/month); add-ons: one GB at ``gb_monthly`` a month, one user at R$ 5 a month."""
    service = Service(name=name, kind=ServiceKind.XML_STORAGE, terms_text=f"Termos do {name}: guarda por 5 anos.")
    service.terms = [ServiceTerm(months=12, price_cents=60000), ServiceTerm(months=24, price_cents=108000)]
    service.kits = [StarterKit(gb=5, monthly_price_cents=1000), StarterKit(gb=20, monthly_price_cents=3000)]
    service.addons = [AddonPrice(code="gb", label="GB adicional", unit_monthly_cents=gb_monthly),
                      AddonPrice(code="user", label="Usuário adicional", unit_monthly_cents=500)]
    db.session.add(service)
    db.session.flush()
    return service


def order_data(client, service, **overrides) -> dict:
    data = {"client_id": client.id, "service_id": service.id, "term_months": 12, "starter_kit_gb": 5,
            "addons": {"user": 2}, "payment": "invoice"}
    data.update(overrides)
    return data


def stored_notes(client_id: int, sizes: list[int], *, received_at=None, start: int = 0) -> None:
    """Fiscal documents of ``client_id`` (keys numbered from ``start``) as the store keeps them (only what the quota reads matters:
    ``size_bytes`` and ``received_at``), inserted in one statement."""
    from sqlalchemy import insert

    from core.db import utcnow
    from fiscal.models import FiscalDocument

    now = received_at or utcnow()
    pieces = []  # size_bytes is an INTEGER column: one note is never 2 GB; a big size is several notes
    for size in sizes:
        while size > 0:
            pieces.append(min(size, 1024**3))
            size -= pieces[-1]
    sizes = pieces
    rows = [{
        "client_id": client_id, "key": f"{client_id:010d}{start + n:034d}", "model": 55, "series": 1,
        "number": start + n + 1, "issued_at": now, "issued_month": now.year * 100 + now.month,
        "direction": "issued", "role": "emitente", "status": "authorized", "environment": 1, "tp_emis": 1,
        "emitter_doc": "11444777000161", "emitter_name": "", "recipient_doc": "", "recipient_name": "",
        "total_cents": 0, "has_body": True, "protocol_number": "", "signature_status": "unsigned",
        "blob_sha256": "0" * 64, "size_bytes": size, "received_at": now, "updated_at": now,
    } for n, size in enumerate(sizes)]
    db.session.execute(insert(FiscalDocument.__table__), rows)
