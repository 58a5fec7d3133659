"""Responsible people of an order and their documents (PDF, PNG or JPEG, recognised by their content,
not by the name or the browser's type; size-limited; kept in the blob store)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from core import audit
from core.blobstore import blob_store
from core.db import db
from core.security import parse_id
from core.validators import ValidationError
from orders.models import Order, OrderAttachment, Responsible
from orders.services import _actor_label, _event, clean_responsible

#: Leading bytes → content type: what a file is, whatever it is called.
SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))
DEFAULT_MAX_BYTES = 1024 * 1024


def max_bytes() -> int:
    return int(current_app.config.get("ORDERS_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_BYTES))


def sniff(data: bytes) -> str | None:
    return next((kind for magic, kind in SIGNATURES if data.startswith(magic)), None)


def saved_responsibles(partner_id: int) -> list[Responsible]:
    """The partner's earlier responsibles (one per e-mail, the latest), to pick instead of typing."""
    rows = db.session.scalars(select(Responsible).where(Responsible.partner_id == partner_id)
                              .order_by(Responsible.id.desc()).limit(200))
    seen, people = set(), []
    for person in rows:
        if person.email not in seen:
            seen.add(person.email)
            people.append(person)
    return people


def add_responsible(order: Order, data: dict, *, actor=None, label=None) -> Responsible:
    """A new responsible, or (``from_id``) a copy of one the partner saved before."""
    source_id = parse_id(data.get("from_id")) if data.get("from_id") else None
    if source_id:
        source = db.session.scalar(select(Responsible).where(Responsible.id == source_id,
                                                             Responsible.partner_id == order.partner_id))
        if source is None:
            raise ValidationError({"from_id": _("Escolha um responsável já cadastrado.")})
        data = {"name": source.name, "email": source.email, "role": data.get("role") or source.role}
    clean = clean_responsible(data)
    person = Responsible(order_id=order.id, partner_id=order.partner_id, **clean)
    db.session.add(person)
    db.session.flush()
    _event(order, "responsible", note=f"{person.name} <{person.email}>", actor=actor, label=label)
    audit.record("order.responsible_added", order, actor=actor, label=label, client_id=order.client_id,
                 after={"name": person.name, "email": person.email})
    return person


def get_responsible(order: Order, responsible_id) -> Responsible | None:
    responsible_id = parse_id(responsible_id)
    if responsible_id is None:
        return None
    return db.session.scalar(select(Responsible).where(Responsible.id == responsible_id,
                                                       Responsible.order_id == order.id))


def add_attachment(order: Order, responsible: Responsible | None, filename: str, data: bytes, *, actor=None,
                   label=None) -> OrderAttachment:
    if not data:
        raise ValidationError({"file": _("Escolha um arquivo.")})
    if len(data) > max_bytes():
        raise ValidationError({"file": _("Arquivo grande demais (máximo %(n)s KB).", n=max_bytes() // 1024)})
    kind = sniff(data)
    if kind is None:
        raise ValidationError({"file": _("Envie um PDF, PNG ou JPEG (o conteúdo do arquivo não é de nenhum desses).")})
    name = (filename or "documento").replace("\\", "/").rsplit("/", 1)[-1][:200] or "documento"
    attachment = OrderAttachment(order_id=order.id, responsible_id=responsible.id if responsible else None,
                                 filename=name, content_type=kind, size_bytes=len(data),
                                 blob_sha256=blob_store().put(data), uploaded_by_label=_actor_label(actor, label))
    db.session.add(attachment)
    db.session.flush()
    audit.record("order.attachment_added", order, actor=actor, label=label, client_id=order.client_id,
                 after={"filename": name})
    return attachment


def get_attachment(order: Order, attachment_id) -> OrderAttachment | None:
    attachment_id = parse_id(attachment_id)
    if attachment_id is None:
        return None
    return db.session.scalar(select(OrderAttachment).where(OrderAttachment.id == attachment_id,
                                                           OrderAttachment.order_id == order.id))


def attachment_bytes(attachment: OrderAttachment) -> bytes:
    return blob_store().get(attachment.blob_sha256)
